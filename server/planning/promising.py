"""Order promising: when each line of a sales order can be delivered, and why.

**Available to promise (ATP).** An item's projected available balance at the site, day by day: usable stock now
(available, unexpired, held by no reservation, as `usable_bins` counts it), plus scheduled receipts on their dates
(open purchase order lines by their due date, released and firmed production orders by theirs, unless they are made
for another sales order), less what is already owed on those dates (the lines of approved orders by their promised
date, else their promise, else the requested date, less what reservations hold for them and what production made
for them supplies; the unissued material of released production orders and the components of firmed ones, now).
A line of quantity q can have it on day t when the balance stays at or above q on t and every day after: stock is
never promised twice, since a later need keeps what it needs even when a new line asks earlier. The earliest such
day is the ATP date; what is past due counts today.

**Capable to promise (CTP).** Where ATP falls short, what the balance can give (its final value, on the first day
it stays there) is taken and the rest is made to order through the BOM levels: a made item is a new order with its
routing's operations (setup + run x quantity over the work centre's efficiency, as a firmed order is read), whose
components are taken from their own balances first, else made by an order that feeds it, else bought in the
supplier's lead time from today (the item's own lead time without a supplier). The new orders go into the site's
current schedule without moving it: every existing operation stays where the schedule has it (its accepted
`given_start`, else where the list scheduler puts it), pinned as started, and the list scheduler places the new
operations around them, none starting before its material is there. The line's promise is the later of the taken
stock's day and the end of the day its top order finishes (site-local). Lines are promised in line order, each
one's stock and operations in place for the next.

**Why.** A catalog key with its values, said in the reader's language: `promise.reason_stock` (in stock),
`reason_receipt` (the receipt the date waits for), `reason_capacity` (an operation of the critical path waited for
its work centre), `reason_material` (a component is bought in its lead time), `reason_make` (the routing's own
time), `reason_no_supply` and `reason_no_routing` (nothing can promise it, the missing material named).

The engine (`promise_lines`) is a pure function over `PromiseInput`; `read_promise_input` reads it from one
consistent view, and `promise_order` works out and keeps the promises of one order inside the caller's write."""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from server.db import Fetch, current_write, sql_read
from server.documents import utc_now
from server.masterdata.calendar import MINUTES_PER_DAY
from server.planning.schedule_snapshot import ScheduleInput, open_time, read_schedule_input
from server.planning.scheduling import (
    OpenTime, Operation, Order, Placement, Problem, SchedulingError, WorkCentre, _Index, _list_schedule, schedulable,
    operation_minutes,
)
from server.planning.snapshot import (
    DEMAND_STATUSES, PRODUCTION_STATUSES, PURCHASE_STATUSES, SHIPMENT_OPEN, in_force,
)
from server.planning.suppliers import SupplierOffer, choose_supplier
from server.production import rules as production_rules
from server.purchasing import rules as purchasing_rules
from server.quantities import to_micro
from server.sales import service as sales_service

ATP, CTP = "atp", "ctp"


# -- the data ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Receipt:
    day: date
    quantity_micro: int
    source: str  # PO-2026-0001, MO-2026-0003: what the reason names


