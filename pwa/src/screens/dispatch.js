// Dispatch lists, shown on home (the operator's) and on the live board (the supervisor's): the next operations of
// each of this device's work centres in the site's accepted schedule, in the order they are to run, with planned
// start and finish in the device's local time and late ones marked. Read from the local replica (entity `dispatch`,
// one list per work centre), so they show offline; `draw()` again when a pull brings a change. A work centre the
// replica holds no list of (nothing ever scheduled there) shows nothing.
import { t, currentLanguage } from "/app/i18n.js";
import { replica } from "/app/db.js";
import { h } from "/app/screens/ui.js";

function when(iso) {
  return new Intl.DateTimeFormat(currentLanguage() === "zh" ? "zh-CN" : "en-GB",
    { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}

function operationRow(op) {
  return h("li", { class: `dispatch-op${op.late ? " late" : ""}`,
    dataset: { order: op.production_order, sequence: String(op.sequence), position: String(op.position), late: op.late ? "1" : "0" } },
    h("span", { class: "position" }, String(op.position)),
    h("div", { class: "what" },
      h("strong", {}, t("dispatch.operation", { order: op.production_order, sequence: op.sequence, operation: op.operation })),
      h("span", { class: "item" }, t("dispatch.item", { item: op.item, name: op.item_name, quantity: op.quantity, unit: op.unit })),
      h("span", { class: "times" }, h("time", { datetime: op.start_at }, when(op.start_at)), " – ",
        h("time", { datetime: op.end_at }, when(op.end_at)), " · ", t("dispatch.machine", { machine: op.machine + 1 }),
        op.frozen ? ` · ${t("dispatch.frozen")}` : "")),
    op.late ? h("span", { class: "late-tag" }, t("dispatch.late")) : "");
}

/** An element that shows the lists of `centres` (at most `shown` operations each, those that end after `now()`: the
 * server's clock as the device knows it) and its `draw()`. */
export function dispatchLists(centres, shown, now) {
  const element = h("div", { class: "dispatch-lists", id: "dispatch" });
  let drawing = 0;

  async function draw() {
    const mine = ++drawing;
    const rows = await replica("dispatch");
    if (mine !== drawing) return;  // a newer redraw started meanwhile
    const lists = new Map(rows.map((row) => [row.id, row.data]));
    const moment = now();
    element.replaceChildren(...centres.filter((centre) => lists.has(centre)).map((centre) => {
      const next = (lists.get(centre).operations || []).filter((op) => new Date(op.end_at) > moment);
      const more = next.length - shown;
      return h("section", { class: "dispatch", dataset: { centre, run: String(lists.get(centre).run) } },
        h("h2", {}, t("dispatch.title", { work_centre: centre })),
        next.length ? h("ol", { class: "dispatch-list" }, ...next.slice(0, shown).map(operationRow))
          : h("p", { class: "empty" }, t("dispatch.empty")),
        more > 0 ? h("p", { class: "more" }, t("dispatch.more", { count: more })) : "");
    }));
  }

  return { element, draw };
}
