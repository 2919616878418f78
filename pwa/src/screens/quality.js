// Quality: record an inspection. What is inspected: held stock (tapped from the list of the replica's stock on hold,
// or scanned: a GS1 label fills item and lot, then the location) or a production order's operation (its code scanned
// off the traveller). The item's inspection plan (from the replica) asks one result per characteristic, limits shown
// and checked as typed; an item without a plan takes the inspector's verdict, and with one the inspector may still
// fail it. Checked against the replica, then queued as quality.record (pass releases the hold, fail quarantines it).
// Opened from needs-attention with ?fix=<id>, it is pre-filled and sends the correction as a new mutation.
import { t } from "/app/i18n.js";
import { outbox, replica, replicaEntry } from "/app/db.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { toMicro } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity } from "/app/screens/stock_form.js";
import { checkField, opening, send } from "/app/screens/command.js";

const MEASURE = /^-?\d+(\.\d{1,6})?$/;

function select(name, labelKey, options) {
  const element = h("select", { name, id: `f-${name}` }, ...options.map(([value, key]) => h("option", { value }, t(key))));
  const problem = h("span", { class: "problem", id: `p-${name}`, "aria-live": "polite" });
  const wrapper = h("label", { for: element.id }, h("span", { class: "label" }, t(labelKey)), element, problem);
  return { wrapper, input: element, problem: (text) => { problem.textContent = text || ""; } };
}

