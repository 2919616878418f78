// What the shipping screens (pack, load, route, deliver) share: a shipment as this device should see it, the
// replica's copy with this device's queued shipment.pack, shipment.load and delivery.sign applied on top (pending,
// and applied but not yet pulled back), so packing and loading go on offline; and the local SSCC check.
import { replica, replicaEntry, outbox } from "/app/db.js";
import { toMicro, microText } from "/app/overlay.js";
import { checkDigit } from "/app/gs1.js";

const CLOSED = ["delivered", "cancelled"];

/** The shipment `code` with the queued mutations applied, or null when the replica does not hold it. Lines carry
 * `left` (micro-units still to pack); units carry `queued` when only this device knows them so far. */
export async function shipmentView(code, rows = null) {
  const entry = code ? await replicaEntry("shipment", code) : null;
  if (!entry) return null;
  return overlay(entry.data, rows || await outbox());
}

/** Every shipment of the replica, overlaid. */
export async function shipmentViews() {
  const rows = await outbox();
  return (await replica("shipment")).map((entry) => overlay(entry.data, rows));
}

function overlay(data, rows) {
  const shipment = structuredClone(data);
  shipment.lines = shipment.lines.map((line) => ({ ...line, packedMicro: toMicro(line.packed_quantity) ?? 0n }));
  shipment.handling_units = shipment.handling_units.map((unit) => ({ ...unit, contents: [...unit.contents] }));
  shipment.signed = false;
  for (const row of rows) {
    const args = row.args || {};
    if (args.shipment !== shipment.code) continue;
    if (row.name === "shipment.pack") applyPack(shipment, args);
    else if (row.name === "shipment.load") {
      const unit = shipment.handling_units.find((u) => u.sscc === args.sscc);
      if (unit) Object.assign(unit, { status: "loaded", vehicle: args.vehicle });
      shipment.vehicle = args.vehicle;
      if (args.route) shipment.route = args.route;
    } else if (row.name === "delivery.sign") shipment.signed = true;
  }
  for (const line of shipment.lines) {
    line.packed_quantity = microText(line.packedMicro);
    line.left = (toMicro(line.quantity) ?? 0n) - line.packedMicro;
  }
  const anyPacked = shipment.lines.some((line) => line.packedMicro > 0n);
  const allPacked = shipment.lines.every((line) => line.left <= 0n);
  const units = shipment.handling_units;
  if (!CLOSED.includes(shipment.status) && shipment.status !== "loaded") {
    if (allPacked && units.length && units.every((u) => u.status === "loaded")) shipment.status = "loaded";
    else if (allPacked) shipment.status = "packed";
    else if (anyPacked) shipment.status = "picking";
  }
  if (shipment.signed) shipment.status = "delivered";
  return shipment;
}

/** A queued pack as the server will book it: each content spread over the item's lines in line order. */
function applyPack(shipment, args) {
  let unit = args.sscc ? shipment.handling_units.find((u) => u.sscc === args.sscc) : null;
  if (!unit) {
    unit = { sscc: args.sscc || null, status: "packed", vehicle: null, contents: [], queued: true };
    shipment.handling_units.push(unit);
  }
  for (const content of args.contents || []) {
    let missing = toMicro(content.quantity) ?? 0n;
    for (const line of shipment.lines) {
      if (line.item !== content.item || missing <= 0n) continue;
      const room = (toMicro(line.quantity) ?? 0n) - line.packedMicro;
      const take = room < missing ? room : missing;
      if (take <= 0n) continue;
      line.packedMicro += take;
      missing -= take;
    }
    unit.contents.push({ item: content.item, lot: content.lot || null, quantity: content.quantity });
  }
}

/** What is still to pack of `item` on the shipment, in micro-units. */
export function leftToPack(shipment, item) {
  return shipment.lines.filter((line) => line.item === item).reduce((sum, line) => sum + (line.left > 0n ? line.left : 0n), 0n);
}

/** The shipment (overlaid) that has a unit with this SSCC, or null. */
export async function shipmentOfUnit(sscc) {
  return (await shipmentViews()).find((s) => s.handling_units.some((u) => u.sscc === sscc)) || null;
}

/** An SSCC as the server takes it: 18 digits whose last is the GS1 check digit. */
export function ssccIsValid(value) {
  return /^\d{18}$/.test(value) && checkDigit(value.slice(0, 17)) === Number(value[17]);
}
