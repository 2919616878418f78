// What the stock screens (receive, move, count, issue, pack, quality) share: fields checked against the command's
// schema and then against the replica before anything is queued, and the on-hand line (the optimistic overlay: the
// replica plus this device's queued mutations).
import { t } from "/app/i18n.js";
import { replicaEntry } from "/app/db.js";
import { toMicro, microText, onHandAt } from "/app/overlay.js";
import { code } from "/app/screens/ui.js";
import { checkField } from "/app/screens/command.js";

/** The item (from the replica) or null, with its problem shown on the field. */
export async function checkItem(command, itemField) {
  const value = await checkField(command, itemField);
  if (!value) return null;
  const entry = await replicaEntry("item", value);
  if (!entry) { itemField.problem(t("valid.unknown_item", { item: value })); return null; }
  return entry.data;
}

/** The lot (null when none), or undefined with the problem shown. */
export async function checkLot(command, lotField, item) {
  const value = await checkField(command, lotField);
  if (value === undefined) return undefined;
  if (item?.lot_tracked && !value) { lotField.problem(t("valid.lot_required")); return undefined; }
  if (item && !item.lot_tracked && value) { lotField.problem(t("valid.lot_not_tracked")); return undefined; }
  return value;
}

/** A location of this device's scope, or null with the problem shown. */
export async function checkLocation(command, locationField) {
  const value = await checkField(command, locationField);
  if (!value) return null;
  if (!(await replicaEntry("location", value))) {
    locationField.problem(t("valid.unknown_location", { location: value }));
    return null;
  }
  return value;
}

/** A quantity as the command takes it (a decimal string, written plainly), or null with the problem shown. */
export async function checkQuantity(command, quantityField) {
  const value = await checkField(command, quantityField);
  return value ? microText(toMicro(value)) : null;
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
