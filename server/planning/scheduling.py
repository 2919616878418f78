"""Finite-capacity scheduling as a pure function over plain data: the operations of production orders on work
centres with calendars, machines and sequence-dependent setups, solved with OR-Tools CP-SAT, and the
earliest-due-date list scheduler that gives its first feasible schedule and the fallback it never does worse than.

Time is whole minutes on one axis (the caller picks the origin, e.g. minutes since Monday 00:00 of this week);
`Problem.now` is the present. The rules, which `schedule_check.py` checks independently:

- **Machines.** A work centre of `machines` = N is N identical machines; each operation runs on one of them, whole
  (N machines, not a cumulative of N, because setups are per machine: a cumulative has no "next job on this
  machine"). Machines are numbered 0..N-1.
- **Calendar: an operation runs only in open time and may pause across closed time.** A work centre's calendar is
  its open time, sorted disjoint half-open intervals [start, end) (None: always open), shared by its machines. An
  operation starts in open time, ends at the end of an open minute, and the open minutes between its start and its
  end are exactly its working minutes: a 600-minute job started Friday 10:00 in an 08:00-16:00 week runs 360
  minutes on Friday, pauses over the weekend and ends Monday 12:00. It holds its machine through the closed time
  it straddles (nothing else can run there then anyway). Setups also take open minutes. The model works in each
  centre's "open-minute" axis (open minutes since the calendar's first interval), where capacity and setups are
  plain no-overlap, and links it to real time, where precedence, release dates and due dates live, through the
  open interval each operation starts and ends in.
- **Precedence**: along each order's routing (by `sequence`) an operation starts after the one before it ends;
  across BOM levels the last operation of an order ends before the first one of every order it `feeds` starts.
- **Release**: an operation that is not frozen starts neither before `release` (its material is there then) nor
  before now.
- **Setups** by item family per work centre: from family A to B costs `setup_minutes[(A, B)]` open minutes on the
  machine between the two operations (missing pairs cost nothing; the first operation on a machine needs none).
- **Crews**: work centres may share a crew of operators (`Problem.crews`: its member centres and its operators
  over time as sorted disjoint [start, end) intervals). An operation at a member centre holds one operator of the
  crew for its whole span in real time, from its start to its end, the closed time it pauses over included (it
  resumes with an operator of the next shift; nothing tells which, so one is held), and at no moment do more
  operations of a crew run than it has operators then. Setups hold none (a setter's work, not the crew's). A minute
  outside every interval of the crew is not limited: no member is open then, so what runs is paused work, all of
  it running at the last minute of the shift before, where it was counted. Frozen operations hold their operators
  too and may alone be more than the crew has (they started, or were placed, before the crew shrank): then
  nothing else of the crew runs beside them. The list scheduler takes, on each machine, the earliest gap in which
  an operator is free throughout, moving on to the next moment one frees or the capacity rises (`CrewLoad`); the
  model has a cumulative per crew over the real spans of its free operations, capacity that many, with fixed
  intervals blocking what the crew lacks piece by piece (`available_operators`: its operators less what frozen
  operations hold).
- **Frozen window**: an operation that has started, or whose given (current) start is before now +
  `frozen_minutes`, keeps its given start and machine. A frozen operation's predecessors must be frozen too (a
  current schedule that is valid has them so); started operations therefore never move at all.
- **Objective, lexicographic**: total weighted tardiness of the orders (completion = end of the last operation),
  then total setup minutes, then flow time (sum of the orders' completions after now). Solved in three phases
  that each keep the previous optimum as a constraint (weights big enough for one sum overflow 64 bits with
  real horizons). `objective="makespan"` (the job shop of `floorsync jobshop`) minimises the last end instead.

The list scheduler's schedule is the solver's complete hint, and `scheduler.solve` (server/planning/scheduler.py, the
entry point) returns it when the solver has nothing better, so the result is never worse than the earliest-due-date
rule's.

One model of the whole problem stops scaling at about a hundred operations (2,000 take ~13 s to build, ~400k
variables, and CP-SAT finds nothing in 30 s). With more than `LARGE_OPERATIONS` operations to schedule and the
tardiness objective, `scheduler.solve` searches from the list scheduler's schedule instead (`schedule_search.py`):
batched and re-prioritised list schedules, then CP-SAT on one work centre's stretch at a time. The objective and its order
are the same, compared on whole schedules; nothing is proven, and the bound is that of infinite capacity."""

from __future__ import annotations

import heapq
import math
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import NamedTuple, TypeVar


class SchedulingError(ValueError):
    """Data the engine cannot schedule (an unknown work centre, a cycle of orders, a calendar too short): `code`
    and its values."""

    def __init__(self, code: str, **values: object):
        super().__init__(f"{code}: {values}")
        self.code = code
        self.values = values


@dataclass(frozen=True)
class WorkCentre:
    code: str
    machines: int = 1
    open_time: tuple[tuple[int, int], ...] | None = None  # [start, end) minutes; None: always open
    setup_minutes: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (from family, to family) -> min


@dataclass(frozen=True)
class Order:
    id: str
    due: int
    weight: int = 1  # from the customer's grade and the order's priority
    feeds: tuple[str, ...] = ()  # the orders this one's output is a component of (the next BOM level up)


@dataclass(frozen=True)
class Operation:
    id: str
    order: str
    sequence: int
    work_centre: str
    minutes: int  # working minutes on one machine: operation_minutes()
    family: str = ""
    release: int = 0  # earliest start: its material is there
    given_start: int | None = None  # in the current schedule
    given_machine: int = 0
    started: bool = False


