// Enrolment: the code typed (or scanned by a wedge scanner into the field), or the QR link /app/#enrol=CODE, which
// pre-fills the code and enrols at once (unless this device is already enrolled: then the operator confirms).
import { t, errorText } from "/app/i18n.js";
import { getMeta, outbox } from "/app/db.js";
import { h, field, notice, wedgeForm } from "/app/screens/ui.js";

export async function render(root, ctx) {
  const { params, sync, navigate } = ctx;
  const enrolledAs = (await getMeta("token")) ? await getMeta("device_name") : null;
  const code = field("code", "enrol.code", { value: params.code || "", required: true, inputmode: "text" });
  const suffix = crypto.randomUUID().slice(0, 4).toUpperCase();
  const name = field("device_name", "enrol.name", { value: `${t("enrol.default_name")} ${suffix}`, required: true, maxlength: 100 });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("enrol.submit"));

  async function submit(event) {
    event?.preventDefault();
    code.problem(code.input.value.trim() ? "" : t("valid.required"));
    name.problem(name.input.value.trim() ? "" : t("valid.required"));
    if (!code.input.value.trim() || !name.input.value.trim()) return;
    button.disabled = true;
    message.replaceChildren(notice("info", t("enrol.busy")));
    try {
      await sync.enroll(code.input.value, name.input.value.trim());
      message.replaceChildren(notice("ok", t("enrol.done")));
      navigate("home");
    } catch (error) {
      message.replaceChildren(notice("bad", errorText({ code: error.code, message: error.message })));
      if (error.code === "outbox_not_empty") message.append(await unsentWork(sync, submit));
      button.disabled = false;
    }
  }

  const form = wedgeForm(h("form", { id: "enrol-form", onsubmit: submit }, code.wrapper, name.wrapper, button));
  root.append(
    h("h1", {}, t("enrol.title")),
    h("p", {}, t("enrol.help")),
    enrolledAs ? notice("warn", t("enrol.already", { name: enrolledAs })) : null,
    form,
    message,
  );
  if (params.auto && params.code && !enrolledAs) submit();
  else (params.code ? name.input : code.input).focus();
}

/** Work queued on this device that can no longer be sent (a revoked device cannot sync): saved to a file for a
 * supervisor to enter again, and only then discarded, so enrolling anew never loses it silently. */
async function unsentWork(sync, retry) {
  const queued = await outbox();
  const device = { id: await getMeta("device_id"), name: await getMeta("device_name") };
  let saved = false;
  let armed = false;
  const discard = h("button", { type: "button", class: "danger", id: "discard-unsent", disabled: true },
    t("enrol.discard_unsent", { count: queued.length }));
  const save = h("button", { type: "button", class: "secondary", id: "save-unsent", onclick: () => {
    const file = new Blob([JSON.stringify({
      device, saved_at: new Date().toISOString(), mutations: queued,
    }, null, 1)], { type: "application/json" });
    const link = h("a", { href: URL.createObjectURL(file), download: `floorsync-unsent-${Date.now()}.json` });
    link.click();
    URL.revokeObjectURL(link.href);
    saved = true;
    discard.disabled = false;
  } }, t("enrol.save_unsent"));
  discard.addEventListener("click", async () => {
    if (!saved) return;
    if (!armed) {  // a second tap confirms: the work leaves this device for good
      armed = true;
      discard.textContent = t("enrol.discard_confirm", { count: queued.length });
      return;
    }
    await sync.discardUnsent();
    retry();
  });
  return h("div", { class: "unsent", id: "unsent" }, h("p", {}, t("enrol.unsent", { count: queued.length })), save, discard);
}
