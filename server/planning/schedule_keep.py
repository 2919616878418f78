"""What a new schedule keeps of the accepted one, as a pure function over the engine's problem: each operation's
place in the accepted schedule becomes its `given_start` and `given_machine`, and the engine's frozen window
(`Problem.frozen_minutes` after now) keeps in place those that start inside it. The rules, in order:

- **Started operations never move back in time.** An operation reported in progress is `started`: it runs what is
  left of it from the first open minute at or after now on its work centre (after a downtime, which is closed time),
  on the machine the accepted schedule gave it, after the started operations before it on that machine and after its
  started predecessors. A started operation's predecessors that are not complete are treated as started too (an
  operator reported the later step, so the earlier one is under way): the engine keeps frozen work only after frozen
  work.
- **An operation of the accepted schedule keeps its place** when it starts at or after now, at an open minute of its
  work centre (a holiday added or a downtime since may have closed it), after the kept ends of its predecessors and
  clear of the kept operations on its machine. Inside the frozen window it stays there; beyond it the place is the
  engine's starting point and what `moved` is counted against.
- **Otherwise it is free**: an operation whose accepted start has passed without a start being reported, or that lost
  its place for one of the reasons above, is scheduled anew, and so is everything after it (a frozen operation after
  a free one would be a contradiction). Each such operation inside the window is reported as a `Lost` place.

Pins (the planner's) are applied after, to free operations only: a pin to a time is a release date (the operation
starts then or, when its predecessors or its machine are not free, as soon after as they are), a pin to a work
centre moves it there."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import NamedTuple

from server.planning.scheduling import OpenTime, Operation, Problem


class Place(NamedTuple):
    work_centre: str
    machine: int
    start: int  # minutes on the new problem's axis


class Lost(NamedTuple):
    operation: str
    reason: str  # passed | closed_time | after_free | overlap | moved_centre


def predecessors(problem: Problem) -> dict[str, list[str]]:
    """Each operation's predecessors: the one before it in its order, and for an order's first operation the last
    operations of the orders that feed it."""
    by_order: dict[str, list[Operation]] = defaultdict(list)
    for op in problem.operations:
        by_order[op.order].append(op)
    for ops in by_order.values():
        ops.sort(key=lambda op: op.sequence)
    before: dict[str, list[str]] = {op.id: [] for op in problem.operations}
    for ops in by_order.values():
        for a, b in zip(ops, ops[1:]):
            before[b.id].append(a.id)
    for order in problem.orders:
        for parent in order.feeds:
            if by_order.get(parent) and by_order.get(order.id):
                before[by_order[parent][0].id].append(by_order[order.id][-1].id)
    return before


def _topological(problem: Problem, before: Mapping[str, list[str]]) -> list[str]:
    done: set[str] = set()
    ordered: list[str] = []
    for op in problem.operations:
        stack = [(op.id, False)]
        while stack:
            node, expanded = stack.pop()
            if node in done:
                continue
            if expanded:
                done.add(node)
                ordered.append(node)
                continue
            stack.append((node, True))
            stack += [(p, False) for p in before[node] if p not in done]
    return ordered


def keep_places(problem: Problem, places: Mapping[str, Place], started: set[str]) -> tuple[Problem, list[Lost]]:
    """The problem with the accepted places as given starts (see the module's docstring) and the places lost."""
    before = predecessors(problem)
    operations = {op.id: op for op in problem.operations}
    centres = {centre.code: centre for centre in problem.work_centres}
    opened = {code: OpenTime(centre.open_time) for code, centre in centres.items()}
    started = set(started)
    for op_id in _topological(problem, before)[::-1]:  # a started operation's predecessors are under way too
        if op_id in started:
            started.update(before[op_id])
    window_end = problem.now + problem.frozen_minutes
    ends: dict[str, int] = {}  # kept operations' ends
    machine_free: dict[tuple[str, int], int] = defaultdict(int)
    busy: dict[tuple[str, int], list[tuple[int, int]]] = defaultdict(list)
    lost: list[Lost] = []
    changed: dict[str, Operation] = {}

    def end_of(op: Operation, start: int) -> int:
        clock = opened[op.work_centre]
        return clock.end_of(clock.open_before(start) + op.minutes) or start + op.minutes

    for op_id in _topological(problem, before):
        op = operations[op_id]
        place = places.get(op_id)
        clock = opened[op.work_centre]
        kept_before = all(p in ends for p in before[op_id])
        if op_id in started:
            machine = place.machine if place and place.work_centre == op.work_centre else 0
            machine = min(machine, centres[op.work_centre].machines - 1)
            earliest = max([problem.now, machine_free[(op.work_centre, machine)]] + [ends[p] for p in before[op_id]])
            start = clock.start_of(clock.open_before(earliest))
            if start is None:
                continue  # past the calendar: the engine says so
            ends[op_id] = end_of(op, start)
            machine_free[(op.work_centre, machine)] = ends[op_id]
            busy[(op.work_centre, machine)].append((start, ends[op_id]))
            changed[op_id] = replace(op, started=True, given_start=start, given_machine=machine)
            continue
        if place is None:
            continue
        reason = None
        if place.work_centre != op.work_centre:
            reason = "moved_centre"
        elif place.start < problem.now:
            reason = "passed"
        elif clock.start_of(clock.open_before(place.start)) != place.start or place.machine >= centres[op.work_centre].machines:
            reason = "closed_time"
        elif place.start < window_end and (not kept_before or any(ends[p] > place.start for p in before[op_id])):
            reason = "after_free"
        elif place.start < window_end:
            end = end_of(op, place.start)
            if any(a < end and place.start < b for a, b in busy[(op.work_centre, place.machine)]):
                reason = "overlap"
        if reason is not None:
            if place.start < window_end:
                lost.append(Lost(op_id, reason))
            continue
        end = end_of(op, place.start)
        if place.start < window_end:  # kept: what comes after it may be kept too
            ends[op_id] = end
            busy[(op.work_centre, place.machine)].append((place.start, end))
        changed[op_id] = replace(op, given_start=place.start, given_machine=place.machine)
    return replace(problem, operations=[changed.get(op.id, op) for op in problem.operations]), lost


class Pin(NamedTuple):
    operation: str
    not_before: int | None  # minutes on the problem's axis
    work_centre: str | None


def apply_pins(problem: Problem, pins: Sequence[Pin], minutes_at: Mapping[str, int] | None = None) -> Problem:
    """Pins on free operations (see the module's docstring); `minutes_at` gives a pinned operation's working minutes
    on the work centre it is moved to. The caller has checked that each pin names a free operation."""
    by_operation = {pin.operation: pin for pin in pins}
    operations = []
    for op in problem.operations:
        pin = by_operation.get(op.id)
        if pin is not None:
            if pin.work_centre and pin.work_centre != op.work_centre:
                op = replace(op, work_centre=pin.work_centre, given_start=None, given_machine=0,
                             minutes=(minutes_at or {}).get(op.id, op.minutes))
            if pin.not_before is not None:
                op = replace(op, release=max(op.release, pin.not_before), given_start=None, given_machine=0)
        operations.append(op)
    return replace(problem, operations=operations)
