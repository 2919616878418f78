// What every command screen shares: how it opens (blank, from a scan's parameters, or from needs-attention with
// ?fix=<id> to correct a refused mutation), its fields checked against the command's schema, and what the operator
// did sent: queued, or resent as the correction of the refused one.
import { attentionEntry } from "/app/db.js";
import { argumentProblem } from "/app/validate.js";
import { code } from "/app/screens/ui.js";

/** `fixing`: the refused mutation being corrected, if any; `given`: what the form starts with. */
export async function opening(params) {
  const fixing = params.fix ? await attentionEntry(params.fix) : null;
  return { fixing, given: fixing?.args || params };
}

/** The field's value (trimmed; empty is absent: null) checked against the command's schema for the argument the
 * field is named after, or `undefined` with the problem shown. "shipment.pack:contents" names the arguments of one
 * entry of the command's `contents`. */
export async function checkField(command, f, value = code(f.input.value) || null) {
  const [name, within] = command.split(":");
  const problem = await argumentProblem(name, within ? `${within}.${f.input.name}` : f.input.name, value);
  f.problem(problem);
  return problem ? undefined : value;
}

/** Queue what the operator did, or, when correcting a refused mutation, send it as a new one and go back to
 * needs-attention. True when it was queued as new work (the screen then says so and clears the form). */
export async function send({ sync, navigate }, fixing, command, args) {
  if (fixing) {
    await sync.resend(fixing.id, args);
    navigate("attention");
    return false;
  }
  await sync.enqueue(command, args);
  return true;
}
