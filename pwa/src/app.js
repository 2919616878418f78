// The floor app's entry: registers the service worker (the app shell works offline), loads the language, starts the
// sync engine and routes between screens by the URL's hash (#/home, #/move, #/count, #/receive, #/issue, #/report,
// #/pack, #/load, #/route, #/deliver, #/downtime, #/quality, #/board, #/attention, #/enrol, and #enrol=CODE from the
// enrolment QR code).
import * as i18n from "/app/i18n.js";
import * as sync from "/app/sync.js";
import * as update from "/app/update.js";
import { getMeta } from "/app/db.js";
import { renderStatus, renderUpdate } from "/app/screens/status.js";
import * as home from "/app/screens/home.js";
import * as enrol from "/app/screens/enrol.js";
import * as attention from "/app/screens/attention.js";
import * as move from "/app/screens/move.js";
import * as count from "/app/screens/count.js";
import * as receive from "/app/screens/receive.js";
import * as issue from "/app/screens/issue.js";
import * as report from "/app/screens/report.js";
import * as pack from "/app/screens/pack.js";
import * as load from "/app/screens/load.js";
import * as route from "/app/screens/route.js";
import * as deliver from "/app/screens/deliver.js";
import * as downtime from "/app/screens/downtime.js";
import * as quality from "/app/screens/quality.js";
import * as board from "/app/screens/board.js";

update.register();

// Screens by route. `command` is the floor command a screen sends (needs-attention reopens that screen to correct
// it); `fits(scope)` decides whether home lists it for this device.
export const SCREENS = {
  home: { module: home },
  enrol: { module: enrol },
  attention: { module: attention },
  move: { module: move, command: "stock.move", label: "move.title", fits: (scope) => !scope.route },
  count: { module: count, command: "stock.count", label: "count.title", fits: (scope) => !scope.route },
  receive: { module: receive, command: "receipt.receive", label: "receive.title", fits: (scope) => !scope.route },
  issue: { module: issue, command: "stock.issue", label: "issue.title", fits: (scope) => !scope.route },
  report: { module: report, command: "production.report", label: "report.title", fits: (scope) => !scope.route },
  pack: { module: pack, command: "shipment.pack", label: "pack.title", fits: (scope) => !scope.route },
  load: { module: load, command: "shipment.load", label: "load.title", fits: (scope) => !scope.route },
  route: { module: route, label: "route.tile", fits: (scope) => Boolean(scope.route) },
  deliver: { module: deliver, command: "delivery.sign" },  // opened from the route, not from home
  downtime: { module: downtime, command: "production.downtime", label: "downtime.title",
    fits: (scope) => Boolean(scope.work_centres?.length) },
  quality: { module: quality, command: "quality.record", label: "quality.title",
    fits: (scope) => Boolean(scope.warehouses?.length || scope.work_centres?.length) },
  board: { module: board, label: "board.title", fits: (scope) => Boolean(scope.work_centres?.length) },
};

export function screenFor(command) {
  return Object.entries(SCREENS).find(([, screen]) => screen.command === command)?.[0] || null;
}

export function navigate(route, params = {}) {
  const query = new URLSearchParams(params).toString();
  const hash = `#/${route}${query ? `?${query}` : ""}`;
  if (location.hash === hash) show();
  else location.hash = hash;
}

function parseHash() {
  const hash = location.hash.replace(/^#/, "");
  const enrolLink = /^enrol=([A-Za-z0-9-]+)$/.exec(hash);
  if (enrolLink) return { route: "enrol", params: { code: enrolLink[1], auto: "1" } };
  const [path, query = ""] = hash.replace(/^\//, "").split("?");
  return { route: path || "home", params: Object.fromEntries(new URLSearchParams(query)) };
}

const screenElement = document.getElementById("screen");
const statusElement = document.getElementById("sync-status");
const updateElement = document.getElementById("update");
let cleanup = null;

async function show() {
  let { route, params } = parseHash();
  const enrolled = Boolean(await getMeta("token"));
  if (!enrolled && route !== "enrol") route = "enrol";
  const screen = SCREENS[route] || SCREENS.home;
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  screenElement.replaceChildren();
  document.body.dataset.screen = route;
  const scope = (await getMeta("scope")) || {};
  cleanup = await screen.module.render(screenElement, { params, navigate, sync, scope, screens: SCREENS, screenFor, rerender: show });
  document.getElementById("title").textContent = i18n.t("app.title");
  renderStatus(statusElement, sync.status());
  renderUpdate(updateElement, update.status());
}

async function main() {
  await i18n.init();
  sync.events.addEventListener("status", (event) => renderStatus(statusElement, event.detail));
  update.events.addEventListener("update", (event) => renderUpdate(updateElement, event.detail));
  renderStatus(statusElement, sync.status());
  addEventListener("hashchange", show);
  await sync.start();
  await show();
  document.body.dataset.ready = "1";
}

main();
