// The sync status in the top bar: online/offline, what waits to be sent, needs-attention, last sync, last error.
// Its data-* attributes carry the same facts for tests and for styling.
import { t, errorText } from "/app/i18n.js";
import { h } from "/app/screens/ui.js";
import { reload } from "/app/update.js";

function time(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function renderStatus(element, s) {
  const state = !s.enrolled ? "unenrolled" : s.syncing ? "syncing" : !s.reachable ? "offline" : s.lastError ? "error" : "idle";
  element.dataset.state = state;
  element.dataset.pending = String(s.pending);
  element.dataset.unconfirmed = String(s.unconfirmed);
  element.dataset.attention = String(s.attention);
  element.dataset.lastSync = s.lastSync ? String(s.lastSync) : "";
  element.dataset.live = s.live ? "1" : "0";
  const parts = [];
  if (!s.enrolled) parts.push(t("sync.not_enrolled"));
  else {
    parts.push(h("span", { class: `dot ${s.reachable ? "on" : "off"}` }, s.syncing ? t("sync.syncing") : t(s.reachable ? "sync.online" : "sync.offline")));
    if (s.pending) parts.push(h("span", { class: "pending" }, t("sync.pending", { count: s.pending })));
    if (s.attention) parts.push(h("a", { class: "attention", href: "#/attention" }, t("sync.attention", { count: s.attention })));
    parts.push(h("span", { class: "last" }, s.lastSync ? t("sync.last", { time: time(s.lastSync) }) : t("sync.never")));
    if (s.lastError) parts.push(h("span", { class: "error" }, t("sync.error", { message: errorText(s.lastError) })));
  }
  element.replaceChildren(...parts.flatMap((part, i) => (i ? [" · ", part] : [part])));
}

/** The new-version prompt: offered when a new version is ready, insisted on when the server requires it. */
export function renderUpdate(element, u) {
  element.hidden = !(u.ready || u.required);
  element.dataset.state = u.required ? "required" : u.ready ? "ready" : "";
  if (element.hidden) { element.replaceChildren(); return; }
  element.className = `notice ${u.required ? "bad" : "info"}`;
  element.replaceChildren(
    h("span", {}, t(u.required ? "update.required" : "update.ready"), " ", t("update.kept")),
    h("button", { type: "button", id: "update-reload", onclick: reload }, t("update.reload")),
  );
}
