"""Schedules of a site's production orders: proposed by the solver, accepted or discarded by a planner, and kept.

A proposal reads one consistent view of the site (`read_schedule_input`, with the accepted schedule's places and
the frozen window of the planning settings, and the planner's pins), solves it in a worker thread with
`scheduler.solve` (the server keeps answering; the orders on a work centre the engine cannot schedule at all, with no
open time or no machine, are left out with what they feed and said among the run's problems, so one half-entered
work centre does not stop the factory's schedule), checks the result with the validator (separate code from the model:
a schedule that breaks a rule is never offered) and writes it as a `proposed` run with every operation's place. It
says how it compares with the earliest-due-date list schedule and how many operations moved from the accepted one.

Accepting makes it the site's one accepted schedule (the previous one becomes `superseded`) in one transaction, and
only when the accepted schedule it started from is still the accepted one: two planners cannot each accept a
proposal made against the same schedule, the second is told to propose again. After the commit the listeners hear
of it (dispatch lists, boards). A work centre reported down reschedules the site by itself: proposed and accepted
at once (`reason` downtime), since the floor cannot wait for a planner; the planner sees what moved on the run.

A site keeps its accepted schedule and its last `KEEP_RUNS` others; older ones are deleted after a proposal."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT

from schemas.planning import ScheduledOperationOut, ScheduleOut, ScheduleRunOut
from server.accounts.audit import record_audit
from server.accounts.site_scope import check_site_allowed
from server.actors import Who
from server.db import DB, current_write, needs_write, placeholders, read_snapshot, sql_executemany, sql_read, write_transaction
from server.errors import ApiError, not_found, refuse
from server.i18n import translate
from server.masterdata.tables import Site
from server.planning.dispatch import write_dispatch_lists
from server.planning.schedule_check import check_schedule
from server.planning.schedule_keep import predecessors
from server.planning.schedule_snapshot import ScheduleInput, read_schedule_input
from server.planning.scheduler import solve
from server.planning.scheduling import OpenTime, Placement, Schedule, SchedulingError, schedulable
from server.planning.service import planning_settings
from server.planning.tables import ScheduledOperation, ScheduleRun

log = logging.getLogger("floorsync.planning")
KEEP_RUNS = 10
WORKERS = 2

# Heard after an accepted schedule commits: (site, run id). Dispatch lists and boards register here.
AcceptedListener = Callable[[str, int], Awaitable[None]]
ACCEPTED_LISTENERS: list[AcceptedListener] = []


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _said(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple, set, frozenset)) else str(value)


def scheduling_refusal(exc: SchedulingError) -> ApiError:
    values = {k: _said(v) for k, v in exc.values.items()}
    return refuse(exc.code, translate("en", f"refusal.{exc.code}", **values), **values)


async def _check_site(site: str) -> None:
    check_site_allowed(site)
    if not await Site.exists().where(Site.code == site):
        raise not_found("site", site)


def check_pins(pins: list[dict[str, Any]]) -> None:
    """What the request's contract cannot say: a pin says where or when, its time has a zone, one pin per operation."""
    seen: set[str] = set()
    for n, pin in enumerate(pins):
        field = f"pins[{n}]"
        if pin.get("not_before") is None and not pin.get("work_centre"):
            raise refuse("pin_without_target", translate("en", "refusal.pin_without_target", operation=pin["operation"]),
                         field=field, operation=pin["operation"])
        if pin.get("not_before") is not None and pin["not_before"].tzinfo is None:
            raise refuse("pin_without_time_zone", translate("en", "refusal.pin_without_time_zone",
                                                            operation=pin["operation"]),
                         field=f"{field}.not_before", operation=pin["operation"])
        if pin["operation"] in seen:
            raise refuse("pinned_twice", translate("en", "refusal.pinned_twice", operation=pin["operation"]),
                         field=field, operation=pin["operation"])
        seen.add(pin["operation"])


