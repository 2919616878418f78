"""The input of a schedule, read from one consistent view of the database (`read_snapshot`): the site's released
and in-progress production orders with the operations copied onto them, and its firmed (draft) orders with their
item's routing in force, as the scheduling engine's plain data; each work centre's calendar as open time.

Time is site-local minutes from Monday 00:00 of the current week (the site's time zone; China keeps no summer
time). An operation's minutes are its planned minutes (setup + run x quantity) over its work centre's efficiency;
one in progress is scheduled for what is left of it (by the good quantity reported), started, from now; what the
accepted schedule says of each operation and the frozen window are applied by server/planning/schedule_keep.py, a
downtime open on a work centre closes its time (see `read_schedule_input`). An order's due date is the end of its due day;
its weight is the grade of the customer of the sales order it (or an order it feeds) is made for, A 3, B 2, C 1,
else 1.

Setups: an operation belongs to the setup family of its order's item (`item.setup_family`; an item without one is
a family of its own, named by its code, as before families existed), and a work centre's changeovers are its
`setup_matrix`. The matrix is JSON on the work centre, like its shifts, rather than a table of lines: it describes
the centre and is only ever read and written whole with it (the REST body, the office form and the CSV row of the
centre carry it as they carry the calendar, with no code of their own), this read takes it from the row it takes
the calendar from, and nothing looks an entry up by family across centres.

Crews: a work centre that names a crew (`work_centre.crew`, an unarchived crew) shares its operators with the
other centres of that crew; the problem's crew lists the members this schedule uses and the crew's operators over
the calendars' reach, shift by shift (`crew_capacity`); a downtime closes a centre, not its crew's shifts.

Release dates: an operation that consumes bought material starts no earlier than the day that material is there,
by the rule of server/planning/material_release.py (free stock, then open purchase order lines by date, then the
purchase lead time from today; what a released order was issued needs nothing), at 00:00 of that day; an
operation already in progress has started and gets none (its needs still come first), and a completed one needs
nothing more. The calendars reach that far past the latest release date. The orders' material is read in bulk —
items, the materials copied onto released orders, the BOMs in force of firmed ones and their lines, free stock,
open purchase lines, supplier offers — seven statements whatever the number of orders."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from server.db import Fetch
from server.inventory.stock import AVAILABLE
from server.masterdata.calendar import MINUTES_PER_DAY, is_working_day, shift_span
from server.planning.material_release import Arrival, Need, material_dates
from server.planning.schedule_keep import Lost, Pin, Place, apply_pins, keep_places
from server.planning.scheduling import (
    Crew, Operation, Order, Problem, SchedulingError, WorkCentre, operation_minutes,
)
from server.planning.snapshot import PURCHASE_STATUSES, in_force
from server.planning.suppliers import SupplierOffer, choose_supplier
from server.production import rules as production_rules
from server.purchasing import rules as purchasing_rules
from server.quantities import to_micro

SCHEDULED_STATUSES = (production_rules.DRAFT, *production_rules.MAKING)
GRADE_WEIGHTS = {"A": 3, "B": 2, "C": 1}


@dataclass(frozen=True)
class ScheduleInput:
    problem: Problem
    origin: datetime  # site-local (naive) Monday 00:00 of this week: minute 0
    zone: ZoneInfo = ZoneInfo("UTC")
    based_on: int | None = None  # the accepted schedule whose places it keeps
    places: Mapping[str, Place] = field(default_factory=dict)  # the accepted places, on this axis
    lost: tuple[Lost, ...] = ()
    left_out: tuple[tuple[str, str, str], ...] = ()  # orders not scheduled: (order, work centre, the engine's code)

    def at(self, minute: int) -> datetime:
        return self.origin + timedelta(minutes=minute)

    def instant(self, minute: int) -> datetime:
        """Minute `minute` of the axis as an aware instant."""
        return self.at(minute).replace(tzinfo=self.zone)

    def minute(self, instant: datetime | str) -> int:
        """An instant on the axis, in whole minutes (floored)."""
        if isinstance(instant, str):  # SQLite's bare reads give text
            instant = datetime.fromisoformat(instant)
        aware = instant if instant.tzinfo else instant.replace(tzinfo=timezone.utc)  # SQLite: naive UTC
        return int((aware.astimezone(self.zone).replace(tzinfo=None) - self.origin).total_seconds() // 60)


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value  # SQLite gives JSON columns as text


def open_time(centre: dict[str, Any], origin: date, days: int) -> tuple[tuple[int, int], ...]:
    """A work centre's shifts on its working days, from the day before `origin` (a night shift reaches into it)
    for `days` days, as sorted open intervals in minutes from `origin`; overlapping or touching shifts as one."""
    spans = []
    for n in range(-1, days):
        day = origin + timedelta(days=n)
        if is_working_day(day, centre["working_days"], centre["holidays"]):
            spans += [(n * MINUTES_PER_DAY + a, n * MINUTES_PER_DAY + b)
                      for a, b in (shift_span(shift) for shift in centre["shifts"])]
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def crew_capacity(crew: dict[str, Any], centres: Sequence[dict[str, Any]], origin: date,
                  days: int) -> tuple[tuple[int, int, int], ...]:
    """A crew's operators over time: each shift of each member centre on its working days, as `open_time` counts
    them, with the operators the crew lists for that shift's name (its default for a shift it does not list); a
    minute in shifts of several members has the most any of them names (one crew, one headcount at a time), and
    a minute in none is not limited (no member works then). Sorted disjoint (start, end, operators)."""
    listed = {entry["shift"]: int(entry["operators"]) for entry in crew["operators"] or ()}
    default = int(crew["default_operators"])
    pieces = []
    for centre in centres:
        for n in range(-1, days):
            if is_working_day(origin + timedelta(days=n), centre["working_days"], centre["holidays"]):
                for shift in centre["shifts"]:
                    a, b = shift_span(shift)
                    pieces.append((n * MINUTES_PER_DAY + a, n * MINUTES_PER_DAY + b, listed.get(shift["name"], default)))
    changes: dict[int, list[tuple[int, int]]] = {}
    for a, b, operators in pieces:
        changes.setdefault(a, []).append((operators, 1))
        changes.setdefault(b, []).append((operators, -1))
    active: Counter[int] = Counter()
    capacity: list[tuple[int, int, int]] = []
    cuts = sorted(changes)
    for at, following in zip(cuts, cuts[1:]):
        for operators, change in changes[at]:
            active[operators] += change
        held = [operators for operators, count in active.items() if count > 0]
        if not held:
            continue
        if capacity and capacity[-1][1] == at and capacity[-1][2] == max(held):
            capacity[-1] = (capacity[-1][0], following, max(held))
        else:
            capacity.append((at, following, max(held)))
    return tuple(capacity)


def _closed(intervals: tuple[tuple[int, int], ...], a: int, b: int) -> tuple[tuple[int, int], ...]:
    """Open intervals with [a, b) taken out (a downtime)."""
    out = []
    for start, end in intervals:
        if end <= a or b <= start:
            out.append((start, end))
            continue
        if start < a:
            out.append((start, a))
        if b < end:
            out.append((b, end))
    return tuple(out)


async def read_schedule_input(fetch: Fetch, site: str, now: datetime, weeks: int = 8, *, frozen_minutes: int = 0,
                              downtime_minutes: int = 120, keep: bool = True,
                              pins: Sequence[dict[str, Any]] = ()) -> ScheduleInput:
    """The site's schedule problem at `now`. With `keep`, the accepted schedule's places and the frozen window of
    `frozen_minutes` (server/planning/schedule_keep.py); a work centre reported down is closed from now until its
    downtime began + `downtime_minutes`, or, down longer than that already, for `downtime_minutes` from now. `pins`
    ({operation, not_before (an instant or None), work_centre (or None)}) are applied to free operations; a pin of an
    unknown or kept operation, or to an unknown work centre, is a SchedulingError."""
    rows = await fetch("SELECT timezone FROM site WHERE code = $1", site)
    zone = ZoneInfo(rows[0]["timezone"] if rows and rows[0]["timezone"] else "UTC")
    local_now = now.astimezone(zone).replace(tzinfo=None)
    today = local_now.date()
    origin_day = today - timedelta(days=local_now.weekday())
    origin = datetime.combine(origin_day, datetime.min.time())
    centres = {row["code"]: {**row, "shifts": _json(row["shifts"]), "working_days": _json(row["working_days"]),
                             "holidays": _json(row["holidays"]), "setup_matrix": _json(row["setup_matrix"])}
               for row in await fetch("SELECT code, shifts, working_days, holidays, setup_matrix, parallel_capacity, "
                                      "efficiency_pct, crew FROM work_centre")}
    crews = {row["code"]: {**row, "operators": _json(row["operators"])} for row in await fetch(
        "SELECT code, operators, default_operators FROM crew WHERE archived = $1", False)}
    statuses = ", ".join(f"${n}" for n in range(2, 2 + len(SCHEDULED_STATUSES)))
    orders = await fetch(
        "SELECT p.id, p.code, p.item, p.quantity_micro, p.due_date, p.status, p.parent_order, c.grade "
        "FROM production_order p LEFT JOIN sales_order s ON s.code = p.sales_order "
        f"LEFT JOIN customer c ON c.code = s.customer WHERE p.site = $1 AND p.status IN ({statuses}) ORDER BY p.code",
        site, *SCHEDULED_STATUSES)
    copied = await fetch(
        "SELECT o.production_order, o.sequence, o.work_centre, o.planned_minutes, o.good_micro, o.status "
        "FROM production_operation o JOIN production_order p ON p.id = o.production_order "
        f"WHERE p.site = $1 AND p.status IN ({statuses}) ORDER BY o.production_order, o.sequence",
        site, *SCHEDULED_STATUSES)
    routings = await fetch("SELECT id, item, version, archived FROM routing")
    routing_operations = await fetch("SELECT routing, sequence, work_centre, setup_minutes, run_minutes_per_unit "
                                     "FROM routing_operation ORDER BY routing, sequence")
    items = {row["code"]: row for row in await fetch(
        "SELECT i.code, i.setup_family, i.make_or_buy, i.lead_time_days, u.decimals FROM item i "
        "JOIN unit u ON u.code = i.unit")}

    operations_of: dict[Any, list[dict[str, Any]]] = {}
    for row in copied:
        operations_of.setdefault(row["production_order"], []).append(row)
    routings_of: dict[str, list[dict[str, Any]]] = {}
    for row in routings:
        routings_of.setdefault(row["item"], []).append(row)
    steps_of: dict[Any, list[dict[str, Any]]] = {}
    for row in routing_operations:
        steps_of.setdefault(row["routing"], []).append(row)

    def minutes(centre: str, planned: Decimal) -> int:
        return operation_minutes(float(planned), 0, 0, float(centres[centre]["efficiency_pct"] or 100))

    engine_orders, engine_operations = {}, []
    sequences: dict[str, list[int]] = {}  # every operation of an order, done or not: where its material goes
    started: set[tuple[str, int]] = set()
    for order in orders:
        ops: list[Operation] = []
        quantity = int(order["quantity_micro"])
        order["due_date"] = _date(order["due_date"])
        item_family = items.get(order["item"], {}).get("setup_family") or order["item"]
        if order["status"] == production_rules.DRAFT:  # firmed: its routing is copied at release, read it here
            routing = in_force(routings_of.get(order["item"], []), today)
            for step in steps_of.get(routing["id"], []) if routing else []:
                planned = production_rules.planned_minutes(step["setup_minutes"], step["run_minutes_per_unit"],
                                                           quantity)
                ops.append(Operation(f"{order['code']}/{step['sequence']}", order["code"], int(step["sequence"]),
                                     step["work_centre"], minutes(step["work_centre"], planned), item_family))
        for row in operations_of.get(order["id"], []):
            if row["status"] == production_rules.COMPLETED:
                continue
            if row["status"] == production_rules.IN_PROGRESS:
                started.add((order["code"], int(row["sequence"])))
            left = max(Decimal(0), 1 - Decimal(int(row["good_micro"])) / quantity) if quantity else Decimal(1)
            planned = Decimal(str(row["planned_minutes"])) * left
            ops.append(Operation(f"{order['code']}/{row['sequence']}", order["code"], int(row["sequence"]),
                                 row["work_centre"], minutes(row["work_centre"], planned), item_family))
        sequences[order["code"]] = sorted({int(r["sequence"]) for r in operations_of.get(order["id"], [])}
                                          | {op.sequence for op in ops})
        if not ops:
            continue
        engine_orders[order["code"]] = {"due": ((order["due_date"] - origin_day).days + 1) * MINUTES_PER_DAY,
                                        "weight": GRADE_WEIGHTS.get(order["grade"] or "", 1),
                                        "parent": order["parent_order"]}
        engine_operations += ops

    scheduled = [order for order in orders if order["code"] in engine_orders]
    to_do = {(op.order, op.sequence) for op in engine_operations}
    needs = [need for need in await _material_needs(fetch, site, scheduled, sequences, items, today)
             if (need.order, need.operation) in to_do]
    there = material_dates(needs, *await _material_supply(fetch, site, items, today), today)
    released = []
    for op in engine_operations:
        day = there.get((op.order, op.sequence))
        if day is not None and (op.order, op.sequence) not in started:
            op = replace(op, release=max(0, (day - origin_day).days * MINUTES_PER_DAY))
        released.append(op)

    def weight(code: str, seen: frozenset = frozenset()) -> int:
        """An order's own weight or that of an order it feeds, whichever is higher."""
        order = engine_orders[code]
        parent = order["parent"]
        if parent in engine_orders and parent not in seen:
            return max(order["weight"], weight(parent, seen | {code}))
        return order["weight"]

    now_minute = int((local_now - origin).total_seconds() // 60)
    base = ScheduleInput(Problem([], [], [], now=now_minute), origin, zone)
    down = {row["work_centre"]: row["started_at"] for row in await fetch(
        "SELECT work_centre, started_at FROM downtime WHERE ended_at IS NULL")}
    pinned = {pin["operation"]: pin for pin in pins}
    for pin in pins:
        if pin.get("work_centre") and pin["work_centre"] not in centres:
            raise SchedulingError("unknown_work_centre", work_centre=pin["work_centre"])
    used = {op.work_centre for op in released} | {pin["work_centre"] for pin in pins if pin.get("work_centre")}
    # Calendars reach `weeks` past the latest release date, so that an order waiting for its material still fits.
    days = weeks * 7 + max([op.release // MINUTES_PER_DAY for op in released], default=0)

    def calendar(code: str) -> tuple[tuple[int, int], ...]:
        intervals = open_time(centres[code], origin_day, days)
        if code in down:
            since = base.minute(down[code])
            until = since + downtime_minutes if since + downtime_minutes > now_minute else now_minute + downtime_minutes
            intervals = _closed(intervals, min(since, now_minute), until)
        return intervals

    members: dict[str, list[str]] = {}
    for code in sorted(used):
        if centres[code]["crew"] in crews:
            members.setdefault(centres[code]["crew"], []).append(code)
    problem = Problem(
        [WorkCentre(code, int(centres[code]["parallel_capacity"] or 1), calendar(code),
                    setup_matrix(centres[code]["setup_matrix"])) for code in sorted(used)],
        [Order(code, o["due"], weight(code), (o["parent"],) if o["parent"] in engine_orders else ())
         for code, o in engine_orders.items()],
        released,
        now=now_minute, frozen_minutes=frozen_minutes if keep else 0,
        crews=[Crew(code, tuple(codes), crew_capacity(crews[code], [centres[c] for c in codes], origin_day, days))
               for code, codes in sorted(members.items())],
    )
    based_on, places, lost = None, {}, []
    if keep:
        accepted = await fetch("SELECT id FROM schedule_run WHERE site = $1 AND status = 'accepted'", site)
        if accepted:
            based_on = int(accepted[0]["id"])
            places = {f"{row['production_order']}/{row['sequence']}": Place(row["work_centre"], int(row["machine"]),
                                                                               base.minute(row["start_at"]))
                      for row in await fetch("SELECT production_order, sequence, work_centre, machine, start_at "
                                             "FROM scheduled_operation WHERE run = $1", based_on)}
        started = {f"{order['code']}/{row['sequence']}" for order in orders for row in operations_of.get(order["id"], [])
                   if row["status"] == production_rules.IN_PROGRESS and order["code"] in engine_orders}
        problem, lost = keep_places(problem, places, started)
    if pins:
        problem = _pinned(problem, pinned, base, centres)
    return ScheduleInput(problem, origin, zone, based_on, places, tuple(lost))


def _pinned(problem: Problem, pinned: Mapping[str, dict[str, Any]], base: ScheduleInput,
            centres: Mapping[str, dict[str, Any]]) -> Problem:
    operations = {op.id: op for op in problem.operations}
    for op_id, pin in pinned.items():
        op = operations.get(op_id)
        if op is None:
            raise SchedulingError("unknown_operation", operation=op_id)
        if op.started or (op.given_start is not None and op.given_start < problem.now + problem.frozen_minutes):
            raise SchedulingError("pin_frozen", operation=op_id)
    minutes_at = {}
    for op_id, pin in pinned.items():
        if pin.get("work_centre"):
            op = operations[op_id]
            ratio = float(centres[op.work_centre]["efficiency_pct"] or 100) / float(
                centres[pin["work_centre"]]["efficiency_pct"] or 100)
            minutes_at[op_id] = max(1, round(op.minutes * ratio))
    return apply_pins(problem, [Pin(op_id, base.minute(pin["not_before"]) if pin.get("not_before") else None,
                                    pin.get("work_centre")) for op_id, pin in pinned.items()], minutes_at)


def setup_matrix(entries: list[dict[str, Any]] | None) -> dict[tuple[str, str], int]:
    return {(entry["from_family"], entry["to_family"]): int(entry["minutes"]) for entry in entries or ()}


def _is_bought(items: dict[str, dict[str, Any]], code: str) -> bool:
    return code in items and (items[code]["make_or_buy"] or "buy") == "buy"


async def _material_needs(fetch: Fetch, site: str, orders: list[dict[str, Any]], sequences: dict[str, list[int]],
                          items: dict[str, dict[str, Any]], today: date) -> list[Need]:
    """What each order still needs of bought components, at the operation that consumes it: a released order's
    materials as copied onto it less what was issued, a firmed order's from its item's BOM in force (as its
    release will copy them). Released orders are served first, then by due date."""
    def need(order: dict[str, Any], item: str, operation: int | None, quantity_micro: int) -> Need:
        steps = sequences[order["code"]]
        at = operation if operation in steps else steps[0]
        return Need(order["code"], at, item, quantity_micro,
                    (order["status"] == production_rules.DRAFT, order["due_date"]))

    by_id = {order["id"]: order for order in orders if order["status"] != production_rules.DRAFT}
    drafts = [order for order in orders if order["status"] == production_rules.DRAFT]
    needs: list[Need] = []
    if by_id:
        statuses = ", ".join(f"${n}" for n in range(2, 2 + len(production_rules.MAKING)))
        for row in await fetch(
                "SELECT m.production_order, m.item, m.operation, m.required_micro - m.issued_micro AS open_micro "
                "FROM production_material m JOIN production_order p ON p.id = m.production_order "
                f"WHERE p.site = $1 AND p.status IN ({statuses})", site, *production_rules.MAKING):
            order = by_id.get(row["production_order"])
            if order is not None and _is_bought(items, row["item"]) and int(row["open_micro"]) > 0:
                needs.append(need(order, row["item"], row["operation"], int(row["open_micro"])))
    if drafts:
        boms_of: dict[str, list[dict[str, Any]]] = {}
        for row in await fetch("SELECT id, item, version, valid_from, archived FROM bom"):
            boms_of.setdefault(row["item"], []).append(row)
        in_use = {order["item"]: in_force(boms_of.get(order["item"], []), today) for order in drafts}
        lines_of: dict[Any, list[dict[str, Any]]] = {}
        wanted = [bom["id"] for bom in in_use.values() if bom is not None]
        if wanted:
            marks = ", ".join(f"${n}" for n in range(1, 1 + len(wanted)))
            for row in await fetch("SELECT bom, line_no, component, quantity, scrap_pct, operation FROM bom_line "
                                   f"WHERE bom IN ({marks}) ORDER BY bom, line_no", *wanted):
                lines_of.setdefault(row["bom"], []).append(row)
        for order in drafts:
            bom = in_use[order["item"]]
            required: dict[str, list[Any]] = {}  # a component on two lines is one material, at its first line's
            for line in lines_of.get(bom["id"], []) if bom else []:
                if not _is_bought(items, line["component"]):
                    continue
                decimals = items[line["component"]]["decimals"]
                quantity = production_rules.required_micro(
                    Decimal(str(line["quantity"])), Decimal(str(line["scrap_pct"] or 0)), int(order["quantity_micro"]),
                    int(decimals) if decimals is not None else 6)
                required.setdefault(line["component"], [line["operation"], 0])[1] += quantity
            needs += [need(order, item, operation, quantity) for item, (operation, quantity) in required.items()]
    return needs


async def _material_supply(fetch: Fetch, site: str, items: dict[str, dict[str, Any]], today: date
                           ) -> tuple[dict[str, int], list[Arrival], dict[str, int]]:
    """The site's free stock of each item (available, unexpired, less open reservations, as MRP counts it), its
    open purchase order lines (of the orders MRP counts as scheduled receipts) and each item's purchase lead time
    (its supplier's as MRP chooses one, else its own)."""
    free: dict[str, int] = {}
    for row in await fetch(
            "SELECT s.item, s.quantity_micro - COALESCE((SELECT SUM(r.quantity_micro) FROM stock_reservation r "
            "WHERE r.item = s.item AND r.location = s.location AND r.lot = s.lot AND r.released_at IS NULL), 0) AS "
            "free, l.expiry FROM stock_on_hand s JOIN location loc ON loc.code = s.location "
            "JOIN warehouse w ON w.code = loc.warehouse LEFT JOIN lot l ON l.item = s.item AND l.code = s.lot "
            "WHERE w.site = $1 AND s.status = $2 AND s.quantity_micro > 0", site, AVAILABLE):
        expiry = _date(row["expiry"]) if row["expiry"] is not None else None
        if int(row["free"]) > 0 and (expiry is None or expiry >= today):
            free[row["item"]] = free.get(row["item"], 0) + int(row["free"])
    marks = ", ".join(f"${n}" for n in range(3, 3 + len(PURCHASE_STATUSES)))
    arrivals = [Arrival(row["item"], _date(row["due_date"]), int(row["open_micro"]), f"{row['code']}:{row['line_no']:06}")
                for row in await fetch(
                    "SELECT o.code, l.line_no, l.item, l.due_date, l.quantity_micro - l.received_quantity_micro AS "
                    "open_micro FROM purchase_order_line l JOIN purchase_order o ON o.id = l.purchase_order "
                    f"WHERE o.site = $1 AND l.status = $2 AND o.status IN ({marks})",
                    site, purchasing_rules.LINE_OPEN, *PURCHASE_STATUSES)
                if int(row["open_micro"]) > 0]
    offers: dict[str, list[SupplierOffer]] = {}
    for row in await fetch(
            "SELECT si.item, s.code AS supplier, si.price, si.lead_time_days, si.min_order_quantity, si.preferred "
            "FROM supplier_item si JOIN supplier s ON s.id = si.supplier WHERE s.archived = $1", False):
        offers.setdefault(row["item"], []).append(SupplierOffer(
            row["supplier"], Decimal(str(row["price"])), int(row["lead_time_days"]),
            to_micro(Decimal(str(row["min_order_quantity"]))), bool(row["preferred"])))
    lead_days = {}
    for code, item in items.items():
        chosen = choose_supplier(offers.get(code, []), 0)
        lead_days[code] = chosen.lead_time_days if chosen is not None else int(item["lead_time_days"] or 0)
    return free, arrivals, lead_days
