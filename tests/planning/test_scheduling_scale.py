"""The scheduling engine on a generated factory of a few hundred operations (the benchmark's shape at a smaller
size, tests/planning/scaled_factory.py, fixed seed): more operations than one CP-SAT model takes, so `solve`
searches from the list scheduler's schedule (server/planning/schedule_search.py). Its schedule passes the
validator, is no worse than the list scheduler's on the lexicographic objective and better on tardiness or setups,
and a frozen window is kept; the CP-SAT windows alone improve the list schedule and make no order later. The
engine is a pure function; every schedule here passes the validator."""

from __future__ import annotations

import random
import time

from server.planning.schedule_check import check_schedule
from server.planning.schedule_search import _Best, _windows, forward, latest_times, sequences_of
from server.planning.scheduler import LARGE_OPERATIONS, solve
from server.planning.scheduling import Operation, Problem, _Index, evaluate, list_schedule
from tests.planning.scaled_factory import scaled_factory


def test_a_factory_of_three_hundred_operations_is_searched_to_a_better_schedule_than_the_list_scheduler():
    problem = scaled_factory(300, seed=7, weeks=1)
    assert len(problem.operations) > LARGE_OPERATIONS
    first = list_schedule(problem)
    assert check_schedule(problem, first) == []
    stages = []
    schedule = solve(problem, seconds=6, workers=2, on_solution=lambda stage, at, value: stages.append(stage))
    assert check_schedule(problem, schedule.placements) == []
    assert schedule.status == "feasible"
    assert schedule.list_objective == evaluate(problem, first)
    assert schedule.objective == evaluate(problem, schedule.placements)
    assert tuple(schedule.objective[:3]) < tuple(schedule.list_objective[:3])
    assert (schedule.objective.weighted_tardiness < schedule.list_objective.weighted_tardiness
            or schedule.objective.setup_minutes < schedule.list_objective.setup_minutes)
    assert stages[0] == "list" and len(stages) > 1
    assert 0 <= schedule.bound <= schedule.objective.weighted_tardiness
    assert [phase.name for phase in schedule.phases] == ["weighted_tardiness", "setup_minutes", "flow_time"]


def test_a_frozen_window_keeps_its_operations_where_they_are_in_the_search():
    """The list scheduler's operations that start in the first eight hours are the current schedule there: they
    keep their start and machine, and the rest is searched around them."""
    plain = scaled_factory(300, seed=8, weeks=1)
    current = {p.operation: p for p in list_schedule(plain)}
    frozen_minutes = 8 * 60
    operations = tuple(
        Operation(op.id, op.order, op.sequence, op.work_centre, op.minutes, op.family, op.release,
                  given_start=current[op.id].start, given_machine=current[op.id].machine)
        if current[op.id].start < frozen_minutes else op for op in plain.operations)
    problem = Problem(plain.work_centres, plain.orders, operations, now=0, frozen_minutes=frozen_minutes)
    frozen = [op.id for op in operations if op.given_start is not None]
    assert len(problem.operations) - len(frozen) > LARGE_OPERATIONS and frozen
    schedule = solve(problem, seconds=4, workers=2)
    assert check_schedule(problem, schedule.placements) == []
    placed = {p.operation: p for p in schedule.placements}
    assert all((placed[o].start, placed[o].machine) == (current[o].start, current[o].machine) for o in frozen)
    assert tuple(schedule.objective[:3]) <= tuple(schedule.list_objective[:3])


def test_forward_keeps_every_machine_sequence_and_moves_nothing_later():
    """`forward` (how a window's answer becomes a schedule) on the list scheduler's schedule: the sequences stay
    (so do the setups), nothing moves later, the schedule is valid."""
    problem = scaled_factory(300, seed=9, weeks=1)
    index = _Index(problem)
    first = {p.operation: p for p in list_schedule(problem)}
    redone = forward(index, first)
    assert redone is not None and check_schedule(problem, list(redone.values())) == []
    assert all(redone[o].start <= first[o].start for o in first)
    setups = evaluate(problem, list(first.values())).setup_minutes
    assert evaluate(problem, list(redone.values())).setup_minutes == setups


def test_cp_sat_windows_alone_improve_the_list_schedule_and_make_no_order_later():
    """The windows stage by itself from the list scheduler's schedule, three seconds: each window's answer is made
    a schedule by `forward`; the result is valid, better, and no order completes later than its due date or the
    list schedule's completion (the latest ends of the backward pass hold)."""
    problem = scaled_factory(300, seed=10, weeks=1)
    index = _Index(problem)
    first = {p.operation: p for p in list_schedule(problem)}
    latest_start, latest_end = latest_times(index, first, sequences_of(index, first))
    assert all(first[o].start <= latest_start[o] and first[o].end <= latest_end[o] for o in first)
    best = _Best(index, dict(first), time.perf_counter(), None)
    _windows(index, best, time.perf_counter() + 3, 2, random.Random(1))
    assert best.improvements["windows"] > 0
    assert check_schedule(problem, list(best.placed.values())) == []
    assert tuple(best.objective[:3]) < tuple(evaluate(problem, list(first.values()))[:3])

    def completions(placed):
        done = {}
        for p in placed.values():
            order = index.operations[p.operation].order
            done[order] = max(done.get(order, p.end), p.end)
        return done

    before, after = completions(first), completions(best.placed)
    assert all(after[o.id] <= max(o.due, before[o.id]) for o in problem.orders)
