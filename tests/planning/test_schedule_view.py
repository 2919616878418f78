"""What the Gantt draws around a schedule, as values: a work centre's closed time is the gaps of its open time over
the stretch shown, and a setup that ends where its operation starts is counted back in open time, across a break."""

from __future__ import annotations

from server.planning.schedule_view import closed_between, merged, setup_start

DAY = 24 * 60
# Two days of one 08:00-16:00 shift, and the night shift of the day before reaching 02:00 on the first.
OPEN = ((-DAY + 22 * 60, 2 * 60), (8 * 60, 16 * 60), (DAY + 8 * 60, DAY + 16 * 60))


def test_closed_time_is_the_gaps_of_open_time_within_the_stretch():
    assert closed_between(OPEN, 0, 2 * DAY) == [(120, 480), (960, DAY + 480), (DAY + 960, 2 * DAY)]
    assert closed_between((), 0, DAY) == [(0, DAY)]
    assert closed_between(((0, DAY),), 0, DAY) == []


def test_the_open_time_of_several_work_centres_is_their_union():
    assert merged([(480, 960), (0, 120), (900, 1000), (1000, 1100)]) == ((0, 120), (480, 1100))


def test_a_setup_before_an_operation_is_counted_back_in_open_time_across_a_break():
    assert setup_start(OPEN, DAY + 8 * 60 + 30, 20) == DAY + 8 * 60 + 10
    assert setup_start(OPEN, DAY + 8 * 60 + 10, 30) == 16 * 60 - 20, "20 minutes before the night, 10 after it"
    assert setup_start(OPEN, 8 * 60, 0) == 8 * 60
