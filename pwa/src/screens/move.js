// Move stock: item, lot, from, to, quantity (each a scan or typed), checked against the replica, then queued as
// stock.move. The on-hand at the source includes what this device has queued. Opened from needs-attention with
// ?fix=<id>, it is pre-filled with the refused mutation and sends the correction as a new one.
import { t } from "/app/i18n.js";
import { h, field, notice, wedgeForm } from "/app/screens/ui.js";
import { toMicro } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity, showOnHand } from "/app/screens/stock_form.js";
import { opening, send } from "/app/screens/command.js";

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const item = field("item", "stock.item", { value: given.item || "", required: true });
  const lot = field("lot", "stock.lot", { value: given.lot || "" });
  const from = field("from_location", "move.from", { value: given.from_location || "", required: true });
  const to = field("to_location", "move.to", { value: given.to_location || "", required: true });
  const quantity = field("quantity", "stock.quantity", { value: given.quantity || "", required: true, inputmode: "decimal" });
  const onHand = h("p", { class: "on-hand", id: "on-hand", "aria-live": "polite" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("move.submit"));

  const update = () => showOnHand(onHand, item, lot, from);
  for (const f of [item, lot, from]) f.input.addEventListener("change", update);

  async function submit(event) {
    event.preventDefault();
    const itemData = await checkItem("stock.move", item);
    const lotCode = await checkLot("stock.move", lot, itemData);
    const source = await checkLocation("stock.move", from);
    const target = await checkLocation("stock.move", to);
    const qty = await checkQuantity("stock.move", quantity);
    if (source && target && source === target) to.problem(t("valid.different_locations"));
    if (!itemData || lotCode === undefined || !source || !target || source === target || !qty) return;
    const args = { item: itemData.code, lot: lotCode, from_location: source, to_location: target, quantity: qty };
    const available = await update();
    if (!(await send(ctx, fixing, "stock.move", args))) return;
    const shortNote = available !== null && available < toMicro(qty)
      ? notice("warn", t("stock.on_hand_short", { quantity: onHand.dataset.onHand })) : null;
    message.replaceChildren(notice("ok", t("move.done", { item: args.item, quantity: qty, from: source, to: target })), shortNote || "");
    quantity.input.value = "";
    await update();
    item.input.focus();
  }

  const form = wedgeForm(h("form", { id: "move-form", onsubmit: submit, novalidate: true },
    item.wrapper, lot.wrapper, from.wrapper, onHand, to.wrapper, quantity.wrapper, button));
  root.append(
    h("h1", {}, t("move.title")),
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await update();
  (fixing ? quantity.input : item.input).focus();
  sync.events.addEventListener("change", update);
  const stopScanning = attachScanning(form, { quantityField: "quantity" });
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", update);
  };
}
