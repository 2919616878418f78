// Report production: the order (scanned off its traveller or typed), the operation (picked from the order's
// routing; the first one not done at this device's work centres is preselected), good and scrap quantities, why it
// was scrapped (required when scrap > 0), and on the last operation where the finished goods go (and their lot,
// else the server numbers one). Checked against the replica, then queued as production.report. Opened from
// needs-attention with ?fix=<id>, it is pre-filled and sends the correction as a new mutation. Good and scrap so far
// include this device's queued reports (the overlay), until the server's figures arrive.
import { t } from "/app/i18n.js";
import { replicaEntry } from "/app/db.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { toMicro, withProgress } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkLocation, checkQuantity } from "/app/screens/stock_form.js";
import { checkField, opening, send } from "/app/screens/command.js";

export async function render(root, ctx) {
  const { params, sync, scope } = ctx;
  const { fixing, given } = await opening(params);
  const orderField = field("production_order", "production.order", { value: given.production_order || "", required: true });
  const opSelect = h("select", { name: "operation", id: "f-operation" });
  const opProblem = h("span", { class: "problem", id: "p-operation", "aria-live": "polite" });
  const opWrapper = h("label", { for: "f-operation" }, h("span", { class: "label" }, t("report.operation")), opSelect, opProblem);
  const good = field("good_quantity", "report.good", { value: given.good_quantity ?? "", inputmode: "decimal" });
  const scrap = field("scrap_quantity", "report.scrap", { value: given.scrap_quantity ?? "", inputmode: "decimal", placeholder: "0" });
  const reason = field("scrap_reason", "report.scrap_reason",
    { value: given.scrap_reason || "", maxlength: 200, autocapitalize: "sentences" });
  const location = field("location", "report.location", { value: given.location || "" });
  const lot = field("lot", "report.lot", { value: given.lot || "" });
  const progress = h("p", { class: "progress-line", id: "op-progress", "aria-live": "polite" });
  const finishing = h("div", { class: "finishing", id: "finishing" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("report.submit"));
  let order = null;

  const operation = () => order?.operations.find((op) => String(op.sequence) === opSelect.value) || null;
  const isLast = (op) => Boolean(op && order && op === order.operations[order.operations.length - 1]);

  function showFinishing() {  // location and lot only where finished goods come off the line
    finishing.replaceChildren(...(isLast(operation()) ? [location.wrapper, lot.wrapper] : []));
    showProgress();
  }

  const optionText = (op) => t("report.operation_text", { sequence: op.sequence, work_centre: op.work_centre,
    description: op.description, good: op.good_quantity, quantity: order.quantity });

  function showProgress() {
    const op = operation();
    progress.textContent = op ? t(op.queued ? "report.progress_queued" : "report.progress",
      { good: op.good_quantity, scrap: op.scrap_quantity, quantity: order.quantity }) : "";
    Object.assign(progress.dataset, { good: op?.good_quantity ?? "", scrap: op?.scrap_quantity ?? "", queued: op?.queued ? "1" : "0" });
  }

  async function refreshProgress() {  // the overlay moved (a report queued, or the server's figures pulled)
    if (!order) return;
    const entry = await replicaEntry("production_order", order.code);
    if (!entry) return;
    order = await withProgress(entry.data);
    for (const option of opSelect.options) {
      const op = order.operations.find((o) => String(o.sequence) === option.value);
      if (op) option.textContent = optionText(op);
    }
    showProgress();
  }

  async function loadOrder(keep = null) {
    const value = code(orderField.input.value);
    order = value ? await withProgress((await replicaEntry("production_order", value))?.data || null) : null;
    orderField.problem(value && !order ? t("valid.unknown_order", { order: value }) : "");
    const ops = order?.operations || [];
    opSelect.replaceChildren(h("option", { value: "" }, t("report.pick_operation")), ...ops.map((op) =>
      h("option", { value: String(op.sequence) }, optionText(op))));
    const mine = (op) => !scope.work_centres?.length || scope.work_centres.includes(op.work_centre);
    const chosen = ops.find((op) => String(op.sequence) === String(keep ?? ""))
      || ops.find((op) => mine(op) && op.status !== "done" && toMicro(op.good_quantity) < toMicro(order.quantity))
      || ops.find(mine) || null;
    opSelect.value = chosen ? String(chosen.sequence) : "";
    opProblem.textContent = "";
    showFinishing();
  }
  orderField.input.addEventListener("change", () => loadOrder());
  opSelect.addEventListener("change", showFinishing);

  async function quantityOrZero(f) {
    if (!code(f.input.value)) { f.problem(""); return "0"; }
    return checkQuantity("production.report", f);
  }

  async function submit(event) {
    event.preventDefault();
    if (await checkField("production.report", orderField)) await loadOrder(opSelect.value);
    const op = operation();
    opProblem.textContent = order && !op ? t("valid.required") : "";
    const goodQty = await quantityOrZero(good);
    const scrapQty = await quantityOrZero(scrap);
    const nothing = goodQty !== null && scrapQty !== null && toMicro(goodQty) + toMicro(scrapQty) <= 0n;
    if (nothing) good.problem(t("valid.report_something"));
    const why = await checkField("production.report", reason);
    const needWhy = scrapQty !== null && toMicro(scrapQty) > 0n && why === null;
    if (needWhy) reason.problem(t("valid.scrap_reason"));
    const last = isLast(op);
    let place = "";  // finished goods into stock: required when good units come off the last operation
    if (last && code(location.input.value)) place = await checkLocation("production.report", location);
    else if (last && toMicro(goodQty ?? "0") > 0n) { location.problem(t("valid.required")); place = null; }
    const lotCode = last ? await checkField("production.report", lot) : null;
    if (!order || !op || goodQty === null || scrapQty === null || nothing || needWhy || why === undefined || place === null
        || lotCode === undefined) return;
    const args = { production_order: order.code, operation: op.sequence, good_quantity: goodQty, scrap_quantity: scrapQty,
      scrap_reason: why, location: place || null, lot: lotCode };
    if (!(await send(ctx, fixing, "production.report", args))) return;
    const done = t("report.done", { order: order.code, operation: op.sequence, good: goodQty, scrap: scrapQty });
    message.replaceChildren(notice("ok", done));
    for (const f of [good, scrap, reason, lot]) f.input.value = "";
    good.input.focus();
  }

  const form = wedgeForm(h("form", { id: "report-form", onsubmit: submit, novalidate: true },
    orderField.wrapper, opWrapper, progress, good.wrapper, scrap.wrapper, reason.wrapper, finishing, button));
  root.append(
    h("h1", {}, t("report.title")),
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await loadOrder(given.operation ?? null);
  (fixing ? good.input : orderField.input.value ? good.input : orderField.input).focus();
  const stopScanning = attachScanning(form, { quantityField: "good_quantity" });
  sync.events.addEventListener("change", refreshProgress);
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", refreshProgress);
  };
}
