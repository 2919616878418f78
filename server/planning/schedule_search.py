"""How `scheduling.solve` schedules a factory too big for one CP-SAT model (issue 15's 2,000 operations on 20 work
centres: one model of it has ~400k variables, mostly setup arcs and calendar choices, takes ~13 s to build, and
CP-SAT finds nothing in 30 s). A search from the list scheduler's schedule, in three stages over the time limit:

1. **Batching** (up to 15 % of the time): the list scheduler again with the due dates taken in stretches of 3 to 9
   days (and offsets of a quarter of one) and, within a stretch, one item family after another: fewer changeovers,
   each order at most a stretch out of its due-date turn.
2. **Priorities** (up to 70 %): the list scheduler again and again with some orders taken as due earlier (late
   ones, picked by their weighted tardiness) or later (ones with a day to spare), now and then with the stretch
   changed; a change is kept when the schedule is no worse.
3. **Windows** (the rest): CP-SAT on one window at a time, the operations that start in a stretch of time on every
   work centre or on a few (about a hundred and fifty), everything else where it is. A window's model is small:
   each freed operation may start only in the open intervals of its plausible span (after its fixed predecessors,
   no more than the window's length either side of where it is), each machine's freed operations form a circuit
   between the fixed operation before the window and the one after it (the setups to and from those count), a
   freed operation ending after the start of what follows it outside the window pays that delay like tardiness,
   and the window minimises its weighted tardiness and delays first and its setup minutes second (one sum, the
   first weighted above any setup total the window can have). Its answer is taken as machine sequences, and the
   whole schedule is made again from them by `forward`: every operation as early as its predecessors, release,
   now and the one before it on its machine (with the setup between) allow.

Every candidate is a complete schedule valid by construction (the list scheduler's, or `forward`'s), compared on
the engine's objective as it stands, (weighted tardiness, setup minutes, flow time) lexicographically, and kept
when no worse: the search keeps the objective and its order, though nothing is proven. The bound reported is that
of infinite capacity (every order as early as its routing, release dates and calendars allow): a true but weak
lower bound on weighted tardiness, so the gap overstates what is left."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import pairwise

from server.planning.scheduling import Objective, Phase, Placement, _Index, _list_schedule, evaluate

WINDOW_OPERATIONS = 150  # freed operations in a window to start with; grown when windows solve fast, shrunk if not
WINDOW_SECONDS = 2.0  # at most per window
BATCH_DAYS = (6, 5, 4, 7, 8, 3, 9)  # stretches of due dates in which the batching list scheduler groups families
BATCHING_SHARE = 0.15  # of the time, at most: the batching grid; up to PRIORITIES_SHARE the priority search, then
PRIORITIES_SHARE = 0.7  # CP-SAT windows


def forward(index: _Index, placed: dict[str, Placement], machines: bool = True) -> dict[str, Placement] | None:
    """Every operation as early as its predecessors, release, now and the one before it on its machine (with the
    setup between) allow, each machine's sequence (by start) kept; frozen ones stay, and None when one of them
    would have to move (or the sequences contradict precedence). From a valid schedule nothing moves later.
    Without `machines`, capacity is ignored: each order as early as its routing allows (a lower bound)."""
    problem = index.problem
    machine_prev: dict[str, str] = {}
    machine_next: dict[str, str] = {}
    if machines:
        sequences: dict[tuple[str, int], list[Placement]] = defaultdict(list)
        for p in placed.values():
            sequences[(p.work_centre, p.machine)].append(p)
        for sequence in sequences.values():
            sequence.sort(key=lambda p: (p.start, p.end, index.rank[p.operation]))
            for a, b in pairwise(sequence):
                machine_prev[b.operation] = a.operation
                machine_next[a.operation] = b.operation
    waiting = {op_id: len(preds) + (op_id in machine_prev) for op_id, preds in index.predecessors.items()}
    ready = [op_id for op_id, n in waiting.items() if n == 0]
    new: dict[str, Placement] = {}
    while ready:
        op_id = ready.pop()
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
        start, end = opened.start_of(w), opened.end_of(w + op.minutes)
        if start is None or end is None or frozen and start != current.start:
            return None
        new[op_id] = Placement(op_id, op.work_centre, current.machine, start, end)
        for s in index.successors[op_id] + ([machine_next[op_id]] if op_id in machine_next else []):
            waiting[s] -= 1
            if waiting[s] == 0:
                ready.append(s)
    return new if len(new) == len(placed) else None


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

    def offer(self, stage: str, placed: dict[str, Placement]) -> bool:
        objective = evaluate(self.index.problem, list(placed.values()))
        if _key(objective) > _key(self.objective):
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
    settings = _batching(index, best, started + seconds * BATCHING_SHARE)
    _priorities(index, best, settings, started + seconds * PRIORITIES_SHARE, rng)
    _windows(index, best, started + seconds, workers, rng)
    bound = tardiness_bound(index, first)
    objective = best.objective
    took = time.perf_counter() - started
    phases = [Phase("weighted_tardiness", "feasible", objective.weighted_tardiness,
                    min(bound, objective.weighted_tardiness), took),
              Phase("setup_minutes", "feasible", objective.setup_minutes, 0, 0.0),
              Phase("flow_time", "feasible", objective.flow_time, 0, 0.0)]
    return phases, [best.placed[op.id] for op in index.problem.operations]


def _batching(index: _Index, best: _Best, until: float) -> tuple[int, int]:
    """The list scheduler with the orders of one family together within stretches of due dates, over a grid of
    stretch lengths and offsets: the (minutes, offset) of the best, (0, 0) when the plain rule stays best."""
    settings = (0, 0)
    for days in BATCH_DAYS:
        for quarter in (0, 2, 1, 3):
            if time.perf_counter() > until:
                return settings
            batch = (days * 1440, days * 1440 * quarter // 4)
            if best.offer("batching", {p.operation: p for p in _list_schedule(index, *batch)}):
                settings = batch
    return settings


def _priorities(index: _Index, best: _Best, settings: tuple[int, int], until: float, rng: random.Random) -> None:
    """The list scheduler again and again with some orders taken as due earlier (late ones, the later the likelier)
    or later (ones with a day to spare), and now and then the batching stretch changed; a change is kept when the
    schedule is no worse."""
    shift: dict[str, int] = {}
    orders = index.problem.orders
    while time.perf_counter() < until:
        completion: dict[str, int] = defaultdict(int)
        for p in best.placed.values():
            order = index.operations[p.operation].order
            completion[order] = max(completion[order], p.end)
        late = [(o.weight * (completion[o.id] - o.due), o.id) for o in orders if completion[o.id] > o.due]
        early = [o.id for o in orders if completion[o.id] < o.due - 1440]
        trial = dict(shift)
        if late:
            for _ in range(rng.choice((1, 2, 3, 5))):
                order = rng.choices([o for _, o in late], weights=[w for w, _ in late])[0]
                trial[order] = trial.get(order, 0) - rng.choice((240, 480, 1440, 2880))
        if early and rng.random() < 0.5:
            for _ in range(rng.choice((1, 2, 3))):
                order = rng.choice(early)
                trial[order] = trial.get(order, 0) + rng.choice((480, 1440, 2880))
        batch = settings
        if settings[0] and rng.random() < 0.2:
            days = max(1, settings[0] // 1440 + rng.choice((-1, 1)))
            batch = (days * 1440, days * 1440 * rng.randrange(4) // 4)
        if best.offer("priorities", {p.operation: p for p in _list_schedule(index, *batch, shift=trial)}):
            shift, settings = trial, batch


def _windows(index: _Index, best: _Best, until: float, workers: int, rng: random.Random) -> None:
    """CP-SAT on one window at a time: the operations starting in a stretch of time on every work centre or on a
    few, the rest where they are; the answer's machine sequences made into a schedule by `forward`."""
    from ortools.sat.python import cp_model

    size = WINDOW_OPERATIONS
    movable = [op.id for op in index.problem.operations if op.id not in index.frozen]
    frozen_starts = [best.placed[o].start for o in index.frozen]
    after_frozen = max(frozen_starts) + 1 if frozen_starts else None
    centres = sorted(index.centres)
    cursor = 0
    while movable and until - time.perf_counter() > 0.3:
        placed = best.placed
        by_start = sorted(movable, key=lambda o: (placed[o].start, o))
        every = rng.random() < 0.5
        if every:
            chosen = by_start
        else:  # a few work centres over a longer stretch: more of each machine's work to regroup by family
            picked = set(rng.sample(centres, min(len(centres), rng.choice((2, 3, 4, 5)))))
            chosen = [o for o in by_start if index.operations[o].work_centre in picked]
        if cursor >= len(by_start):
            cursor = 0
        at = placed[by_start[cursor]].start
        cursor += max(1, size // 2) if every else max(1, size // 4)
        if not chosen:
            continue
        begin = next((k for k, o in enumerate(chosen) if placed[o].start >= at), 0)
        begin = max(0, min(begin, len(chosen) - size))
        t0 = placed[chosen[begin]].start if after_frozen is None else max(after_frozen, placed[chosen[begin]].start)
        t1 = placed[chosen[begin + size]].start if begin + size < len(chosen) else None
        free = {o for o in chosen if placed[o].start >= t0 and (t1 is None or placed[o].start < t1)}
        if not free:
            continue
        window = _Window(cp_model, index, placed, free, t0, t1)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = workers
        solver.parameters.max_time_in_seconds = max(0.1, min(WINDOW_SECONDS, until - time.perf_counter() - 0.2))
        solver.parameters.random_seed = rng.randrange(1 << 30)
        status = solver.Solve(window.model)
        if status == cp_model.OPTIMAL and solver.WallTime() < WINDOW_SECONDS / 4:
            size = min(400, int(size * 1.2) + 1)
        elif status != cp_model.OPTIMAL:
            size = max(40, int(size * 0.8))
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            candidate = forward(index, {**placed, **window.read(solver)})
            if candidate is not None:
                best.offer("windows", candidate)


class _Window:
    """The CP-SAT model of one window: `free` operations move, every other keeps its place."""

    def __init__(self, cp_model, index: _Index, placed: dict[str, Placement], free: set[str], t0: int,
                 t1: int | None):
        self.index = index
        m = self.model = cp_model.CpModel()
        problem = index.problem
        span = max(1440, (t1 - t0) if t1 is not None else 0)
        self.free = free
        self.start, self.end, self.present = {}, {}, {}
        ws_of, we_of = {}, {}
        delays = []
        for op_id in sorted(free):
            op = index.operations[op_id]
            current = placed[op_id]
            opened = index.open[op.work_centre]
            low = max([problem.now, op.release, current.start - span, t0 - span]
                      + [placed[p].end for p in index.predecessors[op_id] if p not in free])
            high = current.end + span
            low = min(low, current.start)
            high = max(high, current.end)
            if opened.always:
                s = m.NewIntVar(low, high - op.minutes, f"s_{op_id}")
                e = m.NewIntVar(low + op.minutes, high, f"e_{op_id}")
                m.Add(e == s + op.minutes)
                ws, we = s, e
            else:
                w_low, w_high = opened.open_before(low), opened.open_before(high)
                ws = m.NewIntVar(w_low, w_high - op.minutes, f"ws_{op_id}")
                we = m.NewIntVar(w_low + op.minutes, w_high, f"we_{op_id}")
                m.Add(we == ws + op.minutes)
                s = self._real(m, ws, opened, w_low, w_high - op.minutes, current.start, end=False,
                               name=f"s_{op_id}")
                e = self._real(m, we, opened, w_low + op.minutes, w_high, current.end, end=True,
                               name=f"e_{op_id}")
                m.AddHint(ws, opened.open_before(current.start))
                m.AddHint(we, opened.open_before(current.start) + op.minutes)
            m.AddHint(s, current.start)
            m.AddHint(e, current.end)
            self.start[op_id], self.end[op_id] = s, e
            ws_of[op_id], we_of[op_id] = ws, we
            outside = [placed[succ].start for succ in index.successors[op_id] if succ not in free]
            if outside:  # a later start of what follows outside the window: as good as tardiness, by the weight
                delay = m.NewIntVar(0, max(0, high - min(outside)), f"delay_{op_id}")
                m.Add(delay >= e - min(outside))
                m.AddHint(delay, max(0, current.end - min(outside)))
                delays.append(index.orders[op.order].weight * delay)
        for op_id in free:
            for p in index.predecessors[op_id]:
                if p in free:
                    m.Add(self.start[op_id] >= self.end[p])
                else:
                    m.Add(self.start[op_id] >= placed[p].end)

        # Each machine of a centre with freed operations: the fixed one before the window and the one after it.
        by_centre: dict[str, list[str]] = defaultdict(list)
        for op_id in sorted(free):
            by_centre[index.operations[op_id].work_centre].append(op_id)
        fixed_on: dict[tuple[str, int], list[Placement]] = defaultdict(list)
        for p in placed.values():
            if p.work_centre in by_centre and p.operation not in free:
                fixed_on[(p.work_centre, p.machine)].append(p)
        setup_terms = []
        setup_room = 0
        for code, ops in by_centre.items():
            centre = index.centres[code]
            opened = index.open[code]
            matrix = centre.setup_minutes
            literals: dict[str, list] = defaultdict(list)
            for machine in range(centre.machines):
                before = [p for p in fixed_on[(code, machine)] if p.start < t0]
                after = [p for p in fixed_on[(code, machine)] if p.start >= t0]
                left = max(before, key=lambda p: p.start, default=None)
                right = min(after, key=lambda p: p.start, default=None)
                left_end = opened.open_before(left.end) if left else None
                right_start = opened.open_before(right.start) if right else None
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
                hinted = sorted((o for o in ops if placed[o].machine == machine), key=lambda o: placed[o].start)
                hinted_next = dict(pairwise(hinted))
                setups = any(v for v in matrix.values())
                if not setups:
                    for op_id, _, _, present in entries:
                        if left_end is not None:
                            m.Add(ws_of[op_id] >= left_end).OnlyEnforceIf(present)
                        if right_start is not None:
                            m.Add(we_of[op_id] <= right_start).OnlyEnforceIf(present)
                    continue

                def setup(a, b) -> int:
                    return matrix.get((a.family, b.family), 0) if a is not None and b is not None else 0

                arcs = []
                empty_setup = setup(left_op, right_op)
                if left_end is None or right_start is None or left_end + empty_setup <= right_start:
                    empty = m.NewBoolVar(f"idle_{code}_{machine}")
                    arcs.append((0, 0, empty))
                    m.AddHint(empty, not hinted)
                    if empty_setup:
                        setup_terms.append(empty_setup * empty)
                biggest = max([0] + list(matrix.values()))
                setup_room += biggest * (len(entries) + 1)
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
            for op_id, lits in literals.items():
                m.AddExactlyOne(lits)

        tardiness_terms = []
        for order_id in {index.operations[o].order for o in free}:
            last = index.by_order[order_id][-1].id
            if last not in free:
                continue
            order = index.orders[order_id]
            end = self.end[last]
            late = m.NewIntVar(0, max(0, placed[last].end + 2 * span - order.due), f"late_{order_id}")
            m.Add(late >= end - order.due)
            m.AddHint(late, max(0, placed[last].end - order.due))
            tardiness_terms.append(order.weight * late)
        m.Minimize((setup_room + 1) * (sum(tardiness_terms) + sum(delays)) + sum(setup_terms))

    @staticmethod
    def _real(m, w, opened, w_low: int, w_high: int, hint: int, end: bool, name: str):
        """The real minute at which open minute `w` begins (a start) or the first `w` are done (an end)."""
        literals = []
        real = m.NewIntVar(opened.start_of(w_low) if not end else opened.end_of(max(w_low, 1)),
                           opened.end_of(w_high) if end else opened.start_of(w_high), name)
        for k in range(len(opened.starts)):
            a, b, before = opened.starts[k], opened.ends[k], opened.before[k]
            length = b - a
            # open minutes w with a start in interval k: before <= w < before + length; an end: before < w <= ...
            lo, hi = (before + 1, before + length) if end else (before, before + length - 1)
            if hi < w_low or lo > w_high:
                continue
            lit = m.NewBoolVar(f"{name}_in_{k}")
            m.Add(w >= lo).OnlyEnforceIf(lit)
            m.Add(w <= hi).OnlyEnforceIf(lit)
            m.Add(real == w + a - before).OnlyEnforceIf(lit)
            m.AddHint(lit, (a < hint <= b) if end else (a <= hint < b))
            literals.append(lit)
        m.AddExactlyOne(literals)
        return real

    def read(self, solver) -> dict[str, Placement]:
        placements = {}
        for op_id in self.free:
            op = self.index.operations[op_id]
            machines = self.index.centres[op.work_centre].machines
            machine = next(k for k in range(machines) if solver.Value(self.present[(op_id, k)]))
            placements[op_id] = Placement(op_id, op.work_centre, machine, solver.Value(self.start[op_id]),
                                          solver.Value(self.end[op_id]))
        return placements
