// The sync engine: sync protocol v1 (DESIGN.md section 2) in the browser, the twin of sync/client.py.
// Enrol; queue mutations (seq taken durably in IndexedDB before anything is sent); push them in seq order
// (applied / rejected / duplicate / gap); pull the scoped feed to its head (cursor, `reset`, `mutation_result`
// entries settling outcomes whose response was lost); measure the clock offset; back off with jitter on transient
// faults; pull on a poke from the live socket, and every 30 s while the socket is down. One tab at a time pushes
// and pulls (a Web Lock); the others see the results through IndexedDB and a BroadcastChannel.
import * as store from "/app/db.js";
import * as update from "/app/update.js";

export const PROTOCOL = 1;
export const APP_VERSION = "0.6.0";
const BATCH = 200;
const PAGE = 500;
const LOCK = "floorsync-push";
const PERIODIC_PULL_MS = 30_000;
const HEARTBEAT_MS = 25_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;

export const events = new EventTarget();
const channel = "BroadcastChannel" in self ? new BroadcastChannel("floorsync") : null;

const state = { enrolled: false, reachable: navigator.onLine, live: false, syncing: false, pending: 0, unconfirmed: 0, attention: 0,
  lastSync: null, lastError: null };
let token = null;
let clockOffset = 0;
let started = false;
let failures = 0;
let retryTimer = null;
let running = null;
let again = false;
let socket = null;
let socketFailures = 0;
let socketTimer = null;
let heartbeat = null;
let boardTopics = [];

class Transient extends Error {
  constructor(message, retryAfter = null) { super(message); this.retryAfter = retryAfter; }
}

class Refused extends Error {
  constructor(status, body) {
    super(`${status} ${body?.code}: ${body?.message}`);
    this.status = status;
    this.code = body?.code || `http_${status}`;
    this.body = body || {};
  }
}

export function status() { return { ...state }; }

function emit(kind) {
  events.dispatchEvent(new CustomEvent(kind, { detail: status() }));
}

/** Re-read the counts from IndexedDB and tell the screens (and, when `share`, the other tabs). */
export async function refresh(share = false) {
  const rows = await store.outbox();
  state.pending = rows.filter((row) => row.status === "pending").length;
  state.unconfirmed = rows.length - state.pending;  // applied by the server, not yet pulled back
  state.attention = (await store.attention()).length;
  state.lastSync = await store.getMeta("last_sync");
  emit("status");
  emit("change");
  if (share) channel?.postMessage({ type: "change" });
}

function setState(values) {
  Object.assign(state, values);
  emit("status");
}

// -- HTTP -----------------------------------------------------------------------------------------------------
async function call(method, path, body) {
  const sent = Date.now();
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      cache: "no-store",
    });
  } catch {
    throw new Transient("network");  // offline, connection refused or reset, response lost
  }
  if ([502, 503, 504].includes(response.status)) {
    const retryAfter = Number(response.headers.get("retry-after"));
    throw new Transient(`server busy (${response.status})`, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : null);
  }
  let data;
  try {
    data = await response.json();
  } catch {
    throw new Transient(`unreadable response (${response.status})`);
  }
  if (!response.ok) throw new Refused(response.status, data);
  if (data.server_time) {
    const server = Date.parse(data.server_time);
    if (Number.isFinite(server)) {
      clockOffset = server - (sent + Date.now()) / 2;
      await store.setMeta("clock_offset", clockOffset);
    }
  }
  return data;
}

/** The server's clock as this device best knows it: the operator's event time. */
export function serverNow() { return new Date(Date.now() + clockOffset); }

// -- enrolment ------------------------------------------------------------------------------------------------
export class EnrolError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

export async function enroll(code, deviceName) {
  if ((await store.outbox()).length) {
    throw new EnrolError("outbox_not_empty", "This device still has mutations to send");
  }
  let response;
  try {
    response = await fetch("/api/sync/enroll", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ code: code.trim().toUpperCase(), device_name: deviceName, platform: navigator.platform || "web",
        app_version: APP_VERSION }),
    });
  } catch {
    throw new EnrolError("network", "No connection to the server");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new EnrolError(body.code || `http_${response.status}`, body.message || response.statusText);
  const language = await store.getMeta("language");
  stop();
  await store.wipe();
  const values = { token: body.token, device_id: body.device_id, scope: body.scope, device_name: deviceName, cursor: 0,
    next_seq: 1, last_seq: 0, language, clock_offset: Date.parse(body.server_time) - Date.now() };
  for (const [key, value] of Object.entries(values)) if (value !== undefined && value !== null) await store.setMeta(key, value);
  channel?.postMessage({ type: "enrolled" });
  await start();
  return body;
}

