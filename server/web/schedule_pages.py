"""The planner's Gantt: a site's accepted schedule, or one proposal, drawn by work centre (a sub-row per machine) or
by production order over the work centres' closed time, with setups, late, frozen and moved operations marked and
the pegged sales order on hover; the planner proposes a schedule, pins an operation to a time or a work centre
(dragging its bar, or the form under the chart) and gets a new proposal with that pin and the proposal's earlier
ones, and accepts or discards a proposal. Everything goes through `server.planning.schedules`, the same functions as
/api/schedules; the chart's data travels as JSON in a data attribute and server/web/static/gantt.js draws it with
vis-timeline (the CSP allows no inline script)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.planning import PinIn, ScheduledOperationOut, ScheduleOut
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import translate
from server.planning import schedules
from server.planning.schedule_view import GanttFrame, gantt_frame, site_zone
from server.web.actions import messages
from server.web.planning_pages import CodeParam, planning_sites
from server.web.render import language_of, render

RunId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]
ViewParam = Annotated[str, Parameter(pattern=r"^(centre|order)$")]
VIEWS = ("centre", "order")
RECENT_RUNS = 10
DEFAULT_SECONDS = 10
OPERATION = r"^[A-Za-z0-9._\-]{1,40}/\d{1,6}$"


def _seconds(form: Any) -> float:
    try:
        return min(120.0, max(0.5, float(str(form.get("seconds") or DEFAULT_SECONDS))))
    except ValueError:
        return DEFAULT_SECONDS


def _local(moment: datetime | None, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if moment else ""


def _view(value: Any) -> str:
    return value if value in VIEWS else "centre"


def _marks(op: ScheduledOperationOut, proposal: bool) -> list[str]:
    return [mark for mark, on in (("late", op.late_minutes > 0), ("frozen", op.frozen),
                                  ("moved", proposal and op.moved), ("setup", op.setup_minutes > 0)) if on]


def _title(lang: str, op: ScheduledOperationOut, frame: GanttFrame, proposal: bool) -> str:
    """The hover text of a bar (vis-timeline shows it as HTML through its XSS filter: data escaped, lines by <br>)."""
    def t(key: str, **values: Any) -> str:
        return html.escape(translate(lang, key, **values))
    lines = [t("gantt.tip_operation", operation=op.operation, item=op.item),
             t("gantt.tip_sales_order", sales_order=op.sales_order) if op.sales_order else t("gantt.tip_no_sales_order"),
             t("gantt.tip_time", start=_local(op.start_at, frame.zone), end=_local(op.end_at, frame.zone),
               work_centre=op.work_centre, machine=op.machine + 1)]
    if op.setup_minutes:
        lines.append(t("gantt.tip_setup", minutes=op.setup_minutes))
    if op.late_minutes:
        due_day = (op.due_at - timedelta(minutes=1)).astimezone(frame.zone).date()  # due at the end of its day
        lines.append(t("gantt.tip_late", minutes=op.late_minutes, due=due_day.isoformat()))
    if op.frozen:
        lines.append(t("gantt.legend_frozen"))
    if proposal and op.moved:
        lines.append(t("gantt.legend_moved"))
    return "<br>".join(lines)


def gantt_data(lang: str, schedule: ScheduleOut, frame: GanttFrame, view: str, editable: bool) -> dict[str, Any]:
    """What gantt.js draws: rows (groups), bars, setups and closed time (background items), and the words it needs."""
    proposal = schedule.status == "proposed"
    by_centre = view == "centre"
    items: list[dict[str, Any]] = []
    if by_centre:
        groups = [{"id": code, "content": html.escape(code), "title": centre.name,
                   "subgroupOrder": "machine"} for code, centre in frame.centres.items()]
        for code in frame.centres:
            items += [{"id": f"closed:{code}:{n}", "group": code, "start": a.isoformat(), "end": b.isoformat(),
                       "type": "background", "className": "closed"} for n, (a, b) in enumerate(frame.closed(code))]
    else:
        orders = sorted({op.production_order for op in schedule.scheduled},
                        key=lambda code: (min(op.start_at for op in schedule.scheduled if op.production_order == code), code))
        groups = [{"id": code, "content": html.escape(code)} for code in orders]
        items += [{"id": f"closed:{n}", "start": a.isoformat(), "end": b.isoformat(), "type": "background",
                   "className": "closed"} for n, (a, b) in enumerate(frame.closed_everywhere())]
    for op in schedule.scheduled:
        marks = _marks(op, proposal)
        group = op.work_centre if by_centre else op.production_order
        lane = {"group": group, "subgroup": op.machine} if by_centre else {"group": group}
        items.append({
            "id": op.operation, **lane, "start": op.start_at.isoformat(), "end": op.end_at.isoformat(),
            "content": html.escape(op.operation if by_centre else f"{op.work_centre} · {op.sequence}"),
            "title": _title(lang, op, frame, proposal), "className": " ".join(["operation", *marks]),
            "editable": {"updateTime": editable and not op.frozen, "updateGroup": editable and by_centre and not op.frozen,
                         "remove": False},
            "machine": op.machine,
        })
        if op.setup_minutes:
            items.append({"id": f"setup:{op.operation}", **lane, "type": "range", "className": "setup",
                          "start": frame.setup_from(op.work_centre, op.start_at, op.setup_minutes).isoformat(),
                          "end": op.start_at.isoformat(), "editable": False,
                          "title": html.escape(translate(lang, "gantt.tip_setup", minutes=op.setup_minutes))})
    starts = [op.start_at for op in schedule.scheduled]
    first = min(starts) if starts else datetime.now(timezone.utc)
    return {
        "lang": lang, "view": view, "offset": frame.utc_offset_minutes(), "editable": editable,
        "window": {"start": (first - timedelta(hours=2)).isoformat(), "end": (first + timedelta(days=3)).isoformat()},
        "groups": groups, "items": items,
        "locale": {"current": translate(lang, "gantt.lib_current"), "time": translate(lang, "gantt.lib_time"),
                   "deleteSelected": translate(lang, "gantt.lib_delete")},
    }


async def _schedule_page(request: Request, site: str | None, schedule: ScheduleOut | None, *, view: str = "centre",
                         errors: list[str] | None = None, stale: bool = False, status_code: int = 200,
                         pin: dict[str, str] | None = None) -> Template:
    lang = language_of(request)
    sites = await planning_sites()
    if schedule is not None:
        site = schedule.site
    site = site if site in sites or schedule is not None else (sites[0] if sites else None)
    may_write = request.user.may("planning.write")
    zone = await site_zone(site) if site else timezone.utc
    data = frame = None
    if schedule is not None:
        ends = [op.end_at for op in schedule.scheduled] or [datetime.now(timezone.utc)]
        starts = [op.start_at for op in schedule.scheduled] or ends
        frame = await gantt_frame(schedule.site, {op.work_centre for op in schedule.scheduled}, min(starts), max(ends))
        data = gantt_data(lang, schedule, frame, view, may_write and schedule.status in ("proposed", "accepted"))
    pinned = request.query_params.get("pinned")
    landed = next((op for op in schedule.scheduled if op.operation == pinned), None) if schedule and pinned else None
    return render(
        request, "planning_schedule.html", status_code=status_code, sites=sites, site=site, schedule=schedule,
        view=view, data=data, zone=zone, local=lambda moment: _local(moment, zone), may_write=may_write,
        errors=errors or [], stale=stale, done=request.query_params.get("done"), landed=landed,
        runs=await schedules.list_runs(site, RECENT_RUNS) if site else [], seconds=DEFAULT_SECONDS,
        centres=sorted(frame.centres) if frame else [], pin=pin or {},
        free=[op for op in schedule.scheduled if not op.frozen] if schedule else [],
        pin_text=lambda p: _pin_text(lang, p, zone))


def _pin_text(lang: str, pin: dict[str, Any], zone: Any) -> str:
    at = _local(datetime.fromisoformat(pin["not_before"]), zone) if pin.get("not_before") else None
    if at and pin.get("work_centre"):
        return translate(lang, "gantt.pin_both", operation=pin["operation"], work_centre=pin["work_centre"], at=at)
    if at:
        return translate(lang, "gantt.pin_time", operation=pin["operation"], at=at)
    return translate(lang, "gantt.pin_centre", operation=pin["operation"], work_centre=pin.get("work_centre") or "")


async def _accepted(site: str | None) -> ScheduleOut | None:
    if not site:
        return None
    try:
        return await schedules.get_schedule((await schedules.accepted_run(site)).id)
    except ApiError as exc:
        if exc.code != "no_schedule":
            raise
        return None


@get("/planning/schedule", guards=[requires("planning.read")], include_in_schema=False)
async def schedule_page(request: Request, site: CodeParam = None, view: ViewParam = "centre") -> Template:
    """The site's accepted schedule (the first site the reader may plan for, unless one is chosen)."""
    sites = await planning_sites()
    site = site if site in sites else (sites[0] if sites else None)
    return await _schedule_page(request, site, await _accepted(site), view=view)


