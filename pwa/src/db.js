// Local data in IndexedDB, through idb: the device's settings (meta), the read-only replica of its scope, the
// outbox of mutations (each with its seq, taken in the same transaction that stores it: durable before it is sent)
// and the needs-attention list (mutations the server refused, with the reason). Every transaction over these stores
// is opened here: the sync engine and the screens call the functions below, never IndexedDB itself.
import { openDB } from "/app/vendor/idb.js";

const NAME = "floorsync";
let opened = null;

export function db() {
  if (!opened) {
    opened = openDB(NAME, 1, {
      upgrade(database) {
        database.createObjectStore("meta");
        const replica = database.createObjectStore("replica", { keyPath: "key" });
        replica.createIndex("entity", "entity");
        const outbox = database.createObjectStore("outbox", { keyPath: "seq" });
        outbox.createIndex("id", "id", { unique: true });
        database.createObjectStore("attention", { keyPath: "id" });
      },
      // Another tab opened a newer version of the app: let it upgrade (our next call reopens).
      blocking() { opened?.then((d) => d.close()); opened = null; },
    });
  }
  return opened;
}

export async function getMeta(key, fallback = null) {
  const value = await (await db()).get("meta", key);
  return value === undefined ? fallback : value;
}

export async function setMeta(key, value) {
  await (await db()).put("meta", value, key);
}

export async function allMeta() {
  const tx = (await db()).transaction("meta");
  const [keys, values] = await Promise.all([tx.store.getAllKeys(), tx.store.getAll()]);
  return Object.fromEntries(keys.map((k, i) => [k, values[i]]));
}

// -- the outbox ---------------------------------------------------------------------------------------------
// status: "pending" (not yet acknowledged by the server) or "applied" (the server applied it; kept for the
// optimistic overlay until the pull that carries its effect reaches the replica).

/** Queue a mutation: its seq is read, used and advanced in one transaction with the row itself. */
export async function addToOutbox(name, args, clientTime, removeAttentionId = null) {
  const tx = (await db()).transaction(["meta", "outbox", "attention"], "readwrite");
  const meta = tx.objectStore("meta");
  const seq = (await meta.get("next_seq")) || 1;
  const row = { seq, id: crypto.randomUUID(), name, args, client_time: clientTime, status: "pending" };
  await tx.objectStore("outbox").add(row);
  await meta.put(seq + 1, "next_seq");
  if (removeAttentionId) await tx.objectStore("attention").delete(removeAttentionId);
  await tx.done;
  return row;
}

export async function outbox() {
  return (await db()).getAll("outbox");  // in seq order (the key)
}

export async function pendingBatch(limit) {
  const rows = [];
  let cursor = await (await db()).transaction("outbox").store.openCursor();
  while (cursor && rows.length < limit) {
    if (cursor.value.status === "pending") rows.push(cursor.value);
    cursor = await cursor.continue();
  }
  return rows;
}

export async function pendingCount() {
  return (await outbox()).filter((row) => row.status === "pending").length;
}

/** A settled outcome inside an open transaction over outbox and attention: rejected leaves the outbox for
 * needs-attention; applied stays (for the overlay) until the replica has its effect (`inReplica`: the outcome came
 * in the pull feed, in the same page as the effect or after it), then it goes. */
async function settle(tx, id, seq, status, error, inReplica = false) {
  const outboxStore = tx.objectStore("outbox");
  const key = await outboxStore.index("id").getKey(id);
  if (key === undefined) return;
  const row = await outboxStore.get(key);
  if (status === "rejected") {
    await outboxStore.delete(key);
    await tx.objectStore("attention").put({ id, seq, name: row.name, args: row.args, error: error || {}, at: new Date().toISOString() });
  } else if (inReplica) {
    await outboxStore.delete(key);
  } else if (row.status !== "applied") {
    row.status = "applied";
    await outboxStore.put(row);
  }
}