async def propose(site: str, who: Who, *, seconds: float = 10, pins: list[dict[str, Any]] | None = None,
                  reason: str = "office") -> ScheduleOut:
    """A new proposed schedule of the site (see the module's docstring)."""
    check_pins(pins or [])
    await _check_site(site)
    settings = await planning_settings()
    now = _now()
    try:
        async with read_snapshot() as fetch:
            given = await read_schedule_input(fetch, site, now, frozen_minutes=int(settings["frozen_hours"]) * 60,
                                              downtime_minutes=int(settings["downtime_minutes"]), pins=pins or [])
            sales_orders = {row["code"]: row["sales_order"] for row in await fetch(
                "SELECT code, sales_order FROM production_order WHERE site = $1", site)}
        problem, schedule, left_out = await asyncio.to_thread(
            schedulable, given.problem,
            lambda problem: solve(problem, seconds, WORKERS, None, repaired(replace(given, problem=problem))))
    except SchedulingError as exc:
        raise scheduling_refusal(exc) from None
    given = replace(given, problem=problem, left_out=tuple(left_out))
    violations = check_schedule(given.problem, schedule.placements)
    if violations:  # never offered; the engine's fault, said plainly in the log
        log.error("schedule of %s breaks its rules: %s", site, violations[:10])
        raise refuse("schedule_invalid", translate("en", "refusal.schedule_invalid", count=len(violations)),
                     count=len(violations))
    async with write_transaction():
        run_id = await _write(site, who, reason, given, schedule, pins or [], now)
    _prune_soon(site)
    return await get_schedule(run_id, sales_orders)


def repaired(given: ScheduleInput) -> tuple[Placement, ...] | None:
    """The accepted schedule repaired for the problem as it is now, the solver's warm start and what is proposed
    when it finds nothing better (`solve`'s hint: a schedule moves only for a better one, status `kept`); None when
    the accepted schedule lacks an operation or cannot be repaired. The repair keeps every operation on its machine
    and in its machine's order and only ever delays it: to now, to its release, after its predecessors and the
    machine's previous operation with its setup, whichever is latest, in open time (an operator who starts a few
    minutes late, a downtime, moves what follows by as much and no more). Frozen operations stay where the problem holds them; a repair that cannot keep them
    there, or that breaks a rule the validator checks (a crew's operators included), is no repair."""
    problem = given.problem
    if not given.places or any(op.id not in given.places for op in problem.operations):
        return None
    centres = {centre.code: centre for centre in problem.work_centres}
    clocks = {code: OpenTime(centre.open_time) for code, centre in centres.items()}
    before = predecessors(problem)
    frozen_until = problem.now + problem.frozen_minutes
    placed: dict[str, Placement] = {}
    last_on: dict[tuple[str, int], tuple[int, str]] = {}  # a machine's last end and family
    for op in sorted(problem.operations, key=lambda op: (given.places[op.id].start, op.id)):
        place = given.places[op.id]
        frozen = op.started or (op.given_start is not None and op.given_start < frozen_until)
        machine = op.given_machine if frozen else place.machine
        if place.work_centre != op.work_centre or any(p not in placed for p in before[op.id]):
            return None
        clock = clocks[op.work_centre]
        w = clock.open_before(max([problem.now, op.release, place.start] + [placed[p].end for p in before[op.id]]))
        last = last_on.get((op.work_centre, machine))
        if last is not None:
            setup = centres[op.work_centre].setup_minutes.get((last[1], op.family), 0) if last[1] != op.family else 0
            w = max(w, clock.open_before(last[0]) + setup)
        start = clock.start_of(w)
        if frozen:
            if start is None or start > op.given_start:
                return None
            start = op.given_start
        end = clock.end_of(clock.open_before(start) + op.minutes) if start is not None else None
        if end is None:
            return None
        placed[op.id] = Placement(op.id, op.work_centre, machine, start, end)
        last_on[(op.work_centre, machine)] = (end, op.family)
    kept = tuple(placed[op.id] for op in problem.operations)
    return None if check_schedule(problem, kept) else kept


