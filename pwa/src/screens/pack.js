// Pack a shipment: the shipment (scanned off its label or typed; its lines show what is packed, the pick list where
// to pick), optionally a pre-printed SSCC label, then stock into the handling unit (a GS1 label fills item, lot and
// count; or item, lot, location and quantity one by one). Each pick is checked against the replica and the
// shipment's lines and added to the unit; "Pack this unit" queues the unit as one shipment.pack (without a label
// the server numbers its SSCC). Opened from needs-attention with ?fix=<id>, it is pre-filled with the refused unit.
import { t } from "/app/i18n.js";
import { replicaEntry } from "/app/db.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { toMicro, microText } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkItem, checkLot, checkLocation, checkQuantity } from "/app/screens/stock_form.js";
import { checkField, opening, send } from "/app/screens/command.js";
import { shipmentView, leftToPack, ssccIsValid, shipmentOfUnit } from "/app/screens/shipping.js";

const PACKABLE = ["planned", "picking", "packed"];

export async function render(root, ctx) {
  const { params, sync } = ctx;
  const { fixing, given } = await opening(params);
  const shipmentField = field("shipment", "ship.shipment", { value: given.shipment || "", required: true });
  const lines = h("ul", { class: "ship-lines", id: "shipment-lines" });
  const picks = h("ul", { class: "pick-list", id: "pick-list" });
  const sscc = field("sscc", "pack.sscc", { value: given.sscc || "", inputmode: "numeric" });
  const item = field("item", "stock.item", { required: true });
  const lot = field("lot", "stock.lot");
  const location = field("location", "pack.location", { required: true });
  const quantity = field("quantity", "stock.quantity", { required: true, inputmode: "decimal" });
  const unitList = h("ul", { class: "unit-contents", id: "unit-contents" });
  const message = h("div", { class: "message" });
  const add = h("button", { type: "submit" }, t("pack.add"));
  const packButton = h("button", { type: "button", id: "pack-unit", onclick: () => packUnit() }, t("pack.submit"));
  let shipment = null;
  let unit = (given.contents || []).map((c) => ({ ...c }));  // the picks in the unit being packed

  async function loadShipment() {
    const value = code(shipmentField.input.value);
    shipment = value ? await shipmentView(value) : null;
    shipmentField.problem(value && !shipment ? t("valid.unknown_shipment", { shipment: value }) : "");
    if (shipment && !PACKABLE.includes(shipment.status)) {
      shipmentField.problem(t("valid.shipment_status", { shipment: shipment.code, status: t(`ship.status.${shipment.status}`) }));
    }
    lines.replaceChildren(...(shipment?.lines || []).map((line) => {
      const inUnit = unit.filter((c) => c.item === line.item).reduce((sum, c) => sum + toMicro(c.quantity), 0n);
      return h("li", { dataset: { line: line.line_no, item: line.item, packed: line.packed_quantity }, class: line.left <= 0n ? "done" : "" },
        t("pack.line_text", { line: line.line_no, item: line.item, packed: line.packed_quantity, quantity: line.quantity }),
        inUnit ? ` (+${microText(inUnit)})` : "");
    }));
    picks.replaceChildren(...(shipment && PACKABLE.includes(shipment.status) ? shipment.pick_list : [])
      .filter((pick) => !pick.missing && shipment.lines.some((l) => l.line_no === pick.line_no && l.left > 0n))
      .map((pick) => h("li", {}, t("pack.pick_text", { item: pick.item, location: pick.location, lot: pick.lot || "—", quantity: pick.quantity }))));
    showUnit();
  }

  function showUnit() {
    unitList.replaceChildren(...unit.map((content, index) => h("li", { dataset: { item: content.item } },
      t("pack.content_text", { item: content.item, lot: content.lot || "—", location: content.location, quantity: content.quantity }), " ",
      h("button", { type: "button", class: "secondary remove", onclick: () => { unit.splice(index, 1); loadShipment(); } }, t("pack.remove")))));
    packButton.disabled = unit.length === 0;
  }

  function checkSscc() {
    const value = code(sscc.input.value);
    sscc.problem(value && !ssccIsValid(value) ? t("valid.sscc") : "");
    return value && !ssccIsValid(value) ? undefined : value || null;
  }

  shipmentField.input.addEventListener("change", loadShipment);

  async function addPick(event) {
    event.preventDefault();
    await checkField("shipment.pack", shipmentField);
    await loadShipment();
    let ok = Boolean(shipment) && PACKABLE.includes(shipment.status);
    const itemData = await checkItem("shipment.pack:contents", item);
    if (itemData && shipment && !shipment.lines.some((l) => l.item === itemData.code)) {
      item.problem(t("valid.not_on_shipment", { item: itemData.code, shipment: shipment.code }));
      ok = false;
    }
    const lotCode = await checkLot("shipment.pack:contents", lot, itemData);
    const place = await checkLocation("shipment.pack:contents", location);
    const placeData = place ? (await replicaEntry("location", place))?.data : null;
    if (placeData && shipment && placeData.warehouse !== shipment.ship_from) {
      location.problem(t("valid.wrong_warehouse", { location: place, warehouse: shipment.ship_from }));
      ok = false;
    }
    const qty = await checkQuantity("shipment.pack:contents", quantity);
    if (qty && itemData && shipment) {
      const inUnit = unit.filter((c) => c.item === itemData.code).reduce((sum, c) => sum + toMicro(c.quantity), 0n);
      const left = leftToPack(shipment, itemData.code) - inUnit;
      if (toMicro(qty) > left) {
        quantity.problem(t("valid.exceeds_shipment", { left: microText(left > 0n ? left : 0n) }));
        ok = false;
      }
    }
    if (!ok || !itemData || lotCode === undefined || !place || !qty) return;
    unit.push({ item: itemData.code, lot: lotCode, location: place, quantity: qty });
    for (const f of [item, lot, quantity]) f.input.value = "";
    message.replaceChildren(notice("ok", t("pack.added", { quantity: qty, item: itemData.code })));
    await loadShipment();
    item.input.focus();
  }

  async function packUnit() {
    await loadShipment();
    const label = checkSscc();
    let ok = Boolean(shipment) && PACKABLE.includes(shipment.status) && unit.length > 0 && label !== undefined;
    const owner = label ? await shipmentOfUnit(label) : null;
    if (owner && owner.code !== shipment?.code) {
      sscc.problem(t("valid.sscc_other_shipment", { shipment: owner.code }));
      ok = false;
    } else if (owner && owner.handling_units.find((u) => u.sscc === label).status !== "packed") {
      sscc.problem(t("valid.sscc_loaded"));
      ok = false;
    }
    if (!ok) return;
    const args = { shipment: shipment.code, sscc: label, contents: unit.map((c) => ({ item: c.item, lot: c.lot || null, location: c.location, quantity: c.quantity })) };
    if (!(await send(ctx, fixing, "shipment.pack", args))) return;
    unit = [];
    sscc.input.value = "";
    message.replaceChildren(notice("ok", t("pack.done", { shipment: shipment.code, sscc: label || t("pack.new_sscc"), count: args.contents.length })));
    await loadShipment();
    sscc.input.focus();
  }

  const form = wedgeForm(h("form", { id: "pack-form", onsubmit: addPick, novalidate: true },
    shipmentField.wrapper, lines, picks, sscc.wrapper, item.wrapper, lot.wrapper, location.wrapper, quantity.wrapper, add));
  root.append(
    h("h1", {}, t("pack.title")),
    form,
    h("h2", {}, t("pack.unit")),
    unitList,
    packButton,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await loadShipment();
  (fixing ? packButton : shipmentField.input.value ? sscc.input : shipmentField.input).focus();
  const stopScanning = attachScanning(form, { quantityField: "quantity" });
  sync.events.addEventListener("change", loadShipment);
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", loadShipment);
  };
}
