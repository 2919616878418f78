// The planner's Gantt (planning_schedule.html): draws the schedule the page carries as JSON in #gantt's
// data-gantt with vis-timeline, in the site's time zone; dragging a bar to another time or work-centre row fills the
// pin form under the chart and sends it, which proposes a schedule again around that pin. Clicking a bar chooses it
// in the form. Loaded as a file because the Content-Security-Policy allows no inline script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const container = document.getElementById("gantt");
  if (!container || !window.vis || !window.moment) return;
  const data = JSON.parse(container.dataset.gantt);
  const locale = data.lang === "zh" ? "zh-cn" : "en";
  window.moment.locale(locale);
  const siteTime = (date) => window.moment(date).utcOffset(data.offset);
  const rowOf = new Map(data.items.map((item) => [item.id, item.group]));
  const form = document.getElementById("pin-form");
  const quarterHour = 15 * 60 * 1000;

  const timeline = new window.vis.Timeline(container, new window.vis.DataSet(data.items), new window.vis.DataSet(data.groups), {
    locale,
    locales: { [locale]: data.locale },
    moment: siteTime,
    start: data.window.start,
    end: data.window.end,
    orientation: "top",
    stack: false,
    stackSubgroups: true,
    zoomMin: 60 * 60 * 1000,
    zoomMax: 1000 * 60 * 60 * 24 * 60,
    maxHeight: "70vh",
    margin: { item: { horizontal: 0, vertical: 4 } },
    dataAttributes: ["id"],
    tooltip: { followMouse: true, overflowMethod: "cap", delay: 200 },
    editable: data.editable && form
      ? { add: false, remove: false, updateTime: true, updateGroup: data.view === "centre", overrideItems: false }
      : false,
    snap: (date) => new Date(Math.round(date.valueOf() / quarterHour) * quarterHour),
    onMove: (item, callback) => {
      callback(item);
      pin(item);
    },
  });

  function choose(item, start) {
    const option = form && form.elements.operation.querySelector(`option[value="${CSS.escape(item)}"]`);
    if (!option) return false;
    form.elements.operation.value = item;
    form.elements.not_before.value = siteTime(start).format("YYYY-MM-DDTHH:mm");
    return true;
  }

  // A drop: the new start (and row, on the work-centre view) becomes a pin, and the schedule is proposed again.
  function pin(item) {
    if (!choose(item.id, item.start)) return;
    const otherRow = data.view === "centre" && item.group !== rowOf.get(item.id);
    form.elements.work_centre.value = otherRow ? item.group : "";
    form.requestSubmit();
  }

  timeline.on("select", ({ items }) => {
    const chosen = items.length === 1 && data.items.find((item) => item.id === items[0]);
    if (chosen) choose(chosen.id, chosen.start);
  });
});
