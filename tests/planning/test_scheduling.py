"""The scheduling engine on cases worked out by hand (an operation pausing over a weekend, setups the solver
reduces, two machines, two BOM levels, a frozen operation), the validator catching every kind of violation, and
a property over random small factories: the solver's schedule is valid and never worse than the earliest-due-date
list scheduler's. The engine is a pure function and runs in-process; every schedule here passes the validator."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.planning.schedule_check import check_schedule
from server.planning.scheduler import solve
from server.planning.scheduling import (
    Operation, Order, Placement, Problem, SchedulingError, WorkCentre, evaluate, list_schedule, operation_minutes,
)

DAY = 1440
MONDAY = 0  # minute 0 is Monday 00:00 of the first week


def office_hours(weeks: int = 2, shifts: tuple[tuple[int, int], ...] = ((8 * 60, 16 * 60),)) -> tuple:
    """Open Monday to Friday in the given shifts (minutes after midnight), closed at weekends."""
    return tuple((week * 7 * DAY + day * DAY + a, week * 7 * DAY + day * DAY + b)
                 for week in range(weeks) for day in range(5) for a, b in shifts)


def at(day: int, hour: int, minute: int = 0) -> int:
    return day * DAY + hour * 60 + minute


def solved(problem: Problem, seconds: float = 10):
    schedule = solve(problem, seconds=seconds, workers=2)
    assert check_schedule(problem, schedule.placements) == []
    assert check_schedule(problem, list_schedule(problem)) == []
    return schedule, {p.operation: p for p in schedule.placements}


def test_an_operation_started_on_friday_pauses_over_the_weekend_and_ends_on_monday():
    """The press is open 08:00-16:00 on weekdays. The frame's material is there on Friday 10:00; its 600 minutes
    run 360 on Friday (10:00-16:00) and 240 on Monday (08:00-12:00). Packing (always open) follows at once: 30
    minutes, done Monday 12:30, 30 minutes after the order's due date of Monday 12:00."""
    press = WorkCentre("PRESS", open_time=office_hours())
    pack = WorkCentre("PACK")
    problem = Problem([press, pack], [Order("FRAME", due=at(7, 12))],
                      [Operation("FRAME-10", "FRAME", 10, "PRESS", 600, release=at(4, 10)),
                       Operation("FRAME-20", "FRAME", 20, "PACK", 30)])
    schedule, placed = solved(problem)
    assert (placed["FRAME-10"].start, placed["FRAME-10"].end) == (at(4, 10), at(7, 12))
    assert (placed["FRAME-20"].start, placed["FRAME-20"].end) == (at(7, 12), at(7, 12, 30))
    assert schedule.status == "optimal"
    assert schedule.objective.weighted_tardiness == 30
    assert schedule.gap == 0


def test_material_arriving_on_saturday_starts_work_on_monday_and_a_lunch_break_is_paused_over():
    """Two shifts 06:00-12:00 and 12:30-18:00 (a lunch break). Steel arrives Saturday 09:00: the cut starts
    Monday 06:00, and its 420 minutes are 360 before lunch and 60 after it, to 13:30."""
    cut = WorkCentre("CUT", open_time=office_hours(shifts=((6 * 60, 12 * 60), (12 * 60 + 30, 18 * 60))))
    problem = Problem([cut], [Order("BEAM", due=at(14, 0))],
                      [Operation("BEAM-10", "BEAM", 10, "CUT", 420, release=at(5, 9))])
    _, placed = solved(problem)
    assert (placed["BEAM-10"].start, placed["BEAM-10"].end) == (at(7, 6), at(7, 13, 30))


