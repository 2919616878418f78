// What the stock screens (move, count) share: checks against the replica before anything is queued, and the
// on-hand line (the optimistic overlay: the replica plus this device's queued mutations).
import { t } from "/app/i18n.js";
import { replicaEntry } from "/app/db.js";
import { toMicro, microText, onHandAt } from "/app/overlay.js";
import { code } from "/app/screens/ui.js";

/** The item (from the replica) or null, with its problem shown on the field. */
export async function checkItem(itemField) {
  const value = code(itemField.input.value);
  if (!value) { itemField.problem(t("valid.required")); return null; }
  const entry = await replicaEntry("item", value);
  if (!entry) { itemField.problem(t("valid.unknown_item", { item: value })); return null; }
  itemField.problem("");
  return entry.data;
}

export function checkLot(lotField, item) {
  const value = code(lotField.input.value);
  if (item?.lot_tracked && !value) { lotField.problem(t("valid.lot_required")); return undefined; }
  if (item && !item.lot_tracked && value) { lotField.problem(t("valid.lot_not_tracked")); return undefined; }
  lotField.problem("");
  return value || null;
}

export async function checkLocation(locationField) {
  const value = code(locationField.input.value);
  if (!value) { locationField.problem(t("valid.required")); return null; }
  if (!(await replicaEntry("location", value))) {
    locationField.problem(t("valid.unknown_location", { location: value }));
    return null;
  }
  locationField.problem("");
  return value;
}

/** A quantity as the server takes it (a decimal string, at most 6 decimals), or null with the problem shown. */
export function checkQuantity(quantityField, { allowZero = false } = {}) {
  const micro = toMicro(quantityField.input.value);
  if (micro === null || micro < 0n) { quantityField.problem(t("valid.quantity")); return null; }
  if (micro === 0n && !allowZero) { quantityField.problem(t("valid.quantity_positive")); return null; }
  quantityField.problem("");
  return microText(micro);
}

/** Fill the on-hand line for the item, lot and location the fields hold now. */
export async function showOnHand(element, itemField, lotField, locationField) {
  const item = code(itemField.input.value);
  const location = code(locationField.input.value);
  if (!item || !location) {
    element.textContent = "";
    delete element.dataset.onHand;
    return null;
  }
  const micro = await onHandAt(item, location, code(lotField.input.value) || null);
  element.textContent = t("stock.on_hand", { location, quantity: microText(micro) });
  element.dataset.onHand = microText(micro);
  return micro;
}
