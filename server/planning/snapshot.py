"""The input of a live MRP run, read from one consistent view of the database (`read_snapshot`) in a handful of
bulk statements, and turned into the engine's plain data: periods of a day or a week from the start of the
current one, items with their lot rules and lead times, BOMs and yields, stock that can be used, and every demand
and scheduled receipt of the site named so that a planner can follow it (`sales:SO-…:10`, `purchase:PO-…:1`).

Which sales orders, purchase orders and production orders count, and how much of each is still open, follows the
rules of their areas (their status constants); on hand is available stock less open reservations, like every
figure that offers stock (server/inventory/availability.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

from server.db import Fetch
from server.masterdata.calendar import capacity_minutes, is_working_day
from server.planning.mrp import (
    MICRO_PER_UNIT, Component, Demand, Lot, LotRule, PlanItem, Problem, Receipt, consume_forecast,
)
from server.planning.suppliers import SupplierOffer, choose_supplier
from server.production import rules as production_rules
from server.purchasing import rules as purchasing_rules
from server.quantities import to_micro
from server.sales import rules as sales_rules
from server.shipping import rules as shipping_rules

# an order owes goods from approval until it is delivered: shipped means delivered in part (a backorder) or loaded
DEMAND_STATUSES = (sales_rules.APPROVED, sales_rules.IN_PRODUCTION, sales_rules.READY, sales_rules.SHIPPED)
SHIPMENT_OPEN = tuple(sorted(shipping_rules.OPEN))  # planned to loaded: what is packed there is not delivered yet
PURCHASE_STATUSES = (purchasing_rules.DRAFT, purchasing_rules.APPROVED, purchasing_rules.PARTIALLY_RECEIVED)
PRODUCTION_STATUSES = (production_rules.DRAFT, *production_rules.MAKING)
BUCKET_DAYS = {"day": 1, "week": 7}


@dataclass(frozen=True)
class Buckets:
    """Periods of `days` days from `start` (today, or the Monday of this week): period 1 is the current one."""

    start: date
    days: int
    horizon: int

    @classmethod
    def of(cls, bucket: str, horizon: int, today: date) -> Buckets:
        days = BUCKET_DAYS[bucket]
        start = today - timedelta(days=today.weekday()) if days == 7 else today
        return cls(start, days, horizon)

    def period(self, day: date) -> int:
        """The period a date falls in; before 1 when it is past (past due)."""
        return (day - self.start).days // self.days + 1

    def first_day(self, period: int) -> date:
        return self.start + timedelta(days=(period - 1) * self.days)

    def periods(self, days: int) -> int:
        return -(-days // self.days)


@dataclass
class Snapshot:
    problem: Problem
    buckets: Buckets
    offers: dict[str, list[SupplierOffer]] = field(default_factory=dict)


def _date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def in_force(versions: list[dict[str, Any]], today: date) -> dict[str, Any] | None:
    """The newest version (of a BOM, a routing) in force today: not archived, valid from today or earlier — the
    rule production applies when it releases an order (server/production/service.py: active_bom)."""
    candidates = [v for v in versions if not v.get("archived") and (_date(v.get("valid_from")) or today) <= today]
    return max(candidates, key=lambda v: v["version"], default=None)


def daily_minutes(centre: dict[str, Any], today: date) -> Decimal:
    """A work centre's minutes on a working day: the most it has on any day of the coming week."""
    return max(capacity_minutes(centre, today + timedelta(days=n)) for n in range(7))