def test_the_solver_groups_families_to_the_cheapest_changeover_as_worked_out_by_hand():
    """One saw, four 10-minute cuts of two families: A to B costs 30 minutes of setup, B to A 20, a family to
    itself nothing; no due date presses. Any order needs at least one changeover; the cheapest is B B A A, one
    setup of 20 minutes. Flow time then puts the cuts at 0, 10, 40 and 50: completions 10 + 20 + 50 + 60 = 140.
    The list scheduler, which takes A1 B1 A2 B2 as they come and only inserts, pays 30 or more."""
    saw = WorkCentre("SAW", setup_minutes={("A", "B"): 30, ("B", "A"): 20})
    operations = [Operation(name, name, 10, "SAW", 10, family=name[0]) for name in ("A1", "B1", "A2", "B2")]
    problem = Problem([saw], [Order(op.order, due=10_000) for op in operations], operations)
    schedule, placed = solved(problem)
    sequence = [p.operation[0] for p in sorted(placed.values(), key=lambda p: p.start)]
    assert sequence == ["B", "B", "A", "A"]
    assert schedule.objective[:3] == (0, 20, 140)
    assert schedule.status == "optimal"
    assert schedule.list_objective.setup_minutes >= 30
    assert [phase.name for phase in schedule.phases] == ["weighted_tardiness", "setup_minutes", "flow_time"]


def test_two_machines_each_keep_one_family_and_need_no_setup():
    """A centre of two machines with a 45-minute changeover either way: two A jobs and two B jobs of 30 minutes
    each, due at 60. One machine runs A A, the other B B: nothing late, no setup."""
    mill = WorkCentre("MILL", machines=2, setup_minutes={("A", "B"): 45, ("B", "A"): 45})
    operations = [Operation(name, name, 10, "MILL", 30, family=name[0]) for name in ("A1", "B1", "A2", "B2")]
    problem = Problem([mill], [Order(op.order, due=60) for op in operations], operations)
    schedule, placed = solved(problem)
    assert schedule.objective[:2] == (0, 0)
    assert {placed["A1"].machine} == {placed["A2"].machine} != {placed["B1"].machine} == {placed["B2"].machine}


def test_tardiness_comes_before_setups():
    """A B job due early forces a changeover the setup objective alone would avoid: A1 (due 10) first, then B1
    (due 40, after a 20-minute setup), then A2 (due 1000, after another 20). Grouping A A B would make B1 50
    minutes late, which counts before any setup."""
    saw = WorkCentre("SAW", setup_minutes={("A", "B"): 20, ("B", "A"): 20})
    operations = [Operation("A1", "A1", 10, "SAW", 10, family="A"), Operation("B1", "B1", 10, "SAW", 10, family="B"),
                  Operation("A2", "A2", 10, "SAW", 10, family="A")]
    problem = Problem([saw], [Order("A1", due=10), Order("B1", due=40), Order("A2", due=1000)], operations)
    schedule, placed = solved(problem)
    assert schedule.objective[:2] == (0, 40)
    assert [p.operation for p in sorted(placed.values(), key=lambda p: p.start)] == ["A1", "B1", "A2"]


def test_a_frozen_operation_keeps_its_place_and_levels_release_and_precedence_hold():
    """The seat and the frame (semi-finished parts) feed the chair. The seat's foam arrives at 100. The frame's
    welding started at -20 on the weld cell's machine 1 and is frozen there; the rail's weld at 300 in the current
    schedule is inside the 8-hour frozen window, so it stays too. The chair's assembly starts when both the seat
    and the frame orders are done."""
    weld = WorkCentre("WELD", machines=2)
    sew = WorkCentre("SEW")
    assembly = WorkCentre("ASM")
    operations = [
        Operation("SEAT-10", "SEAT", 10, "SEW", 90, release=100),
        Operation("FRAME-10", "FRAME", 10, "WELD", 60, started=True, given_start=-20, given_machine=1),
        Operation("RAIL-10", "RAIL", 10, "WELD", 45, given_start=300, given_machine=0),
        Operation("CHAIR-10", "CHAIR", 10, "ASM", 30),
    ]
    orders = [Order("SEAT", due=500, feeds=("CHAIR",)), Order("FRAME", due=500, feeds=("CHAIR",)),
              Order("CHAIR", due=240), Order("RAIL", due=400)]
    problem = Problem([weld, sew, assembly], orders, operations, now=0, frozen_minutes=8 * 60)
    schedule, placed = solved(problem)
    assert placed["FRAME-10"][2:] == (1, -20, 40)
    assert placed["RAIL-10"][2:] == (0, 300, 345)
    assert (placed["SEAT-10"].start, placed["SEAT-10"].end) == (100, 190)
    assert (placed["CHAIR-10"].start, placed["CHAIR-10"].end) == (190, 220)
    assert schedule.objective.weighted_tardiness == 0


