// The supervisor's live board: the production orders at this device's work centres with each operation's good, scrap
// and planned quantity and a progress bar (this device's queued reports included), which work centres are down, each
// one's dispatch list (what runs next), and a ticker of the latest events. It watches its work centres' boards on the
// live socket: an event redraws it from the replica at once and again when the pull it triggers lands, so it follows
// the floor without a reload.
import { t } from "/app/i18n.js";
import { replica } from "/app/db.js";
import { h } from "/app/screens/ui.js";
import { downNow, operationProgress, operationKey, microText, toMicro } from "/app/overlay.js";
import { dispatchLists } from "/app/screens/dispatch.js";

const TICKER = 8;
const NEXT_OPERATIONS = 5;

function clock(date) {
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

function percent(good, planned) {
  if (planned <= 0n) return 0;
  const pct = Number((good * 100n) / planned);
  return Math.max(0, Math.min(100, pct));
}

/** One line of the ticker for one board event (production's reports, downtime, an operation behind its schedule;
 * anything else by its kind). */
export function tickerText(topic, event) {
  const centre = event.work_centre || topic.replace(/^board:workcentre:/, "");
  if (event.kind === "report") {
    return t("board.event_report", { work_centre: centre, order: event.production_order, operation: event.operation,
      good: event.good_quantity, scrap: event.scrap_quantity });
  }
  if (event.kind === "downtime") {
    return t(event.action === "start" ? "board.event_down" : "board.event_up", { work_centre: centre, reason: event.reason || "" });
  }
  if (event.kind === "dispatch") {
    return t("board.event_dispatch", { work_centre: centre, count: event.operations ?? "" });
  }
  if (event.kind === "under_issue") {
    return t("board.event_under_issue", { work_centre: centre, order: event.production_order || "", item: event.item || "" });
  }
  if (event.kind === "behind_plan") {
    return t("board.event_behind_plan", { work_centre: centre, operation: event.operation || "", minutes: event.behind_minutes });
  }
  if (event.kind === "issue" || event.kind === "over_issue") {
    return t("board.event_issue", { work_centre: centre, order: event.production_order || "", item: event.item || "" });
  }
  return t("board.event_other", { work_centre: centre, kind: event.kind || "" });
}

export async function render(root, ctx) {
  const { sync, scope } = ctx;
  const centres = scope.work_centres || [];
  const downList = h("ul", { class: "down-list", id: "down" });
  const orders = h("div", { class: "board-orders", id: "orders" });
  const ticker = h("ol", { class: "ticker", id: "ticker", "aria-live": "polite" });
  const live = h("p", { class: "board-live", id: "board-live" });
  const dispatch = dispatchLists(centres, NEXT_OPERATIONS, sync.serverNow);
  const recent = [];
  let drawing = 0;

  async function draw() {
    const mine = ++drawing;
    const [down, progress, rows] = await Promise.all([downNow(), operationProgress(), replica("production_order"),
      dispatch.draw()]);
    if (mine !== drawing) return;  // a newer redraw started meanwhile
    const stopped = centres.filter((centre) => down.has(centre));
    downList.replaceChildren(...(stopped.length ? stopped.map((centre) => h("li", { class: "down", dataset: { centre } },
      t("board.down", { work_centre: centre, reason: down.get(centre).reason || "" })))
      : [h("li", { class: "all-up" }, t("board.all_running"))]));
    const shown = rows.map((row) => row.data)
      .filter((order) => order?.operations?.some((op) => !centres.length || centres.includes(op.work_centre)))
      .sort((a, b) => String(a.due_date).localeCompare(String(b.due_date)) || a.code.localeCompare(b.code));
    orders.replaceChildren(...(shown.length ? shown.map((order) => {
      const planned = toMicro(order.quantity) ?? 0n;
      return h("section", { class: "board-order", dataset: { order: order.code } },
        h("h2", {}, t("board.order", { order: order.code, item: order.item, quantity: order.quantity, status: t(`production_status.${order.status}`) })),
        order.under_issued ? h("p", { class: "under-issued" }, t("board.under_issued", { items: (order.materials || [])
          .filter((m) => m.under_issued).map((m) => m.item).join(", ") })) : "",
        h("table", {}, h("tbody", {}, ...order.operations.map((op) => {
          const entry = progress.get(operationKey(order.code, op.sequence));
          const good = entry?.good ?? toMicro(op.good_quantity) ?? 0n;
          const scrap = entry?.scrap ?? toMicro(op.scrap_quantity) ?? 0n;
          const queued = Boolean(entry && (entry.queuedGood || entry.queuedScrap));
          const isDown = down.has(op.work_centre);
          return h("tr", { class: `op${isDown ? " down" : ""}${queued ? " queued" : ""}`,
            dataset: { sequence: String(op.sequence), workCentre: op.work_centre, good: microText(good), scrap: microText(scrap),
              planned: order.quantity, queued: queued ? "1" : "0", down: isDown ? "1" : "0" } },
            h("th", {}, `${op.sequence} · ${op.work_centre}`),
            h("td", { class: "figures" }, t(queued ? "board.figures_queued" : "board.figures",
              { good: microText(good), scrap: microText(scrap), planned: order.quantity })),
            h("td", { class: "bar" }, h("progress", { max: "100", value: String(percent(good, planned)) }),
              isDown ? h("span", { class: "down-tag" }, t("board.down_tag")) : ""));
        }))));
    }) : [h("p", { class: "empty" }, t("board.no_orders"))]));
  }

  function showTicker() {
    ticker.replaceChildren(...recent.map((entry) => h("li", {}, h("time", {}, clock(entry.at)), " ", entry.text)));
  }

  function onBoard(event) {
    const { topic, events = [] } = event.detail || {};
    for (const item of events) recent.unshift({ at: new Date(), text: tickerText(topic || "", item) });
    recent.splice(TICKER);
    showTicker();
    draw();
  }
  const onSubscribed = (event) => {
    live.dataset.watching = (event.detail.topics || []).join(" ");
    live.textContent = event.detail.topics?.length ? t("board.watching", { work_centres: centres.join(", ") }) : "";
  };
  const onRefused = (event) => { live.textContent = t("board.refused", { message: event.detail.message || "" }); };
  const onChange = () => draw();

  root.append(
    h("h1", {}, t("board.title")),
    live,
    h("h2", {}, t("board.down_title")), downList,
    orders,
    dispatch.element,
    h("h2", {}, t("board.ticker")), ticker,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  showTicker();
  await draw();
  sync.events.addEventListener("board", onBoard);
  sync.events.addEventListener("board-subscribed", onSubscribed);
  sync.events.addEventListener("board-error", onRefused);
  sync.events.addEventListener("change", onChange);
  sync.watchBoards(centres.map((centre) => `board:workcentre:${centre}`));
  return () => {
    sync.watchBoards([]);
    sync.events.removeEventListener("board", onBoard);
    sync.events.removeEventListener("board-subscribed", onSubscribed);
    sync.events.removeEventListener("board-error", onRefused);
    sync.events.removeEventListener("change", onChange);
  };
}
