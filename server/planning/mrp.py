"""Material requirements planning as a pure function over plain data: time-phased netting of every item once, after
all its parents (low-level codes), against what is on hand and usable, scheduled receipts and safety stock; lot
sizing, lead-time offset, explosion of planned releases into the components' gross requirements (with the BOM
line's scrap and the routing's yield); pegging of every supply to the demands it serves; and exception messages.

Quantities are whole micro-units (`server/quantities.py`), periods are numbered 1..horizon. The live plan and
`floorsync mrp FILE` both call `plan()`, so the figures a factory runs on are the ones a textbook can check."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

MICRO_PER_UNIT = 1_000_000
NO_EXPIRY = 1 << 30

LOT_RULES = ("lot_for_lot", "fixed", "period")
# Exceptions, in the order a planner reads them for one item and period.
EXCEPTION_CODES = ("past_due_demand", "past_due", "past_due_receipt", "inside_time_fence", "expedite", "defer",
                   "cancel", "below_safety_stock", "lot_rule_cannot_cover", "no_bom", "no_routing", "no_supplier")
# Which demand a supply serves first within one period: firm demand before forecast, safety stock last.
DEMAND_ORDER = {"production": 0, "dependent": 0, "sales": 1, "manual": 1, "forecast": 2, "safety_stock": 9}


class PlanningError(ValueError):
    """A problem the engine cannot plan (a BOM cycle, a component that is not an item): `code` and its values."""

    def __init__(self, code: str, **values: object):
        super().__init__(f"{code}: {values}")
        self.code = code
        self.values = values


@dataclass(frozen=True)
class LotRule:
    """How a net requirement becomes an order: `lot_for_lot` orders the net requirement, `fixed` the smallest whole
    number of lots of `quantity` that covers it, `period` what covers the next `periods` periods (period order
    quantity). `minimum`, `multiple` (round up to whole multiples) and `maximum` apply to every rule; an order
    above `maximum` is capped and the shortage is an exception (`lot_rule_cannot_cover`)."""

    rule: str = "lot_for_lot"
    quantity: int = 0
    periods: int = 1
    minimum: int = 0
    multiple: int = 0
    maximum: int = 0


class Lot(NamedTuple):
    """Stock on hand that planning may use. A lot that expires serves needs only up to `usable_through` (the last
    period that begins before it expires); what is left of it after that is not counted."""

    quantity: int
    usable_through: int = NO_EXPIRY


@dataclass(frozen=True)
class PlanItem:
    code: str
    lead_time: int = 0  # periods between a planned order's release and its receipt
    on_hand: tuple[Lot, ...] = ()
    safety_stock: int = 0
    lot_rule: LotRule = LotRule()
    make: bool = False  # made (planned production) or bought (planned purchase)
    time_fence: int = 0  # no planned receipt is placed in periods 1..time_fence: the planner decides there
    unit_micro: int = 1  # the smallest quantity of the item's unit: component needs round up to it
    yield_ppm: int = MICRO_PER_UNIT  # good out of what is started (the routing's yield): components cover the start
    problems: tuple[str, ...] = ()  # no_bom, no_routing, no_supplier: said when the item needs a planned order


@dataclass(frozen=True)
class Component:
    parent: str
    child: str
    quantity_micro: int  # per unit of the parent, in micro-units of the child
    scrap_ppm: int = 0  # the line's scrap allowance: 5 % is 50_000


class Demand(NamedTuple):  # a tuple: a large plan makes hundreds of thousands of them
    """A gross requirement: `kind` sales | forecast | production (released orders' unissued material) | manual,
    `source` names it (a sales order line, a forecast, a production order). A period before 1 is past due."""

    item: str
    period: int
    quantity: int
    source: str
    kind: str = "manual"


class Receipt(NamedTuple):
    """A scheduled receipt: an open purchase order line or production order, due in `period` (before 1: overdue).
    A firm planned one (a production order not yet released) needs its components by its release, exploded from
    the BOM like a planned order's."""

    item: str
    period: int
    quantity: int
    source: str
    firm_planned: bool = False


@dataclass(frozen=True)
class Problem:
    horizon: int
    items: Mapping[str, PlanItem]
    components: Sequence[Component] = ()
    demands: Sequence[Demand] = ()
    receipts: Sequence[Receipt] = ()


@dataclass
class Record:
    """The classic time-phased MRP record of one item, one figure per period."""

    gross_requirements: list[int]
    scheduled_receipts: list[int]
    projected_on_hand: list[int]
    net_requirements: list[int]
    planned_order_receipts: list[int]
    planned_order_releases: list[int]
    on_hand: int = 0
    low_level_code: int = 0


_new = tuple.__new__  # builds a NamedTuple from its fields without the keyword handling of its __new__: the engine
# makes about three tuples per planned order


class Peg(NamedTuple):
    """`quantity` of `supply` (on hand, a scheduled receipt or a planned order) serves `demand`."""

    item: str
    demand: str
    demand_kind: str
    demand_period: int
    supply: str
    supply_kind: str  # on_hand | receipt | planned
    supply_period: int
    quantity: int


@dataclass(slots=True)
class PlannedOrder:
    id: str  # ITEM@period of receipt: at most one planned order per item and period
    item: str
    make: bool
    quantity: int
    receipt_period: int
    release_period: int  # may be before 1: past due, shown in period 1
    pegs: list[Peg] = field(default_factory=list)

    @property
    def pegged_quantity(self) -> int:
        return sum(peg.quantity for peg in self.pegs)


@dataclass(frozen=True)
class PlanException:
    item: str
    period: int
    code: str
    quantity: int = 0
    values: Mapping[str, object] = field(default_factory=dict)
    demands: tuple[str, ...] = ()  # the demands it concerns (pegged to the supply, or short)


@dataclass
class Plan:
    horizon: int
    records: dict[str, Record]
    planned_orders: list[PlannedOrder]
    exceptions: list[PlanException]
    pegs: list[Peg]  # item after item, in the order items are netted (each item's pegs together)

    def pegs_of_demand(self, source: str) -> list[Peg]:
        return [peg for peg in self.pegs if peg.demand == source]


def planned_order_id(item: str, period: int) -> str:
    return f"{item}@{period}"


def low_level_codes(items: Iterable[str], components: Sequence[Component]) -> dict[str, int]:
    """The deepest level at which each item appears in any BOM (0: an end item), so that an item is netted once,
    after every parent that can add to its gross requirements. A cycle is a PlanningError."""
    children: dict[str, list[str]] = defaultdict(list)
    for link in components:
        children[link.parent].append(link.child)
    codes = {code: 0 for code in items}
    indegree: dict[str, int] = defaultdict(int)
    for link in components:
        indegree[link.child] += 1
    ready = [code for code in codes if indegree[code] == 0]
    seen = 0
    while ready:  # Kahn's order: a child is placed once all its parents are
        parent = ready.pop()
        seen += 1
        for child in children[parent]:
            codes[child] = max(codes[child], codes[parent] + 1)
            indegree[child] -= 1
            if indegree[child] == 0:
                ready.append(child)
    if seen < len(codes):
        raise PlanningError("bom_cycle", items=sorted(code for code in codes if indegree[code] > 0))
    return codes


def order_quantity(rule: LotRule, need: int) -> int:
    """What one order is for a need (already widened to the rule's periods for `period`): at least the minimum, in
    whole lots for `fixed`, rounded up to the multiple, capped at the maximum."""
    if need <= 0:
        return 0
    quantity = max(need, rule.minimum)
    if rule.rule == "fixed" and rule.quantity > 0:
        quantity = -(-quantity // rule.quantity) * rule.quantity
    if rule.multiple > 0:
        quantity = -(-quantity // rule.multiple) * rule.multiple
    if rule.maximum > 0:
        quantity = min(quantity, rule.maximum)
    return quantity


def component_need(parent_micro: int, link: Component, parent: PlanItem, child: PlanItem) -> int:
    """The child's gross requirement for starting a parent order: the good quantity widened by the routing's yield,
    times the BOM quantity and its scrap allowance, rounded up to the child's unit."""
    if parent.yield_ppm == MICRO_PER_UNIT and link.scrap_ppm == 0:  # the common case, the same figure
        need = -(-parent_micro * link.quantity_micro // MICRO_PER_UNIT)
    else:
        started = -(-parent_micro * MICRO_PER_UNIT // parent.yield_ppm)
        need = -(-started * link.quantity_micro * (MICRO_PER_UNIT + link.scrap_ppm) // (MICRO_PER_UNIT * MICRO_PER_UNIT))
    unit = child.unit_micro
    return need if unit == 1 else -(-need // unit) * unit


class _Stock:
    """What is on hand and usable as periods pass: lots that expire, consumed first-expiring-first, and a pool
    that does not expire (stock without expiry, receipts, planned receipts)."""

    __slots__ = ("lots", "pool", "held")

    def __init__(self, lots: list[list[int]], pool: int):
        self.lots = lots  # [remaining, usable_through], first-expiring first
        self.pool = pool
        self.held = sum(lot[0] for lot in lots)  # what the lots still hold

    @classmethod
    def of(cls, on_hand: Iterable[Lot]) -> _Stock:
        lots = sorted(([lot.quantity, lot.usable_through] for lot in on_hand if lot.usable_through < NO_EXPIRY),
                      key=lambda lot: lot[1])
        return cls(lots, sum(lot.quantity for lot in on_hand if lot.usable_through >= NO_EXPIRY))

    def copy(self) -> _Stock:
        return _Stock([list(lot) for lot in self.lots], self.pool)

    def step(self, period: int, gross: int, receipts: int) -> int:
        """Expire what cannot serve `period`, add its receipts, take its gross requirement; the balance after."""
        lots = self.lots
        if lots:  # most items have no expiring stock: nothing to walk
            while lots and lots[0][1] < period:
                self.held -= lots.pop(0)[0]
            for lot in lots:
                if gross == 0:
                    break
                taken = min(lot[0], gross)
                lot[0] -= taken
                gross -= taken
                self.held -= taken
        self.pool += receipts - gross
        return self.pool + self.held


def plan(problem: Problem) -> Plan:
    horizon = problem.horizon
    if horizon < 1:
        raise PlanningError("invalid_horizon", horizon=horizon)
    items = problem.items
    for link in problem.components:
        for code in (link.parent, link.child):
            if code not in items:
                raise PlanningError("unknown_item", item=code)
    levels = low_level_codes(items, problem.components)
    components: dict[str, list[Component]] = defaultdict(list)
    for link in problem.components:
        components[link.parent].append(link)

    demands: dict[str, list[Demand]] = defaultdict(list)
    exceptions: list[PlanException] = []
    for demand in problem.demands:
        if demand.item not in items:
            raise PlanningError("unknown_item", item=demand.item)
        if demand.quantity <= 0:
            continue
        if demand.period > horizon:
            continue
        if demand.period < 1:
            exceptions.append(PlanException(demand.item, 1, "past_due_demand", demand.quantity,
                                            {"due_period": demand.period}, (demand.source,)))
            demand = Demand(demand.item, 1, demand.quantity, demand.source, demand.kind)
        demands[demand.item].append(demand)
    receipts: dict[str, list[Receipt]] = defaultdict(list)
    for receipt in problem.receipts:
        if receipt.item not in items:
            raise PlanningError("unknown_item", item=receipt.item)
        if receipt.quantity <= 0 or receipt.period > horizon:
            continue
        receipts[receipt.item].append(receipt)

    records: dict[str, Record] = {}
    planned_orders: list[PlannedOrder] = []
    pegs: list[Peg] = []
    for code in sorted(items, key=lambda c: (levels[c], c)):
        item = items[code]
        record, orders, item_exceptions = _net(item, horizon, demands[code], receipts[code])
        record.low_level_code = levels[code]
        records[code] = record
        item_pegs = _peg(item, horizon, demands[code], receipts[code], orders)
        pegs.extend(item_pegs)
        exceptions.extend(item_exceptions)
        exceptions.extend(_receipt_exceptions(item, horizon, demands[code], receipts[code], item_pegs))
        planned_orders.extend(orders)
        releases = [(order.release_period, order.quantity, order.id) for order in orders]
        releases += [(max(r.period, 1) - item.lead_time, r.quantity, r.source) for r in receipts[code] if r.firm_planned]
        links = components[code]
        for release, quantity, source in releases if links else ():  # a release is its components' gross
            period = release if release > 1 else 1  # requirement, in its period
            for link in links:
                need = component_need(quantity, link, item, items[link.child])
                if need > 0:
                    demands[link.child].append(_new(Demand, (link.child, period, need, source, "dependent")))
    exceptions.sort(key=lambda e: (e.period, e.item, EXCEPTION_CODES.index(e.code)))
    return Plan(horizon, records, planned_orders, exceptions, pegs)


def _net(item: PlanItem, horizon: int, demands: Sequence[Demand], receipts: Sequence[Receipt]
         ) -> tuple[Record, list[PlannedOrder], list[PlanException]]:
    gross = [0] * (horizon + 1)
    for _, period, quantity, _, _ in demands:
        gross[period] += quantity
    scheduled = [0] * (horizon + 1)
    for receipt in receipts:
        scheduled[max(receipt.period, 1)] += receipt.quantity
    projected, net, planned, releases = ([0] * (horizon + 1) for _ in range(4))
    orders: list[PlannedOrder] = []
    exceptions: list[PlanException] = []
    rule, safety = item.lot_rule, item.safety_stock
    stock = _Stock.of(item.on_hand)
    fence_short = 0
    for period in range(1, horizon + 1):
        balance = stock.step(period, gross[period], scheduled[period])
        if balance < safety:
            net[period] = safety - balance
            if period <= item.time_fence:
                fence_short = fence_short or period
                projected[period] = balance
                continue
            cover = net[period]
            if rule.rule == "period" and rule.periods > 1:
                cover = _cover_periods(stock, period, rule.periods, horizon, gross, scheduled, safety, cover)
            quantity = order_quantity(rule, cover)
            if quantity < net[period]:
                exceptions.append(PlanException(item.code, period, "lot_rule_cannot_cover", net[period] - quantity,
                                                {"maximum": rule.maximum}))
            stock.pool += quantity
            balance += quantity
            planned[period] = quantity
            release = period - item.lead_time
            releases[max(release, 1)] += quantity
            orders.append(PlannedOrder(planned_order_id(item.code, period), item.code, item.make, quantity, period,
                                       release))
            if release < 1:
                exceptions.append(PlanException(item.code, 1, "past_due", quantity,
                                                {"need_period": period, "release_period": release,
                                                 "periods_late": 1 - release}))
        projected[period] = balance
    if fence_short:
        exceptions.append(PlanException(item.code, fence_short, "inside_time_fence", net[fence_short],
                                        {"time_fence": item.time_fence}))
    short_from = 0
    for period in range(1, horizon + 2):
        short = period <= horizon and projected[period] < safety
        if short and not short_from:
            short_from = period
        elif not short and short_from:
            exceptions.append(PlanException(item.code, short_from, "below_safety_stock",
                                            safety - projected[short_from],
                                            {"safety_stock": safety, "until_period": period - 1}))
            short_from = 0
    if orders:
        for problem in item.problems:
            exceptions.append(PlanException(item.code, orders[0].release_period if orders[0].release_period >= 1
                                            else 1, problem, orders[0].quantity))
    record = Record(gross[1:], scheduled[1:], projected[1:], net[1:], planned[1:], releases[1:],
                    on_hand=sum(lot.quantity for lot in item.on_hand))
    return record, orders, exceptions


def _cover_periods(stock: _Stock, period: int, periods: int, horizon: int, gross: list[int], scheduled: list[int],
                   safety: int, need: int) -> int:
    """Period order quantity: enough that the balance stays at safety stock through `periods` periods from this
    one, with no other order in between (the stock after this period's step is `stock`)."""
    ahead = stock.copy()
    for later in range(period + 1, min(period + periods, horizon + 1)):
        need = max(need, safety - ahead.step(later, gross[later], scheduled[later]))
    return need


def _peg(item: PlanItem, horizon: int, demands: Sequence[Demand], receipts: Sequence[Receipt],
         orders: Sequence[PlannedOrder]) -> list[Peg]:
    """First in, first out: each demand, earliest first (firm before forecast), takes the earliest supply that can
    still serve it (a lot only up to the period it is usable through); safety stock is served last. What no
    demand takes is the lot rule's surplus (or stock that expires)."""
    supplies: list[list] = []  # [arrival, usable_through, remaining, source, kind, order]
    for number, lot in enumerate(item.on_hand, start=1):
        supplies.append([0, lot.usable_through, lot.quantity, f"on_hand:{item.code}:{number}", "on_hand", None])
    for receipt in receipts:
        supplies.append([max(receipt.period, 1), NO_EXPIRY, receipt.quantity, receipt.source, "receipt", None])
    for order in orders:
        supplies.append([order.receipt_period, NO_EXPIRY, order.quantity, order.id, "planned", order])
    supplies.sort(key=itemgetter(0, 1))  # arrival, then the first to expire
    wanted = sorted(demands, key=lambda d: (d[1], DEMAND_ORDER.get(d[4], 1), d[3]))  # period, kind, source
    if item.safety_stock > 0:
        wanted.append(Demand(item.code, horizon + 1, item.safety_stock, f"safety_stock:{item.code}", "safety_stock"))
    pegs: list[Peg] = []
    code = item.code
    first, count = 0, len(supplies)
    for _, period, remaining, source, kind in wanted:  # the loop of a large plan: tuples unpacked, not read by name
        index = first
        while remaining > 0 and index < count:
            supply = supplies[index]
            if supply[2] == 0 or supply[1] < period:
                if index == first:
                    first += 1
                index += 1
                continue
            taken = supply[2] if supply[2] < remaining else remaining
            supply[2] -= taken
            remaining -= taken
            peg = _new(Peg, (code, source, kind, period, supply[3], supply[4], supply[0], taken))
            pegs.append(peg)
            if supply[5] is not None:
                supply[5].pegs.append(peg)
    return pegs


def _receipt_exceptions(item: PlanItem, horizon: int, demands: Sequence[Demand], receipts: Sequence[Receipt],
                        pegs: Sequence[Peg]) -> list[PlanException]:
    """Each scheduled receipt against the period it is first needed in, counting on hand and the receipts due
    before it (not planned orders): needed earlier is expedite, later is defer, never in the horizon is cancel."""
    if not receipts:
        return []
    gross = [0] * (horizon + 1)
    for demand in demands:
        gross[demand.period] += demand.quantity
    stock = _Stock.of(item.on_hand)
    base = [0] + [stock.step(period, gross[period], 0) for period in range(1, horizon + 1)]
    served: dict[str, list[str]] = defaultdict(list)
    for peg in pegs:
        if peg.supply_kind == "receipt" and peg.demand_kind != "safety_stock":
            served[peg.supply].append(peg.demand)
    exceptions = []
    earlier = 0
    for receipt in sorted(receipts, key=lambda r: (r.period, r.source)):
        due = max(receipt.period, 1)
        need = next((p for p in range(1, horizon + 1) if base[p] + earlier < item.safety_stock), None)
        values = {"receipt": receipt.source, "due_period": receipt.period}
        concerned = tuple(served[receipt.source]) or tuple(
            d.source for d in demands if need is not None and d.period == need)
        if receipt.period < 1:
            exceptions.append(PlanException(item.code, 1, "past_due_receipt", receipt.quantity, values, concerned))
        if need is None:
            exceptions.append(PlanException(item.code, due, "cancel", receipt.quantity, values, concerned))
        elif need < due:
            exceptions.append(PlanException(item.code, need, "expedite", receipt.quantity,
                                            {**values, "need_period": need}, concerned))
        elif need > due:
            exceptions.append(PlanException(item.code, need, "defer", receipt.quantity,
                                            {**values, "need_period": need}, concerned))
        earlier += receipt.quantity
    return exceptions


def consume_forecast(forecasts: Iterable[Demand], orders: Iterable[Demand]) -> list[Demand]:
    """What is left of each forecast once the orders of the same item and period have taken their share: orders
    are the forecast coming true, so only the rest is still expected."""
    ordered: dict[tuple[str, int], int] = defaultdict(int)
    for order in orders:
        ordered[(order.item, order.period)] += order.quantity
    left = []
    for forecast in forecasts:
        key = (forecast.item, forecast.period)
        taken = min(ordered[key], forecast.quantity)
        ordered[key] -= taken
        if forecast.quantity > taken:
            left.append(Demand(forecast.item, forecast.period, forecast.quantity - taken, forecast.source,
                               "forecast"))
    return left