@get("/planning/schedule/{run_id:int}", guards=[requires("planning.read")], include_in_schema=False)
async def one_schedule_page(request: Request, run_id: RunId, view: ViewParam = "centre") -> Template:
    return await _schedule_page(request, None, await schedules.get_schedule(run_id), view=view)


def _to_run(run_id: int, view: str, **query: str) -> Redirect:
    return Redirect(f"/planning/schedule/{run_id}?" + urlencode({"view": view, **query}), status_code=HTTP_303_SEE_OTHER)


@post("/planning/schedule/propose", guards=[requires("planning.write")], include_in_schema=False)
async def propose_page(request: Request) -> Template | Redirect:
    form = await request.form()
    site, view = str(form.get("site") or ""), _view(form.get("view"))
    try:
        proposal = await schedules.propose(site, office_who(request), seconds=_seconds(form))
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _schedule_page(request, site, await _accepted(site), view=view, errors=messages(request, exc),
                                    status_code=exc.status_code)
    return _to_run(proposal.id, view)


def _new_pin(form: Any, lang: str, zone: Any) -> dict[str, Any]:
    """The pin the form asks for (a site-local time, a work centre, or both), checked; a ValueError says why not."""
    operation = str(form.get("operation") or "")
    start, centre = str(form.get("not_before") or "").strip(), str(form.get("work_centre") or "").strip()
    if not start and not centre:
        raise ValueError(translate(lang, "gantt.pin_needs"))
    try:
        not_before = datetime.fromisoformat(start).replace(tzinfo=zone) if start else None
    except ValueError:
        raise ValueError(translate(lang, "gantt.pin_bad_time")) from None
    try:
        return PinIn(operation=operation, not_before=not_before, work_centre=centre or None).model_dump()
    except ValidationError:
        raise ValueError(translate(lang, "gantt.pin_bad_operation")) from None