def test_bad_data_is_refused_with_a_code():
    centre = WorkCentre("C")
    cases = {
        "unknown_work_centre": Problem([centre], [Order("O", 0)], [Operation("x", "O", 1, "NOPE", 5)]),
        "unknown_order": Problem([centre], [Order("O", 0)], [Operation("x", "P", 1, "C", 5)]),
        "order_cycle": Problem([centre], [Order("O", 0, feeds=("P",)), Order("P", 0, feeds=("O",))],
                               [Operation("x", "O", 1, "C", 5), Operation("y", "P", 1, "C", 5)]),
        "frozen_after_free": Problem([centre], [Order("O", 0)],
                                     [Operation("x", "O", 1, "C", 5), Operation("y", "O", 2, "C", 5, started=True,
                                                                                given_start=0)]),
        "calendar_too_short": Problem([WorkCentre("C", open_time=((0, 60),))], [Order("O", 0)],
                                      [Operation("x", "O", 1, "C", 90)]),
    }
    for code, problem in cases.items():
        try:
            solve(problem, seconds=1)
        except SchedulingError as exc:
            assert exc.code == code
        else:
            raise AssertionError(f"{code} was not refused")


def test_operation_minutes_are_setup_and_run_over_efficiency_rounded_up():
    assert operation_minutes(15, 2.5, 40) == 115
    assert operation_minutes(15, 2.5, 40, efficiency_pct=80) == 144  # 115 / 0.8 = 143.75
    assert operation_minutes(0, 0.01, 1) == 1


def _factory() -> tuple[Problem, list[Placement]]:
    """A small factory and a valid schedule for it worked out by hand: the press open 08:00-16:00 on weekdays, two
    cutting machines with setups A->B 30 and B->A 20, a started operation on cutter 1."""
    press = WorkCentre("PRESS", open_time=office_hours())
    cut = WorkCentre("CUT", machines=2, setup_minutes={("A", "B"): 30, ("B", "A"): 20})
    orders = [Order("CHILD", due=5000, feeds=("PARENT",)), Order("PARENT", due=5000), Order("OTHER", due=5000),
              Order("SPARE", due=5000), Order("BEE", due=5000)]
    operations = [
        Operation("CHILD-10", "CHILD", 10, "CUT", 60, family="A", release=-100),  # its steel came last week
        Operation("CHILD-20", "CHILD", 20, "PRESS", 120),
        Operation("PARENT-10", "PARENT", 10, "CUT", 30, family="B"),
        Operation("OTHER-10", "OTHER", 10, "CUT", 40, family="A", started=True, given_start=-20, given_machine=1),
        Operation("SPARE-10", "SPARE", 10, "CUT", 30, family="A", release=60),
        Operation("BEE-10", "BEE", 10, "CUT", 10, family="B"),
    ]
    placements = [
        Placement("CHILD-10", "CUT", 0, 0, 60),
        Placement("CHILD-20", "PRESS", 0, at(0, 8), at(0, 10)),
        Placement("PARENT-10", "CUT", 0, at(0, 10), at(0, 10, 30)),
        Placement("OTHER-10", "CUT", 1, -20, 20),
        Placement("SPARE-10", "CUT", 1, 60, 90),
        Placement("BEE-10", "CUT", 0, 120, 130),  # 60 minutes after CHILD-10 (A -> B needs 30)
    ]
    return Problem([press, cut], orders, operations), placements


def _moved(placements: list[Placement], operation: str, **change) -> list[Placement]:
    return [p._replace(**change) if p.operation == operation else p for p in placements]


