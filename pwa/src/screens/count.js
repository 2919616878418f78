// Count: item, lot, location, the counted quantity and a reason, checked against the replica, then queued as
// stock.count. The on-hand line shows what the device expects there (replica plus queued mutations).
// Opened from needs-attention with ?fix=<id>, it sends the correction as a new mutation.
import { t } from "/app/i18n.js";
import { h, field, notice, wedgeForm } from "/app/screens/ui.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity, showOnHand } from "/app/screens/stock_form.js";
import { checkField, opening, send } from "/app/screens/command.js";

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const item = field("item", "stock.item", { value: given.item || "", required: true });
  const lot = field("lot", "stock.lot", { value: given.lot || "" });
  const location = field("location", "count.location", { value: given.location || "", required: true });
  const counted = field("counted_quantity", "count.counted", { value: given.counted_quantity || "", required: true, inputmode: "decimal" });
  const reason = field("reason", "count.reason", { value: given.reason || "", maxlength: 200, autocapitalize: "sentences" });
  const onHand = h("p", { class: "on-hand", id: "on-hand", "aria-live": "polite" });
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit" }, t("count.submit"));

  const update = () => showOnHand(onHand, item, lot, location);
  for (const f of [item, lot, location]) f.input.addEventListener("change", update);

  async function submit(event) {
    event.preventDefault();
    const itemData = await checkItem("stock.count", item);
    const lotCode = await checkLot("stock.count", lot, itemData);
    const place = await checkLocation("stock.count", location);
    const qty = await checkQuantity("stock.count", counted);
    const why = await checkField("stock.count", reason, reason.input.value.trim() || null);
    if (!itemData || lotCode === undefined || !place || !qty || why === undefined) return;
    const args = { item: itemData.code, lot: lotCode, location: place, counted_quantity: qty, reason: why };
    if (!(await send(ctx, fixing, "stock.count", args))) return;
    message.replaceChildren(notice("ok", t("count.done", { item: args.item, location: place, quantity: qty })));
    counted.input.value = "";
    reason.input.value = "";
    await update();
    item.input.focus();
  }

  const form = wedgeForm(h("form", { id: "count-form", onsubmit: submit, novalidate: true },
    item.wrapper, lot.wrapper, location.wrapper, onHand, counted.wrapper, reason.wrapper, button));
  root.append(
    h("h1", {}, t("count.title")),
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await update();
  (fixing ? counted.input : item.input).focus();
  sync.events.addEventListener("change", update);
  const stopScanning = attachScanning(form, { quantityField: "counted_quantity" });
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", update);
  };
}