def routing_days(operations: list[dict[str, Any]], centres: dict[str, dict[str, Any]], quantity: Decimal,
                 today: date) -> int | None:
    """Calendar days to make `quantity` on a routing: each operation's setup and run time over its work centre's
    minutes on a working day (`daily`, worked out once per centre), summed and rounded up to whole working days,
    laid on the first work centre's calendar from today. None when a work centre has no working time (the item's
    own lead time is used)."""
    working_days = Decimal(0)
    for operation in operations:
        centre = centres.get(operation["work_centre"])
        if centre is None:
            return None
        daily = centre["daily"]
        if daily <= 0:
            return None
        minutes = _decimal(operation["setup_minutes"]) + _decimal(operation["run_minutes_per_unit"]) * quantity
        working_days += minutes / daily
    needed = int(working_days.to_integral_value(rounding=ROUND_CEILING))  # Decimal's // truncates toward zero
    if needed == 0:
        return 0
    first = centres[operations[0]["work_centre"]]
    day, counted = today, 0
    for _ in range(3660):
        if is_working_day(day, first["working_days"], first["holidays"]):
            counted += 1
            if counted == needed:
                return (day - today).days + 1
        day += timedelta(days=1)
    return None


def _lot_rule(row: dict[str, Any]) -> LotRule:
    rule = row["lot_rule"] or "lot_for_lot"
    return LotRule(rule, to_micro(_decimal(row["lot_quantity"])) if rule == "fixed" else 0,
                   int(row["lot_periods"] or 1), to_micro(_decimal(row["order_minimum"])),
                   to_micro(_decimal(row["order_multiple"])), to_micro(_decimal(row["order_maximum"])))


def _lot_size(row: dict[str, Any]) -> Decimal:
    """The quantity a made item's lead time is worked out at: its fixed lot, else its minimum, else one unit."""
    if row["lot_rule"] == "fixed" and _decimal(row["lot_quantity"]) > 0:
        return _decimal(row["lot_quantity"])
    return max(_decimal(row["order_minimum"]), Decimal(1))


