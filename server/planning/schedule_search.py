"""How `scheduler.solve` schedules a factory too big for one CP-SAT model (issue 15's 2,000 operations on 20 work
centres: one model of it has ~400k variables, mostly setup arcs and calendar choices, takes ~13 s to build, and
CP-SAT finds nothing in 30 s). A search from the list scheduler's schedule, in three stages over the time limit:

1. **Batching** (up to 15 % of the time): the list scheduler again with the due dates taken in stretches of 3 to 9
   days (and offsets of a quarter of one) and, within a stretch, one item family after another: fewer changeovers,
   each order at most a stretch out of its due-date turn.
2. **Priorities** (up to 70 %): the list scheduler again and again with some orders taken as due earlier (late
   ones, picked by their weighted tardiness) or later (ones with a day to spare, some as due as an order of their
   family within four days: the two run together), now and then with the stretch changed; a change is kept when
   the schedule is no worse. Two tracks take turns: from the best schedule so far,
   and from the batched one with the fewest setups among those at most half as late again (the lexicographic
   objective never trades tardiness for setups on the way, though that start may end up the better one).
3. **Windows** (the rest): CP-SAT on a stretch of one work centre's operations at a time (30 to start with, more
   while windows solve fast), the centres in turn; everything else stays where it is. A backward pass over the
   current machine sequences gives each operation its latest end such that no order completes later than its due
   date or, if late, than it does now; a freed operation moves between its predecessors' ends and that latest
   end, and each machine's freed operations form a circuit between the fixed operation before the stretch and the
   latest start of the one after it (the setups to and from those count). The model lives on the centre's
   open-minute axis (no calendar choices: a start after a minute is an open minute after the open minutes before
   it), minimises the stretch's weighted tardiness (in open minutes, which orders schedules as real minutes do)
   and then its setup minutes (one sum, the first weighted above any setup total the stretch can have), and stops
   at half a second. Its answer is taken as machine sequences, and the whole schedule is made again from them by
   `forward`: every operation as early as its predecessors, release, now and the one before it on its machine
   (with the setup between) allow.

Crews (work centres sharing operators, scheduling.py): the list scheduler keeps them; a window's model does not
know them (it stays on one centre's open-minute axis, and its answer is only machine sequences), and `forward`
then places the operations in the order of their starts, each from where its sequence and predecessors allow to
where an operator of its crew is free throughout, so the crews hold in what it makes (and an operation may come
out later than it was, which the comparison of objectives then judges). Every candidate is also checked against
the crews (`holds_crews`) before it is kept.

Every candidate is a complete schedule valid by construction (the list scheduler's, or `forward`'s), compared on
the engine's objective as it stands, (weighted tardiness, setup minutes, flow time) lexicographically, and kept
when no worse: the search keeps the objective and its order, though nothing is proven. The bound reported is that
of infinite capacity (every order as early as its routing, release dates and calendars allow): a true but weak
lower bound on weighted tardiness, so the gap overstates what is left."""

from __future__ import annotations

import heapq
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise

from server.planning.scheduling import (
    Objective, Phase, Placement, _Index, _list_schedule, crew_free_from, crew_loads, evaluate, holds_crews,
)

WINDOW_OPERATIONS = 30  # freed operations in a window to start with; more when windows solve fast, fewer if not
WINDOW_SECONDS = 0.5  # at most per window
BATCH_DAYS = (6, 5, 4, 7, 8, 3, 9)  # stretches of due dates in which the batching list scheduler groups families
BATCHING_SHARE = 0.15  # of the time, at most: the batching grid; up to PRIORITIES_SHARE the priority search, then
PRIORITIES_SHARE = 0.7  # CP-SAT windows


def sequences_of(index: _Index, placed: dict[str, Placement]) -> dict[tuple[str, int], list[str]]:
    """Each machine's operations in the order they run."""
    sequences: dict[tuple[str, int], list[Placement]] = defaultdict(list)
    for p in placed.values():
        sequences[(p.work_centre, p.machine)].append(p)
    return {key: [p.operation for p in sorted(sequence, key=lambda p: (p.start, p.end, index.rank[p.operation]))]
            for key, sequence in sequences.items()}