@dataclass
class Balance:
    """One item's projected available balance: usable stock now, receipts and needs on their days."""

    on_hand_micro: int = 0
    receipts: list[Receipt] = field(default_factory=list)
    needs: list[tuple[date, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    sequence: int
    work_centre: str
    setup_minutes: Decimal
    run_minutes_per_unit: Decimal


@dataclass(frozen=True)
class ItemPlan:
    code: str
    make: bool
    unit_micro: int  # the smallest quantity of the item's unit, in micro-units
    steps: tuple[Step, ...] = ()  # the routing in force (a made item)
    components: tuple[tuple[str, Decimal, Decimal], ...] = ()  # (item, quantity per unit, scrap %) of its BOM
    yield_pct: Decimal = Decimal(100)
    purchase_days: int | None = None  # a bought item's supplier lead time (None: no way to buy it)


@dataclass(frozen=True)
class PromiseInput:
    schedule: ScheduleInput  # the site's current schedule as the engine's problem, existing operations pinned
    baseline: tuple[Placement, ...]  # where the existing operations are
    centres: dict[str, WorkCentre]  # every work centre, with its calendar over the same weeks
    efficiency: dict[str, Decimal]
    items: dict[str, ItemPlan]
    balances: dict[str, Balance]

    @property
    def now(self) -> int:
        return self.schedule.problem.now

    @property
    def today(self) -> date:
        return self.schedule.origin.date() + timedelta(days=self.now // MINUTES_PER_DAY)


@dataclass(frozen=True)
class LineToPromise:
    line_no: int
    item: str
    quantity_micro: int  # what the line still needs (its own reservations already hold the rest)
    requested: date


@dataclass(frozen=True)
class LinePromise:
    line_no: int
    item: str
    quantity_micro: int
    requested: date
    atp_date: date | None
    promise_date: date | None
    method: str  # atp | ctp | "" (nothing can promise it)
    reason: str  # promise.reason_*
    params: dict[str, Any]
    orders: tuple[str, ...] = ()  # the hypothetical orders CTP added for it, the top one first


@dataclass(frozen=True)
class Promising:
    lines: tuple[LinePromise, ...]
    problem: Problem  # the schedule with the existing operations pinned and the new orders added
    placements: tuple[Placement, ...]
    top_orders: dict[int, str]  # line number -> its top order (CTP lines)


# -- available to promise ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Why:
    reason: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Available:
    day: date | None  # when the quantity asked is there for good (None: never, in what is known)
    most_micro: int  # the most the balance can give for good
    most_day: date  # from when it can
    arrivals: dict[date, Receipt]  # the largest receipt of each day

    def why(self, item: str, day: date, today: date, on_hand_micro: int, quantity_micro: int) -> _Why:
        """In stock, or the receipt the day waits for."""
        receipt = self.arrivals.get(day)
        if receipt is None or (day == today and on_hand_micro >= quantity_micro):
            return _Why("promise.reason_stock", {"item": item})
        return _Why("promise.reason_receipt", {"item": item, "date": day.isoformat(), "source": receipt.source})


def available(balance: Balance, quantity_micro: int, today: date) -> Available:
    """The earliest day from which the balance stays at or above `quantity_micro`, and the most it can give."""
    changes: dict[date, int] = defaultdict(int)
    changes[today] += balance.on_hand_micro
    arrivals: dict[date, Receipt] = {}
    for receipt in balance.receipts:
        day = max(receipt.day, today)
        changes[day] += receipt.quantity_micro
        if day not in arrivals or receipt.quantity_micro > arrivals[day].quantity_micro:
            arrivals[day] = receipt
    for day, need in balance.needs:
        changes[max(day, today)] -= need
    days = sorted(changes)
    running, balances = 0, []
    for day in days:
        running += changes[day]
        balances.append(running)
    lowest_after = balances[:]
    for k in range(len(days) - 2, -1, -1):
        lowest_after[k] = min(balances[k], lowest_after[k + 1])
    most = max(0, lowest_after[-1])

    def first(quantity: int) -> date | None:
        return next((days[k] for k in range(len(days)) if lowest_after[k] >= quantity), None)

    return Available(first(quantity_micro), most, first(most) or today, arrivals)


# -- capable to promise --------------------------------------------------------------------------------------------------

@dataclass
class _Ready:
    minute: int | None  # when it is there (None: it cannot be)
    why: _Why
    ends: bool = False  # the minute ends work (a finish at midnight is the day before's), else it starts a day


class _Promiser:
    """The promising of one order's lines, in order: balances drawn down and the schedule grown as it goes."""

    def __init__(self, data: PromiseInput):
        self.data = data
        self.balances = {code: Balance(b.on_hand_micro, list(b.receipts), list(b.needs))
                         for code, b in data.balances.items()}
        existing = data.schedule.problem
        self.centres = {c.code: c for c in existing.work_centres}
        at = {p.operation: p for p in data.baseline}
        self.operations: list[Operation] = [
            dataclasses.replace(op, given_start=at[op.id].start, given_machine=at[op.id].machine, started=True)
            for op in existing.operations]
        self.orders: list[Order] = list(existing.orders)
        self.placements: tuple[Placement, ...] = tuple(data.baseline)
        self.release_why: dict[str, _Why] = {}
        self.counter = 0
        self.index: _Index | None = None

    # time
    def minute_of(self, day: date) -> int:
        return max(self.data.now, (day - self.data.schedule.origin.date()).days * MINUTES_PER_DAY)

    def day_of(self, minute: int) -> date:
        return self.data.schedule.origin.date() + timedelta(days=max(0, minute - 1) // MINUTES_PER_DAY)

    def end_of_day(self, day: date) -> int:
        return ((day - self.data.schedule.origin.date()).days + 1) * MINUTES_PER_DAY

    def balance(self, item: str) -> Balance:
        return self.balances.setdefault(item, Balance())

    def problem(self) -> Problem:
        existing = self.data.schedule.problem
        return Problem(tuple(self.centres.values()), tuple(self.orders), tuple(self.operations), now=existing.now,
                       crews=existing.crews)

    def line(self, line: LineToPromise) -> tuple[LinePromise, str | None]:
        today = self.data.today
        balance = self.balance(line.item)
        whole = available(balance, line.quantity_micro, today)
        if whole.day is not None:
            why = whole.why(line.item, whole.day, today, balance.on_hand_micro, line.quantity_micro)
            balance.needs.append((whole.day, line.quantity_micro))
            return LinePromise(line.line_no, line.item, line.quantity_micro, line.requested, whole.day, whole.day, ATP,
                               why.reason, why.params), None
        orders_before, operations_before = len(self.orders), len(self.operations)
        try:
            ready, top = self.obtain(line.item, line.quantity_micro, None, self.end_of_day(line.requested))
            if ready.minute is not None and top is not None:
                self.schedule()
                ready = self.finished(top, ready)
        except SchedulingError as error:
            ready, top = _Ready(None, _Why("promise.reason_unschedulable", {"item": line.item, "code": error.code})), None
        if ready.minute is None:  # nothing of it is kept: the next line starts from the schedule as it was
            del self.orders[orders_before:]
            del self.operations[operations_before:]
            return LinePromise(line.line_no, line.item, line.quantity_micro, line.requested, None, None, "",
                               ready.why.reason, ready.why.params), None
        promised = self.day_of(ready.minute) if ready.ends else self.day_of(ready.minute + 1)
        taken = min(line.quantity_micro, whole.most_micro)
        if taken:
            balance.needs.append((promised, taken))
        return LinePromise(line.line_no, line.item, line.quantity_micro, line.requested, None, promised, CTP,
                           ready.why.reason, ready.why.params, tuple(o.id for o in self.orders[orders_before:])), top

    def obtain(self, item: str, quantity_micro: int, feeds: str | None, due: int) -> tuple[_Ready, str | None]:
        """`quantity_micro` of `item` for the order `feeds` (None: for the line itself): from its balance when that
        covers it, else what the balance gives for good and the rest made (a new order feeding `feeds`, returned)
        or bought. The caller draws the stock part down."""
        today = self.data.today
        balance = self.balance(item)
        got = available(balance, quantity_micro, today)
        if got.day is not None and feeds is not None:
            return _Ready(self.minute_of(got.day),
                          got.why(item, got.day, today, balance.on_hand_micro, quantity_micro)), None
        plan = self.data.items.get(item)
        taken = min(got.most_micro, quantity_micro)
        stock = (_Ready(self.minute_of(got.most_day), got.why(item, got.most_day, today, balance.on_hand_micro, taken))
                 if taken else _Ready(self.data.now, _Why("promise.reason_stock", {"item": item})))
        if plan is None:
            return _Ready(None, _Why("promise.reason_no_supply", {"item": item})), None
        if plan.make:
            if not plan.steps:
                return _Ready(None, _Why("promise.reason_no_routing", {"item": item})), None
            order, missing = self.make(plan, quantity_micro - taken, feeds, due)
            if order is None:
                return _Ready(None, missing), None
            return stock, order
        if plan.purchase_days is None:
            return _Ready(None, _Why("promise.reason_no_supply", {"item": item})), None
        arrives = today + timedelta(days=plan.purchase_days)
        bought = _Ready(self.minute_of(arrives), _Why("promise.reason_material", {"item": item,
                                                                                 "date": arrives.isoformat()}))
        return (stock if stock.minute is not None and stock.minute > bought.minute else bought), None

    def make(self, plan: ItemPlan, quantity_micro: int, feeds: str | None, due: int) -> tuple[str | None, _Why]:
        """A new order of `quantity_micro` of a made item, its components obtained first (their stock part drawn
        down at its release); no order, and why, when one of them cannot be."""
        self.counter += 1
        order_id = f"CTP-{self.counter}"
        made_micro = _rounded_up(Decimal(quantity_micro) * 100 / plan.yield_pct, plan.unit_micro)
        release, why = self.data.now, _Why("promise.reason_make", {"item": plan.code})
        takes: list[tuple[str, int]] = []
        for component, per_unit, scrap_pct in plan.components:
            child = self.data.items.get(component)
            need = _rounded_up(Decimal(made_micro) * per_unit * (1 + scrap_pct / 100), child.unit_micro if child else 1)
            if need <= 0:
                continue
            most = available(self.balance(component), need, self.data.today).most_micro
            ready, _ = self.obtain(component, need, order_id, due)
            if ready.minute is None:
                return None, ready.why
            takes.append((component, min(need, most)))
            if ready.minute > release:
                release, why = ready.minute, ready.why
        for component, taken in takes:
            if taken:
                self.balance(component).needs.append((self.day_of(release + 1), taken))
        self.release_why[order_id] = why
        self.orders.append(Order(order_id, due, 1, (feeds,) if feeds else ()))
        for step in plan.steps:
            if step.work_centre not in self.centres:
                if step.work_centre not in self.data.centres:
                    raise SchedulingError("unknown_work_centre", work_centre=step.work_centre)
                self.centres[step.work_centre] = self.data.centres[step.work_centre]
            planned = production_rules.planned_minutes(step.setup_minutes, step.run_minutes_per_unit, made_micro)
            minutes = operation_minutes(float(planned), 0, 0, float(self.data.efficiency.get(step.work_centre) or 100))
            self.operations.append(Operation(f"{order_id}/{step.sequence}", order_id, step.sequence, step.work_centre,
                                             minutes, plan.code, release=release))
        return order_id, why

    def schedule(self) -> None:
        """The new operations placed around the pinned ones, then pinned in turn for the next line."""
        problem = self.problem()
        self.index = _Index(problem)
        self.placements = _list_schedule(self.index)
        at = {p.operation: p for p in self.placements}
        self.operations = [op if op.started else dataclasses.replace(
            op, given_start=at[op.id].start, given_machine=at[op.id].machine, started=True)
            for op in self.operations]

    def finished(self, top: str, stock: _Ready) -> _Ready:
        """When the line's top order ends, or its stock part comes if that is later, and why: the critical path
        walked back from the top order's last operation to what held it up."""
        at = {p.operation: p for p in self.placements}
        end = at[self.index.by_order[top][-1].id].end
        if stock.minute is not None and stock.minute > end:
            return stock
        return _Ready(end, self._why(self.index.by_order[top][-1].id, at), ends=True)

    def _why(self, op_id: str, at: dict[str, Placement]) -> _Why:
        index, now = self.index, self.data.now
        while True:
            op = index.operations[op_id]
            placed = at[op_id]
            preds = index.predecessors[op_id]
            after_preds = max((at[p].end for p in preds), default=now)
            earliest = max(now, op.release, after_preds)
            opened: OpenTime = index.open[op.work_centre]
            first_open = opened.start_of(opened.open_before(earliest))
            if first_open is not None and placed.start > first_open:
                return _Why("promise.reason_capacity", {"centre": op.work_centre,
                                                        "date": self.day_of(placed.start + 1).isoformat()})
            if preds and after_preds >= max(now, op.release):
                op_id = max(preds, key=lambda p: at[p].end)
                continue
            return self.release_why.get(op.order, _Why("promise.reason_make", {"item": op.family}))


def _rounded_up(quantity_micro: Decimal | float, unit_micro: int) -> int:
    unit = max(1, unit_micro)
    return int(math.ceil(Decimal(str(quantity_micro)) / unit - Decimal("1e-9"))) * unit


def promise_lines(data: PromiseInput, lines: Sequence[LineToPromise]) -> Promising:
    """Each line's promise, in line order."""
    promiser = _Promiser(data)
    promises, tops = [], {}
    for line in sorted(lines, key=lambda line: line.line_no):
        if line.quantity_micro <= 0:
            promises.append(LinePromise(line.line_no, line.item, line.quantity_micro, line.requested, data.today,
                                        data.today, ATP, "promise.reason_stock", {"item": line.item}))
            continue
        promise, top = promiser.line(line)
        promises.append(promise)
        if top is not None and promise.promise_date is not None:
            tops[line.line_no] = top
    return Promising(tuple(promises), promiser.problem(), tuple(promiser.placements), tops)


# -- reading -------------------------------------------------------------------------------------------------------------

def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _marks(values: Sequence[Any], start: int) -> str:
    return ", ".join(f"${n}" for n in range(start, start + len(values)))


def baseline_of(problem: Problem) -> tuple[Problem, tuple[Placement, ...]]:
    """Where the current schedule has the existing operations: their accepted starts (`given_start`), the rest by
    the list scheduler around them. An order the engine cannot schedule at all (on a work centre with no open time
    or no machine) is left out, with the orders it feeds and those that feed it (`schedulable`): it holds no
    capacity that new work could have, and one bad work centre does not stop every promise of the site. Returns
    the problem as scheduled and its placements."""
    def attempt(problem: Problem) -> tuple[Placement, ...]:
        if any(op.given_start is not None for op in problem.operations):
            try:
                return _list_schedule(_Index(dataclasses.replace(problem, frozen_minutes=10**9)))
            except SchedulingError:
                pass
        return _list_schedule(_Index(problem))

    problem, placements, _ = schedulable(problem, attempt)
    return problem, placements


async def read_promise_input(fetch: Fetch, site: str, now: datetime, order: str | None = None) -> PromiseInput:
    """The site's balances, items and current schedule; `order`'s own lines are left out of what is owed."""
    items = await fetch("SELECT i.code, i.make_or_buy, i.lead_time_days, u.decimals FROM item i "
                        "JOIN unit u ON u.code = i.unit WHERE i.archived = $1", False)
    offers: dict[str, list[SupplierOffer]] = defaultdict(list)
    for row in await fetch(
            "SELECT si.item, s.code AS supplier, si.price, si.lead_time_days, si.min_order_quantity, si.preferred "
            "FROM supplier_item si JOIN supplier s ON s.id = si.supplier WHERE s.archived = $1", False):
        offers[row["item"]].append(SupplierOffer(row["supplier"], _decimal(row["price"]), int(row["lead_time_days"]),
                                                 to_micro(_decimal(row["min_order_quantity"])), bool(row["preferred"])))
    longest = max([0] + [o.lead_time_days for offered in offers.values() for o in offered]
                  + [int(row["lead_time_days"] or 0) for row in items])
    weeks = max(8, -(-(longest + 28) // 7))
    schedule = await read_schedule_input(fetch, site, now, weeks=weeks)
    today = schedule.origin.date() + timedelta(days=schedule.problem.now // MINUTES_PER_DAY)
    centres_rows = await fetch("SELECT code, shifts, working_days, holidays, parallel_capacity, efficiency_pct "
                               "FROM work_centre")
    centres = {}
    for row in centres_rows:
        row = {**row, "shifts": _json(row["shifts"]), "working_days": _json(row["working_days"]),
               "holidays": _json(row["holidays"])}
        centres[row["code"]] = WorkCentre(row["code"], int(row["parallel_capacity"] or 1),
                                          open_time(row, schedule.origin.date(), weeks * 7))
    efficiency = {row["code"]: _decimal(row["efficiency_pct"] or 100) for row in centres_rows}
    plans = await _item_plans(fetch, items, offers, today)
    balances = await _balances(fetch, site, today, order)
    scheduled, baseline = baseline_of(schedule.problem)
    return PromiseInput(dataclasses.replace(schedule, problem=scheduled), baseline, centres, efficiency, plans,
                        balances)


async def _boms(fetch: Fetch) -> tuple[dict[str, list], dict[Any, list]]:
    """Every BOM version by item, and every BOM's lines by BOM."""
    boms_of: dict[str, list] = defaultdict(list)
    for row in await fetch("SELECT id, item, version, valid_from, archived FROM bom"):
        boms_of[row["item"]].append(row)
    lines_of: dict[Any, list] = defaultdict(list)
    for row in await fetch("SELECT bom, component, quantity, scrap_pct FROM bom_line"):
        lines_of[row["bom"]].append(row)
    return boms_of, lines_of


async def _item_plans(fetch: Fetch, items: list[dict[str, Any]], offers: dict[str, list[SupplierOffer]],
                      today: date) -> dict[str, ItemPlan]:
    boms_of, lines_of = await _boms(fetch)
    routings_of: dict[str, list] = defaultdict(list)
    for row in await fetch("SELECT id, item, version, archived, yield_pct FROM routing"):
        routings_of[row["item"]].append(row)
    steps_of: dict[Any, list] = defaultdict(list)
    for row in await fetch("SELECT routing, sequence, work_centre, setup_minutes, run_minutes_per_unit "
                           "FROM routing_operation ORDER BY routing, sequence"):
        steps_of[row["routing"]].append(Step(int(row["sequence"]), row["work_centre"],
                                             _decimal(row["setup_minutes"]), _decimal(row["run_minutes_per_unit"])))
    plans = {}
    for row in items:
        code = row["code"]
        unit_micro = 10 ** max(0, 6 - int(row["decimals"] or 0))
        if (row["make_or_buy"] or "buy") == "make":
            bom, routing = in_force(boms_of[code], today), in_force(routings_of[code], today)
            plans[code] = ItemPlan(
                code, True, unit_micro, tuple(steps_of[routing["id"]]) if routing else (),
                tuple((line["component"], _decimal(line["quantity"]), _decimal(line["scrap_pct"]))
                      for line in (lines_of[bom["id"]] if bom else ())),
                _decimal(routing["yield_pct"] or 100) if routing else Decimal(100))
            continue
        chosen = choose_supplier(offers.get(code, []), 0)
        days = chosen.lead_time_days if chosen else (int(row["lead_time_days"]) if row["lead_time_days"] else None)
        plans[code] = ItemPlan(code, False, unit_micro, purchase_days=days)
    return plans


async def _balances(fetch: Fetch, site: str, today: date, order: str | None) -> dict[str, Balance]:
    balances: dict[str, Balance] = defaultdict(Balance)
    stock = await fetch(
        "SELECT s.item, s.quantity_micro - COALESCE((SELECT SUM(r.quantity_micro) FROM stock_reservation r "
        "WHERE r.item = s.item AND r.location = s.location AND r.lot = s.lot AND r.released_at IS NULL), 0) AS free "
        "FROM stock_on_hand s JOIN location loc ON loc.code = s.location JOIN warehouse w ON w.code = loc.warehouse "
        "LEFT JOIN lot l ON l.item = s.item AND l.code = s.lot WHERE w.site = $1 AND s.status = $2 "
        "AND s.quantity_micro > 0 AND (l.expiry IS NULL OR l.expiry >= $3)", site, "available", today)
    free: dict[str, int] = defaultdict(int)
    for row in stock:
        free[row["item"]] += max(0, int(row["free"]))
    for row in await fetch("SELECT item, SUM(quantity_micro) AS q FROM stock_reservation WHERE (location = '' OR "
                           "location IS NULL) AND released_at IS NULL GROUP BY item"):
        free[row["item"]] -= int(row["q"])  # reservations of no bin take the item's free units wherever they are
    for item, micro in free.items():
        balances[item].on_hand_micro = max(0, micro)

    for row in await fetch(
            "SELECT o.code, l.item, l.due_date, l.quantity_micro - l.received_quantity_micro AS open_micro "
            "FROM purchase_order_line l JOIN purchase_order o ON o.id = l.purchase_order "
            f"WHERE o.site = $1 AND l.status = $2 AND o.status IN ({_marks(PURCHASE_STATUSES, 3)})",
            site, purchasing_rules.LINE_OPEN, *PURCHASE_STATUSES):
        if int(row["open_micro"]) > 0:
            balances[row["item"]].receipts.append(Receipt(_date(row["due_date"]), int(row["open_micro"]), row["code"]))

    production = await fetch(
        "SELECT id, code, item, status, due_date, quantity_micro, quantity_micro - received_micro AS open_micro, "
        f"sales_order FROM production_order WHERE site = $1 AND status IN ({_marks(PRODUCTION_STATUSES, 2)})",
        site, *PRODUCTION_STATUSES)
    made_for: dict[tuple[str, str], int] = defaultdict(int)  # (sales order, item) -> what production makes for it
    for row in production:
        open_micro = int(row["open_micro"])
        if open_micro <= 0:
            continue
        if row["sales_order"] and row["sales_order"] != order:
            made_for[(row["sales_order"], row["item"])] += open_micro
            continue
        balances[row["item"]].receipts.append(Receipt(_date(row["due_date"]), open_micro, row["code"]))

    sales = await fetch(
        "SELECT o.code, l.item, l.quantity_micro - l.shipped_quantity_micro - COALESCE((SELECT SUM(r.quantity_micro) "
        "FROM stock_reservation r WHERE r.order_kind = 'sales_order' AND r.order_code = o.code AND r.line_no = "
        "l.line_no AND r.released_at IS NULL), 0) - COALESCE((SELECT SUM(sl.packed_quantity_micro) FROM shipment_line "
        "sl JOIN shipment s ON s.id = sl.shipment WHERE s.sales_order = o.code AND sl.line_no = l.line_no AND s.status "
        f"IN ({_marks(SHIPMENT_OPEN, 2 + len(DEMAND_STATUSES))})), 0) AS open_micro, "
        "COALESCE(l.promised_date, l.promise_date, l.due_date) AS due FROM sales_order_line l "
        f"JOIN sales_order o ON o.id = l.sales_order WHERE o.site = $1 AND o.status IN ({_marks(DEMAND_STATUSES, 2)}) "
        "ORDER BY o.code, l.line_no", site, *DEMAND_STATUSES, *SHIPMENT_OPEN)
    for row in sales:
        if row["code"] == order:
            continue
        open_micro = int(row["open_micro"])
        covered = min(open_micro, made_for[(row["code"], row["item"])])
        made_for[(row["code"], row["item"])] -= covered
        if open_micro - covered > 0:
            balances[row["item"]].needs.append((_date(row["due"]), open_micro - covered))

    released = {row["id"]: row for row in production if row["status"] != production_rules.DRAFT}
    if released:
        for row in await fetch(
                "SELECT production_order, item, required_micro - issued_micro AS open_micro FROM production_material "
                f"WHERE production_order IN ({_marks(list(released), 1)})", *released):
            if int(row["open_micro"]) > 0:
                balances[row["item"]].needs.append((today, int(row["open_micro"])))
    drafts = [row for row in production if row["status"] == production_rules.DRAFT and int(row["open_micro"]) > 0]
    if drafts:  # a firmed order's components are needed by its release: now, to be safe
        boms_of, lines_of = await _boms(fetch)
        for row in drafts:
            bom = in_force(boms_of[row["item"]], today)
            for line in lines_of[bom["id"]] if bom else ():
                need = Decimal(int(row["open_micro"])) * _decimal(line["quantity"]) * (1 + _decimal(line["scrap_pct"]) / 100)
                balances[line["component"]].needs.append((today, math.ceil(need)))
    return dict(balances)


# -- promising an order ----------------------------------------------------------------------------------------------------

async def order_lines(code: str) -> tuple[dict[str, Any], list[LineToPromise]]:
    """The order (code, id, site) and what each of its lines still needs, its own reservations left out."""
    rows = await sql_read("SELECT id, code, site FROM sales_order WHERE code = $1", code)
    if not rows:
        return {}, []
    lines = await sql_read(
        "SELECT l.line_no, l.item, l.due_date, l.quantity_micro - l.shipped_quantity_micro - COALESCE((SELECT "
        "SUM(r.quantity_micro) FROM stock_reservation r WHERE r.order_kind = 'sales_order' AND r.order_code = $2 AND "
        "r.line_no = l.line_no AND r.released_at IS NULL), 0) AS need FROM sales_order_line l WHERE l.sales_order = $1 "
        "ORDER BY l.line_no", rows[0]["id"], code)
    return rows[0], [LineToPromise(int(row["line_no"]), row["item"], max(0, int(row["need"])), _date(row["due_date"]))
                     for row in lines]


async def promise_order(code: str, now: datetime | None = None) -> list[LinePromise]:
    """Work out the order's promises and keep them on its lines, inside the caller's write (it reads through the
    write's connection, so it sees what the write changed)."""
    current_write()
    order, lines = await order_lines(code)
    if not order:
        return []
    data = await read_promise_input(sql_read, order["site"], now or utc_now(), order=code)
    promises = promise_lines(data, lines).lines
    await sales_service.keep_promises(order["id"], [
        {"line_no": p.line_no, "promise_date": p.promise_date, "atp_date": p.atp_date, "method": p.method,
         "reason": p.reason, "params": p.params} for p in promises])
    return list(promises)


async def review_promises(code: str) -> list[tuple[int, date, date | None]]:
    """The review's view of an order's new promises: (line, requested date, promise date)."""
    return [(p.line_no, p.requested, p.promise_date) for p in await promise_order(code)]
