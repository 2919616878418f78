"""Work centres that share a crew, in the scheduling engine, on cases worked out by hand: an operation at a member
centre holds one operator from its start to its end (setups need none), and no more of them run at once than the
crew has operators then. Two saws of one machine each sharing one operator take turns; the solver proves the best
order of a tiny instance; two operators on the early shift and one on the late one; a frozen operation keeps its
operator and the others work around it; the large-factory search keeps crews too; the validator catches a crew
broken and lets an excess of frozen operations alone stand. Pure functions, in-process."""

from __future__ import annotations

from server.planning.schedule_check import check_schedule
from server.planning.scheduler import solve
from server.planning.scheduling import (
    Crew, Operation, Order, Placement, Problem, SchedulingError, WorkCentre, list_schedule,
)

EARLY, LATE = (6 * 60, 14 * 60), (14 * 60, 22 * 60)


def solved(problem: Problem, seconds: float = 5):
    schedule = solve(problem, seconds=seconds, workers=2)
    assert check_schedule(problem, schedule.placements) == []
    assert check_schedule(problem, list_schedule(problem)) == []
    return schedule, {p.operation: p for p in schedule.placements}


def two_saws(operators: int = 1) -> tuple[list[WorkCentre], Crew]:
    saws = [WorkCentre("SAW1"), WorkCentre("SAW2")]
    return saws, Crew("SAWYERS", ("SAW1", "SAW2"), ((0, 10_000, operators),))


def test_two_saws_sharing_one_operator_cut_one_after_the_other():
    """Two 60-minute cuts on two saws, both due at 60: alone they would run side by side (both done at 60); with
    one operator between the saws the second starts when the first ends, at 60, and is 60 minutes late."""
    saws, crew = two_saws()
    operations = [Operation("A", "A", 10, "SAW1", 60), Operation("B", "B", 10, "SAW2", 60)]
    orders = [Order("A", due=60), Order("B", due=60)]
    free_schedule, free = solved(Problem(saws, orders, operations))
    assert {(p.start, p.end) for p in free.values()} == {(0, 60)}
    schedule, placed = solved(Problem(saws, orders, operations, crews=[crew]))
    assert sorted((p.start, p.end) for p in placed.values()) == [(0, 60), (60, 120)]
    assert schedule.objective.weighted_tardiness == 60 and schedule.status == "optimal"
    # With two operators they run side by side again.
    _, placed = solved(Problem(saws, orders, operations, crews=[two_saws(2)[1]]))
    assert {(p.start, p.end) for p in placed.values()} == {(0, 60)}


def test_the_solver_proves_the_best_order_of_three_jobs_for_one_operator():
    """One operator between two saws; jobs A of 30 minutes (weight 1, due 100) and C of 40 (weight 2, due 40) on
    SAW1, B of 50 (weight 3, due 50) on SAW2: they run one at a time. Earliest due date: C 0-40, B 40-90 (40 late
    x 3 = 120), A 90-120 (20 late) = 140. Of the six orders the best is B 0-50, C 50-90 (50 x 2 = 100), A 90-120
    (20) = 120 (B, A, C: 160; C, A, B: 210; A first: 250 or 270), and the solver proves it."""
    saws, crew = two_saws()
    operations = [Operation("A", "A", 10, "SAW1", 30), Operation("B", "B", 10, "SAW2", 50),
                  Operation("C", "C", 10, "SAW1", 40)]
    orders = [Order("A", due=100, weight=1), Order("B", due=50, weight=3), Order("C", due=40, weight=2)]
    problem = Problem(saws, orders, operations, crews=[crew])
    assert sorted((p.start, p.operation) for p in list_schedule(problem)) == [(0, "C"), (40, "B"), (90, "A")]
    schedule, placed = solved(problem)
    assert schedule.status == "optimal" and schedule.bound == 120
    assert [(placed[o].start, placed[o].end) for o in "BCA"] == [(0, 50), (50, 90), (90, 120)]
    assert schedule.objective.weighted_tardiness == 120 and schedule.list_objective.weighted_tardiness == 140