def forward(index: _Index, placed: dict[str, Placement], machines: bool = True,
            sequences: dict[tuple[str, int], list[str]] | None = None) -> dict[str, Placement] | None:
    """Every operation as early as its predecessors, release, now and the one before it on its machine (with the
    setup between) allow, each machine's sequence kept (`sequences`, else by start); frozen ones stay, and None
    when one of them would have to move (or the sequences contradict precedence). From a valid schedule nothing
    moves later, unless a crew makes it wait (then the operations take operators in the order of their starts).
    Without `machines`, capacity and crews are ignored: each order as early as its routing allows (a bound)."""
    problem = index.problem
    machine_prev: dict[str, str] = {}
    machine_next: dict[str, str] = {}
    machine_of: dict[str, int] = {}
    if machines:
        for (_, machine), sequence in (sequences or sequences_of(index, placed)).items():
            for op_id in sequence:
                machine_of[op_id] = machine
            for a, b in pairwise(sequence):
                machine_prev[b] = a
                machine_next[a] = b
    waiting = {op_id: len(preds) + (op_id in machine_prev) for op_id, preds in index.predecessors.items()}
    new: dict[str, Placement] = {}
    loads = crew_loads(index, {o: placed[o] for o in index.frozen}) if machines and index.crew_of else None

    def earliest_open(op_id: str) -> int:
        current = placed[op_id]
        op = index.operations[op_id]
        opened = index.open[op.work_centre]
        frozen = op_id in index.frozen
        earliest = max([problem.now if not frozen else current.start, op.release if not frozen else current.start]
                       + [new[p].end for p in index.predecessors[op_id]])
        w = opened.open_before(earliest)
        before = machine_prev.get(op_id)
        if before is not None:
            w = max(w, opened.open_before(new[before].end) + index.setup(op.work_centre, index.operations[before], op))
        return w

    # Without crews the order of placing is immaterial (a stack); with crews operations take operators in the
    # order of their starts, one put back when a crew makes it start later than the next one waiting.
    ready: list = [((index.open[index.operations[o].work_centre].start_of(earliest_open(o)) or 0), o) if loads
                   else o for o, n in waiting.items() if n == 0]
    if loads:
        heapq.heapify(ready)
    while ready:
        op_id = heapq.heappop(ready)[1] if loads else ready.pop()
        current = placed[op_id]
        op = index.operations[op_id]
        opened = index.open[op.work_centre]
        frozen = op_id in index.frozen
        w = earliest_open(op_id)
        crew = index.crew_of.get(op.work_centre) if loads and not frozen else None
        if crew is not None:
            w = crew_free_from(loads[crew.code], opened, w, op.minutes)
            if w is None:
                return None
            if ready and ready[0][0] < opened.start_of(w):
                heapq.heappush(ready, (opened.start_of(w), op_id))
                continue
        start, end = opened.start_of(w), opened.end_of(w + op.minutes)
        if start is None or end is None or frozen and start != current.start:
            return None
        new[op_id] = Placement(op_id, op.work_centre, machine_of.get(op_id, current.machine), start, end)
        if crew is not None:
            loads[crew.code].hold(start, end)
        for s in index.successors[op_id] + ([machine_next[op_id]] if op_id in machine_next else []):
            waiting[s] -= 1
            if waiting[s] == 0:
                if loads:
                    heapq.heappush(ready, (index.open[index.operations[s].work_centre].start_of(earliest_open(s)) or 0,
                                           s))
                else:
                    ready.append(s)
    return new if len(new) == len(placed) else None


