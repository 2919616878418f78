"""When the bought material of each operation is there: the release dates of the scheduling model, as a pure rule
over plain data (server/planning/schedule_snapshot.py reads the data).

An operation that consumes a bought component (the BOM line's `operation`; none: the order's first) may not start
before that component is there for it. Per component, the orders' open needs (required less issued: what was
issued is on the order already) are served in turn — released and in-progress orders first, then firmed ones, each
by due date, then code — from, in this order:

1. stock on hand that is free (available, not expired, less what reservations hold for others): no constraint;
2. the open purchase order lines, by expected (due) date, then order and line: the need is there on the date of
   the line that covers its last unit;
3. nothing more: what is still short can be bought, and is there after the component's purchase lead time (its
   supplier's, chosen as MRP chooses one; the item's own without a supplier), counted from today.

A date means from the start of that day (a receipt is booked during it). An operation takes the latest date of its
components; with none, or all covered by stock, it has no release date (None: it may start now). Made components
are not material here: their orders `feed` the one they go into (the model's precedence across BOM levels).

What counts is what MRP counts (server/planning/snapshot.py): purchase orders from draft to partly received, and
only available stock, so a receipt waiting for inspection counts neither as stock nor as still to come. A purchase
line bought for one order is not set aside for it: supply goes to the needs in the order above."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any


@dataclass(frozen=True)
class Need:
    order: str
    operation: int  # the sequence of the operation that consumes it
    item: str
    quantity_micro: int  # still to be issued
    rank: tuple[Any, ...]  # served in ascending order


@dataclass(frozen=True)
class Arrival:
    """An open purchase order line: what is still to be received, and when it is expected."""

    item: str
    day: date
    quantity_micro: int
    reference: str = ""  # PO code and line, to order lines due the same day


def material_dates(needs: Sequence[Need], free_micro: Mapping[str, int], arrivals: Sequence[Arrival],
                   lead_time_days: Mapping[str, int], today: date) -> dict[tuple[str, int], date | None]:
    """(order, operation) -> the day its last bought material is there; None when free stock covers it all."""
    supply: dict[str, list[tuple[date | None, int]]] = defaultdict(list)
    for item, quantity in free_micro.items():
        if quantity > 0:
            supply[item].append((None, quantity))
    for arrival in sorted(arrivals, key=lambda a: (a.day, a.reference)):
        if arrival.quantity_micro > 0:
            supply[arrival.item].append((arrival.day, arrival.quantity_micro))

    dates: dict[tuple[str, int], date | None] = {}
    taken: dict[str, int] = defaultdict(int)  # per item: how much of its supply (in the order above) is spoken for
    for need in sorted(needs, key=lambda n: (n.rank, n.order, n.operation, n.item)):
        key = (need.order, need.operation)
        dates.setdefault(key, None)
        if need.quantity_micro <= 0:
            continue
        taken[need.item] += need.quantity_micro
        short = today + timedelta(days=max(0, lead_time_days.get(need.item, 0)))
        there = _day_covered(supply[need.item], taken[need.item], short)
        if there is not None:
            dates[key] = there if dates[key] is None else max(dates[key], there)
    return dates


def _day_covered(chunks: list[tuple[date | None, int]], units: int, short: date) -> date | None:
    """The day of the chunk of supply that holds its `units`-th unit (None: stock), or `short` past the last one."""
    total = 0
    for day, quantity in chunks:
        total += quantity
        if total >= units:
            return day
    return short
