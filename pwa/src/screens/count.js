// Count: item, lot, location, the counted quantity and a reason, checked against the replica, then queued as
// stock.count. The on-hand line shows what the device expects there (replica plus queued mutations).
// Opened from needs-attention with ?fix=<id>, it sends the correction as a new mutation.
import { t } from "/app/i18n.js";
import { attentionEntry } from "/app/db.js";
import { h, field, notice, wedgeForm } from "/app/screens/ui.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity, showOnHand } from "/app/screens/stock_form.js";

export async function render(root, ctx) {
  const { params, sync, navigate } = ctx;
  const fixing = params.fix ? await attentionEntry(params.fix) : null;
  const given = fixing?.args || params;
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
    const itemData = await checkItem(item);
    const lotCode = checkLot(lot, itemData);
    const place = await checkLocation(location);
    const qty = checkQuantity(counted, { allowZero: true });
    if (!itemData || lotCode === undefined || !place || !qty) return;
    const args = { item: itemData.code, lot: lotCode, location: place, counted_quantity: qty,
      reason: reason.input.value.trim() || null };
    if (fixing) {
      await sync.resend(fixing.id, args);
      navigate("attention");
      return;
    }
    await sync.enqueue("stock.count", args);
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