@post("/planning/schedule/{run_id:int}/pin", guards=[requires("planning.write")], include_in_schema=False)
async def pin_page(request: Request, run_id: RunId) -> Template | Redirect:
    """A new proposal with the operation pinned, keeping the pins of the proposal it was made from."""
    form = await request.form()
    view, lang = _view(form.get("view")), language_of(request)
    shown = await schedules.get_schedule(run_id)
    kept = {pin["operation"]: pin for pin in shown.pins} if shown.status == "proposed" else {}
    asked = {k: str(form.get(k) or "") for k in ("operation", "not_before", "work_centre")}
    try:
        pin = _new_pin(form, lang, await site_zone(shown.site))
        pins = [PinIn.model_validate(p).model_dump() for op, p in kept.items() if op != pin["operation"]] + [pin]
        proposal = await schedules.propose(shown.site, office_who(request), seconds=_seconds(form), pins=pins)
    except (ApiError, ValueError) as exc:
        problems = messages(request, exc) if isinstance(exc, ApiError) else [str(exc)]
        return await _schedule_page(request, shown.site, shown, view=view, errors=problems, pin=asked,
                                    status_code=getattr(exc, "status_code", HTTP_422_UNPROCESSABLE_ENTITY))
    return _to_run(proposal.id, view, pinned=pin["operation"])


async def _decide(request: Request, run_id: int, decision: str) -> Template | Redirect:
    form = await request.form()
    view = _view(form.get("view"))
    action = schedules.accept if decision == "accepted" else schedules.discard
    try:
        async with write_transaction():
            run = await action(run_id, office_who(request))
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _schedule_page(request, None, await schedules.get_schedule(run_id), view=view,
                                    errors=messages(request, exc), stale=exc.code == "schedule_stale",
                                    status_code=exc.status_code)
    return Redirect("/planning/schedule?" + urlencode({"site": run.site, "view": view, "done": decision}),
                    status_code=HTTP_303_SEE_OTHER)


@post("/planning/schedule/{run_id:int}/accept", guards=[requires("planning.write")], include_in_schema=False)
async def accept_page(request: Request, run_id: RunId) -> Template | Redirect:
    return await _decide(request, run_id, "accepted")


@post("/planning/schedule/{run_id:int}/discard", guards=[requires("planning.write")], include_in_schema=False)
async def discard_page(request: Request, run_id: RunId) -> Template | Redirect:
    return await _decide(request, run_id, "discarded")


SCHEDULE_HANDLERS = [schedule_page, one_schedule_page, propose_page, pin_page, accept_page, discard_page]