/** Whether a held row is the subject of a quality.record this device has queued (it leaves the list meanwhile). */
function inspectedByQueued(row, queued) {
  return queued.some((args) => args.item === row.item && (args.lot || null) === (row.lot || null)
    && (!args.location || args.location === row.location));
}

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const held = h("ul", { class: "held", id: "held" });
  const orderField = field("production_order", "quality.order", { value: given.production_order || "" });
  const opSelect = select("operation", "quality.operation", [["", "quality.no_operation"]]);
  const item = field("item", "stock.item", { value: given.item || "", required: true });
  const lot = field("lot", "stock.lot", { value: given.lot || "" });
  const location = field("location", "quality.location", { value: given.location || "" });
  const quantity = field("quantity", "quality.quantity", { value: given.quantity || "", inputmode: "decimal" });
  const plan = h("div", { class: "plan", id: "plan" });
  const verdict = select("verdict", "quality.verdict", [["", "quality.verdict_results"], ["pass", "quality.pass"], ["fail", "quality.fail"]]);
  const note = field("note", "quality.note", { value: given.note || "", maxlength: 2000, autocapitalize: "sentences" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("quality.submit"));
  let order = null;
  let characteristics = [];  // [{spec, input, problem}] for the item's plan
  let planItem = null;

  async function showHeld() {
    const queued = (await outbox()).filter((row) => row.name === "quality.record").map((row) => row.args);
    const rows = (await replica("stock")).map((entry) => entry.data)
      .filter((data) => data?.status === "hold" && !inspectedByQueued(data, queued))
      .sort((a, b) => `${a.item}|${a.location}`.localeCompare(`${b.item}|${b.location}`));
    held.replaceChildren(...(rows.length ? rows.map((data) => h("li", {}, h("button", {
      type: "button", class: "secondary pick", dataset: { item: data.item, location: data.location, lot: data.lot || "" },
      onclick: () => pick(data),
    }, t("quality.held_text", { item: data.item, lot: data.lot || "—", location: data.location, quantity: data.quantity }))))
      : [h("li", { class: "empty" }, t("quality.nothing_held"))]));
  }

  async function pick(data) {
    orderField.input.value = "";
    await loadOrder();
    item.input.value = data.item;
    lot.input.value = data.lot || "";
    location.input.value = data.location;
    quantity.input.value = "";
    await showPlan();
    (characteristics[0]?.input || verdict.input).focus();
  }

  async function loadOrder(keep = null) {
    const value = code(orderField.input.value);
    order = value ? (await replicaEntry("production_order", value))?.data || null : null;
    orderField.problem(value && !order ? t("valid.unknown_order", { order: value }) : "");
    opSelect.input.replaceChildren(h("option", { value: "" }, t("quality.no_operation")), ...(order?.operations || []).map((op) =>
      h("option", { value: String(op.sequence) }, t("quality.operation_text", { sequence: op.sequence, work_centre: op.work_centre,
        description: op.description }))));
    if (order) {
      opSelect.input.value = String(keep ?? order.operations.find((op) => op.status !== "done")?.sequence ?? order.operations[0]?.sequence ?? "");
      if (code(item.input.value) !== order.item) { item.input.value = order.item; lot.input.value = ""; location.input.value = ""; }
      await showPlan();
    }
  }

  function judge(entry) {  // a result as typed: its problem, and whether it is within the plan's limits
    const value = code(entry.input.value);
    entry.input.classList.remove("pass", "fail");
    if (!value) { entry.problem(""); return null; }
    if (entry.spec.kind === "numeric") {
      if (!MEASURE.test(value)) { entry.problem(t("valid.measure")); return null; }
      const micro = toMicro(value);
      const limit = (text) => (text === null || text === undefined ? null : toMicro(String(text)));
      const [low, high] = [limit(entry.spec.lower_limit), limit(entry.spec.upper_limit)];
      const passed = (low === null || micro >= low) && (high === null || micro <= high);
      entry.input.classList.add(passed ? "pass" : "fail");
      entry.problem(passed ? "" : t("quality.out_of_limits"));
      return passed;
    }
    entry.problem("");
    entry.input.classList.add(value === "pass" ? "pass" : "fail");
    return value === "pass";
  }

  async function showPlan() {
    const itemCode = code(item.input.value);
    if (itemCode === planItem) return;
    planItem = itemCode;
    const entry = itemCode ? await replicaEntry("inspection_plan", itemCode) : null;
    const previous = Object.fromEntries((given.results || []).map((r) => [r.characteristic, r.value]));
    characteristics = (entry?.data?.characteristics || []).map((spec, index) => {
      const name = `result_${index}`;
      const label = t(spec.kind === "numeric" ? "quality.numeric" : "quality.pass_fail", {
        name: spec.name, unit: spec.unit || "", lower: spec.lower_limit ?? "…", upper: spec.upper_limit ?? "…" })
        + (spec.required ? "" : ` ${t("quality.optional")}`);
      let input;
      const problem = h("span", { class: "problem", id: `p-${name}`, "aria-live": "polite" });
      if (spec.kind === "numeric") {
        input = h("input", { name, id: `f-${name}`, inputmode: "decimal", autocomplete: "off", value: previous[spec.name] ?? "",
          dataset: { characteristic: spec.name } });
      } else {
        input = h("select", { name, id: `f-${name}`, dataset: { characteristic: spec.name } },
          h("option", { value: "" }, t("quality.pick_result")), h("option", { value: "pass" }, t("quality.pass")),
          h("option", { value: "fail" }, t("quality.fail")));
        input.value = previous[spec.name] ?? "";
      }
      const result = { spec, input, problem: (text) => { problem.textContent = text || ""; input.toggleAttribute("aria-invalid", Boolean(text)); } };
      input.addEventListener("change", () => judge(result));
      return { ...result, wrapper: h("label", { for: input.id }, h("span", { class: "label" }, label), input, problem) };
    });
    plan.dataset.plan = entry ? "1" : "0";
    plan.replaceChildren(entry ? h("p", { class: "label" }, t("quality.plan", { item: itemCode, version: entry.data.version }))
      : itemCode ? notice("info", t("quality.no_plan")) : "", ...characteristics.map((c) => c.wrapper));
    verdict.input.replaceChildren(...(entry
      ? [["", "quality.verdict_results"], ["fail", "quality.fail_anyway"]]
      : [["", "quality.pick_verdict"], ["pass", "quality.pass"], ["fail", "quality.fail"]]).map(([value, key]) => h("option", { value }, t(key))));
    verdict.input.value = given.verdict && [...verdict.input.options].some((o) => o.value === given.verdict) ? given.verdict : "";
  }

  orderField.input.addEventListener("change", () => loadOrder());
  item.input.addEventListener("change", showPlan);

  async function submit(event) {
    event.preventDefault();
    if (code(orderField.input.value)) await loadOrder(opSelect.input.value || null);
    await showPlan();
    const op = order?.operations.find((o) => String(o.sequence) === opSelect.input.value) || null;
    opSelect.problem(order && !op ? t("valid.required") : "");
    const itemData = await checkItem("quality.record", item);
    const lotCode = await checkLot("quality.record", lot, itemData);
    const place = code(location.input.value) ? await checkLocation("quality.record", location) : (location.problem(""), "");
    const qty = code(quantity.input.value) ? await checkQuantity("quality.record", quantity) : (quantity.problem(""), "");
    const remark = await checkField("quality.record", note, code(note.input.value));
    let ok = Boolean(itemData) && lotCode !== undefined && place !== null && qty !== null && remark !== undefined
      && !(code(orderField.input.value) && (!order || !op));
    if (!order && itemData && lotCode !== undefined && place !== null) {  // held stock: there must be some to inspect
      if (!place && !lotCode) { location.problem(t("valid.required")); ok = false; }
      const queued = (await outbox()).filter((row) => row.name === "quality.record").map((row) => row.args);
      const matches = (await replica("stock")).map((e) => e.data).filter((d) => d?.status === "hold" && d.item === itemData.code
        && (d.lot || null) === lotCode && (!place || d.location === place) && !inspectedByQueued(d, queued));
      if (ok && !matches.length) { (place ? location : item).problem(t("valid.nothing_on_hold", { item: itemData.code })); ok = false; }
    }
    const results = [];
    for (const entry of characteristics) {
      const value = code(entry.input.value);
      if (!value) {
        if (entry.spec.required) { entry.problem(t("valid.required")); ok = false; }
        continue;
      }
      if (judge(entry) === null) { ok = false; continue; }
      results.push({ characteristic: entry.spec.name, value });
    }
    const chosen = verdict.input.value || null;
    verdict.problem(!characteristics.length && !chosen ? t("valid.verdict") : "");
    if (!characteristics.length && !chosen) ok = false;
    if (!ok) return;
    const subject = order ? "operation" : lotCode ? "lot" : "receipt";
    const args = { subject, item: itemData.code, lot: lotCode, location: place || null, quantity: qty || null,
      production_order: order ? order.code : null, operation: op ? String(op.sequence) : null, results, verdict: chosen,
      note: remark };
    if (!(await send(ctx, fixing, "quality.record", args))) return;
    const passing = !chosen && characteristics.every((c) => !code(c.input.value) || judge(c) !== false);
    const outcome = chosen || (passing ? "pass" : "fail");
    message.replaceChildren(notice(outcome === "pass" ? "ok" : "warn", t(outcome === "pass" ? "quality.done_pass" : "quality.done_fail",
      { item: args.item, lot: args.lot || "—", where: args.location || args.production_order || "" })));
    for (const f of [orderField, item, lot, location, quantity, note]) f.input.value = "";
    await loadOrder();
    await showPlan();
    await showHeld();
    item.input.focus();
  }

  const form = wedgeForm(h("form", { id: "quality-form", onsubmit: submit, novalidate: true },
    orderField.wrapper, opSelect.wrapper, item.wrapper, lot.wrapper, location.wrapper, quantity.wrapper, plan,
    verdict.wrapper, note.wrapper, button));
  root.append(
    h("h1", {}, t("quality.title")),
    h("h2", {}, t("quality.held")),
    held,
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await loadOrder(given.operation ?? null);
  await showPlan();
  await showHeld();
  (fixing ? (characteristics[0]?.input || note.input) : item.input).focus();
  const stopScanning = attachScanning(form, { quantityField: "quantity" });
  const update = () => showHeld();
  sync.events.addEventListener("change", update);
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", update);
  };
}