def test_two_operators_on_the_early_shift_and_one_on_the_late():
    """Two presses open 06:00-22:00, one crew: 2 operators on the early shift (06:00-14:00), 1 on the late
    (14:00-22:00). Five jobs of 240 minutes, three on P1 and two on P2, all due at 06:00: the early shift runs two
    side by side (06:00-10:00, 10:00-14:00), both presses busy, and the fifth follows 14:00-18:00. A sixth of 120
    minutes on P2, due later, waits for it though P2 is free then: one operator on the late shift."""
    presses = [WorkCentre(f"P{k}", open_time=((EARLY[0], LATE[1]),)) for k in (1, 2)]
    operations = [Operation(f"J{n}", f"J{n}", 10, f"P{1 + n % 2}", 240) for n in range(5)]
    orders = [Order(f"J{n}", due=6 * 60, weight=1) for n in range(5)]
    crew = Crew("PRESSERS", ("P1", "P2"), ((*EARLY, 2), (*LATE, 1)))
    problem = Problem(presses, orders, operations, crews=[crew])
    for placements in (list_schedule(problem), solved(problem)[0].placements):
        spans = sorted((p.start, p.end) for p in placements)
        assert spans == [(360, 600), (360, 600), (600, 840), (600, 840), (840, 1080)]
    sixth = Problem(presses, orders + [Order("J5", due=2000)], operations + [Operation("J5", "J5", 10, "P2", 120)],
                    crews=[crew])
    _, placed = solved(sixth)
    assert sorted((p.start, p.end) for p in placed.values())[-2:] == [(840, 1080), (1080, 1200)]


def test_an_operation_that_pauses_over_the_night_holds_its_operator_into_the_next_morning():
    """Two saws open 08:00-16:00 on two days, one operator each day. A 600-minute cut starts at 08:00 on day 0
    and ends 10:00 on day 1 (480 + 120 minutes): it holds the operator the whole time, so a 60-minute cut on the
    other saw waits until 10:00 on day 1, though the saw is free."""
    days = ((8 * 60, 16 * 60), (1440 + 8 * 60, 1440 + 16 * 60))
    saws = [WorkCentre("SAW1", open_time=days), WorkCentre("SAW2", open_time=days)]
    crew = Crew("SAWYERS", ("SAW1", "SAW2"), tuple((a, b, 1) for a, b in days))
    problem = Problem(saws, [Order("LONG", due=0, weight=3), Order("SHORT", due=10_000)],
                      [Operation("LONG", "LONG", 10, "SAW1", 600), Operation("SHORT", "SHORT", 10, "SAW2", 60)],
                      crews=[crew])
    _, placed = solved(problem)
    assert (placed["LONG"].start, placed["LONG"].end) == (8 * 60, 1440 + 10 * 60)
    assert (placed["SHORT"].start, placed["SHORT"].end) == (1440 + 10 * 60, 1440 + 11 * 60)


def test_a_frozen_operation_keeps_its_operator_and_the_others_work_around_it():
    """A cut started on SAW1 at 0 for 100 minutes keeps the one operator: the cut on SAW2 starts at 100, whether
    the list scheduler or the solver places it."""
    saws, crew = two_saws()
    operations = [Operation("A", "A", 10, "SAW1", 100, given_start=0, started=True),
                  Operation("B", "B", 10, "SAW2", 30)]
    problem = Problem(saws, [Order("A", due=0), Order("B", due=0)], operations, now=10, crews=[crew])
    _, placed = solved(problem)
    assert (placed["A"].start, placed["B"].start) == (0, 100)