// -- the operator's actions -------------------------------------------------------------------------------------
export async function enqueue(name, args, correcting = null) {
  const row = await store.addToOutbox(name, args, serverNow().toISOString(), correcting);
  await refresh(true);
  requestSync();
  return row.id;
}

/** A refused mutation corrected by the operator goes again as a NEW mutation (new seq, new id). */
export function resend(attentionId, args) {
  return store.attentionEntry(attentionId).then((entry) => {
    if (!entry) throw new Error("unknown attention entry");
    return enqueue(entry.name, args, attentionId);
  });
}

/** Give up this device's queued work (the enrol screen saves it to a file first): a revoked device cannot send it. */
export async function discardUnsent() {
  const tx = (await store.db()).transaction(["outbox"], "readwrite");
  await tx.objectStore("outbox").clear();
  await tx.done;
  await refresh(true);
}

export async function dismiss(attentionId) {
  await store.dismissAttention(attentionId);
  await refresh(true);
}

// -- push -------------------------------------------------------------------------------------------------------
async function pushAll() {
  for (;;) {
    const batch = await store.pendingBatch(BATCH);
    if (!batch.length) return;
    const body = await call("POST", "/api/sync/push", {
      protocol: PROTOCOL,
      mutations: batch.map(({ seq, id, name, args, client_time }) => ({ seq, id, name, args, client_time })),
      pending: await store.pendingCount(),
      app_version: APP_VERSION,
    });
    let expected = null;
    const tx = (await store.db()).transaction(["meta", "outbox", "attention"], "readwrite");
    for (const result of body.results) {
      if (result.status === "gap") { expected = result.expected; break; }
      const outcome = result.status === "duplicate" ? result.outcome : result.status;
      await store.settle(tx, result.id, result.seq, outcome, result.error);
    }
    await tx.objectStore("meta").put(body.last_seq, "last_seq");
    await tx.done;
    await refresh(true);
    if (expected !== null) {
      // The server wants an earlier seq: the next round resends the outbox from there, if we still hold it.
      const first = (await store.pendingBatch(1))[0];
      if (!first || first.seq !== expected || expected === batch[0].seq) {
        throw new Refused(409, { code: "gap", message: `The server expects mutation ${expected}` });
      }
    }
  }
}

// -- pull -------------------------------------------------------------------------------------------------------
async function pullAll() {
  for (let pages = 0; pages < 100_000; pages++) {
    const cursor = (await store.getMeta("cursor")) || 0;
    const body = await call("GET", `/api/sync/pull?protocol=${PROTOCOL}&cursor=${encodeURIComponent(cursor)}&limit=${PAGE}`);
    await applyPage(cursor, body);
    if (body.has_more || body.reset) emit("progress");
    if (!body.has_more && !body.reset) return;
  }
}

/** One page, atomically. A pull from 0 (first sync, or after `reset`) is a snapshot: the replica keeps what it
 * shows until the snapshot is complete, then drops every row the snapshot did not confirm. */
async function applyPage(cursor, body) {
  const tx = (await store.db()).transaction(["meta", "replica", "outbox", "attention"], "readwrite");
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
    await store.settle(tx, data.id, data.seq, data.status, data.error, true);
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

// -- the round, the lock, the backoff -----------------------------------------------------------------------------
/** Push everything queued, then pull to the head; one round at a time across every tab of this device. */
export function requestSync() {
  if (!token) return Promise.resolve();
  if (running) {
    again = true;
    return running;
  }
  running = (async () => {
    try {
      do {
        again = false;
        if (navigator.locks) await navigator.locks.request(LOCK, round);
        else await round();
      } while (again);
    } finally {
      running = null;
    }
  })();
  return running;
}

async function round() {
  clearTimeout(retryTimer);
  setState({ syncing: true });
  try {
    await pushAll();
    await pullAll();
    failures = 0;
    state.reachable = true;
    state.lastError = null;
  } catch (error) {
    if (error instanceof Transient) {
      state.reachable = false;
      retryLater(error.retryAfter);
    } else if (error instanceof Refused) {
      state.reachable = true;
      state.lastError = { code: error.code, message: error.body.message || error.message };
      if (error.status === 401) stop();  // revoked or unknown token: nothing more to do until enrolled again
      else if (error.status === 426) update.required();  // this version's protocol is gone: the outbox waits for the new one
      else retryLater();
    } else {
      state.lastError = { code: "internal", message: String(error) };
      retryLater();
    }
  } finally {
    state.syncing = false;
    await refresh(true);
  }
}

function retryLater(retryAfterSeconds = null) {
  failures += 1;
  let delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** failures);  // full jitter
  if (retryAfterSeconds) delay = Math.max(delay, retryAfterSeconds * 1000);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(requestSync, delay);
}