@dataclass(frozen=True)
class Crew:
    """Operators shared by `work_centres`: `capacity` is how many there are, as sorted disjoint [start, end)
    intervals with their number of operators; a minute in none of them is not limited (no member works then)."""

    code: str
    work_centres: tuple[str, ...]
    capacity: tuple[tuple[int, int, int], ...] = ()  # (start, end, operators)


@dataclass(frozen=True)
class Problem:
    work_centres: Sequence[WorkCentre]
    orders: Sequence[Order]
    operations: Sequence[Operation]
    now: int = 0
    frozen_minutes: int = 0
    objective: str = "tardiness"  # or "makespan"
    crews: Sequence[Crew] = ()


class Placement(NamedTuple):
    operation: str
    work_centre: str
    machine: int
    start: int
    end: int


class Objective(NamedTuple):
    """Compared as a tuple: tardiness first, then setups, then flow time (makespan is reported alongside)."""

    weighted_tardiness: int
    setup_minutes: int
    flow_time: int
    makespan: int


class Phase(NamedTuple):
    name: str
    status: str
    value: int
    bound: int
    seconds: float


@dataclass(frozen=True)
class Schedule:
    placements: tuple[Placement, ...]
    objective: Objective
    status: str  # optimal (proven), feasible (the solver's best in the time limit), list (the list scheduler's)
    bound: int  # the best bound on the first objective (weighted tardiness, or makespan)
    gap: float  # (value - bound) / value of the first objective; 0 when proven
    seconds: float
    phases: tuple[Phase, ...] = ()
    list_objective: Objective | None = None


def operation_minutes(setup_minutes: float, run_minutes_per_unit: float, quantity: float,
                      efficiency_pct: float = 100) -> int:
    """An operation's working minutes from the routing copied onto the order: (setup + run x quantity) divided by
    the work centre's efficiency, rounded up to a whole minute, at least one."""
    minutes = (setup_minutes + run_minutes_per_unit * quantity) * 100 / efficiency_pct
    return max(1, math.ceil(minutes - 1e-9))


def without_centre(problem: Problem, centre: str) -> tuple[Problem, list[str]]:
    """The problem without the orders that have an operation on `centre`, nor those linked to them by feeding
    (either way), nor the centre; and the orders left out."""
    links: dict[str, set[str]] = defaultdict(set)
    for order in problem.orders:
        for parent in order.feeds:
            links[order.id].add(parent)
            links[parent].add(order.id)
    dropped = {op.order for op in problem.operations if op.work_centre == centre}
    waiting = list(dropped)
    while waiting:
        for linked in links[waiting.pop()] - dropped:
            dropped.add(linked)
            waiting.append(linked)
    return replace(
        problem, work_centres=[c for c in problem.work_centres if c.code != centre],
        orders=[o for o in problem.orders if o.id not in dropped],
        operations=[op for op in problem.operations if op.order not in dropped],
        crews=[replace(crew, work_centres=tuple(c for c in crew.work_centres if c != centre)) for crew in problem.crews],
    ), sorted(dropped)


T = TypeVar("T")


def schedulable(problem: Problem, attempt: Callable[[Problem], T]) -> tuple[Problem, T, list[tuple[str, str, str]]]:
    """The problem without what the engine cannot schedule at all: while `attempt` (a schedule of it) fails on a
    work centre (its calendar too short for the work, no machine, an unsorted calendar), that centre's orders are
    left out with what they feed and what feeds them (`without_centre`). Returns the problem, what `attempt` made
    of it, and each order left out as (order, work centre, the error's code); an error that names no work centre
    is raised."""
    left_out: list[tuple[str, str, str]] = []
    while True:
        try:
            return problem, attempt(problem), left_out
        except SchedulingError as error:
            centre = error.values.get("work_centre")
            if centre is None or not any(c.code == centre for c in problem.work_centres):
                raise
            problem, dropped = without_centre(problem, str(centre))
            left_out += [(order, str(centre), error.code) for order in dropped]


def is_frozen(problem: Problem, operation: Operation) -> bool:
    return operation.started or (operation.given_start is not None
                                 and operation.given_start < problem.now + problem.frozen_minutes)


class OpenTime:
    """A calendar's open intervals with the open minutes before each: real minutes <-> open minutes."""

    def __init__(self, intervals: tuple[tuple[int, int], ...] | None):
        self.always = intervals is None
        self.starts = [a for a, _ in intervals or ()]
        self.ends = [b for _, b in intervals or ()]
        self.before: list[int] = []  # open minutes before each interval
        total = 0
        for a, b in intervals or ():
            self.before.append(total)
            total += b - a
        self.total = total

    def open_before(self, t: int) -> int:
        """Open minutes before real minute t (from the calendar's first interval)."""
        if self.always:
            return t
        k = bisect_right(self.starts, t) - 1
        if k < 0:
            return 0
        return self.before[k] + min(t, self.ends[k]) - self.starts[k]

    def start_of(self, w: int) -> int | None:
        """The real minute at which open minute w begins (None: past the calendar)."""
        if self.always:
            return w
        k = bisect_right(self.before, w) - 1
        while k >= 0 and k < len(self.starts) and w - self.before[k] >= self.ends[k] - self.starts[k]:
            k += 1  # w is the end of interval k: it begins in the next one
        if k < 0 or k >= len(self.starts):
            return None
        return self.starts[k] + w - self.before[k]

    def end_of(self, w: int) -> int | None:
        """The real minute at which the first w open minutes are done (None: past the calendar)."""
        if self.always:
            return w
        if w > self.total or not self.starts:
            return None
        k = bisect_right(self.before, w - 1) - 1 if w > 0 else 0
        return self.starts[k] + w - self.before[k]


