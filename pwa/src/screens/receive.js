// Receive against a purchase order: the PO (scanned off its label or typed), one of its open lines (picked, or found
// by scanning the item: a GS1 label fills item, lot, expiry and count), where it goes and how many (the line's open
// quantity unless the label or the operator says otherwise), checked against the replica, then queued as
// receipt.receive. Opened from needs-attention with ?fix=<id>, it is pre-filled and sends the correction as a new one.
import { t } from "/app/i18n.js";
import { replicaEntry } from "/app/db.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { toMicro } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity } from "/app/screens/stock_form.js";
import { checkField, opening, send } from "/app/screens/command.js";

export async function render(root, ctx) {
  const { params } = ctx;
  const { fixing, given } = await opening(params);
  const po = field("purchase_order", "receive.po", { value: given.purchase_order || "", required: true });
  const lineSelect = h("select", { name: "line_no", id: "f-line_no" });
  const lineProblem = h("span", { class: "problem", id: "p-line_no", "aria-live": "polite" });
  const lineWrapper = h("label", { for: "f-line_no" }, h("span", { class: "label" }, t("receive.line")), lineSelect, lineProblem);
  const item = field("item", "stock.item", { value: given.item || "", required: true });
  const lot = field("lot", "stock.lot", { value: given.lot || "" });
  const expiry = field("expiry", "receive.expiry", { value: given.expiry || "", placeholder: "YYYY-MM-DD", inputmode: "numeric" });
  const location = field("location", "receive.location", { value: given.location || "", required: true });
  const quantity = field("quantity", "stock.quantity", { value: given.quantity || "", required: true, inputmode: "decimal" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("receive.submit"));
  let order = null;  // the PO's replica data, kept in memory so a scan's fields settle in order
  let defaulted = false;  // the quantity holds the line's open quantity, not one the operator or a label gave

  const currentLine = () => order?.lines.find((line) => String(line.line_no) === lineSelect.value) || null;

  function chooseLine(line) {
    lineSelect.value = line ? String(line.line_no) : "";
    lineProblem.textContent = "";
    if (!line) return;
    if (code(item.input.value) !== line.item) item.input.value = line.item;
    if (!quantity.input.value || defaulted) {
      quantity.input.value = line.open_quantity;
      defaulted = true;
    }
  }

  async function loadOrder(keepLine = null) {
    const value = code(po.input.value);
    const entry = value ? await replicaEntry("purchase_order", value) : null;
    order = entry?.data || null;
    po.problem(value && !order ? t("valid.unknown_po", { po: value }) : "");
    lineSelect.replaceChildren(h("option", { value: "" }, t("receive.pick_line")),
      ...(order?.lines || []).map((line) => h("option", { value: String(line.line_no) },
        t("receive.line_text", { line: line.line_no, item: line.item, open: line.open_quantity }))));
    const lines = order?.lines || [];
    const wanted = lines.find((line) => String(line.line_no) === String(keepLine ?? ""))
      || lines.find((line) => line.item === code(item.input.value))
      || (lines.length === 1 ? lines[0] : null);
    if (keepLine !== null) lineSelect.value = wanted ? String(wanted.line_no) : "";
    else chooseLine(wanted);
  }

  po.input.addEventListener("change", () => loadOrder());
  lineSelect.addEventListener("change", () => chooseLine(currentLine()));
  item.input.addEventListener("change", () => {  // synchronous: a GS1 count set right after must win
    const value = code(item.input.value);
    if (!order || currentLine()?.item === value) return;
    const line = order.lines.find((l) => l.item === value);
    if (line) chooseLine(line);
  });
  quantity.input.addEventListener("change", () => {  // typed, or a label's count: keep it
    if (quantity.input.value !== currentLine()?.open_quantity) defaulted = false;
  });

  async function submit(event) {
    event.preventDefault();
    const poCode = await checkField("receipt.receive", po);
    if (poCode && (!order || order.code !== poCode)) await loadOrder(lineSelect.value);
    const line = currentLine();
    lineProblem.textContent = order && !line ? t("valid.required") : "";
    const itemData = await checkItem("receipt.receive", item);
    if (itemData && line && itemData.code !== line.item) {
      item.problem(t("valid.item_not_on_line", { item: itemData.code, line: line.line_no }));
    }
    const lotCode = await checkLot("receipt.receive", lot, itemData);
    const expiryText = await checkField("receipt.receive", expiry);
    const place = await checkLocation("receipt.receive", location);
    const qty = await checkQuantity("receipt.receive", quantity);
    if (!order || !line || !itemData || itemData.code !== line.item || lotCode === undefined
        || expiryText === undefined || !place || !qty) return;
    const args = { purchase_order: order.code, line_no: line.line_no, item: itemData.code, lot: lotCode,
      expiry: expiryText, location: place, quantity: qty };
    if (!(await send(ctx, fixing, "receipt.receive", args))) return;
    const over = toMicro(qty) > toMicro(line.open_quantity)
      ? notice("warn", t("receive.over", { open: line.open_quantity })) : null;
    const done = t("receive.done", { quantity: qty, item: args.item, po: args.purchase_order, location: place });
    message.replaceChildren(notice("ok", done), over || "");
    for (const f of [item, lot, expiry, quantity]) f.input.value = "";
    defaulted = false;
    lineSelect.value = "";
    item.input.focus();
  }

  const form = wedgeForm(h("form", { id: "receive-form", onsubmit: submit, novalidate: true },
    po.wrapper, lineWrapper, item.wrapper, lot.wrapper, expiry.wrapper, location.wrapper, quantity.wrapper, button));
  root.append(
    h("h1", {}, t("receive.title")),
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await loadOrder(given.line_no ?? null);
  (fixing ? quantity.input : po.input.value ? item.input : po.input).focus();
  return attachScanning(form, { quantityField: "quantity" });
}
