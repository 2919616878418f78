"""The capacity calendar of a work centre: minutes available on a date, shifts across midnight, overlaps, holidays."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from server.masterdata.calendar import available_minutes, capacity_minutes, overlapping_shifts, shift_minutes

EARLY = {"name": "early", "start": "06:00", "end": "14:00"}
LATE = {"name": "late", "start": "14:00", "end": "22:00"}
NIGHT = {"name": "night", "start": "22:00", "end": "06:00"}
WEEKDAYS = [1, 2, 3, 4, 5]
FRIDAY, SATURDAY, CHRISTMAS = date(2026, 11, 27), date(2026, 11, 28), date(2026, 12, 25)


def test_a_night_shift_crossing_midnight_lasts_eight_hours():
    assert shift_minutes(NIGHT) == 480
    assert shift_minutes({"name": "short", "start": "23:30", "end": "00:15"}) == 45


def test_three_shifts_on_a_working_day_give_the_whole_day():
    assert available_minutes(FRIDAY, [EARLY, LATE, NIGHT], WEEKDAYS, []) == 1440


def test_a_weekend_day_or_a_holiday_has_no_minutes():
    assert available_minutes(SATURDAY, [EARLY, LATE], WEEKDAYS, []) == 0
    assert available_minutes(CHRISTMAS, [EARLY, LATE], WEEKDAYS, ["2026-12-25"]) == 0
    assert available_minutes(CHRISTMAS, [EARLY, LATE], WEEKDAYS, [date(2026, 12, 24)]) == 960


def test_saturday_as_a_working_day_counts_its_shifts():
    assert available_minutes(SATURDAY, [EARLY], [1, 2, 3, 4, 5, 6], []) == 480


def test_a_night_shift_belongs_to_the_day_it_starts():
    # Friday's night shift runs into Saturday, but Saturday (no working day) starts none of its own.
    assert available_minutes(FRIDAY, [NIGHT], WEEKDAYS, []) == 480
    assert available_minutes(SATURDAY, [NIGHT], WEEKDAYS, []) == 0


def test_capacity_counts_parallel_machines_and_efficiency():
    press = {"shifts": [EARLY, LATE], "working_days": WEEKDAYS, "holidays": [], "parallel_capacity": 3, "efficiency_pct": "85"}
    assert capacity_minutes(press, FRIDAY) == Decimal("2448")
    assert capacity_minutes(press, SATURDAY) == 0


def test_shifts_that_run_at_the_same_time_are_found():
    assert overlapping_shifts([EARLY, LATE, NIGHT]) == []
    assert overlapping_shifts([EARLY, {"name": "mid", "start": "10:00", "end": "18:00"}]) == [(0, 1)]
    # The night shift reaches 06:00 of the next day, where an early shift at 05:00 has already begun.
    assert overlapping_shifts([NIGHT, {"name": "dawn", "start": "05:00", "end": "13:00"}]) == [(0, 1)]