class _Index:
    """The problem checked and cross-referenced once: operations by order and centre, predecessors, frozen set."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.centres = {c.code: c for c in problem.work_centres}
        self.orders = {o.id: o for o in problem.orders}
        self.operations = {op.id: op for op in problem.operations}
        if len(self.centres) != len(problem.work_centres):
            raise SchedulingError("duplicate_work_centre")
        if len(self.orders) != len(problem.orders):
            raise SchedulingError("duplicate_order")
        if len(self.operations) != len(problem.operations):
            raise SchedulingError("duplicate_operation")
        if problem.objective not in ("tardiness", "makespan"):
            raise SchedulingError("unknown_objective", objective=problem.objective)
        self.open = {}
        for centre in problem.work_centres:
            if centre.machines < 1:
                raise SchedulingError("no_machines", work_centre=centre.code)
            intervals = centre.open_time
            if intervals is not None and (any(a >= b for a, b in intervals) or any(
                    left[1] > right[0] for left, right in pairwise(intervals))):
                raise SchedulingError("calendar_not_sorted", work_centre=centre.code)
            self.open[centre.code] = OpenTime(_merged(intervals) if intervals is not None else None)
        self.crew_of: dict[str, Crew] = {}  # work centre -> the crew its operations hold an operator of
        for crew in problem.crews:
            if any(a >= b or n < 0 for a, b, n in crew.capacity) or any(
                    left[1] > right[0] for left, right in pairwise(crew.capacity)):
                raise SchedulingError("crew_not_sorted", crew=crew.code)
            for code in crew.work_centres:
                if code not in self.centres:
                    raise SchedulingError("unknown_work_centre", crew=crew.code, work_centre=code)
                if code in self.crew_of:
                    raise SchedulingError("work_centre_in_two_crews", work_centre=code)
                self.crew_of[code] = crew
        self.by_order: dict[str, list[Operation]] = defaultdict(list)
        self.by_centre: dict[str, list[Operation]] = defaultdict(list)
        for op in problem.operations:
            if op.order not in self.orders:
                raise SchedulingError("unknown_order", operation=op.id, order=op.order)
            centre = self.centres.get(op.work_centre)
            if centre is None:
                raise SchedulingError("unknown_work_centre", operation=op.id, work_centre=op.work_centre)
            if op.minutes < 0 or op.minutes == 0 and centre.open_time is not None:
                raise SchedulingError("no_minutes", operation=op.id)  # nothing can start and end in one open minute
            if not 0 <= op.given_machine < centre.machines:
                raise SchedulingError("no_such_machine", operation=op.id, machine=op.given_machine)
            self.by_order[op.order].append(op)
            self.by_centre[op.work_centre].append(op)
        for ops in self.by_order.values():
            ops.sort(key=lambda op: (op.sequence, op.id))
        for order in problem.orders:
            if not self.by_order[order.id]:
                raise SchedulingError("order_without_operations", order=order.id)
            for parent in order.feeds:
                if parent not in self.orders:
                    raise SchedulingError("unknown_order", order=parent)
        self.predecessors: dict[str, list[str]] = {op.id: [] for op in problem.operations}
        for ops in self.by_order.values():
            for before, after in pairwise(ops):
                self.predecessors[after.id].append(before.id)
        for order in problem.orders:
            for parent in order.feeds:
                self.predecessors[self.by_order[parent][0].id].append(self.by_order[order.id][-1].id)
        self.successors: dict[str, list[str]] = {op.id: [] for op in problem.operations}
        for op_id, preds in self.predecessors.items():
            for p in preds:
                self.successors[p].append(op_id)
        self.topological = self._topological()
        self.rank = {op_id: position for position, op_id in enumerate(self.topological)}
        self.frozen = {op.id for op in problem.operations if is_frozen(problem, op)}
        for op_id in self.frozen:
            op = self.operations[op_id]
            if op.given_start is None:
                raise SchedulingError("started_without_start", operation=op_id)
            free = [p for p in self.predecessors[op_id] if p not in self.frozen]
            if free:
                raise SchedulingError("frozen_after_free", operation=op_id, predecessor=free[0])
            opened = self.open[op.work_centre]
            if opened.start_of(opened.open_before(op.given_start)) != op.given_start:
                raise SchedulingError("frozen_in_closed_time", operation=op_id)

    def _topological(self) -> list[str]:
        successors: dict[str, list[str]] = defaultdict(list)
        waiting = {op_id: len(preds) for op_id, preds in self.predecessors.items()}
        for op_id, preds in self.predecessors.items():
            for p in preds:
                successors[p].append(op_id)
        ready = [op_id for op_id, n in waiting.items() if n == 0]
        order = []
        while ready:
            op_id = ready.pop()
            order.append(op_id)
            for s in successors[op_id]:
                waiting[s] -= 1
                if waiting[s] == 0:
                    ready.append(s)
        if len(order) != len(waiting):
            raise SchedulingError("order_cycle", orders=sorted({self.operations[o].order for o, n in waiting.items()
                                                                if n > 0}))
        return order

    def setup(self, centre: str, after: Operation, before: Operation) -> int:
        return self.centres[centre].setup_minutes.get((after.family, before.family), 0)


def _merged(intervals: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    """Touching intervals (a shift ending at 14:00 and the next starting then) as one: an operation runs on."""
    merged: list[list[int]] = []
    for a, b in intervals:
        if merged and merged[-1][1] == a:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return tuple((a, b) for a, b in merged)


def evaluate(problem: Problem, placements: Sequence[Placement]) -> Objective:
    """The objective of a schedule, from its placements alone."""
    operations = {op.id: op for op in problem.operations}
    centres = {c.code: c for c in problem.work_centres}
    completion: dict[str, int] = {}
    by_machine: dict[tuple[str, int], list[Placement]] = defaultdict(list)
    for p in placements:
        order = operations[p.operation].order
        completion[order] = max(completion.get(order, p.end), p.end)
        by_machine[(p.work_centre, p.machine)].append(p)
    setups = 0
    for (centre, _), placed in by_machine.items():
        placed.sort(key=lambda p: (p.start, p.end))
        matrix = centres[centre].setup_minutes
        for a, b in pairwise(placed):
            setups += matrix.get((operations[a.operation].family, operations[b.operation].family), 0)
    tardiness = sum(o.weight * max(0, completion[o.id] - o.due) for o in problem.orders if o.id in completion)
    flow = sum(c - problem.now for c in completion.values())
    return Objective(tardiness, setups, flow, max(completion.values(), default=problem.now))


def _effective_dues(index: _Index, shift: Mapping[str, int] | None = None) -> dict[str, int]:
    """An order's due date, or earlier when an order it feeds needs it sooner (that order's due less its work);
    `shift` moves some orders' due dates (and so those of what feeds them) for the priority search."""
    dues: dict[str, int] = {}

    def due(order_id: str) -> int:
        if order_id not in dues:
            order = index.orders[order_id]
            own = order.due + (shift.get(order_id, 0) if shift else 0)
            dues[order_id] = min([own] + [due(p) - sum(op.minutes for op in index.by_order[p])
                                          for p in order.feeds])
        return dues[order_id]

    for order_id in index.orders:
        due(order_id)
    return dues