async def read_input(fetch: Fetch, site: str, bucket: str, horizon: int, today: date) -> Snapshot:
    buckets = Buckets.of(bucket, horizon, today)
    items = await fetch(
        "SELECT i.code, i.type, i.safety_stock, i.lead_time_days, i.make_or_buy, i.lot_rule, i.lot_quantity, "
        "i.lot_periods, i.order_minimum, i.order_multiple, i.order_maximum, i.planning_time_fence_days, u.decimals "
        "FROM item i JOIN unit u ON u.code = i.unit WHERE i.archived = $1", False)
    boms = await fetch("SELECT id, item, version, valid_from, archived FROM bom")
    bom_lines = await fetch("SELECT bom, component, quantity, scrap_pct FROM bom_line")
    routings = await fetch("SELECT id, item, version, archived, yield_pct FROM routing")
    operations = await fetch("SELECT routing, sequence, work_centre, setup_minutes, run_minutes_per_unit "
                             "FROM routing_operation ORDER BY routing, sequence")
    centres = {row["code"]: {**row, "shifts": _json(row["shifts"]), "working_days": _json(row["working_days"]),
                             "holidays": _json(row["holidays"])}
               for row in await fetch("SELECT code, shifts, working_days, holidays, parallel_capacity, efficiency_pct "
                                      "FROM work_centre")}
    for centre in centres.values():
        centre["daily"] = daily_minutes(centre, today)
    offers: dict[str, list[SupplierOffer]] = defaultdict(list)
    for row in await fetch(
            "SELECT si.item, s.code AS supplier, si.price, si.lead_time_days, si.min_order_quantity, si.preferred "
            "FROM supplier_item si JOIN supplier s ON s.id = si.supplier WHERE s.archived = $1", False):
        offers[row["item"]].append(SupplierOffer(row["supplier"], _decimal(row["price"]), int(row["lead_time_days"]),
                                                 to_micro(_decimal(row["min_order_quantity"])),
                                                 bool(row["preferred"])))

    boms_of, routings_of = defaultdict(list), defaultdict(list)
    for row in boms:
        boms_of[row["item"]].append(row)
    for row in routings:
        routings_of[row["item"]].append(row)
    lines_of = defaultdict(list)
    for row in bom_lines:
        lines_of[row["bom"]].append(row)
    operations_of = defaultdict(list)
    for row in operations:
        operations_of[row["routing"]].append(row)

    stock = await fetch(
        "SELECT s.item, s.quantity_micro - COALESCE((SELECT SUM(r.quantity_micro) FROM stock_reservation r "
        "WHERE r.item = s.item AND r.location = s.location AND r.lot = s.lot AND r.released_at IS NULL), 0) AS free, "
        "l.expiry FROM stock_on_hand s JOIN location loc ON loc.code = s.location "
        "JOIN warehouse w ON w.code = loc.warehouse LEFT JOIN lot l ON l.item = s.item AND l.code = s.lot "
        "WHERE w.site = $1 AND s.status = $2 AND s.quantity_micro > 0", site, "available")
    lots_of: dict[str, list[Lot]] = defaultdict(list)
    for row in stock:
        row["free"] = int(row["free"])  # PostgreSQL's SUM of bigints is a numeric
        if row["free"] <= 0:
            continue
        expiry = _date(row["expiry"])
        if expiry is None:
            lots_of[row["item"]].append(Lot(row["free"]))
        elif expiry >= today:  # it serves the needs of each period that begins on or before its expiry date
            lots_of[row["item"]].append(Lot(row["free"], buckets.period(expiry)))

    items_by_code = {row["code"]: row for row in items}
    plan_items: dict[str, PlanItem] = {}
    components: list[Component] = []
    for code, row in items_by_code.items():
        make = (row["make_or_buy"] or "buy") == "make"
        problems: list[str] = []
        lead_days = int(row["lead_time_days"] or 0)
        yield_ppm = MICRO_PER_UNIT
        if make:
            bom = in_force(boms_of[code], today)
            routing = in_force(routings_of[code], today)
            if bom is None:
                problems.append("no_bom")
            else:
                for line in lines_of[bom["id"]]:
                    if line["component"] in items_by_code:
                        components.append(Component(code, line["component"], to_micro(_decimal(line["quantity"])),
                                                    to_micro(_decimal(line["scrap_pct"]) / 100)))
            if routing is None:
                problems.append("no_routing")
            else:
                yield_ppm = to_micro(_decimal(routing["yield_pct"] or 100) / 100) or MICRO_PER_UNIT
                days = routing_days(operations_of[routing["id"]], centres, _lot_size(row), today)
                if days is not None:
                    lead_days = days
        else:
            chosen = choose_supplier(offers.get(code, []), 0)
            if chosen is None:
                problems.append("no_supplier")
            else:
                lead_days = chosen.lead_time_days
        plan_items[code] = PlanItem(
            code, lead_time=buckets.periods(lead_days), on_hand=tuple(lots_of.get(code, ())),
            safety_stock=to_micro(_decimal(row["safety_stock"])), lot_rule=_lot_rule(row), make=make,
            time_fence=buckets.periods(int(row["planning_time_fence_days"] or 0)),
            unit_micro=10 ** max(0, 6 - int(row["decimals"] or 0)), yield_ppm=yield_ppm, problems=tuple(problems))

    demands, receipts = await _orders(fetch, site, buckets, items_by_code)
    return Snapshot(Problem(horizon, plan_items, components, demands, receipts), buckets, dict(offers))