def _rows(given: ScheduleInput, schedule: Schedule) -> list[dict[str, Any]]:
    problem = given.problem
    operations = {op.id: op for op in problem.operations}
    orders = {order.id: order for order in problem.orders}
    centres = {centre.code: centre for centre in problem.work_centres}
    last_end: dict[str, int] = defaultdict(int)
    last_op: dict[str, str] = {}
    for p in schedule.placements:
        op = operations[p.operation]
        if p.end >= last_end[op.order]:
            last_end[op.order], last_op[op.order] = p.end, p.operation
    by_machine: dict[tuple[str, int], list[Placement]] = defaultdict(list)
    for p in schedule.placements:
        by_machine[(p.work_centre, p.machine)].append(p)
    setups: dict[str, int] = {}
    for (centre, _), placed in by_machine.items():
        placed.sort(key=lambda p: p.start)
        for before, after in zip(placed, placed[1:]):
            pair = (operations[before.operation].family, operations[after.operation].family)
            setups[after.operation] = centres[centre].setup_minutes.get(pair, 0) if pair[0] != pair[1] else 0
    frozen_until = problem.now + problem.frozen_minutes
    rows = []
    for p in schedule.placements:
        op = operations[p.operation]
        order = orders[op.order]
        place = given.places.get(p.operation)
        rows.append({
            "operation": p.operation, "production_order": op.order, "sequence": op.sequence,
            "work_centre": p.work_centre, "machine": p.machine, "start": p.start, "end": p.end, "minutes": op.minutes,
            "setup_minutes": setups.get(p.operation, 0), "due": order.due,
            "late": max(0, p.end - order.due) if last_op[op.order] == p.operation else 0,
            "frozen": op.started or (op.given_start is not None and op.given_start < frozen_until),
            "moved": place is not None and (place.start, place.work_centre, place.machine) != (p.start, p.work_centre,
                                                                                             p.machine),
            "item": op.family,
        })
    return rows


@needs_write
async def _write(site: str, who: Who, reason: str, given: ScheduleInput, schedule: Schedule,
                 pins: list[dict[str, Any]], now: datetime) -> int:
    rows = _rows(given, schedule)
    items = {row["code"]: row["item"] for row in await sql_read(
        "SELECT code, item FROM production_order WHERE site = $1", site)}
    progress = {(row["code"], int(row["sequence"])): (int(row["quantity_micro"]), int(row["good_micro"] or 0))
                for row in await sql_read(
                    "SELECT p.code, o.sequence, p.quantity_micro, o.good_micro FROM production_operation o "
                    "JOIN production_order p ON p.id = o.production_order WHERE p.site = $1", site)}
    objective, listed = schedule.objective, schedule.list_objective or schedule.objective
    inserted = await ScheduleRun.insert(ScheduleRun(
        site=site, status="proposed", reason=reason, based_on=given.based_on, origin=given.instant(0),
        created_by=who.name, created_at=now, engine_status=schedule.status, seconds=round(schedule.seconds, 3),
        weighted_tardiness=objective.weighted_tardiness, setup_minutes=objective.setup_minutes,
        flow_time=objective.flow_time, makespan=objective.makespan, bound=schedule.bound,
        gap=Decimal(str(round(schedule.gap, 6))), list_weighted_tardiness=listed.weighted_tardiness,
        list_setup_minutes=listed.setup_minutes, operations=len(rows),
        late_orders=sum(1 for row in rows if row["late"] > 0), moved=sum(1 for row in rows if row["moved"]),
        pins=[{**pin, "not_before": pin["not_before"].isoformat() if pin.get("not_before") else None} for pin in pins],
        problems=[{"operation": lost.operation, "reason": lost.reason} for lost in given.lost]
        + [{"order": order, "work_centre": centre, "reason": code} for order, centre, code in given.left_out],
    )).returning(ScheduleRun.id)
    run_id = int(inserted[0]["id"])
    await sql_executemany(
        "INSERT INTO scheduled_operation (run, production_order, sequence, item, work_centre, machine, start_at, end_at, "
        "minutes, setup_minutes, due_at, late, frozen, quantity_micro, good_micro) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        [(run_id, row["production_order"], row["sequence"], items.get(row["production_order"], row["item"]),
          row["work_centre"], row["machine"], _utc(given.instant(row["start"])), _utc(given.instant(row["end"])),
          row["minutes"], row["setup_minutes"], _utc(given.instant(row["due"])), row["late"], row["frozen"],
          *progress.get((row["production_order"], row["sequence"]), (0, 0)))
         for row in rows])
    return run_id


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def _run_out(row: dict[str, Any]) -> ScheduleRunOut:
    return ScheduleRunOut(**{
        **{k: row[k] for k in ScheduleRunOut.model_fields if k in row},
        "seconds": float(row["seconds"]), "gap": float(row["gap"]),
        "pins": _json(row["pins"]), "problems": _json(row["problems"]),
        "created_at": _aware(row["created_at"]), "decided_at": _aware(row["decided_at"]),
    })


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _aware(moment: Any) -> Any:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc) if isinstance(moment, datetime) and moment.tzinfo is None else moment