class CrewLoad:
    """The operations holding operators of one crew, as real-time spans, against its capacity: where a new span
    fits (`conflict`) and taking one (`hold`). The spans are kept sorted by start with the longest one's length, so
    a look-up reads only the spans that can reach into the one asked about."""

    def __init__(self, crew: Crew):
        self.cap_starts = [a for a, _, _ in crew.capacity]
        self.cap_ends = [b for _, b, _ in crew.capacity]
        self.cap_operators = [n for _, _, n in crew.capacity]
        self.starts: list[int] = []
        self.ends: list[int] = []  # of the span starting at starts[k]
        self.longest = 0

    def capacity_at(self, t: int) -> int | None:
        k = bisect_right(self.cap_starts, t) - 1
        return self.cap_operators[k] if k >= 0 and t < self.cap_ends[k] else None

    def conflict(self, start: int, end: int) -> int | None:
        """None when one more operation fits from `start` to `end` (at no moment more spans than operators), else
        the first moment after the earliest clash at which an operator frees or the capacity rises: no start
        between `start` and that moment fits either (a later start ends later, and the clash lasts till then)."""
        if end <= start:
            return None
        low = bisect_right(self.starts, start - self.longest)
        high = bisect_right(self.starts, end - 1)
        spans = [(self.starts[k], self.ends[k]) for k in range(low, high) if self.ends[k] > start]
        first_cap = bisect_right(self.cap_starts, start)
        points = sorted({start, *(a for a, _ in spans if a > start),
                         *self.cap_starts[first_cap:bisect_right(self.cap_starts, end - 1)]})
        for t in points:
            operators = self.capacity_at(t)
            if operators is None:
                continue
            holding = [b for a, b in spans if a <= t < b]
            if len(holding) + 1 > operators:
                return min([self.cap_ends[bisect_right(self.cap_starts, t) - 1]] + holding)
        return None

    def hold(self, start: int, end: int) -> None:
        if end <= start:
            return
        k = bisect_right(self.starts, start)
        self.starts.insert(k, start)
        self.ends.insert(k, end)
        self.longest = max(self.longest, end - start)


def crew_loads(index: _Index, placed: Mapping[str, Placement]) -> dict[str, CrewLoad]:
    """Each crew's load with the `placed` operations of its centres holding their operators (frozen ones, say)."""
    loads = {crew.code: CrewLoad(crew) for crew in index.problem.crews}
    for p in placed.values():
        crew = index.crew_of.get(p.work_centre)
        if crew is not None:
            loads[crew.code].hold(p.start, p.end)
    return loads


def holds_crews(index: _Index, placed: Mapping[str, Placement]) -> bool:
    """Whether no crew ever has more operations running than operators (beside what its frozen ones hold): each
    free operation, in the order of their starts, fits beside those before it."""
    if not index.crew_of:
        return True
    loads = crew_loads(index, {o: placed[o] for o in index.frozen})
    for p in sorted((p for o, p in placed.items() if o not in index.frozen and p.work_centre in index.crew_of),
                    key=lambda p: p.start):
        load = loads[index.crew_of[p.work_centre].code]
        if load.conflict(p.start, p.end) is not None:
            return False
        load.hold(p.start, p.end)
    return True