async def _orders(fetch: Fetch, site: str, buckets: Buckets, items: dict[str, Any]
                  ) -> tuple[list[Demand], list[Receipt]]:
    """Open sales order lines (less what is shipped and what reservations already hold for them), forecasts less
    the orders of their period, open purchase order lines and production orders (drafts included: a firmed
    planned order is a scheduled receipt from then on), and what released production orders still need."""
    status = lambda values, start: ", ".join(f"${n}" for n in range(start, start + len(values)))  # noqa: E731
    # what a line still needs: ordered, less delivered, less what stock reservations hold for it, less what is
    # packed on a shipment not yet delivered (packing takes it out of stock and ends its reservation)
    sales = await fetch(
        "SELECT o.code, l.line_no, l.item, l.quantity_micro - l.shipped_quantity_micro - COALESCE((SELECT "
        "SUM(r.quantity_micro) FROM stock_reservation r WHERE r.order_kind = 'sales_order' AND r.order_code = o.code "
        "AND r.line_no = l.line_no AND r.released_at IS NULL), 0) - COALESCE((SELECT SUM(sl.packed_quantity_micro) "
        "FROM shipment_line sl JOIN shipment s ON s.id = sl.shipment WHERE s.sales_order = o.code AND sl.line_no = "
        f"l.line_no AND s.status IN ({status(SHIPMENT_OPEN, 2 + len(DEMAND_STATUSES))})), 0) AS open_micro, "
        "COALESCE(l.promised_date, l.due_date) AS due FROM sales_order_line l JOIN sales_order o ON o.id = l.sales_order "
        f"WHERE o.site = $1 AND o.status IN ({status(DEMAND_STATUSES, 2)})", site, *DEMAND_STATUSES, *SHIPMENT_OPEN)
    orders = [Demand(row["item"], buckets.period(_date(row["due"])), int(row["open_micro"]),
                     f"sales:{row['code']}:{row['line_no']}", "sales")
              for row in sales if row["open_micro"] > 0 and row["item"] in items]
    last = buckets.first_day(buckets.horizon + 1)
    forecasts = [Demand(row["item"], buckets.period(_date(row["period_start"])), row["quantity_micro"],
                        f"forecast:{row['item']}:{_date(row['period_start']).isoformat()}", "forecast")
                 for row in await fetch("SELECT item, period_start, quantity_micro FROM forecast WHERE site = $1 "
                                        "AND period_start >= $2 AND period_start < $3", site, buckets.start, last)
                 if row["item"] in items]
    demands = orders + consume_forecast(forecasts, orders)

    receipts = [Receipt(row["item"], buckets.period(_date(row["due_date"])), row["open_micro"],
                        f"purchase:{row['code']}:{row['line_no']}")
                for row in await fetch(
                    "SELECT o.code, l.line_no, l.item, l.due_date, l.quantity_micro - l.received_quantity_micro AS "
                    "open_micro FROM purchase_order_line l JOIN purchase_order o ON o.id = l.purchase_order "
                    f"WHERE o.site = $1 AND l.status = $2 AND o.status IN ({status(PURCHASE_STATUSES, 3)})",
                    site, purchasing_rules.LINE_OPEN, *PURCHASE_STATUSES)
                if row["open_micro"] > 0 and row["item"] in items]
    production = await fetch(
        "SELECT id, code, item, status, due_date, quantity_micro - received_micro AS open_micro FROM production_order "
        f"WHERE site = $1 AND status IN ({status(PRODUCTION_STATUSES, 2)})", site, *PRODUCTION_STATUSES)
    # a draft is a firm planned order: its components are needed by its release, from the BOM (the engine explodes
    # it like its own planned orders); a released order's still unissued material is needed now
    receipts += [Receipt(row["item"], buckets.period(_date(row["due_date"])), row["open_micro"],
                         f"production:{row['code']}", firm_planned=row["status"] == production_rules.DRAFT)
                 for row in production if row["open_micro"] > 0 and row["item"] in items]
    released = {row["id"]: row for row in production if row["status"] != production_rules.DRAFT}
    if released:
        materials = await fetch(
            "SELECT m.production_order, m.item, m.required_micro - m.issued_micro AS open_micro FROM production_material m "
            f"WHERE m.production_order IN ({status(list(released), 1)})", *released)
        demands += [Demand(row["item"], 1, row["open_micro"], f"production:{released[row['production_order']]['code']}",
                           "production") for row in materials if row["open_micro"] > 0 and row["item"] in items]
    return demands, receipts