async def _run_row(run_id: int) -> dict[str, Any]:
    row = await ScheduleRun.select().where(ScheduleRun.id == run_id).first()
    if row is None:
        raise not_found("schedule", str(run_id))
    check_site_allowed(row["site"])
    return row


async def get_run(run_id: int) -> ScheduleRunOut:
    return _run_out(await _run_row(run_id))


async def get_schedule(run_id: int, sales_orders: dict[str, str | None] | None = None) -> ScheduleOut:
    """A schedule with every operation's place, in start order; each says whether it moved from the schedule this
    one started from."""
    run = await _run_row(run_id)
    rows = await sql_read(
        "SELECT production_order, sequence, item, work_centre, machine, start_at, end_at, minutes, setup_minutes, "
        "due_at, late, frozen FROM scheduled_operation WHERE run = $1 ORDER BY start_at, work_centre, machine", run_id)
    before: dict[tuple[str, int], tuple[Any, ...]] = {}
    if run["based_on"] is not None:
        before = {(r["production_order"], int(r["sequence"])): (_aware(r["start_at"]), r["work_centre"], int(r["machine"]))
                  for r in await sql_read("SELECT production_order, sequence, work_centre, machine, start_at "
                                          "FROM scheduled_operation WHERE run = $1", run["based_on"])}
    if sales_orders is None:
        codes = sorted({row["production_order"] for row in rows})
        sales_orders = {r["code"]: r["sales_order"] for r in await sql_read(
            f"SELECT code, sales_order FROM production_order WHERE code IN ({placeholders(len(codes))})", *codes)
        } if codes else {}
    scheduled = []
    for row in rows:
        key = (row["production_order"], int(row["sequence"]))
        start = _aware(row["start_at"])
        was = before.get(key)
        scheduled.append(ScheduledOperationOut(
            operation=f"{key[0]}/{key[1]}", production_order=key[0], sequence=key[1], item=row["item"],
            work_centre=row["work_centre"], machine=int(row["machine"]), start_at=start, end_at=_aware(row["end_at"]),
            minutes=int(row["minutes"]), setup_minutes=int(row["setup_minutes"]), due_at=_aware(row["due_at"]),
            late_minutes=int(row["late"]), frozen=bool(row["frozen"]),
            moved=was is not None and was != (start, row["work_centre"], int(row["machine"])),
            sales_order=sales_orders.get(key[0])))
    return ScheduleOut(**_run_out(run).model_dump(), scheduled=scheduled)


async def accepted_run(site: str) -> ScheduleRunOut:
    await _check_site(site)
    row = await ScheduleRun.select().where((ScheduleRun.site == site) & (ScheduleRun.status == "accepted")).first()
    if row is None:
        raise refuse("no_schedule", translate("en", "refusal.no_schedule", site=site), HTTP_404_NOT_FOUND, site=site)
    return _run_out(row)


async def list_runs(site: str | None, limit: int) -> list[ScheduleRunOut]:
    query = ScheduleRun.select().order_by(ScheduleRun.id, ascending=False).limit(limit)
    if site:
        await _check_site(site)
        query = query.where(ScheduleRun.site == site)
    return [_run_out(row) for row in await query if _visible(row["site"])]


def _visible(site: str) -> bool:
    try:
        check_site_allowed(site)
    except ApiError:
        return False
    return True


async def _proposal(run_id: int) -> dict[str, Any]:
    """A schedule still to be decided on, else `schedule_not_proposed`."""
    run = await _run_row(run_id)
    if run["status"] != "proposed":
        raise refuse("schedule_not_proposed", translate("en", "refusal.schedule_not_proposed", run=run_id),
                     HTTP_409_CONFLICT, run=run_id, status=run["status"])
    return run