def crew_free_from(load: CrewLoad, opened: OpenTime, w: int, minutes: int) -> int | None:
    """The first open minute from `w` at which `minutes` working minutes find an operator of the crew free
    throughout their real span (None: past the calendar)."""
    while True:
        start, end = opened.start_of(w), opened.end_of(w + minutes)
        if start is None or end is None:
            return None
        retry = load.conflict(start, end)
        if retry is None:
            return w
        w = max(w + 1, opened.open_before(retry))


def available_operators(crew: Crew, frozen: Sequence[Placement]) -> list[tuple[int, int, int]]:
    """The crew's capacity less the operators its `frozen` operations hold, piece by piece ([start, end, left),
    never below 0); minutes outside its capacity are not limited and not listed."""
    cuts = sorted({t for a, b, _ in crew.capacity for t in (a, b)} | {t for p in frozen for t in (p.start, p.end)})
    load = CrewLoad(crew)
    pieces: list[tuple[int, int, int]] = []
    for a, b in pairwise(cuts):
        operators = load.capacity_at(a)
        if operators is None:
            continue
        left = max(0, operators - sum(1 for p in frozen if p.start <= a < p.end))
        if pieces and pieces[-1][1] == a and pieces[-1][2] == left:
            pieces[-1] = (pieces[-1][0], b, left)
        else:
            pieces.append((a, b, left))
    return pieces


class _Slot(NamedTuple):
    open_start: int
    open_end: int
    operation: Operation


def list_schedule(problem: Problem) -> tuple[Placement, ...]:
    """Earliest due date first, each operation in the earliest gap (after its predecessors, release and now, with
    the setups before and after it) of the machine where it ends soonest. Frozen operations are placed first as
    given."""
    return _list_schedule(_Index(problem))


def _list_schedule(index: _Index, batch_minutes: int = 0, batch_offset: int = 0,
                   shift: Mapping[str, int] | None = None) -> tuple[Placement, ...]:
    """`batch_minutes` > 0: due dates (plus `batch_offset`) rounded down to that many minutes first, and within one
    such stretch the operations of one item family one after another (fewer setups, each order at most that much
    out of turn). `shift`: some orders taken as due that many minutes later (earlier, when negative)."""
    problem = index.problem
    machines: dict[tuple[str, int], list[_Slot]] = defaultdict(list)  # sorted by open_start
    starts: dict[tuple[str, int], list[int]] = defaultdict(list)  # their open_start
    ends: dict[tuple[str, int], list[int]] = defaultdict(list)  # their open_end, sorted too
    placed: dict[str, Placement] = {}
    for op_id in sorted(index.frozen, key=lambda o: index.operations[o].given_start):
        op = index.operations[op_id]
        opened = index.open[op.work_centre]
        w = opened.open_before(op.given_start)
        end = opened.end_of(w + op.minutes)
        if end is None:
            raise SchedulingError("calendar_too_short", work_centre=op.work_centre)
        slots = machines[(op.work_centre, op.given_machine)]
        position = bisect_right(starts[(op.work_centre, op.given_machine)], w)
        slots.insert(position, _Slot(w, w + op.minutes, op))
        ends[(op.work_centre, op.given_machine)].insert(position, w + op.minutes)
        starts[(op.work_centre, op.given_machine)].insert(position, w)
        placed[op_id] = Placement(op_id, op.work_centre, op.given_machine, op.given_start, end)
    dues = _effective_dues(index, shift)
    rank = {op_id: position for position, op_id in enumerate(index.topological)}
    successors: dict[str, list[str]] = defaultdict(list)
    waiting = {}
    for op_id, preds in index.predecessors.items():
        waiting[op_id] = sum(1 for p in preds if p not in placed)
        for p in preds:
            successors[p].append(op_id)

    def key(op_id: str) -> tuple:
        op = index.operations[op_id]
        if batch_minutes:
            return ((dues[op.order] + batch_offset) // batch_minutes, op.family, dues[op.order],
                    -index.orders[op.order].weight, op.order, op.sequence, rank[op_id], op_id)
        return (dues[op.order], -index.orders[op.order].weight, op.order, op.sequence, rank[op_id], op_id)

    ready = [key(op_id) for op_id, n in waiting.items() if n == 0 and op_id not in placed]
    heapq.heapify(ready)
    for op_id in placed:
        for s in successors[op_id]:
            waiting[s] -= 1
            if waiting[s] == 0 and s not in placed:
                heapq.heappush(ready, key(s))
    loads = crew_loads(index, placed)

    def gap(op: Operation, machine: int, w_min: int) -> tuple[int, int, int]:
        """The earliest gap on the machine from open minute `w_min` with the setups before and after: (open
        start, setup before, position among the machine's slots); the end of the sequence always has room."""
        matrix = index.centres[op.work_centre].setup_minutes
        slots = machines[(op.work_centre, machine)]
        slot_starts, slot_ends = starts[(op.work_centre, machine)], ends[(op.work_centre, machine)]
        count = len(slots)
        # the gaps before slots that end by w_min are too early (the slots are sorted and disjoint)
        for position in range(bisect_right(slot_ends, w_min), count + 1):
            if position < count:
                low = slot_ends[position - 1] if position and slot_ends[position - 1] > w_min else w_min
                if low + op.minutes > slot_starts[position]:
                    continue  # too small a gap even before setups
            prev = slots[position - 1] if position else None
            after = slots[position] if position < count else None
            setup = matrix.get((prev.operation.family, op.family), 0) if prev else 0
            w = w_min if prev is None else max(w_min, prev.open_end + setup)
            if after is not None and (w + op.minutes + matrix.get((op.family, after.operation.family), 0)
                                      > after.open_start):
                continue
            return w, setup, position
        raise AssertionError("the end of a machine's sequence always has room")

    while ready:
        op_id = heapq.heappop(ready)[-1]
        op = index.operations[op_id]
        earliest = max([problem.now, op.release] + [placed[p].end for p in index.predecessors[op_id]])
        opened = index.open[op.work_centre]
        w_min = opened.open_before(earliest)
        crew = index.crew_of.get(op.work_centre)
        best = None
        for machine in range(index.centres[op.work_centre].machines):
            w, setup, position = gap(op, machine, w_min)
            while crew is not None:  # a gap where an operator of the crew is free throughout, or the next one
                free = crew_free_from(loads[crew.code], opened, w, op.minutes)
                if free is None or free == w:
                    break
                w, setup, position = gap(op, machine, free)
            else:
                free = w
            if free is None:
                continue
            candidate = (w + op.minutes, setup, machine, position, w)
            if best is None or candidate < best:
                best = candidate
        if best is None:
            raise SchedulingError("calendar_too_short", work_centre=op.work_centre)
        _, _, machine, position, w = best
        start, end = opened.start_of(w), opened.end_of(w + op.minutes)
        if start is None or end is None:
            raise SchedulingError("calendar_too_short", work_centre=op.work_centre)
        machines[(op.work_centre, machine)].insert(position, _Slot(w, w + op.minutes, op))
        ends[(op.work_centre, machine)].insert(position, w + op.minutes)
        starts[(op.work_centre, machine)].insert(position, w)
        placed[op_id] = Placement(op_id, op.work_centre, machine, start, end)
        if crew is not None:
            loads[crew.code].hold(start, end)
        for s in successors[op_id]:
            waiting[s] -= 1
            if waiting[s] == 0:
                heapq.heappush(ready, key(s))
    return tuple(placed[op.id] for op in problem.operations)


