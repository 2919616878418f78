"""Capable to promise against the scaled factory (group `ctp`): the demo factory's shape scaled to 2,000 operations
(tests/planning/scaled_factory.py, seed 15) as the site's current schedule, its list schedule as where the existing
operations are, and a new order of 5 lines, each a chair made to order from two made parts (cutting, sewing or
welding, then assembly and packing) and a bought component (7 to 21 days), nothing in stock. Reported: the p95 and
median seconds of `promise_lines` (server/planning/promising.py: the balances, the BOM levels, the insertion of the
new operations around the 2,000 pinned ones, the critical path's reason) over 20 runs, in this process, against
the baseline of the list scheduler's schedule of the factory alone measured in the same run (target: p95 < 2 s).
The read of the database (`read_promise_input`) is not in the figure."""

from __future__ import annotations

import random
import statistics
import time
from datetime import date, datetime, timedelta
from decimal import Decimal

from bench.common import block, verdict
from server.planning.promising import Balance, ItemPlan, LineToPromise, PromiseInput, Step, promise_lines
from server.planning.schedule_check import check_schedule
from server.planning.schedule_snapshot import ScheduleInput
from server.planning.scheduling import list_schedule
from tests.planning.scaled_factory import scaled_factory

OPERATIONS = 2000
RUNS = 20
SEED = 15
STAGE_CENTRES = (("CUT1", "SEW1"), ("WELD2", "SEW3"), ("CUT4", "WELD1"))


def promise_input() -> tuple[PromiseInput, float]:
    problem = scaled_factory(OPERATIONS, seed=SEED)
    problem = type(problem)(problem.work_centres, problem.orders, problem.operations, now=problem.now + 7 * 60)
    started = time.perf_counter()
    baseline = list_schedule(problem)
    baseline_seconds = time.perf_counter() - started
    rng = random.Random(SEED)
    items: dict[str, ItemPlan] = {}
    for n in range(5):
        parts = []
        for p, centres in enumerate(rng.sample(STAGE_CENTRES, 2)):
            code = f"NEW{n}-P{p}"
            items[code] = ItemPlan(code, True, 1_000_000, tuple(
                Step(10 * (k + 1), centre, Decimal(15), Decimal(rng.choice(("1.5", "2", "3")))) for k, centre in
                enumerate(centres)))
            parts.append((code, Decimal(1), Decimal(0)))
        bought = f"NEW{n}-B"
        items[bought] = ItemPlan(bought, False, 1_000_000, purchase_days=rng.randint(7, 21))
        items[f"NEW{n}"] = ItemPlan(f"NEW{n}", True, 1_000_000, (
            Step(10, f"ASM{rng.randint(1, 4)}", Decimal(20), Decimal(6)),
            Step(20, f"PACK{rng.randint(1, 4)}", Decimal(5), Decimal(2))), (*parts, (bought, Decimal(1), Decimal(0))))
    origin = datetime(2026, 12, 7)
    data = PromiseInput(ScheduleInput(problem, origin), baseline, {c.code: c for c in problem.work_centres},
                        {c.code: Decimal(100) for c in problem.work_centres}, items,
                        {code: Balance() for code in items})
    return data, baseline_seconds


def bench_ctp() -> None:
    data, baseline_seconds = promise_input()
    today: date = data.today
    lines = [LineToPromise(10 * (n + 1), f"NEW{n}", (20 + 10 * n) * 1_000_000, today + timedelta(days=10))
             for n in range(5)]
    samples = []
    result = None
    for _ in range(RUNS):
        started = time.perf_counter()
        result = promise_lines(data, lines)
        samples.append(time.perf_counter() - started)
    assert result is not None and all(line.promise_date is not None for line in result.lines)
    violations = check_schedule(result.problem, result.placements)
    assert violations == [], violations[:5]
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    block(f"Capable to promise: a new 5-line order against the demo factory scaled to {OPERATIONS} operations "
          f"({len(data.baseline)} pinned), {RUNS} runs", [
        ("promise_lines", f"p95 {p95:.3f} s, median {statistics.median(samples):.3f} s"),
        ("promises", ", ".join(f"line {p.line_no} {p.promise_date} ({p.reason.removeprefix('promise.')})"
                               for p in result.lines)),
        ("baseline: list scheduler", f"the factory alone, {baseline_seconds:.3f} s"),
        ("validator", "the schedule with the new orders inserted is valid"),
        ("target", f"p95 < 2 s -> {verdict(p95 < 2)}"),
    ])


GROUPS = {"ctp": lambda args: bench_ctp()}
