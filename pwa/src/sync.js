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
  await store.clearOutbox();
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
    const gap = body.results.findIndex((result) => result.status === "gap");
    const expected = gap < 0 ? null : body.results[gap].expected;
    const outcomes = (gap < 0 ? body.results : body.results.slice(0, gap)).map((result) => ({ ...result,
      status: result.status === "duplicate" ? result.outcome : result.status }));
    await store.recordPush(outcomes, body.last_seq);
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
    await store.applyPage(cursor, body);
    if (body.has_more || body.reset) emit("progress");
    if (!body.has_more && !body.reset) return;
  }
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
