"""A work centre's capacity calendar as plain functions: shift lengths, overlaps, and minutes available on a date.

A shift belongs to the day it starts on: a night shift 22:00–06:00 on a Friday is Friday's capacity, all 480
minutes of it, and it does not run when Friday is not a working day or is a holiday.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

MINUTES_PER_DAY = 24 * 60


def clock_minutes(hh_mm: str) -> int:
    hours, minutes = hh_mm.split(":")
    return int(hours) * 60 + int(minutes)


def shift_span(shift: Mapping[str, Any]) -> tuple[int, int]:
    """(start, end) in minutes after the midnight the shift starts from; end passes 1440 when it crosses midnight."""
    start, end = clock_minutes(shift["start"]), clock_minutes(shift["end"])
    if end <= start:
        end += MINUTES_PER_DAY
    return start, end


def shift_minutes(shift: Mapping[str, Any]) -> int:
    start, end = shift_span(shift)
    return end - start


def overlapping_shifts(shifts: list[Mapping[str, Any]]) -> list[tuple[int, int]]:
    """Pairs of shift indexes that would run at the same time, on the same day or across midnight into the next."""
    spans = [shift_span(s) for s in shifts]
    pairs = []
    for i, (start_a, end_a) in enumerate(spans):
        for j in range(i + 1, len(spans)):
            start_b, end_b = spans[j]
            # Compare with b on the same day and b of the day before and after (a night shift reaches into tomorrow).
            if any(start_a < end_b + shift and start_b + shift < end_a for shift in (-MINUTES_PER_DAY, 0, MINUTES_PER_DAY)):
                pairs.append((i, j))
    return pairs


def is_working_day(day: date, working_days: Iterable[int], holidays: Iterable[date | str]) -> bool:
    if day.isoweekday() not in set(working_days):
        return False
    return day not in {h if isinstance(h, date) else date.fromisoformat(h) for h in holidays}


def available_minutes(
    day: date, shifts: list[Mapping[str, Any]], working_days: Iterable[int], holidays: Iterable[date | str]
) -> int:
    """Minutes one machine of the work centre can run in the shifts starting on `day`."""
    if not is_working_day(day, working_days, holidays):
        return 0
    return sum(shift_minutes(s) for s in shifts)


def capacity_minutes(work_centre: Mapping[str, Any], day: date) -> Decimal:
    """Effective machine minutes of a work centre on `day`: calendar minutes × parallel machines × efficiency."""
    minutes = available_minutes(day, work_centre["shifts"], work_centre["working_days"], work_centre["holidays"])
    efficiency = Decimal(str(work_centre.get("efficiency_pct", 100))) / 100
    return minutes * int(work_centre.get("parallel_capacity", 1)) * efficiency
