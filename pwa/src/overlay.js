// The optimistic overlay: what the operator should see before the server confirms it. The replica's stock, production
// progress and downtime with this device's queued mutations applied (pending, and applied but not yet pulled back).
// Computed on the fly from IndexedDB, so it disappears as the server's changes arrive and the mutations leave the
// outbox. Quantities are exact: micro-units in BigInt, as the stock ledger keeps them.
import * as store from "/app/db.js";

// On hand: the replica's stock with this device's queued moves and counts applied.
const MICRO = 1_000_000n;

export function toMicro(text) {
  const match = /^(-?)(\d+)(?:\.(\d{1,6}))?$/.exec(String(text ?? "").trim());
  if (!match) return null;
  const micro = BigInt(match[2]) * MICRO + BigInt((match[3] || "").padEnd(6, "0"));
  return match[1] ? -micro : micro;
}

export function microText(micro) {
  const negative = micro < 0n;
  const absolute = negative ? -micro : micro;
  const fraction = (absolute % MICRO).toString().padStart(6, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${absolute / MICRO}${fraction ? `.${fraction}` : ""}`;
}

export function stockKey(item, location, lot) {
  return `${item}|${location}|${lot || ""}`;
}

/** Map stockKey(item, location, lot) -> on-hand (available) in micro-units, replica + queued mutations. */
export async function onHand() {
  const totals = new Map();
  for (const row of await store.replica("stock")) {
    const data = row.data || {};
    if (data.status !== "available") continue;
    totals.set(stockKey(data.item, data.location, data.lot), toMicro(data.quantity) ?? 0n);
  }
  const add = (item, location, lot, delta) => {
    const key = stockKey(item, location, lot);
    totals.set(key, (totals.get(key) ?? 0n) + delta);
  };
  for (const row of await store.outbox()) {
    const args = row.args || {};
    if (row.name === "stock.move") {
      const quantity = toMicro(args.quantity) ?? 0n;
      add(args.item, args.from_location, args.lot, -quantity);
      add(args.item, args.to_location, args.lot, quantity);
    } else if (row.name === "stock.count") {
      totals.set(stockKey(args.item, args.location, args.lot), toMicro(args.counted_quantity) ?? 0n);
    }
  }
  return totals;
}

export async function onHandAt(item, location, lot) {
  return (await onHand()).get(stockKey(item, location, lot)) ?? 0n;
}

// Production as the operator should see it: each operation's good and scrap in the replica's production orders with
// this device's queued production.report mutations added (pending, and applied but not yet pulled back), so a
// report shows at once, offline too, and the overlay goes when the server's change arrives.
export function operationKey(order, sequence) {
  return `${order}|${sequence}`;
}

/** Map operationKey(order, sequence) -> {good, scrap, queuedGood, queuedScrap} in micro-units. */
export async function operationProgress() {
  const progress = new Map();
  for (const row of await store.replica("production_order")) {
    for (const op of row.data?.operations || []) {
      progress.set(operationKey(row.data.code, op.sequence), { good: toMicro(op.good_quantity) ?? 0n,
        scrap: toMicro(op.scrap_quantity) ?? 0n, queuedGood: 0n, queuedScrap: 0n });
    }
  }
  for (const row of await store.outbox()) {
    if (row.name !== "production.report") continue;
    const entry = progress.get(operationKey(row.args?.production_order, row.args?.operation));
    if (!entry) continue;  // an order this device no longer holds
    const good = toMicro(row.args.good_quantity) ?? 0n;
    const scrap = toMicro(row.args.scrap_quantity) ?? 0n;
    Object.assign(entry, { good: entry.good + good, scrap: entry.scrap + scrap, queuedGood: entry.queuedGood + good,
      queuedScrap: entry.queuedScrap + scrap });
  }
  return progress;
}

/** A production order's replica data with the overlay applied to its operations (`queued`: part of it is ours). */
export async function withProgress(order) {
  if (!order) return order;
  const progress = await operationProgress();
  return { ...order, operations: order.operations.map((op) => {
    const entry = progress.get(operationKey(order.code, op.sequence));
    if (!entry) return op;
    return { ...op, good_quantity: microText(entry.good), scrap_quantity: microText(entry.scrap),
      queued: entry.queuedGood > 0n || entry.queuedScrap > 0n };
  }) };
}

// Downtime as the operator should see it: the replica's open downtime (one `downtime` row per work centre that is
// down) with this device's queued production.downtime starts and stops applied in seq order.
export async function downNow() {
  const down = new Map();
  for (const row of await store.replica("downtime")) down.set(row.id, { ...row.data, queued: false });
  for (const row of await store.outbox()) {
    if (row.name !== "production.downtime") continue;
    const { work_centre: centre, action, reason } = row.args || {};
    if (action === "start") down.set(centre, { work_centre: centre, reason, started_at: row.client_time, queued: true });
    else if (action === "stop") down.delete(centre);
  }
  return down;
}
