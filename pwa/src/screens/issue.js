// Issue material to a production order: the order (scanned off its traveller or typed; its materials are listed with
// what is still to issue), the material (a GS1 label fills item, lot and count), the location it comes from and
// how many, checked against the replica, then queued as stock.issue. Opened from needs-attention with ?fix=<id>, it
// is pre-filled and sends the correction as a new mutation.
import { t } from "/app/i18n.js";
import { replicaEntry } from "/app/db.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { toMicro, microText } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity, showOnHand } from "/app/screens/stock_form.js";
import { checkField, opening, send } from "/app/screens/command.js";

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const orderField = field("production_order", "production.order", { value: given.production_order || "", required: true });
  const materials = h("ul", { class: "materials", id: "materials" });
  const item = field("item", "issue.material", { value: given.item || "", required: true });
  const lot = field("lot", "stock.lot", { value: given.lot || "" });
  const location = field("location", "issue.location", { value: given.location || "", required: true });
  const onHand = h("p", { class: "on-hand", id: "on-hand", "aria-live": "polite" });
  const quantity = field("quantity", "stock.quantity", { value: given.quantity || "", required: true, inputmode: "decimal" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("issue.submit"));
  let order = null;

  async function loadOrder() {
    const value = code(orderField.input.value);
    order = value ? (await replicaEntry("production_order", value))?.data || null : null;
    orderField.problem(value && !order ? t("valid.unknown_order", { order: value }) : "");
    materials.replaceChildren(...(order?.materials || []).map((m) => h("li", { dataset: { item: m.item } },
      t("issue.material_text", { item: m.item, issued: m.issued_quantity, required: m.required_quantity }))));
  }
  const update = () => showOnHand(onHand, item, lot, location);
  orderField.input.addEventListener("change", loadOrder);
  for (const f of [item, lot, location]) f.input.addEventListener("change", update);

  async function submit(event) {
    event.preventDefault();
    if (await checkField("stock.issue", orderField)) await loadOrder();
    const itemData = await checkItem("stock.issue", item);
    const material = itemData && order ? order.materials.find((m) => m.item === itemData.code) : null;
    if (itemData && order && !material) item.problem(t("valid.not_a_material", { item: itemData.code, order: order.code }));
    const lotCode = await checkLot("stock.issue", lot, itemData);
    const place = await checkLocation("stock.issue", location);
    const qty = await checkQuantity("stock.issue", quantity);
    if (!order || !material || lotCode === undefined || !place || !qty) return;
    const args = { production_order: order.code, item: itemData.code, lot: lotCode, location: place, quantity: qty };
    const available = await update();
    if (!(await send(ctx, fixing, "stock.issue", args))) return;
    const notes = [notice("ok", t("issue.done", { quantity: qty, item: args.item, order: order.code, location: place }))];
    if (available !== null && available < toMicro(qty)) {
      notes.push(notice("warn", t("stock.on_hand_short", { quantity: microText(available) })));
    }
    const left = toMicro(material.required_quantity) - toMicro(material.issued_quantity) - toMicro(qty);
    if (left < 0n) notes.push(notice("warn", t("issue.over", { required: material.required_quantity })));
    message.replaceChildren(...notes);
    for (const f of [item, lot, quantity]) f.input.value = "";
    await update();
    item.input.focus();
  }

  const form = wedgeForm(h("form", { id: "issue-form", onsubmit: submit, novalidate: true },
    orderField.wrapper, materials, item.wrapper, lot.wrapper, location.wrapper, onHand, quantity.wrapper, button));
  root.append(
    h("h1", {}, t("issue.title")),
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await loadOrder();
  await update();
  (fixing ? quantity.input : orderField.input.value ? item.input : orderField.input).focus();
  const stopScanning = attachScanning(form, { quantityField: "quantity" });
  sync.events.addEventListener("change", update);
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", update);
  };
}