// -- the live socket ------------------------------------------------------------------------------------------------
function connect() {
  if (!token || socket) return;
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/api/sync/live`;
  let ws;
  try {
    ws = new WebSocket(url);
  } catch {
    reconnectLater();
    return;
  }
  socket = ws;
  ws.onopen = () => ws.send(JSON.stringify({ type: "hello", token }));
  ws.onmessage = (message) => {
    let data;
    try { data = JSON.parse(message.data); } catch { return; }
    if (data.type === "hello") {
      socketFailures = 0;
      setState({ live: true });
      if (boardTopics.length) sendSubscribe();  // a new socket watches nothing until told again
      requestSync();  // a reconnect may have missed pokes
    } else if (data.type === "poke") {
      requestSync();
    } else if (data.type === "board") {
      events.dispatchEvent(new CustomEvent("board", { detail: data }));
      requestSync();  // the poke brings the data too; this only shortens the wait
    } else if (data.type === "subscribed") {
      events.dispatchEvent(new CustomEvent("board-subscribed", { detail: data }));
    } else if (data.type === "error" && BOARD_ERRORS.includes(data.code)) {
      events.dispatchEvent(new CustomEvent("board-error", { detail: data }));  // the pokes go on: not a sync error
    } else if (data.type === "error") {
      setState({ lastError: { code: data.code, message: data.message } });
    }
  };
  ws.onclose = (event) => {
    if (socket === ws) socket = null;
    setState({ live: false });
    if (event.code === 4401) stop();
    else reconnectLater();
  };
}

// Boards: a screen watches topics (its work centres') on the live socket; each `{"type": "board", topic, events}`
// is dispatched as a "board" event on `events`. The board only says that something happened: the data comes with
// the pull it triggers.
const BOARD_ERRORS = ["topic_out_of_scope", "invalid_topics"];

function sendSubscribe() {
  if (socket && socket.readyState === WebSocket.OPEN && state.live) {
    socket.send(JSON.stringify({ type: "subscribe", topics: boardTopics }));
  }
}

/** Watch these board topics (an empty list stops watching); kept across reconnects. */
export function watchBoards(topics) {
  const before = boardTopics;
  boardTopics = [...topics];
  if (boardTopics.length || before.length) sendSubscribe();
}

function reconnectLater() {
  if (!started) return;
  socketFailures += 1;
  clearTimeout(socketTimer);
  socketTimer = setTimeout(connect, Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** socketFailures));
}

function tick() {
  if (!started) return;
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "ping", pending: state.pending }));
  } else {
    requestSync();  // the socket is down: no pokes, so pull on the clock
  }
}

function online() {
  failures = 0;
  socketFailures = 0;
  state.reachable = true;
  connect();
  requestSync();
}

function offline() {
  setState({ reachable: false });
}

// -- lifecycle --------------------------------------------------------------------------------------------------------
export async function start() {
  token = await store.getMeta("token");
  clockOffset = (await store.getMeta("clock_offset")) || 0;
  state.enrolled = Boolean(token);
  await refresh();
  if (!token || started) return;
  started = true;
  addEventListener("online", online);
  addEventListener("offline", offline);
  heartbeat = setInterval(tick, Math.min(PERIODIC_PULL_MS, HEARTBEAT_MS));
  connect();
  requestSync();
}

export function stop() {
  started = false;
  token = null;
  clearTimeout(retryTimer);
  clearTimeout(socketTimer);
  clearInterval(heartbeat);
  removeEventListener("online", online);
  removeEventListener("offline", offline);
  if (socket) {
    const ws = socket;
    socket = null;
    ws.close();
  }
}

channel?.addEventListener("message", async (message) => {
  if (message.data?.type === "enrolled") {
    stop();
    await start();
  }
  await refresh();
});

// -- the optimistic overlay ----------------------------------------------------------------------------------------
// On hand as the operator should see it: the replica's stock with this device's queued moves and counts applied
// (pending, and applied but not yet pulled back). Computed on the fly, so it disappears as the server's changes
// arrive and the mutations leave the outbox.
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