@needs_write
async def accept(run_id: int, who: Who) -> ScheduleRunOut:
    """Make a proposed schedule the site's accepted one (see the module's docstring)."""
    run = await _proposal(run_id)
    lock = " FOR UPDATE" if DB.engine_type == "postgres" else ""  # SQLite has one writer; a unique index backs both
    accepted = await sql_read(f"SELECT id FROM schedule_run WHERE site = $1 AND status = 'accepted'{lock}", run["site"])
    current = int(accepted[0]["id"]) if accepted else None
    if current != run["based_on"]:
        raise refuse("schedule_stale", translate("en", "refusal.schedule_stale", run=run_id, accepted=current or "-"),
                     HTTP_409_CONFLICT, run=run_id, accepted=current)
    now = _now()
    if current is not None:
        await ScheduleRun.update({ScheduleRun.status: "superseded"}).where(ScheduleRun.id == current)
    await ScheduleRun.update({ScheduleRun.status: "accepted", ScheduleRun.decided_by: who.name,
                              ScheduleRun.decided_at: now}).where(ScheduleRun.id == run_id)
    await record_audit(who, "accept", "schedule", str(run_id), {"accepted": current}, {"accepted": run_id})
    site = run["site"]
    await write_dispatch_lists(site, run_id, now)
    for listener in ACCEPTED_LISTENERS:
        current_write().after_commit.append(lambda listener=listener: listener(site, run_id))
    return await get_run(run_id)


@needs_write
async def discard(run_id: int, who: Who) -> ScheduleRunOut:
    run = await _proposal(run_id)
    await ScheduleRun.update({ScheduleRun.status: "discarded", ScheduleRun.decided_by: who.name,
                              ScheduleRun.decided_at: _now()}).where(ScheduleRun.id == run_id)
    return await get_run(run_id)


_tasks: set[asyncio.Task[Any]] = set()


def _spawn(work: Awaitable[Any]) -> None:
    task = asyncio.ensure_future(work)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _logged(work: Awaitable[Any], what: str) -> None:
    try:
        await work
    except Exception:  # noqa: BLE001 - a background task has no caller to tell
        log.exception("%s failed", what)


def _prune_soon(site: str) -> None:
    _spawn(_logged(prune_runs(site), f"pruning the schedules of {site}"))


async def prune_runs(site: str, keep: int = KEEP_RUNS) -> list[int]:
    """Delete a site's schedules but its accepted one, its proposals in the making and its `keep` newest others."""
    rows = await ScheduleRun.select(ScheduleRun.id, ScheduleRun.status).where(ScheduleRun.site == site).order_by(
        ScheduleRun.id, ascending=False)
    old = [int(row["id"]) for row in rows if row["status"] != "accepted"][keep:]
    if old:
        async with write_transaction():
            await ScheduledOperation.delete().where(ScheduledOperation.run.is_in(old))
            await ScheduleRun.delete().where(ScheduleRun.id.is_in(old))
    return old


async def reschedule_after_downtime(site: str, work_centre: str) -> None:
    """A work centre went down: propose a schedule around it and accept it at once (the module's docstring)."""
    who = Who.system()
    for attempt in range(3):  # a planner's accept in between makes the proposal stale: propose again
        started = time.perf_counter()
        proposal = await propose(site, who, seconds=5, reason="downtime")
        try:
            async with write_transaction():
                await accept(proposal.id, who)
        except ApiError as exc:
            if exc.code != "schedule_stale" or attempt == 2:
                raise
            continue
        log.info("rescheduled %s after %s went down: run %s, %s moved, %.1f s", site, work_centre, proposal.id,
                 proposal.moved, time.perf_counter() - started)
        return


def downtime_started(site: str | None, work_centre: str) -> None:
    """The production area's downtime listener (after its commit): reschedule the work centre's site in the
    background, if the site has an accepted schedule to keep the floor's lists by."""
    if site:
        _spawn(_logged(_reschedule_if_scheduled(site, work_centre), f"rescheduling {site} after {work_centre} went down"))


async def _reschedule_if_scheduled(site: str, work_centre: str) -> None:
    if await ScheduleRun.exists().where((ScheduleRun.site == site) & (ScheduleRun.status == "accepted")):
        await reschedule_after_downtime(site, work_centre)