def test_the_validator_catches_a_broken_crew_and_lets_frozen_work_stand():
    saws, crew = two_saws()
    operations = [Operation("A", "A", 10, "SAW1", 60), Operation("B", "B", 10, "SAW2", 60)]
    problem = Problem(saws, [Order("A", due=60), Order("B", due=60)], operations, crews=[crew])
    side_by_side = [Placement("A", "SAW1", 0, 0, 60), Placement("B", "SAW2", 0, 30, 90)]
    assert [(v.code, v.operation) for v in check_schedule(problem, side_by_side)] == [("crew", "SAWYERS")]
    assert check_schedule(problem, [Placement("A", "SAW1", 0, 0, 60), Placement("B", "SAW2", 0, 60, 120)]) == []
    # Outside the crew's capacity nothing is limited (no member works then).
    short = Problem(saws, problem.orders, operations, crews=[Crew("SAWYERS", ("SAW1", "SAW2"), ((100, 200, 1),))])
    assert check_schedule(short, side_by_side) == []
    # Both started side by side before the crew shrank to one: they stand, but nothing else may join them.
    started = [Operation("A", "A", 10, "SAW1", 60, given_start=0, started=True),
               Operation("B", "B", 10, "SAW2", 60, given_start=0, started=True),
               Operation("C", "C", 10, "SAW1", 10)]
    kept = Problem([WorkCentre("SAW1", machines=2), WorkCentre("SAW2")],
                   [Order(o, due=0) for o in "ABC"], started, now=5, crews=[crew])
    schedule, placed = solved(kept)
    assert placed["C"].start == 60
    joined = [p._replace(start=5, end=15) if p.operation == "C" else p for p in schedule.placements]
    assert [v.code for v in check_schedule(kept, joined)] == ["crew"]


def test_a_large_factory_keeps_its_crews_through_the_search():
    """90 orders of two operations (saw, then press; 40 and 30 minutes) on two saws and two presses, the saws
    sharing one operator: the search (more than 80 operations) returns a valid schedule in which no two cuts
    ever overlap, no worse than the list scheduler's."""
    centres = [WorkCentre("SAW1"), WorkCentre("SAW2"), WorkCentre("PRESS1"), WorkCentre("PRESS2")]
    crew = Crew("SAWYERS", ("SAW1", "SAW2"), ((0, 100_000, 1),))
    orders = [Order(f"O{n}", due=40 * n + 200, weight=1 + n % 3) for n in range(45)]
    operations = [op for n in range(45) for op in (
        Operation(f"O{n}/10", f"O{n}", 10, f"SAW{1 + n % 2}", 40),
        Operation(f"O{n}/20", f"O{n}", 20, f"PRESS{1 + n % 2}", 30))]
    problem = Problem(centres, orders, operations, crews=[crew])
    schedule, placed = solved(problem, seconds=2)
    cuts = sorted((p.start, p.end) for p in placed.values() if p.work_centre.startswith("SAW"))
    assert all(a[1] <= b[0] for a, b in zip(cuts, cuts[1:]))
    assert schedule.objective <= schedule.list_objective


def test_crews_the_engine_cannot_read_are_refused():
    saws = [WorkCentre("SAW1"), WorkCentre("SAW2")]
    cases = {
        "unknown_work_centre": Crew("X", ("SAW9",)),
        "crew_not_sorted": Crew("X", ("SAW1",), ((100, 200, 1), (150, 300, 2))),
    }
    for code, crew in cases.items():
        try:
            list_schedule(Problem(saws, [Order("O", 0)], [Operation("o", "O", 1, "SAW1", 5)], crews=[crew]))
        except SchedulingError as error:
            assert error.code == code
        else:
            raise AssertionError(code)
    try:
        list_schedule(Problem(saws, [Order("O", 0)], [Operation("o", "O", 1, "SAW1", 5)],
                              crews=[Crew("X", ("SAW1",)), Crew("Y", ("SAW1", "SAW2"))]))
    except SchedulingError as error:
        assert error.code == "work_centre_in_two_crews"
    else:
        raise AssertionError("work_centre_in_two_crews")
