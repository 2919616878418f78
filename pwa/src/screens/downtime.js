// Downtime: which of this device's work centres are down (the replica's open downtime with this device's queued
// starts and stops applied), then a work centre (tapped, scanned or typed) and either a start with a reason (a common
// one tapped, or typed) or a stop of the running one. Checked against that state, then queued as
// production.downtime. Opened from needs-attention with ?fix=<id>, it is pre-filled and sends the correction anew.
import { t } from "/app/i18n.js";
import { h, field, notice, wedgeForm, code } from "/app/screens/ui.js";
import { downNow } from "/app/overlay.js";
import { attachScanning } from "/app/screens/scan.js";
import { checkField, opening, send } from "/app/screens/command.js";

const COMMON_REASONS = ["breakdown", "changeover", "no_material", "no_operator", "quality", "maintenance"];

function since(iso) {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? "" : at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export async function render(root, ctx) {
  const { params, sync, scope } = ctx;
  const { fixing, given } = await opening(params);
  const centres = scope.work_centres || [];
  const centreField = field("work_centre", "downtime.work_centre", { value: given.work_centre || (centres.length === 1 ? centres[0] : ""),
    required: true });
  const reason = field("reason", "downtime.reason", { value: given.reason || "", maxlength: 200, autocapitalize: "sentences" });
  const board = h("ul", { class: "centres", id: "centres" });
  const reasons = h("div", { class: "choices", id: "reasons" }, ...COMMON_REASONS.map((key) => h("button", {
    type: "button", class: "secondary choice", dataset: { reason: key },
    onclick: () => { reason.input.value = t(`downtime.reason_${key}`); reason.problem(""); button.focus(); },
  }, t(`downtime.reason_${key}`))));
  const message = h("div", { class: "message" });
  const button = h("button", { type: "submit", id: "start" }, t("downtime.start"));
  const stopButton = h("button", { type: "button", id: "stop", class: "stop", onclick: () => startOrStop("stop") }, t("downtime.stop"));
  let down = new Map();

  async function showBoard() {
    down = await downNow();
    board.replaceChildren(...centres.map((centre) => {
      const entry = down.get(centre);
      return h("li", {}, h("button", {
        type: "button", class: `centre ${entry ? "down" : "up"}`, dataset: { centre, down: entry ? "1" : "0", queued: entry?.queued ? "1" : "0" },
        onclick: () => { centreField.input.value = centre; centreField.problem(""); showActions(); (entry ? stopButton : reason.input).focus(); },
      }, entry ? t("downtime.is_down", { work_centre: centre, reason: entry.reason, since: since(entry.started_at) })
        : t("downtime.is_up", { work_centre: centre })));
    }));
    showActions();
  }

  function showActions() {  // the stop button only for a centre that is down
    const isDown = down.has(code(centreField.input.value));
    stopButton.hidden = !isDown;
    for (const choice of [...reasons.children, button]) choice.disabled = isDown;
    reason.input.disabled = isDown;
  }
  centreField.input.addEventListener("change", showActions);
  centreField.input.addEventListener("input", showActions);

  async function checkCentre() {
    const value = await checkField("production.downtime", centreField);
    if (!value) return null;
    if (centres.length && !centres.includes(value)) { centreField.problem(t("valid.unknown_work_centre", { work_centre: value })); return null; }
    return value;
  }

  async function startOrStop(action) {
    const centre = await checkCentre();
    const why = action === "start" ? await checkField("production.downtime", reason) : null;
    if (action === "start" && why === null) reason.problem(t("valid.downtime_reason"));
    if (action === "stop") reason.problem("");
    if (!centre || (action === "start" && !why)) return;
    const isDown = (await downNow()).has(centre);
    if (action === "start" && isDown && !fixing) { centreField.problem(t("valid.already_down", { work_centre: centre })); return; }
    if (action === "stop" && !isDown && !fixing) { centreField.problem(t("valid.not_down", { work_centre: centre })); return; }
    const args = { work_centre: centre, action, reason: why, production_order: null };
    if (!(await send(ctx, fixing, "production.downtime", args))) return;
    message.replaceChildren(notice("ok", t(action === "start" ? "downtime.started" : "downtime.stopped", { work_centre: centre, reason: why || "" })));
    reason.input.value = "";
    await showBoard();
  }

  const form = wedgeForm(h("form", { id: "downtime-form", novalidate: true, onsubmit: (event) => { event.preventDefault(); startOrStop("start"); } },
    centreField.wrapper, h("p", { class: "label" }, t("downtime.common_reasons")), reasons, reason.wrapper, button, stopButton));
  root.append(
    h("h1", {}, t("downtime.title")),
    board,
    form,
    message,
    h("p", {}, h("a", { class: "button secondary", href: "#/home" }, t("common.home"))),
  );
  await showBoard();
  (centreField.input.value ? (stopButton.hidden ? reason.input : stopButton) : centreField.input).focus();
  const stopScanning = attachScanning(form, { quantityField: "none" });
  const update = () => showBoard();
  sync.events.addEventListener("change", update);
  return () => {
    stopScanning();
    sync.events.removeEventListener("change", update);
  };
}
