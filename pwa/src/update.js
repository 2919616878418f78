// A new version of the app: the service worker precaches it in the background and then waits (build.mjs sets
// skipWaiting off), so a shift is never switched over under the operator's hands. The app shows a reload prompt;
// reloading tells the waiting worker to take over and opens the new version. The outbox lives in IndexedDB, which
// a new version never touches, so what was queued is still there and is sent by the new version.
// The server may also refuse this app's sync protocol (HTTP 426): then a reload is required, and the prompt says so.
export const events = new EventTarget();
let registration = null;
let reloading = false;
const state = { ready: false, required: false };

export function status() { return { ...state }; }

function announce(changes) {
  Object.assign(state, changes);
  events.dispatchEvent(new CustomEvent("update", { detail: status() }));
}

function watch(worker) {
  if (!worker) return;
  const check = () => {
    // An installed worker with a controller already in place is a NEW version (the first install has none).
    if (worker.state === "installed" && navigator.serviceWorker.controller) announce({ ready: true });
  };
  worker.addEventListener("statechange", check);
  check();
}

export async function register() {
  if (!("serviceWorker" in navigator)) return;
  registration = await navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" });
  watch(registration.waiting);
  registration.addEventListener("updatefound", () => watch(registration.installing));
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (reloading) location.reload();
  });
  // Look for a new version whenever the operator comes back to the app (and the network allows).
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") check(); });
}

/** Ask the server whether there is a new version now. */
export async function check() {
  try { await registration?.update(); } catch { /* offline: the next check will do */ }
}

/** The server refused this version's protocol: fetch the new version at once and ask for a reload. */
export function required() {
  if (state.required) return;
  announce({ required: true });
  check();
}

/** Reload into the new version: the waiting worker takes over first. When the server required the update, look
 * for the new version once more first (it may have been deployed since the refusal). */
export async function reload() {
  if (state.required) await check();
  const waiting = await waitingWorker();
  if (waiting && navigator.serviceWorker.controller) {
    reloading = true;
    waiting.postMessage({ type: "SKIP_WAITING" });
  } else {
    location.reload();
  }
}

async function waitingWorker() {
  const installing = registration?.installing;
  if (installing) {
    await new Promise((resolve) => {
      const settled = () => { if (installing.state !== "installing") resolve(); };
      installing.addEventListener("statechange", settled);
      settled();
    });
  }
  return registration?.waiting || null;
}