def test_the_validator_catches_every_kind_of_violation():
    problem, valid = _factory()
    assert check_schedule(problem, valid) == []
    # The press job straddling the night: 60 minutes on Monday from 15:00, 60 on Tuesday from 08:00.
    straddling = _moved(_moved(valid, "CHILD-20", start=at(0, 15), end=at(1, 9)), "PARENT-10", start=at(1, 9),
                        end=at(1, 9, 30))
    assert check_schedule(problem, straddling) == []
    broken = {
        "unplaced": [p for p in valid if p.operation != "SPARE-10"],
        "placed_twice": valid + [valid[4]],
        "unknown_operation": valid + [Placement("GHOST-10", "CUT", 0, 2000, 2010)],
        "wrong_work_centre": _moved(valid, "CHILD-10", work_centre="PRESS"),
        "no_such_machine": _moved(valid, "CHILD-10", machine=2),
        "closed_time": _moved(valid, "CHILD-20", start=at(0, 7), end=at(0, 10)),  # 120 open minutes, closed start
        "wrong_duration": _moved(valid, "CHILD-10", end=61),
        "overlap": _moved(valid, "BEE-10", start=40, end=50),
        "setup": _moved(valid, "BEE-10", start=70, end=80),  # 10 minutes after an A job, A -> B needs 30
        "precedence": _moved(valid, "CHILD-10", start=500, end=560),  # the press starts at 480
        "feeds": _moved(valid, "PARENT-10", start=560, end=590),  # the child order ends at 600
        "release": _moved(valid, "SPARE-10", start=30, end=60),
        "before_now": _moved(valid, "CHILD-10", start=-10, end=50),
        "frozen_moved": _moved(valid, "OTHER-10", start=-10, end=30),
    }
    for code, placements in broken.items():
        assert {v.code for v in check_schedule(problem, placements)} == {code}, code
    over = _moved(valid, "BEE-10", machine=1, start=0, end=10)  # three jobs at once on two machines
    assert {v.code for v in check_schedule(problem, over)} == {"overlap", "over_capacity"}


FAMILIES = ("A", "B", "C")


@st.composite
def factories(draw) -> Problem:
    """A press on office hours with a lunch break, two cutters and a welder with random setup matrices; parent
    orders fed by child orders; release dates; the first operation of the first order started before now."""

    def matrix() -> dict:
        return {(a, b): draw(st.integers(0, 60)) for a in FAMILIES for b in FAMILIES if a != b}

    centres = [WorkCentre("PRESS", open_time=office_hours(3, ((8 * 60, 12 * 60), (13 * 60, 17 * 60)))),
               WorkCentre("CUT", machines=2, setup_minutes=matrix()), WorkCentre("WELD", setup_minutes=matrix())]
    parents = draw(st.integers(1, 2))
    children = draw(st.integers(1, 3))
    orders, operations = [], []
    for n in range(parents + children):
        is_child = n >= parents
        feeds = (f"O{draw(st.integers(0, parents - 1))}",) if is_child and draw(st.booleans()) else ()
        order = Order(f"O{n}", due=draw(st.integers(0, 3000)), weight=draw(st.integers(1, 3)), feeds=feeds)
        orders.append(order)
        for step in range(draw(st.integers(1, 3))):
            centre = draw(st.sampled_from(["PRESS", "CUT", "WELD"]))
            operations.append(Operation(f"O{n}-{step}", order.id, step, centre, draw(st.integers(5, 240)),
                                        family=draw(st.sampled_from(FAMILIES)),
                                        release=draw(st.sampled_from([0, 0, draw(st.integers(0, 2000))]))))
    first_child = f"O{parents}-0"
    machine = draw(st.integers(0, 1))
    operations = [op if op.id != first_child else Operation(
        op.id, op.order, op.sequence, "CUT", op.minutes, op.family, release=0, started=True,
        given_start=-draw(st.integers(1, 30)), given_machine=machine) for op in operations]
    return Problem(centres, orders, operations, now=0, frozen_minutes=60)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(factories())