def _key(problem: Problem, objective: Objective) -> tuple:
    return (objective.makespan,) if problem.objective == "makespan" else objective[:3]


def _gap(value: int, bound: int) -> float:
    return 0.0 if value <= bound else round((value - bound) / max(1, abs(value)), 6)


class _Model:
    """The CP-SAT model of one problem; variables named by operation so a solution reads back as placements."""

    def __init__(self, index: _Index, hint: Sequence[Placement]):
        from ortools.sat.python import cp_model  # the engine's only heavy import, paid when a schedule is made

        self.cp_model = cp_model
        self.index = index
        problem = index.problem
        m = self.model = cp_model.CpModel()
        ops = problem.operations
        hinted = {p.operation: p for p in hint}
        latest_fixed = max([problem.now] + [op.release for op in ops] + [hinted[o].end for o in index.frozen])
        setup_room = sum(max(index.centres[c].setup_minutes.values(), default=0) * len(index.by_centre[c])
                         for c in index.centres)
        horizon = max(latest_fixed + sum(op.minutes for op in ops) + setup_room, max(p.end for p in hint))
        horizon = max([horizon] + [o.total and o.ends[-1] for o in index.open.values() if not o.always])
        self.start, self.end, self.present = {}, {}, {}
        self.open_start, self.open_end = {}, {}
        machine_intervals: dict[tuple[str, int], list] = defaultdict(list)
        centre_intervals: dict[str, list] = defaultdict(list)
        for op in ops:
            centre = index.centres[op.work_centre]
            opened = index.open[op.work_centre]
            placed = hinted[op.id]
            frozen = op.id in index.frozen
            lowest = op.given_start if frozen else max(problem.now, op.release)
            highest = op.given_start if frozen else horizon
            if opened.always:
                s = m.NewIntVar(lowest, highest, f"s_{op.id}")
                e = m.NewIntVar(lowest + op.minutes, highest + op.minutes, f"e_{op.id}")
                ws, we = s, e
            else:
                candidates = [k for k in range(len(opened.starts))
                              if opened.ends[k] > lowest and opened.starts[k] <= highest]
                if not candidates:
                    raise SchedulingError("calendar_too_short", work_centre=op.work_centre)
                start_domain = cp_model.Domain.FromIntervals(
                    [[max(opened.starts[k], lowest), min(opened.ends[k] - 1, highest)] for k in candidates])
                end_domain = cp_model.Domain.FromIntervals(
                    [[opened.starts[k] + 1, opened.ends[k]] for k in range(len(opened.starts))
                     if opened.ends[k] > lowest])
                s = m.NewIntVarFromDomain(start_domain, f"s_{op.id}")
                e = m.NewIntVarFromDomain(end_domain, f"e_{op.id}")
                ws = m.NewIntVar(0, opened.total, f"ws_{op.id}")
                we = m.NewIntVar(0, opened.total, f"we_{op.id}")
                self._in_open_time(op.id, s, ws, opened, candidates, hint_time=placed.start, end=False)
                self._in_open_time(op.id, e, we, opened, [k for k in range(len(opened.starts))
                                                          if opened.ends[k] > lowest],
                                   hint_time=placed.end, end=True)
                m.Add(we == ws + op.minutes)
            m.Add(e >= s + op.minutes)
            self.start[op.id], self.end[op.id] = s, e
            self.open_start[op.id], self.open_end[op.id] = ws, we
            m.AddHint(s, placed.start)
            m.AddHint(e, placed.end)
            if ws is not s:
                m.AddHint(ws, opened.open_before(placed.start))
                m.AddHint(we, opened.open_before(placed.start) + op.minutes)
            interval = m.NewIntervalVar(ws, op.minutes, we, f"i_{op.id}")
            centre_intervals[op.work_centre].append(interval)
            if centre.machines == 1:
                self.present[(op.id, 0)] = m.NewConstant(1)
                machine_intervals[(op.work_centre, 0)].append((op, interval, self.present[(op.id, 0)]))
                continue
            literals = []
            for machine in range(centre.machines):
                lit = m.NewBoolVar(f"on_{op.id}_{machine}")
                if frozen:
                    m.Add(lit == (1 if machine == op.given_machine else 0))
                m.AddHint(lit, placed.machine == machine)
                literals.append(lit)
                self.present[(op.id, machine)] = lit
                optional = m.NewOptionalIntervalVar(ws, op.minutes, we, lit, f"i_{op.id}_{machine}")
                machine_intervals[(op.work_centre, machine)].append((op, optional, lit))
            m.AddExactlyOne(literals)
        for code, intervals in centre_intervals.items():
            if index.centres[code].machines > 1:
                m.AddCumulative(intervals, [1] * len(intervals), index.centres[code].machines)
        setup_terms = []
        hint_order = self._hint_sequences(hint)
        for (code, machine), entries in machine_intervals.items():
            m.AddNoOverlap([interval for _, interval, _ in entries])
            matrix = index.centres[code].setup_minutes
            families = {op.family for op, _, _ in entries}
            if any(matrix.get((a, b), 0) for a in families for b in families):
                setup_terms += self._sequence(code, machine, entries, hint_order.get((code, machine), []))
        for op_id, preds in index.predecessors.items():
            for p in preds:
                m.Add(self.start[op_id] >= self.end[p])
        for crew in problem.crews:
            self._crew(crew, [hinted[o] for o in index.frozen if index.operations[o].work_centre in crew.work_centres],
                       horizon)
        self.completion = {}
        for order in problem.orders:
            self.completion[order.id] = self.end[index.by_order[order.id][-1].id]
        self.setup_total = sum(setup_terms) if setup_terms else 0
        if problem.objective == "makespan":
            makespan = m.NewIntVar(0, horizon + max(op.minutes for op in ops) + setup_room, "makespan")
            m.AddMaxEquality(makespan, list(self.completion.values()))
            m.AddHint(makespan, max(p.end for p in hint))
            self.goals = [("makespan", makespan)]
            return
        tardiness_terms = []
        for order in problem.orders:
            late = m.NewIntVar(0, max(0, horizon * 2 - order.due), f"late_{order.id}")
            m.Add(late >= self.completion[order.id] - order.due)
            m.AddHint(late, max(0, max(hinted[op.id].end for op in index.by_order[order.id]) - order.due))
            tardiness_terms.append(order.weight * late)
        self.goals = [("weighted_tardiness", sum(tardiness_terms)), ("setup_minutes", self.setup_total),
                      ("flow_time", sum(self.completion.values()) - problem.now * len(problem.orders))]

    def _crew(self, crew: Crew, frozen: list[Placement], horizon: int) -> None:
        """A cumulative of the crew's free operations over their real spans, start to end, each holding one
        operator, under what the capacity leaves once its frozen operations hold theirs: as many operators as
        operations, less fixed intervals that block what the crew lacks, piece by piece of its capacity."""
        m = self.model
        members = set(crew.work_centres)
        ops = [op for op in self.index.problem.operations
               if op.work_centre in members and op.id not in self.index.frozen and op.minutes > 0]
        if not ops:
            return
        intervals = []
        for op in ops:
            if self.index.open[op.work_centre].always:
                size = op.minutes
            else:
                size = m.NewIntVar(op.minutes, 2 * horizon, f"span_{op.id}")
            intervals.append(m.NewIntervalVar(self.start[op.id], size, self.end[op.id], f"held_{op.id}"))
        demands = [1] * len(intervals)
        for a, b, left in available_operators(crew, frozen):
            if left < len(ops):
                intervals.append(m.NewFixedSizeIntervalVar(a, b - a, f"lacks_{crew.code}_{a}"))
                demands.append(len(ops) - left)
        m.AddCumulative(intervals, demands, len(ops))

    def _in_open_time(self, op_id: str, t, w, opened: OpenTime, candidates: list[int], hint_time: int,
                      end: bool) -> None:
        """t lies in one of the open intervals `candidates` (strictly after its start when t is an end, before its
        end when t is a start), and w is the open minutes before t."""
        m = self.model
        literals = []
        for k in candidates:
            lit = m.NewBoolVar(f"{'end' if end else 'start'}_{op_id}_in_{k}")
            a, b = opened.starts[k], opened.ends[k]
            if end:
                m.Add(t >= a + 1).OnlyEnforceIf(lit)
                m.Add(t <= b).OnlyEnforceIf(lit)
                m.AddHint(lit, a < hint_time <= b)
            else:
                m.Add(t >= a).OnlyEnforceIf(lit)
                m.Add(t <= b - 1).OnlyEnforceIf(lit)
                m.AddHint(lit, a <= hint_time < b)
            m.Add(w == t - a + opened.before[k]).OnlyEnforceIf(lit)
            literals.append(lit)
        m.AddExactlyOne(literals)

    def _hint_sequences(self, hint: Sequence[Placement]) -> dict[tuple[str, int], list[str]]:
        sequences: dict[tuple[str, int], list[Placement]] = defaultdict(list)
        for p in hint:
            sequences[(p.work_centre, p.machine)].append(p)
        return {key: [p.operation for p in sorted(placed, key=lambda p: p.start)] for key, placed in sequences.items()}

    def _sequence(self, code: str, machine: int, entries: list, hinted: list[str]) -> list:
        """A circuit through the machine's operations (node 0 is the machine idle): each arc i -> j chosen puts j
        after i with the setup between them, whose minutes are the terms returned."""
        m = self.model
        index = self.index
        arcs = []
        terms = []
        hinted_next = dict(pairwise(hinted))
        first = hinted[0] if hinted else None
        last = hinted[-1] if hinted else None
        optional = index.centres[code].machines > 1
        empty = m.NewBoolVar(f"idle_{code}_{machine}")
        arcs.append((0, 0, empty))
        m.AddHint(empty, not hinted)
        for i, (op, _, present) in enumerate(entries, start=1):
            begin = m.NewBoolVar(f"first_{op.id}_{machine}")
            finish = m.NewBoolVar(f"last_{op.id}_{machine}")
            arcs += [(0, i, begin), (i, 0, finish)]
            m.AddHint(begin, op.id == first)
            m.AddHint(finish, op.id == last)
            if optional:
                arcs.append((i, i, present.Not()))
            for j, (other, _, _) in enumerate(entries, start=1):
                if i == j:
                    continue
                lit = m.NewBoolVar(f"{op.id}_then_{other.id}_{machine}")
                setup = index.setup(code, op, other)
                m.Add(self.open_start[other.id] >= self.open_end[op.id] + setup).OnlyEnforceIf(lit)
                m.AddHint(lit, hinted_next.get(op.id) == other.id)
                arcs.append((i, j, lit))
                if setup:
                    terms.append(setup * lit)
        m.AddCircuit(arcs)
        return terms

    def solve(self, seconds: float, workers: int, started: float,
              on_solution: Callable[[str, float, int], None] | None) -> tuple[list[Phase], list[Placement] | None]:
        cp_model = self.cp_model
        m = self.model
        phases: list[Phase] = []
        solution = None
        names = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible", cp_model.INFEASIBLE: "infeasible",
                 cp_model.MODEL_INVALID: "invalid", cp_model.UNKNOWN: "unknown"}
        shares = (0.6, 0.5, 1.0) if len(self.goals) == 3 else (1.0,)
        for (name, goal), share in zip(self.goals, shares):
            if isinstance(goal, int):  # nothing to minimise (no setups anywhere): the phase is done
                phases.append(Phase(name, "optimal", goal, goal, 0.0))
                continue
            left = seconds - (time.perf_counter() - started)
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = workers
            solver.parameters.max_time_in_seconds = max(0.05, left * share)
            m.Minimize(goal)
            callback = _progress(name, started, on_solution) if on_solution else None
            began = time.perf_counter()
            status = solver.Solve(m, callback) if callback else solver.Solve(m)
            took = time.perf_counter() - began
            if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                phases.append(Phase(name, names.get(status, "unknown"), 0, 0, took))
                break
            value = round(solver.ObjectiveValue())
            phases.append(Phase(name, names[status], value, round(solver.BestObjectiveBound()), took))
            solution = self._read(solver)
            values = list(solver.ResponseProto().solution)
            m.ClearHints()  # the next phase starts from this solution, every variable of it
            for i, hinted in enumerate(values):
                m.AddHint(m.GetIntVarFromProtoIndex(i), hinted)
            m.Add(goal <= value)  # the next phase keeps this one's optimum (or its best, when time ran out)
        return phases, solution

    def _read(self, solver) -> list[Placement]:
        placements = []
        for op in self.index.problem.operations:
            machines = self.index.centres[op.work_centre].machines
            machine = next(k for k in range(machines) if solver.Value(self.present[(op.id, k)]))
            placements.append(Placement(op.id, op.work_centre, machine, solver.Value(self.start[op.id]),
                                        solver.Value(self.end[op.id])))
        return placements


def _progress(name: str, started: float, on_solution: Callable[[str, float, int], None]):
    """A solution callback that tells the caller each improving solution (the benchmark's time to a target)."""
    from ortools.sat.python import cp_model

    class Progress(cp_model.CpSolverSolutionCallback):
        def on_solution_callback(self) -> None:
            on_solution(name, time.perf_counter() - started, round(self.ObjectiveValue()))

    return Progress()


def job_shop(jobs: Sequence[Sequence[tuple[int, int]]], machines: int) -> Problem:
    """A classic job shop (every job's operations in order, machine k its own work centre of one machine, always
    open) as the engine's problem with the makespan objective."""
    centres = tuple(WorkCentre(f"M{k}") for k in range(machines))
    orders = tuple(Order(f"J{j}", due=0) for j in range(len(jobs)))
    operations = tuple(Operation(f"J{j}-{n}", f"J{j}", n, f"M{machine}", duration)
                       for j, job in enumerate(jobs) for n, (machine, duration) in enumerate(job))
    return Problem(centres, orders, operations, objective="makespan")