def latest_times(index: _Index, placed: dict[str, Placement],
                 sequences: dict[tuple[str, int], list[str]]) -> tuple[dict[str, int], dict[str, int]]:
    """The latest each operation may start and end with the machine sequences kept and no order completing later
    than its due date or, if it is late, than it does now (a backward pass; frozen operations where they are).
    Whatever moves within these (and after its predecessors) leaves every order's tardiness as it is or better, once
    `forward` has made the schedule again."""
    machine_next: dict[str, str] = {}
    for sequence in sequences.values():
        for a, b in pairwise(sequence):
            machine_next[a] = b
    completion: dict[str, int] = defaultdict(int)
    for p in placed.values():
        order = index.operations[p.operation].order
        completion[order] = max(completion[order], p.end)
    last = {ops[-1].id: max(index.orders[order].due, completion[order]) for order, ops in index.by_order.items()}
    waiting = {op_id: len(succs) + (op_id in machine_next) for op_id, succs in index.successors.items()}
    machine_prev = {b: a for a, b in machine_next.items()}
    ready = [op_id for op_id, n in waiting.items() if n == 0]
    latest_start: dict[str, int] = {}
    latest_end: dict[str, int] = {}
    while ready:
        op_id = ready.pop()
        op = index.operations[op_id]
        opened = index.open[op.work_centre]
        current = placed[op_id]
        if op_id in index.frozen:
            end = current.end
        else:
            end = min([last.get(op_id, current.end + 10 ** 9)] + [latest_start[s] for s in index.successors[op_id]])
            w = opened.open_before(end)
            after = machine_next.get(op_id)
            if after is not None:
                w = min(w, opened.open_before(latest_start[after])
                        - index.setup(op.work_centre, op, index.operations[after]))
            end = max(current.end, _end_of(opened, w))  # never before where it is: that is valid already
        latest_end[op_id] = end
        start = None if op_id in index.frozen else opened.start_of(opened.open_before(end) - op.minutes)
        latest_start[op_id] = current.start if start is None else max(current.start, start)
        others = list(index.predecessors[op_id]) + ([machine_prev[op_id]] if op_id in machine_prev else [])
        for p in others:
            waiting[p] -= 1
            if waiting[p] == 0:
                ready.append(p)
    return latest_start, latest_end


def _end_of(opened, w: int) -> int:
    """The real minute at which open minute w is done, past the calendar's end as if it stayed open."""
    if opened.always:
        return w
    if w > opened.total:
        return opened.ends[-1] + w - opened.total if opened.ends else w
    return opened.end_of(max(0, w))


def tardiness_bound(index: _Index, first: Sequence[Placement]) -> int:
    """Weighted tardiness with infinite capacity: no schedule's is lower."""
    relaxed = forward(index, {p.operation: p for p in first}, machines=False)
    if relaxed is None:
        return 0
    completion: dict[str, int] = defaultdict(int)
    for p in relaxed.values():
        order = index.operations[p.operation].order
        completion[order] = max(completion[order], p.end)
    return sum(o.weight * max(0, completion[o.id] - o.due) for o in index.problem.orders)


def _key(objective: Objective) -> tuple[int, int, int]:
    return objective.weighted_tardiness, objective.setup_minutes, objective.flow_time


class _Best:
    """The best schedule so far and its objective; `offer` keeps a candidate that is no worse (ties too: the
    search walks a plateau) and tells the caller of each strict improvement."""

    def __init__(self, index: _Index, placed: dict[str, Placement], started: float,
                 on_solution: Callable[[str, float, int], None] | None):
        self.index, self.started, self.on_solution = index, started, on_solution
        self.placed = placed
        self.objective = evaluate(index.problem, list(placed.values()))
        self.improvements: dict[str, int] = defaultdict(int)
        self.tell("list")

    def tell(self, stage: str) -> None:
        if self.on_solution:
            self.on_solution(stage, time.perf_counter() - self.started, self.objective.weighted_tardiness)

    def offer(self, stage: str, placed: dict[str, Placement], objective: Objective | None = None) -> bool:
        objective = objective or evaluate(self.index.problem, list(placed.values()))
        if _key(objective) > _key(self.objective) or not holds_crews(self.index, placed):
            return False
        better = _key(objective) < _key(self.objective)
        self.placed, self.objective = placed, objective
        if better:
            self.improvements[stage] += 1
            self.tell(stage)
        return True


