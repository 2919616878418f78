"""A schedule checked against the rules of `scheduling.py`'s docstring by code of its own (it shares the data
types, not one constraint or calendar helper with the model): every operation placed once on a machine of its
work centre; started and ended in open time with exactly its working minutes open between; never more operations
than machines at once, nor two on one machine; the setup's open minutes between consecutive operations of a
machine; precedence along each order and across BOM levels; release dates and now; frozen operations where they
were; never more operations of a crew's work centres running (start to end in real time) than it has operators,
unless the frozen ones alone already are more. Returns the violations, empty when the schedule is valid."""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from server.planning.scheduling import Crew, Placement, Problem


class Violation(NamedTuple):
    code: str  # unplaced, unknown_operation, placed_twice, wrong_work_centre, no_such_machine, closed_time,
    # wrong_duration, overlap, over_capacity, setup, precedence, feeds, release, before_now, frozen_moved, crew
    operation: str
    detail: str


def _open_minutes(open_time: Sequence[tuple[int, int]] | None, start: int, end: int) -> int:
    if open_time is None:
        return max(0, end - start)
    return sum(max(0, min(end, b) - max(start, a)) for a, b in open_time)


def _is_open_at(open_time: Sequence[tuple[int, int]] | None, minute: int) -> bool:
    """Whether the minute [minute, minute + 1) is open."""
    return open_time is None or any(a <= minute < b for a, b in open_time)


def check_schedule(problem: Problem, placements: Sequence[Placement]) -> list[Violation]:
    violations: list[Violation] = []

    def say(code: str, operation: str, detail: str) -> None:
        violations.append(Violation(code, operation, detail))

    operations = {op.id: op for op in problem.operations}
    centres = {c.code: c for c in problem.work_centres}
    at: dict[str, Placement] = {}
    for p in placements:
        if p.operation not in operations:
            say("unknown_operation", p.operation, "not an operation of the problem")
        elif p.operation in at:
            say("placed_twice", p.operation, f"at {at[p.operation].start} and {p.start}")
        else:
            at[p.operation] = p
    for op in problem.operations:
        if op.id not in at:
            say("unplaced", op.id, "not in the schedule")

    for op_id, p in at.items():
        op = operations[op_id]
        centre = centres[op.work_centre]
        if p.work_centre != op.work_centre:
            say("wrong_work_centre", op_id, f"on {p.work_centre}, its routing says {op.work_centre}")
            continue
        if not 0 <= p.machine < centre.machines:
            say("no_such_machine", op_id, f"machine {p.machine} of {centre.machines}")
        calendar = centre.open_time
        if op.minutes > 0 and not (_is_open_at(calendar, p.start) and _is_open_at(calendar, p.end - 1)):
            say("closed_time", op_id, f"starts at {p.start} or ends at {p.end} outside open time")
        worked = _open_minutes(calendar, p.start, p.end)
        if worked != op.minutes:
            say("wrong_duration", op_id, f"{worked} open minutes from {p.start} to {p.end}, needs {op.minutes}")
        frozen = op.started or (op.given_start is not None and op.given_start < problem.now + problem.frozen_minutes)
        if frozen:  # where it is (or was started): its material and the clock are no longer the question
            if (p.start, p.machine) != (op.given_start, op.given_machine):
                say("frozen_moved", op_id, f"at {p.start} on machine {p.machine}, frozen at {op.given_start} on "
                                           f"machine {op.given_machine}")
            continue
        if p.start < op.release:
            say("release", op_id, f"starts at {p.start}, its material is there at {op.release}")
        if p.start < problem.now:
            say("before_now", op_id, f"starts at {p.start}, now is {problem.now}")

    on_machine: dict[tuple[str, int], list[Placement]] = defaultdict(list)
    on_centre: dict[str, list[Placement]] = defaultdict(list)
    for op_id, p in at.items():
        if p.work_centre == operations[op_id].work_centre:
            on_machine[(p.work_centre, p.machine)].append(p)
            on_centre[p.work_centre].append(p)
    for (code, machine), placed in on_machine.items():
        placed.sort(key=lambda p: (p.start, p.end))
        centre = centres[code]
        for a, b in pairwise(placed):
            if b.start < a.end:
                say("overlap", b.operation, f"starts at {b.start} on {code} machine {machine} before "
                                            f"{a.operation} ends at {a.end}")
                continue
            need = centre.setup_minutes.get((operations[a.operation].family, operations[b.operation].family), 0)
            room = _open_minutes(centre.open_time, a.end, b.start)
            if room < need:
                say("setup", b.operation, f"{room} open minutes after {a.operation} on {code} machine {machine}, "
                                          f"the setup needs {need}")
    for code, placed in on_centre.items():
        events = sorted([(p.start, 1) for p in placed] + [(p.end, -1) for p in placed], key=lambda e: (e[0], e[1]))
        running = 0
        for minute, change in events:
            running += change
            if running > centres[code].machines:
                say("over_capacity", code, f"{running} operations at minute {minute} on {centres[code].machines} "
                                           f"machines")
                break

    for crew in problem.crews:
        clash = _crew_clash(problem, crew, at)
        if clash:
            say("crew", crew.code, clash)

    by_order: dict[str, list] = defaultdict(list)
    for op in problem.operations:
        by_order[op.order].append(op)
    for ops in by_order.values():
        ops.sort(key=lambda op: (op.sequence, op.id))
        for before, after in pairwise(ops):
            if before.id in at and after.id in at and at[after.id].start < at[before.id].end:
                say("precedence", after.id, f"starts at {at[after.id].start} before {before.id} ends at "
                                            f"{at[before.id].end}")
    for order in problem.orders:
        ends = [at[op.id].end for op in by_order[order.id] if op.id in at]
        for parent in order.feeds:
            starts = [at[op.id].start for op in by_order[parent] if op.id in at]
            if ends and starts and min(starts) < max(ends):
                say("feeds", parent, f"order {parent} starts at {min(starts)} before order {order.id}, which "
                                     f"feeds it, ends at {max(ends)}")
    return violations