def test_the_solver_schedule_is_valid_and_never_worse_than_the_list_scheduler(problem):
    first = list_schedule(problem)
    assert check_schedule(problem, first) == []
    schedule = solve(problem, seconds=5, workers=2)
    assert schedule.status in ("optimal", "feasible")  # the solver's own schedule, not the fallback
    assert check_schedule(problem, schedule.placements) == []
    assert tuple(schedule.objective[:3]) <= tuple(evaluate(problem, first)[:3])
    assert schedule.list_objective == evaluate(problem, first)


def test_an_accepted_schedule_a_few_minutes_old_is_kept_right_shifted_or_keeps_its_frozen_places():
    """Worked by hand: one machine open 08:00-16:00, orders A (60 min) and B (30 min) due at 16:00, accepted with B
    at 08:00 and A at 08:30 (shortest first: the least flow time). At 08:05 nothing was reported started. With no
    frozen window the accepted schedule is kept, shifted by five minutes: B 08:05-08:35, A 08:35-09:35 (the solver
    can do no better, so nothing is re-made). With a four-hour window A keeps its 08:30 place, and B, whose start
    passed, goes after it: 09:30-10:00."""
    from datetime import datetime

    from server.planning.schedule_keep import Place, keep_places
    from server.planning.schedule_snapshot import ScheduleInput
    from server.planning.schedules import repaired

    places = {"A/10": Place("M", 0, at(0, 8, 30)), "B/10": Place("M", 0, at(0, 8))}

    def rescheduled(frozen_minutes: int):
        problem = Problem([WorkCentre("M", 1, office_hours())], [Order("A", at(0, 16)), Order("B", at(0, 16))],
                          [Operation("A/10", "A", 10, "M", 60), Operation("B/10", "B", 10, "M", 30)],
                          now=at(0, 8, 5), frozen_minutes=frozen_minutes)
        kept, lost = keep_places(problem, places, set())
        given = ScheduleInput(kept, datetime(2026, 1, 5), places=places, lost=tuple(lost))
        schedule = solve(kept, seconds=2, workers=2, hint=repaired(given))
        assert check_schedule(kept, schedule.placements) == []
        return lost, schedule.status, sorted((p.operation, p.start, p.end) for p in schedule.placements)

    lost, status, placed = rescheduled(0)
    assert [(loss.operation, loss.reason) for loss in lost] == [("B/10", "passed")] and status == "kept"
    assert placed == [("A/10", at(0, 8, 35), at(0, 9, 35)), ("B/10", at(0, 8, 5), at(0, 8, 35))]
    lost, status, placed = rescheduled(240)
    assert [(loss.operation, loss.reason) for loss in lost] == [("B/10", "passed")] and status != "kept"
    assert placed == [("A/10", at(0, 8, 30), at(0, 9, 30)), ("B/10", at(0, 9, 30), at(0, 10))]


def test_orders_on_a_work_centre_with_no_open_time_are_left_out_with_what_they_feed_and_the_rest_is_scheduled():
    from server.planning.scheduling import schedulable

    problem = Problem([WorkCentre("M", 1, office_hours()), WorkCentre("EMPTY", 1, ())],
                      [Order("PART", at(2, 16), feeds=("CHAIR",)), Order("CHAIR", at(3, 16)), Order("OTHER", at(3, 16))],
                      [Operation("PART/10", "PART", 10, "EMPTY", 30), Operation("CHAIR/10", "CHAIR", 10, "M", 60),
                       Operation("OTHER/10", "OTHER", 10, "M", 45)], now=at(0, 8))
    scheduled, placements, left_out = schedulable(problem, list_schedule)
    assert left_out == [("CHAIR", "EMPTY", "calendar_too_short"), ("PART", "EMPTY", "calendar_too_short")]
    assert [(p.operation, p.start, p.end) for p in placements] == [("OTHER/10", at(0, 8), at(0, 8, 45))]
    assert [c.code for c in scheduled.work_centres] == ["M"] and check_schedule(scheduled, placements) == []
