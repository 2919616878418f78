"""Live MRP: a run reads one consistent snapshot of the site (server/planning/snapshot.py), plans it with the pure
engine (server/planning/mrp.py), and writes the plan as a new run — records, planned orders with the supplier a
purchase would go to, pegging and exceptions — keeping the runs before it for comparison. And the reads of a plan.

A run is one business action in three steps, each its own transaction, because the middle one (reading and
planning, seconds on a large factory) must not hold the write lock: the run is registered (so two runs of one
site do not overlap), planned from the snapshot, then written whole with its status in one transaction. A run
left `running` by a process that died is stale after `STALE_AFTER` and no longer blocks the next."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from itertools import groupby
from operator import itemgetter
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from typing import Any, Iterator

from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT

from schemas.planning import MrpRunOut, PegOut, PlanExceptionOut, PlannedOrderOut, PlanRecordOut
from server.accounts.site_scope import check_site_allowed, within_scope
from server.accounts.audit import record_audit
from server.actors import Who
from server.db import json_text, needs_write, placeholders, read_snapshot, sql_copy, sql_execute, sql_read, write_transaction
from server.errors import ApiError, not_found, refuse
from server.i18n import translate
from server.inventory.lots import today
from server.masterdata.tables import Site
from server.planning.mrp import Plan, PlanningError, plan
from server.planning.problem_file import RECORD_ROWS, exception_text
from server.planning.snapshot import Buckets, Snapshot, read_input
from server.planning.suppliers import ranked_suppliers
from server.periodic import PeriodicTask
from server.planning.tables import MrpRun, PlanningSettings
from server.quantities import quantity_text

log = logging.getLogger("floorsync.planning")
STALE_AFTER = timedelta(minutes=30)
DEFAULT_SETTINGS = {"bucket": "week", "horizon": 26, "auto_run_minutes": 0, "frozen_hours": 4, "downtime_minutes": 120,
                    "behind_minutes": 60}


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def planning_settings() -> dict[str, Any]:
    row = await PlanningSettings.select().order_by(PlanningSettings.id).first()
    return {**DEFAULT_SETTINGS, **({k: row[k] for k in (*DEFAULT_SETTINGS, "updated_by")} if row else {})}


def run_out(row: dict[str, Any]) -> MrpRunOut:
    seconds = row.get("seconds")
    return MrpRunOut(**{**row, "seconds": float(seconds) if seconds is not None else None})


@needs_write
async def _register_run(site: str, who: Who, trigger: str, settings: dict[str, Any]) -> int:
    check_site_allowed(site)
    if not await Site.exists().where(Site.code == site):
        raise not_found("site", site)
    await MrpRun.update({MrpRun.status: "failed", MrpRun.finished_at: _now(), MrpRun.error: "stale"}).where(
        (MrpRun.site == site) & (MrpRun.status == "running") & (MrpRun.started_at <= _now() - STALE_AFTER))
    running = await MrpRun.select(MrpRun.id).where(
        (MrpRun.site == site) & (MrpRun.status == "running")).first()
    if running:
        raise refuse("mrp_running", f"An MRP run of site {site} is under way (run {running['id']})",
                     HTTP_409_CONFLICT, run=running["id"])
    start = Buckets.of(settings["bucket"], settings["horizon"], today()).start
    row = await MrpRun.insert(MrpRun(
        site=site, status="running", trigger=trigger, bucket=settings["bucket"], horizon=settings["horizon"],
        start_date=start, started_by=who.username or who.device_id or "system", started_at=_now(),
    )).returning(MrpRun.id)
    return row[0]["id"]


async def run_mrp(site: str, who: Who, trigger: str = "office") -> MrpRunOut:
    """Plan one site now; the entry point of the action (see the module's docstring for its transactions). The
    engine and the making of the plan's rows run in a worker thread, so the server keeps answering meanwhile."""
    settings = await planning_settings()
    async with write_transaction():
        run_id = await _register_run(site, who, trigger, settings)
    started = time.perf_counter()
    try:
        with _gc_paused():
            async with read_snapshot() as fetch:
                snapshot = await read_input(fetch, site, settings["bucket"], settings["horizon"], today())
            rows = await asyncio.to_thread(_planned_rows, run_id, snapshot)
            async with write_transaction():
                await _write_plan(rows)
                await MrpRun.update({
                    MrpRun.status: "completed", MrpRun.finished_at: _now(),
                    MrpRun.seconds: round(time.perf_counter() - started, 3),
                    MrpRun.planned_orders: len(rows.orders), MrpRun.exceptions: len(rows.exceptions),
                }).where(MrpRun.id == run_id)
    except PlanningError as exc:
        message = translate("en", f"mrp.error.{exc.code}", **{k: _said(v) for k, v in exc.values.items()})
        await _failed(run_id, message)
        raise refuse(exc.code, message, run=run_id, **exc.values) from None
    except BaseException as exc:  # the database went away, the process is stopping: the site is not left blocked
        await asyncio.shield(_failed(run_id, type(exc).__name__))
        raise
    _prune_soon(site)
    return await get_run(run_id)


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cycle collector paused while a run reads, plans and writes: a large plan makes millions of small
    tuples and lists (none of them in a cycle), and each full collection would walk them all again — half of the
    engine's time on a 10,000-item factory. Reference counting still frees everything; the collector resumes when
    the last run in the process ends."""
    global _gc_pauses
    with _gc_lock:
        _gc_pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0:
                gc.enable()


async def _failed(run_id: int, error: str) -> None:
    try:
        async with write_transaction():
            await MrpRun.update({MrpRun.status: "failed", MrpRun.finished_at: _now(), MrpRun.error: error}).where(
                MrpRun.id == run_id)
    except Exception:  # noqa: BLE001 - the run stays "running" until it is stale (STALE_AFTER): logged, not lost
        log.exception("could not mark MRP run %s failed", run_id)


def _said(value: object) -> str:
    return ", ".join(map(str, value)) if isinstance(value, list) else str(value)


class _PlanRows:
    """A plan as the rows of its tables, made in the worker thread (the event loop only streams them)."""

    __slots__ = ("orders", "records", "exceptions")

    def __init__(self, orders: list[tuple], records: list[tuple], exceptions: list[tuple]):
        self.orders, self.records, self.exceptions = orders, records, exceptions



def _planned_rows(run_id: int, snapshot: Snapshot) -> _PlanRows:
    result: Plan = plan(snapshot.problem)
    days: dict[int, date] = {}  # a period's first day, worked out once per period, not once per order

    def first_day(period: int) -> date:
        day = days.get(period)
        if day is None:
            day = days[period] = snapshot.buckets.first_day(period)
        return day

    orders = []
    for order in result.planned_orders:
        supplier = None
        if not order.make:
            ranked = ranked_suppliers(snapshot.offers.get(order.item, []), order.quantity)
            supplier = ranked[0].supplier if ranked else None
        orders.append((run_id, order.id, order.item, "production" if order.make else "purchase", order.quantity,
                       order.release_period, order.receipt_period, first_day(order.release_period),
                       first_day(order.receipt_period), supplier))
    pegs = {item: json_text(list(pegging)) for item, pegging in groupby(result.pegs, key=itemgetter(0))}  # the
    # engine pegs item after item
    components: dict[str, list[str]] = defaultdict(list)
    for link in snapshot.problem.components:
        components[link.parent].append(link.child)
    records = [(run_id, code, record.low_level_code, record.on_hand,
                json_text({row: getattr(record, row) for row in RECORD_ROWS}), json_text(components.get(code, [])),
                pegs.get(code, "[]")) for code, record in result.records.items()]
    exceptions = [(run_id, e.item, e.period, e.code, e.quantity,
                   json_text({"values": dict(e.values), "demands": list(e.demands)})) for e in result.exceptions]
    return _PlanRows(orders, records, exceptions)


@needs_write
async def _write_plan(rows: _PlanRows) -> None:
    await sql_copy("planned_order", ("run", "key", "item", "kind", "quantity_micro", "release_period",
                                      "receipt_period", "release_date", "receipt_date", "supplier"), rows.orders)
    await sql_copy("plan_record", ("run", "item", "low_level_code", "on_hand_micro", "rows", "components", "pegs"),
                   rows.records)
    await sql_copy("plan_exception", ("run", "item", "period", "code", "quantity_micro", "details"), rows.exceptions)


KEEP_RUNS = 5  # completed runs kept per site (the latest is the plan, the ones before it what it is compared with)
_pruning: set[asyncio.Task] = set()


def _prune_soon(site: str) -> None:
    """Delete the site's plans older than its last KEEP_RUNS completed runs, after the answer (a large plan is a
    million rows: deleting one takes about as long as writing it)."""
    task = asyncio.get_running_loop().create_task(prune_runs(site))
    _pruning.add(task)
    task.add_done_callback(_pruning.discard)


async def prune_runs(site: str, keep: int = KEEP_RUNS) -> list[int]:
    """The runs of `site` that were deleted: every run but the last `keep` completed ones and any still running,
    each with its plan, one transaction a run. Failures are logged; the next run tries again."""
    try:
        kept = await sql_read("SELECT id FROM mrp_run WHERE site = $1 AND status = 'completed' ORDER BY id DESC "
                              f"LIMIT {int(keep)}", site)
        if len(kept) < keep:
            return []
        oldest = min(row["id"] for row in kept)
        old = [row["id"] for row in await sql_read(
            "SELECT id FROM mrp_run WHERE site = $1 AND id < $2 AND status <> 'running' ORDER BY id", site, oldest)]
        for run_id in old:
            async with write_transaction():
                for table in ("planned_order", "plan_record", "plan_exception"):
                    await sql_execute(f"DELETE FROM {table} WHERE run = $1", run_id)
                await sql_execute("DELETE FROM mrp_run WHERE id = $1", run_id)
        return old
    except Exception:  # noqa: BLE001 - a plan kept longer than needed harms nothing
        log.exception("could not prune the MRP runs of site %s", site)
        return []


# -- reading a plan -------------------------------------------------------------------------------------------

async def get_run(run_id: int) -> MrpRunOut:
    row = await MrpRun.select().where(within_scope(MrpRun.id == run_id, MrpRun.site)).first()
    if row is None:  # also the run of a site the office user may not see: every read of a plan starts here
        raise refuse("not_found", f"No MRP run {run_id}", HTTP_404_NOT_FOUND, entity="mrp_run", key=str(run_id))
    return run_out(row)


async def latest_run(site: str) -> MrpRunOut:
    row = await MrpRun.select().where(within_scope((MrpRun.site == site) & (MrpRun.status == "completed"),
                                                   MrpRun.site)).order_by(MrpRun.id, ascending=False).first()
    if row is None:
        raise refuse("no_plan", f"Site {site} has no completed MRP run yet", HTTP_404_NOT_FOUND, site=site)
    return run_out(row)


async def list_runs(site: str | None, limit: int) -> list[MrpRunOut]:
    query = MrpRun.select().order_by(MrpRun.id, ascending=False).limit(limit)
    query = query.where(within_scope((MrpRun.site == site) if site else (MrpRun.id > 0), MrpRun.site))
    return [run_out(row) for row in await query]


def _peg_out(row: dict[str, Any]) -> PegOut:
    return PegOut(**{**row, "quantity": quantity_text(row["quantity_micro"])})


PEG_FIELDS = ("item", "demand", "demand_kind", "demand_period", "supply", "supply_kind", "supply_period",
              "quantity_micro")  # a peg as plan_record.pegs holds it (server/planning/mrp.py: Peg)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


async def item_pegs(run_id: int, items: list[str] | set[str]) -> dict[str, list[dict[str, Any]]]:
    """The pegging of these items in a run, by item: each supply of the item and the demand it serves, earliest
    demand first (the engine's order within a period)."""
    items = sorted(set(items))
    if not items:
        return {}
    marks = ", ".join(f"${n}" for n in range(2, len(items) + 2))
    out: dict[str, list[dict[str, Any]]] = {}
    for row in await sql_read(f"SELECT item, pegs FROM plan_record WHERE run = $1 AND item IN ({marks})",
                              run_id, *items):
        pegs = [dict(zip(PEG_FIELDS, peg)) for peg in _json(row["pegs"])]
        pegs.sort(key=lambda peg: peg["demand_period"])  # stable: the engine's order within a period
        out[row["item"]] = pegs
    return out


async def item_components(run_id: int, items: list[str] | set[str]) -> dict[str, list[str]]:
    """The BOM components each item had in the run (where its planned orders' dependent demand went)."""
    items = sorted(set(items))
    if not items:
        return {}
    marks = ", ".join(f"${n}" for n in range(2, len(items) + 2))
    return {row["item"]: _json(row["components"]) for row in await sql_read(
        f"SELECT item, components FROM plan_record WHERE run = $1 AND item IN ({marks})", run_id, *items)}


def planned_item(key: str) -> str:
    """The item of a planned order's key (ITEM@period)."""
    return key.rpartition("@")[0]


async def pegs_of_supply(run_id: int, supply: str, item: str) -> list[dict[str, Any]]:
    return [peg for peg in (await item_pegs(run_id, [item])).get(item, []) if peg["supply"] == supply]


async def _demand_items(run_id: int, demand: str) -> list[str]:
    """The items whose supplies may serve `demand`: a sales line's or forecast's own item, the components of the
    item a planned or production order makes (its dependent demand), a released order's materials."""
    kind, _, rest = demand.partition(":")
    if "@" in demand and ":" not in demand:
        return (await item_components(run_id, [planned_item(demand)])).get(planned_item(demand), [])
    if kind == "sales":
        code, _, line = rest.rpartition(":")
        rows = await sql_read("SELECT l.item FROM sales_order_line l JOIN sales_order o ON o.id = l.sales_order "
                              "WHERE o.code = $1 AND l.line_no = $2", code, int(line) if line.isdigit() else -1)
        return [row["item"] for row in rows]
    if kind in ("forecast", "safety_stock", "on_hand"):
        return [rest.split(":")[0]]
    if kind == "production":
        order = await sql_read("SELECT id, item FROM production_order WHERE code = $1", rest)
        if not order:
            return []
        materials = await sql_read("SELECT item FROM production_material WHERE production_order = $1", order[0]["id"])
        made = (await item_components(run_id, [order[0]["item"]])).get(order[0]["item"], [])
        return sorted({*made, *(row["item"] for row in materials)})
    return []


def _planned_where(run_id: int, item: str | None, kind: str | None, period: int | None) -> tuple[str, list[Any]]:
    where, args = ["run = $1"], [run_id]
    for column, value in (("item", item), ("kind", kind), ("receipt_period", period)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    return " AND ".join(where), args


async def planned_totals(run_id: int, *, item: str | None = None, kind: str | None = None,
                         period: int | None = None) -> dict[str, int]:
    """How many planned orders of each kind match the filters."""
    where, args = _planned_where(run_id, item, kind, period)
    rows = await sql_read(f"SELECT kind, COUNT(*) AS n FROM planned_order WHERE {where} GROUP BY kind", *args)
    return {"production": 0, "purchase": 0, **{row["kind"]: int(row["n"]) for row in rows}}


async def planned_orders(run_id: int, *, item: str | None = None, kind: str | None = None,
                         period: int | None = None, limit: int | None = None, offset: int = 0
                         ) -> list[PlannedOrderOut]:
    await get_run(run_id)
    where, args = _planned_where(run_id, item, kind, period)
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    rows = await sql_read(
        "SELECT key, item, kind, quantity_micro, release_period, receipt_period, release_date, receipt_date, supplier, "
        f"firmed_as FROM planned_order WHERE {where} ORDER BY release_period, item, key{page}", *args)
    keys = {row["key"] for row in rows}
    pegs: dict[str, list[PegOut]] = {}
    for item_pegging in (await item_pegs(run_id, {row["item"] for row in rows})).values():
        for peg in item_pegging:
            if peg["supply"] in keys:
                pegs.setdefault(peg["supply"], []).append(_peg_out(peg))
    return [PlannedOrderOut(**{**row, "quantity": quantity_text(row["quantity_micro"]),
                               "pegging": pegs.get(row["key"], [])}) for row in rows]


async def plan_exceptions(run_id: int, lang: str, *, item: str | None = None, code: str | None = None,
                          limit: int | None = None, offset: int = 0) -> list[PlanExceptionOut]:
    await get_run(run_id)
    query = "SELECT item, period, code, quantity_micro, details FROM plan_exception WHERE run = $1"
    args: list[Any] = [run_id]
    for column, value in (("item", item), ("code", code)):
        if value is not None:
            args.append(value)
            query += f" AND {column} = ${len(args)}"
    out = []
    page = f" LIMIT {int(limit)} OFFSET {int(offset)}" if limit is not None else ""
    for row in await sql_read(query + " ORDER BY period, item, id" + page, *args):
        details = row["details"]
        details = details if isinstance(details, dict) else json.loads(details or "{}")
        out.append(PlanExceptionOut(
            item=row["item"], period=row["period"], code=row["code"], quantity=quantity_text(row["quantity_micro"]),
            message=exception_text(lang, row["item"], row["period"], row["code"], row["quantity_micro"],
                                   details.get("values", {})),
            demands=details.get("demands", [])))
    return out


async def plan_record(run_id: int, item: str) -> PlanRecordOut:
    run = await get_run(run_id)
    rows = await sql_read("SELECT item, low_level_code, on_hand_micro, rows FROM plan_record WHERE run = $1 AND item = $2",
                          run_id, item)
    if not rows:
        raise not_found("item", item)
    row = rows[0]
    figures = row["rows"] if isinstance(row["rows"], dict) else json.loads(row["rows"])
    buckets = Buckets(run.start_date, 7 if run.bucket == "week" else 1, run.horizon)
    return PlanRecordOut(
        item=item, low_level_code=row["low_level_code"], on_hand=quantity_text(row["on_hand_micro"]),
        period_starts=[buckets.first_day(p) for p in range(1, run.horizon + 1)],
        **{name: [quantity_text(v) for v in values] for name, values in figures.items()},
        supplies=[_peg_out(p) for p in (await item_pegs(run_id, [item])).get(item, [])])


async def pegging_tree(run_id: int, demand: str) -> list[dict[str, Any]]:
    """What supplies a demand and, under each planned order among them, what supplies the components its release
    needs (each node names its item), down every BOM level. Below a planned order that serves several demands,
    the quantities are this demand's share of it (a part of 40 made for two orders of 20 shows 20 under each).
    One read of the run's records per BOM level."""
    await get_run(run_id)
    pegs = await item_pegs(run_id, await _demand_items(run_id, demand))
    return (await _tree_level(run_id, [(demand, Fraction(1), [peg for item in sorted(pegs) for peg in pegs[item]])]))[0]


async def _tree_level(run_id: int, level: list[tuple[str, Fraction, list[dict[str, Any]]]], depth: int = 0
                      ) -> list[list[dict[str, Any]]]:
    """The nodes of each (demand, share, candidate pegs) of one level; their children are read for the whole level
    at once."""
    nested: list[list[dict[str, Any]]] = []
    below: list[tuple[dict[str, Any], str, Fraction]] = []  # node, the supply it opens, the share under it
    whole: dict[str, int] = {}
    planned = sorted({peg["supply"] for _, _, pegs in level for peg in pegs if peg["supply_kind"] == "planned"})
    if planned:
        whole = {row["key"]: row["quantity_micro"] for row in await sql_read(
            f"SELECT key, quantity_micro FROM planned_order WHERE run = $1 AND key IN ({placeholders(len(planned), 2)})",
            run_id, *planned)}
    drafts = sorted({peg["supply"].partition(":")[2] for _, _, pegs in level for peg in pegs
                     if peg["supply"].startswith("production:")})
    if drafts:  # a firm planned order's components were exploded from what it has still to make
        whole |= {f"production:{row['code']}": row["open_micro"] for row in await sql_read(
            "SELECT code, quantity_micro - received_micro AS open_micro FROM production_order "
            f"WHERE code IN ({placeholders(len(drafts))})", *drafts)}
    for demand, share, pegs in level:
        nodes = []
        for peg in pegs:
            if peg["demand"] != demand:
                continue
            peg = {**peg, "quantity_micro": int(peg["quantity_micro"] * share)}
            node = {**_peg_out(peg).model_dump(), "components": []}
            nodes.append(node)
            if depth >= 64:
                continue
            if (peg["supply_kind"] == "planned" or peg["supply"].startswith("production:")) and whole.get(peg["supply"]):
                below.append((node, peg["supply"], Fraction(peg["quantity_micro"], whole[peg["supply"]])))
        nested.append(nodes)
    if below:
        supplies = {supply for _, supply, _ in below}
        made = await item_components(run_id, {planned_item(supply) for supply in supplies if "@" in supply})
        items = {supply: made.get(planned_item(supply), []) if "@" in supply else await _demand_items(run_id, supply)
                 for supply in supplies}
        pegs = await item_pegs(run_id, {item for found in items.values() for item in found})
        children = await _tree_level(run_id, [
            (supply, share, [peg for item in items[supply] for peg in pegs.get(item, [])])
            for _, supply, share in below], depth + 1)
        for (node, _, _), components in zip(below, children):
            node["components"] = components
    return nested


async def scheduled_runs(now: datetime | None = None) -> list[int]:
    """MRP of every site whose last run began `auto_run_minutes` ago or more (the planner's setting; 0: never).
    Every server process asks each minute; the one-running-run-per-site rule lets only one of them run a site."""
    settings = await planning_settings()
    minutes = int(settings["auto_run_minutes"] or 0)
    if minutes <= 0:
        return []
    now = now or _now()
    started = []
    for site in await Site.select(Site.code).where(Site.archived == False):  # noqa: E712
        last = await MrpRun.select(MrpRun.started_at).where(MrpRun.site == site["code"]).order_by(
            MrpRun.id, ascending=False).first()
        if last is not None and last["started_at"] > now - timedelta(minutes=minutes):
            continue
        try:
            run = await run_mrp(site["code"], Who(username="system"), trigger="schedule")
        except ApiError as exc:
            if exc.code != "mrp_running":
                raise
            continue
        started.append(run.id)
    return started


_schedule: PeriodicTask | None = None
SCHEDULE_CHECK_SECONDS = 60.0


def start_schedule(interval_seconds: float = SCHEDULE_CHECK_SECONDS) -> None:
    global _schedule
    _schedule = PeriodicTask("mrp-schedule", interval_seconds, scheduled_runs, log)
    _schedule.start()


async def stop_schedule() -> None:
    global _schedule
    if _schedule is not None:
        await _schedule.stop()
        _schedule = None


async def plan_changes(run_id: int) -> dict[str, Any]:
    """What changed since the site's run before this one: how many planned orders are new, gone, or changed in
    quantity or release date (a planned order is the same from run to run when its key, the item and period of its
    receipt, is). Counted by the database: a plan may hold hundreds of thousands of planned orders."""
    run = await get_run(run_id)
    before = await MrpRun.select(MrpRun.id).where(
        (MrpRun.site == run.site) & (MrpRun.status == "completed") & (MrpRun.id < run_id)).order_by(
        MrpRun.id, ascending=False).first()
    if before is None:
        return {"previous": None, "new": 0, "gone": 0, "changed": 0}
    absent = ("SELECT COUNT(*) AS n FROM planned_order a WHERE a.run = $1 AND NOT EXISTS "
              "(SELECT 1 FROM planned_order b WHERE b.run = $2 AND b.key = a.key)")
    new = await sql_read(absent, run_id, before["id"])
    gone = await sql_read(absent, before["id"], run_id)
    changed = await sql_read(
        "SELECT COUNT(*) AS n FROM planned_order a JOIN planned_order b ON b.run = $2 AND b.key = a.key "
        "WHERE a.run = $1 AND (a.quantity_micro <> b.quantity_micro OR a.release_date <> b.release_date)",
        run_id, before["id"])
    return {"previous": before["id"], "new": int(new[0]["n"]), "gone": int(gone[0]["n"]),
            "changed": int(changed[0]["n"])}


@needs_write
async def update_settings(data: dict[str, Any], who: Who) -> dict[str, Any]:
    before = await PlanningSettings.select().order_by(PlanningSettings.id).first()
    values = {**data, "updated_by": who.name, "updated_at": _now()}
    if before is None:
        await PlanningSettings.insert(PlanningSettings(**values))
    else:
        await PlanningSettings.update(values).where(PlanningSettings.id == before["id"])
    await record_audit(who, "update", "planning_settings", "planning",
                       {k: before[k] for k in DEFAULT_SETTINGS} if before else None, data)
    return {**await planning_settings(), "updated_by": who.name}


async def supply_of_lines(site: str, order: str, line_nos: list[int]) -> list[dict[str, Any]]:
    """The latest plan's supply for a sales order's lines, down the BOM: each planned order (firmed or not) that a
    line's pegging tree reaches, with its depth (0: the line's own item) and the quantity pegged there."""
    run = await MrpRun.select(MrpRun.id).where((MrpRun.site == site) & (MrpRun.status == "completed")).order_by(
        MrpRun.id, ascending=False).first()
    if run is None:
        return []
    found: list[dict[str, Any]] = []

    def walk(nodes: list[dict[str, Any]], line_no: int, depth: int) -> None:
        for node in nodes:
            if node["supply_kind"] == "planned":
                found.append({"line_no": line_no, "depth": depth, "key": node["supply"], "item": node["item"],
                              "quantity": node["quantity"]})
            walk(node["components"], line_no, depth + 1)

    for line_no in line_nos:
        walk(await pegging_tree(run["id"], f"sales:{order}:{line_no}"), line_no, 0)
    if not found:
        return []
    marks = ", ".join(f"${n}" for n in range(2, len({f['key'] for f in found}) + 2))
    orders = {row["key"]: row for row in await sql_read(
        f"SELECT key, kind, receipt_date, release_date, firmed_as FROM planned_order WHERE run = $1 AND key IN ({marks})",
        run["id"], *sorted({f["key"] for f in found}))}
    return [{**f, "run": run["id"], **{k: orders[f["key"]][k] for k in ("kind", "receipt_date", "release_date",
                                                                          "firmed_as")}} for f in found]