def _crew_clash(problem: Problem, crew: Crew, at: dict[str, Placement]) -> str:
    """The first moment more operations of the crew's centres run than it has operators then ('' when none): each
    holds one from its start to its end; the frozen ones count, and may alone be more than there are (they were
    placed before the crew shrank, or have started), but then nothing else may run beside them."""
    members = set(crew.work_centres)
    frozen_until = problem.now + problem.frozen_minutes
    spans: dict[bool, list[Placement]] = {True: [], False: []}
    for op in problem.operations:
        p = at.get(op.id)
        if p is not None and op.work_centre in members and p.end > p.start:
            kept = op.started or (op.given_start is not None and op.given_start < frozen_until)
            spans[kept].append(p)
    if not spans[False]:
        return ""
    cap_starts = [a for a, _, _ in crew.capacity]

    starts = {kept: sorted(p.start for p in placed) for kept, placed in spans.items()}
    ends = {kept: sorted(p.end for p in placed) for kept, placed in spans.items()}

    def running(kept: bool, minute: int) -> int:
        return bisect_right(starts[kept], minute) - bisect_right(ends[kept], minute)

    for minute in sorted({p.start for p in spans[False]} | {p.start for p in spans[True]} | set(cap_starts)):
        k = bisect_right(cap_starts, minute) - 1
        if k < 0 or minute >= crew.capacity[k][1]:
            continue  # no limit outside the crew's capacity
        operators = crew.capacity[k][2]
        free, kept = running(False, minute), running(True, minute)
        if free and free + kept > max(operators, kept):
            return f"{free + kept} operations of {', '.join(sorted(members))} at minute {minute}, {operators} operators"
    return ""