def search(index: _Index, first: Sequence[Placement], seconds: float, workers: int, started: float,
           on_solution: Callable[[str, float, int], None] | None,
           seed: int = 0) -> tuple[list[Phase], list[Placement]]:
    """The best schedule found by `started` + `seconds` from the list scheduler's `first`; `on_solution` hears
    (stage, seconds since `started`, weighted tardiness) for the list schedule and each improvement, the stage being
    list, batching, priorities or windows."""
    rng = random.Random(seed)
    best = _Best(index, {p.operation: p for p in first}, started, on_solution)
    tracks = _batching(index, best, started + seconds * BATCHING_SHARE)
    _priorities(index, best, tracks, started + seconds * PRIORITIES_SHARE, rng)
    _windows(index, best, started + seconds, workers, rng)
    bound = tardiness_bound(index, first)
    objective = best.objective
    took = time.perf_counter() - started
    phases = [Phase("weighted_tardiness", "feasible", objective.weighted_tardiness,
                    min(bound, objective.weighted_tardiness), took),
              Phase("setup_minutes", "feasible", objective.setup_minutes, 0, 0.0),
              Phase("flow_time", "feasible", objective.flow_time, 0, 0.0)]
    return phases, [best.placed[op.id] for op in index.problem.operations]


def _batching(index: _Index, best: _Best, until: float) -> list[_Track]:
    """The list scheduler with the orders of one family together within stretches of due dates, over a grid of
    stretch lengths and offsets. Returns where the priority search starts: the best schedule so far, and the one
    with the fewest setups among those at most half as late again, if it has fewer (the lexicographic objective
    would never trade tardiness for setups on the way to it, though it may end up the better start)."""
    tried = [_Track((0, 0), best.placed, best.objective)]
    for days in BATCH_DAYS:
        for quarter in (0, 2, 1, 3):
            if time.perf_counter() > until:
                break
            batch = (days * 1440, days * 1440 * quarter // 4)
            placed = {p.operation: p for p in _list_schedule(index, *batch)}
            track = _Track(batch, placed, evaluate(index.problem, list(placed.values())))
            best.offer("batching", placed, track.objective)
            tried.append(track)
    first = min(tried, key=lambda t: _key(t.objective))
    limit = first.objective.weighted_tardiness * 3 // 2
    fewer = min((t for t in tried if t.objective.weighted_tardiness <= limit), key=lambda t: _key(t.objective)[1:])
    return [first] + ([fewer] if fewer.objective.setup_minutes < first.objective.setup_minutes else [])


class _Track:
    """One line of the priority search: its batching stretch, its orders' due-date shifts, its schedule."""

    def __init__(self, settings: tuple[int, int], placed: dict[str, Placement], objective: Objective):
        self.settings, self.placed, self.objective = settings, placed, objective
        self.shift: dict[str, int] = {}


def _priorities(index: _Index, best: _Best, tracks: list[_Track], until: float, rng: random.Random) -> None:
    """The list scheduler again and again with some orders taken as due earlier (late ones, the later the likelier)
    or later (ones with a day to spare, or as due as an order of their family), and now and then the batching
    stretch changed; a change is kept in its track when the track's schedule is no worse, and offered as the best.
    The tracks take turns."""
    orders = index.problem.orders
    families = {o.id: index.by_order[o.id][0].family for o in orders}
    family_orders: dict[str, list[str]] = defaultdict(list)
    for order, family in families.items():
        family_orders[family].append(order)
    turn = 0
    while time.perf_counter() < until:
        track = tracks[turn % len(tracks)]
        turn += 1
        completion: dict[str, int] = defaultdict(int)
        for p in track.placed.values():
            order = index.operations[p.operation].order
            completion[order] = max(completion[order], p.end)
        late = [(o.weight * (completion[o.id] - o.due), o.id) for o in orders if completion[o.id] > o.due]
        early = [o.id for o in orders if completion[o.id] < o.due - 1440]
        trial = dict(track.shift)
        if late:
            for _ in range(rng.choice((1, 2, 3, 5))):
                order = rng.choices([o for _, o in late], weights=[w for w, _ in late])[0]
                trial[order] = trial.get(order, 0) - rng.choice((240, 480, 1440, 2880))
        if early and rng.random() < 0.5:
            for _ in range(rng.choice((1, 2, 3))):
                order = rng.choice(early)
                trial[order] = trial.get(order, 0) + rng.choice((480, 1440, 2880))
        if early and rng.random() < 0.5:  # an order with time to spare taken as due with one of its family
            for _ in range(rng.choice((1, 2, 4, 8))):
                order = rng.choice(early)
                due = index.orders[order].due + trial.get(order, 0)
                near = [o for o in family_orders[families[order]]
                        if o != order and abs(index.orders[o].due + trial.get(o, 0) - due) <= 4 * 1440]
                if near:
                    other = rng.choice(near)
                    trial[order] = index.orders[other].due + trial.get(other, 0) - index.orders[order].due
        batch = track.settings
        if batch[0] and rng.random() < 0.2:
            days = max(1, batch[0] // 1440 + rng.choice((-1, 1)))
            batch = (days * 1440, days * 1440 * rng.randrange(4) // 4)
        placed = {p.operation: p for p in _list_schedule(index, *batch, shift=trial)}
        objective = evaluate(index.problem, list(placed.values()))
        if _key(objective) <= _key(track.objective):
            track.placed, track.objective, track.shift, track.settings = placed, objective, trial, batch
            best.offer("priorities", placed, objective)


def _windows(index: _Index, best: _Best, until: float, workers: int, rng: random.Random) -> None:
    """CP-SAT on one window at a time: a stretch of one work centre's operations (its machines' sequences), every
    other operation where it is and each freed one between its predecessors' ends and its latest end (no order
    later than it is or its due date); the answer's sequences made into a schedule by `forward`. The centres are
    taken in turn, their stretches from the start of the schedule on, overlapping by half."""
    from ortools.sat.python import cp_model

    size = WINDOW_OPERATIONS
    movable = [op.id for op in index.problem.operations if op.id not in index.frozen]
    frozen_starts = [best.placed[o].start for o in index.frozen]
    after_frozen = max(frozen_starts) + 1 if frozen_starts else None
    centres = sorted({index.operations[o].work_centre for o in movable})
    rng.shuffle(centres)
    cursor: dict[str, int] = defaultdict(int)
    turn = idle = 0
    while centres and until - time.perf_counter() > 0.3 and idle <= 2 * len(centres):
        code = centres[turn % len(centres)]
        turn += 1
        idle += 1  # a round of centres twice over with nothing to free: nothing ever will be
        placed = best.placed
        chosen = sorted((o for o in movable if placed[o].work_centre == code), key=lambda o: (placed[o].start, o))
        begin = cursor[code] if cursor[code] < len(chosen) - 1 else 0
        cursor[code] = begin + max(1, size // 2)
        t0 = placed[chosen[begin]].start if after_frozen is None else max(after_frozen, placed[chosen[begin]].start)
        free = {o for o in chosen[begin:begin + size] if placed[o].start >= t0}
        if len(free) < 2:
            continue
        idle = 0
        sequences = sequences_of(index, placed)
        window = _Window(cp_model, index, placed, free, t0, latest_times(index, placed, sequences))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = workers
        solver.parameters.max_time_in_seconds = max(0.1, min(WINDOW_SECONDS, until - time.perf_counter() - 0.2))
        solver.parameters.random_seed = rng.randrange(1 << 30)
        status = solver.Solve(window.model)
        if status == cp_model.OPTIMAL and solver.WallTime() < WINDOW_SECONDS / 4:
            size = min(120, size + 4)
        elif status != cp_model.OPTIMAL:
            size = max(12, size - 4)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            answer, answer_sequences = window.read(solver, sequences)
            candidate = forward(index, answer, sequences=answer_sequences)
            if candidate is not None:
                best.offer("windows", candidate)


class _Window:
    """The CP-SAT model of one window: `free` operations of one work centre move, every other keeps its place.
    It lives on the centre's open-minute axis (no calendar choices): a start after a given minute is an open
    minute after the open minutes before it, an end by a given minute likewise; tardiness is counted in open
    minutes, which orders schedules as real minutes do."""

    def __init__(self, cp_model, index: _Index, placed: dict[str, Placement], free: set[str], t0: int,
                 latest: tuple[dict[str, int], dict[str, int]]):
        self.index = index
        self.placed, self.t0, self.free = placed, t0, free
        m = self.model = cp_model.CpModel()
        problem = index.problem
        latest_start, latest_end = latest
        ops = sorted(free, key=lambda o: (placed[o].start, o))
        code = index.operations[ops[0]].work_centre
        centre = index.centres[code]
        opened = index.open[code]
        self.code = code
        self.open_start, self.present = {}, {}
        ws_of, we_of, highest = {}, {}, {}
        for op_id in ops:
            op = index.operations[op_id]
            current = placed[op_id]
            low = opened.open_before(max([problem.now, op.release]
                                         + [placed[p].end for p in index.predecessors[op_id] if p not in free]))
            high = opened.open_before(latest_end[op_id])
            w = opened.open_before(current.start)
            highest[op_id] = max(high, w + op.minutes)
            ws = m.NewIntVar(min(low, w), highest[op_id] - op.minutes, f"ws_{op_id}")
            we = m.NewIntVar(min(low, w) + op.minutes, highest[op_id], f"we_{op_id}")
            m.Add(we == ws + op.minutes)
            m.AddHint(ws, w)
            m.AddHint(we, w + op.minutes)
            ws_of[op_id], we_of[op_id] = ws, we
            self.open_start[op_id] = ws
        for op_id in ops:
            for p in index.predecessors[op_id]:
                if p in free:
                    m.Add(ws_of[op_id] >= we_of[p])

        fixed_on: dict[int, list[Placement]] = defaultdict(list)
        for p in placed.values():
            if p.work_centre == code and p.operation not in free:
                fixed_on[p.machine].append(p)
        matrix = centre.setup_minutes
        setups = any(matrix.values())
        biggest = max([0] + list(matrix.values()))
        setup_terms = []
        literals: dict[str, list] = defaultdict(list)
        for machine in range(centre.machines):
            left = max((p for p in fixed_on[machine] if p.start < t0), key=lambda p: p.start, default=None)
            right = min((p for p in fixed_on[machine] if p.start >= t0), key=lambda p: p.start, default=None)
            left_end = opened.open_before(left.end) if left else None
            right_start = opened.open_before(latest_start[right.operation]) if right else None
            left_op = index.operations[left.operation] if left else None
            right_op = index.operations[right.operation] if right else None
            entries = []
            for op_id in ops:
                op = index.operations[op_id]
                if centre.machines == 1:
                    present = m.NewConstant(1)
                    interval = m.NewIntervalVar(ws_of[op_id], op.minutes, we_of[op_id], f"i_{op_id}")
                else:
                    present = m.NewBoolVar(f"on_{op_id}_{machine}")
                    m.AddHint(present, placed[op_id].machine == machine)
                    interval = m.NewOptionalIntervalVar(ws_of[op_id], op.minutes, we_of[op_id], present,
                                                        f"i_{op_id}_{machine}")
                    literals[op_id].append(present)
                self.present[(op_id, machine)] = present
                entries.append((op_id, op, interval, present))
            m.AddNoOverlap([interval for _, _, interval, _ in entries])
            if not setups:
                for op_id, _, _, present in entries:
                    if left_end is not None:
                        m.Add(ws_of[op_id] >= left_end).OnlyEnforceIf(present)
                    if right_start is not None:
                        m.Add(we_of[op_id] <= right_start).OnlyEnforceIf(present)
                continue

            def setup(a, b) -> int:
                return matrix.get((a.family, b.family), 0) if a is not None and b is not None else 0

            hinted = [o for o in ops if placed[o].machine == machine]  # by start
            hinted_next = dict(pairwise(hinted))
            arcs = []
            empty_setup = setup(left_op, right_op)
            if left_end is None or right_start is None or left_end + empty_setup <= right_start:
                empty = m.NewBoolVar(f"idle_{machine}")
                arcs.append((0, 0, empty))
                m.AddHint(empty, not hinted)
                if empty_setup:
                    setup_terms.append(empty_setup * empty)
            for i, (op_id, op, _, present) in enumerate(entries, start=1):
                begin = m.NewBoolVar(f"first_{op_id}_{machine}")
                finish = m.NewBoolVar(f"last_{op_id}_{machine}")
                arcs += [(0, i, begin), (i, 0, finish)]
                m.AddHint(begin, bool(hinted) and hinted[0] == op_id)
                m.AddHint(finish, bool(hinted) and hinted[-1] == op_id)
                cost_in, cost_out = setup(left_op, op), setup(op, right_op)
                if left_end is not None:
                    m.Add(ws_of[op_id] >= left_end + cost_in).OnlyEnforceIf(begin)
                if right_start is not None:
                    m.Add(we_of[op_id] + cost_out <= right_start).OnlyEnforceIf(finish)
                if cost_in:
                    setup_terms.append(cost_in * begin)
                if cost_out:
                    setup_terms.append(cost_out * finish)
                if centre.machines > 1:
                    arcs.append((i, i, present.Not()))
                for j, (other_id, other, _, _) in enumerate(entries, start=1):
                    if i == j:
                        continue
                    lit = m.NewBoolVar(f"{op_id}_then_{other_id}_{machine}")
                    cost = setup(op, other)
                    m.Add(ws_of[other_id] >= we_of[op_id] + cost).OnlyEnforceIf(lit)
                    m.AddHint(lit, hinted_next.get(op_id) == other_id)
                    arcs.append((i, j, lit))
                    if cost:
                        setup_terms.append(cost * lit)
            m.AddCircuit(arcs)
        for lits in literals.values():
            m.AddExactlyOne(lits)

        tardiness_terms = []
        for op_id in ops:
            op = index.operations[op_id]
            if index.by_order[op.order][-1].id != op_id:
                continue
            order = index.orders[op.order]
            due = opened.open_before(order.due)
            late = m.NewIntVar(0, max(0, highest[op_id] - due), f"late_{op.order}")
            m.Add(late >= we_of[op_id] - due)
            m.AddHint(late, max(0, opened.open_before(placed[op_id].start) + op.minutes - due))
            tardiness_terms.append(order.weight * late)
        setup_room = biggest * (len(ops) + 1) * centre.machines
        m.Minimize((setup_room + 1) * sum(tardiness_terms) + sum(setup_terms))

    def read(self, solver, sequences: dict[tuple[str, int], list[str]]) -> tuple[dict[str, Placement], dict]:
        """The placements with each freed operation on its new machine, and every machine's sequence: its fixed
        operations before the window, the window's in the order of the answer, its fixed ones after (`forward`
        makes the times)."""
        placed = dict(self.placed)
        centre = self.index.centres[self.code]
        order: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for op_id in self.free:
            machine = next(k for k in range(centre.machines) if solver.Value(self.present[(op_id, k)]))
            placed[op_id] = placed[op_id]._replace(machine=machine)
            order[machine].append((solver.Value(self.open_start[op_id]), op_id))
        new = dict(sequences)
        for machine in range(centre.machines):
            fixed = [o for o in sequences.get((self.code, machine), []) if o not in self.free]
            new[(self.code, machine)] = ([o for o in fixed if self.placed[o].start < self.t0]
                                         + [o for _, o in sorted(order[machine])]
                                         + [o for o in fixed if self.placed[o].start >= self.t0])
        return placed, new