/** A push's answer, in one transaction: each outcome ({id, seq, status, error}) settled, and the server's last_seq. */
export async function recordPush(outcomes, lastSeq) {
  const tx = (await db()).transaction(["meta", "outbox", "attention"], "readwrite");
  for (const { id, seq, status, error } of outcomes) await settle(tx, id, seq, status, error);
  await tx.objectStore("meta").put(lastSeq, "last_seq");
  await tx.done;
}

/** Give up every queued mutation (the device's queued work was saved elsewhere first). */
export async function clearOutbox() {
  await (await db()).clear("outbox");
}

export async function attention() {
  const rows = await (await db()).getAll("attention");
  return rows.sort((a, b) => a.seq - b.seq);
}

export async function attentionEntry(id) {
  return (await db()).get("attention", id);
}

export async function dismissAttention(id) {
  await (await db()).delete("attention", id);
}

// -- the replica --------------------------------------------------------------------------------------------
export async function replica(entity) {
  return (await db()).getAllFromIndex("replica", "entity", entity);
}

export async function replicaEntry(entity, id) {
  return (await db()).get("replica", `${entity}|${id}`);
}

// -- a pull page: the replica and the outcomes it carries ------------------------------------------------
/** One page, atomically. A pull from 0 (first sync, or after `reset`) is a snapshot: the replica keeps what it
 * shows until the snapshot is complete, then drops every row the snapshot did not confirm. */
export async function applyPage(cursor, body) {
  const tx = (await db()).transaction(["meta", "replica", "outbox", "attention"], "readwrite");
  const meta = tx.objectStore("meta");
  if (body.reset) {
    await meta.put(0, "cursor");
    await tx.done;
    return;
  }
  let snapshot = (await meta.get("snapshot")) || 0;
  if (cursor === 0) {
    snapshot = ((await meta.get("snapshot_generation")) || 0) + 1;
    await meta.put(snapshot, "snapshot_generation");
    await meta.put(snapshot, "snapshot");
  }
  for (const change of body.changes) await applyChange(tx, change, snapshot);
  if (!body.has_more) {
    if (snapshot) {
      let row = await tx.objectStore("replica").openCursor();
      while (row) {
        if (row.value.seen !== snapshot) await row.delete();
        row = await row.continue();
      }
      await meta.delete("snapshot");
    }
    // A complete pull is a consistent checkpoint with the server's last_seq: the replica now holds the effect of
    // every mutation up to it, so the overlay stops applying those (even if their mutation_result was compacted).
    let row = await tx.objectStore("outbox").openCursor();
    while (row) {
      if (row.value.status === "applied" && row.value.seq <= body.last_seq) await row.delete();
      row = await row.continue();
    }
    await meta.put(Date.now(), "last_sync");
  }
  await meta.put(body.cursor, "cursor");
  await meta.put(body.head, "head");
  await meta.put(body.last_seq, "last_seq");
  await tx.done;
}

async function applyChange(tx, change, snapshot) {
  if (change.entity === "mutation_result") {
    const data = change.data;
    await settle(tx, data.id, data.seq, data.status, data.error, true);
    return;
  }
  const replica = tx.objectStore("replica");
  const key = `${change.entity}|${change.id}`;
  const row = await replica.get(key);
  if (row && row.version > change.version) return;  // never an older state after a newer one
  if (row && row.version === change.version) {
    if (snapshot && change.op === "upsert" && row.seen !== snapshot) await replica.put({ ...row, seen: snapshot });
    return;
  }
  if (change.op === "delete") {
    if (row) await replica.delete(key);
    return;
  }
  await replica.put({ key, entity: change.entity, id: change.id, data: change.data, version: change.version, seen: snapshot });
}

/** Everything of this device goes (before enrolling it again as another device). */
export async function wipe() {
  const tx = (await db()).transaction(["meta", "replica", "outbox", "attention"], "readwrite");
  await Promise.all(["meta", "replica", "outbox", "attention"].map((name) => tx.objectStore(name).clear()));
  await tx.done;
}
