"""The scheduling engine on the demo factory's shape scaled to 2,000 operations (group `schedule`): 20 work centres
in five stages with the demo's calendars (two shifts or a day shift, five or six days a week, a plant holiday),
setup matrices by item family, chairs fed by part orders, due dates over four weeks, weights 1 to 3, material
arriving later for a fifth of the part orders (tests/planning/scaled_factory.py, seeded, the same every run).
`solve` with a 30 s limit and two solver threads, in this process. Reported: the seconds to the first feasible
schedule (target < 2 s) and to the final one, and the final total weighted tardiness and setup minutes against the
baseline of the earliest-due-date list scheduler measured in the same run (targets: tardiness <= 0.5x, setups <=
0.7x); every schedule passes the validator. Then a breakdown: the busiest work centre is closed for two hours from
its first operation's start, with the final schedule accepted and a four-hour frozen window, and the site is rescheduled as the server does
after a `production.downtime` (the accepted places kept where they still hold, `solve` with a 5 s limit from the
accepted schedule repaired by right shifts, which is kept when nothing better is found): the seconds it takes and
how many operations moved."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import replace
from datetime import datetime

from bench.common import block, verdict
from server.planning.schedule_check import check_schedule
from server.planning.scheduler import solve
from server.planning.schedule_keep import Place, keep_places
from server.planning.schedule_snapshot import ScheduleInput, _closed
from server.planning.schedules import repaired
from server.planning.scheduling import evaluate, list_schedule
from tests.planning.scaled_factory import scaled_factory

OPERATIONS = 2000
LIMIT_SECONDS = 30
SEED = 15


def bench_schedule() -> None:
    made = time.perf_counter()
    problem = scaled_factory(OPERATIONS, seed=SEED)
    made = time.perf_counter() - made
    started = time.perf_counter()
    baseline_placements = list_schedule(problem)
    baseline_seconds = time.perf_counter() - started
    baseline = evaluate(problem, baseline_placements)
    assert check_schedule(problem, baseline_placements) == []
    events: list[tuple[str, float, int]] = []
    schedule = solve(problem, seconds=LIMIT_SECONDS, workers=2,
                     on_solution=lambda stage, at, value: events.append((stage, at, value)))
    violations = check_schedule(problem, schedule.placements)
    assert violations == [], violations[:5]
    first_feasible = events[0][1]
    improved = [at for stage, at, _ in events if stage != "list"]
    stages = Counter(stage for stage, _, _ in events if stage != "list")
    final = schedule.objective
    tardiness_ratio = final.weighted_tardiness / max(1, baseline.weighted_tardiness)
    setup_ratio = final.setup_minutes / max(1, baseline.setup_minutes)
    late = _late_orders(problem, schedule.placements)
    machines = sum(c.machines for c in problem.work_centres)
    block(f"Scheduling the demo factory scaled: {len(problem.operations)} operations of {len(problem.orders)} orders "
          f"on {len(problem.work_centres)} work centres ({machines} machines), solve --seconds {LIMIT_SECONDS}, "
          f"2 solver threads", [
        ("instance", f"generated in {made:.2f} s (seed {SEED}): calendars of two shifts or a day shift, setup "
                     f"matrices by family, due dates over 4 weeks"),
        ("first feasible schedule", f"{first_feasible:.2f} s (the list scheduler's, inside solve)"),
        ("first improvement", f"{improved[0]:.2f} s" if improved else "none"),
        ("final schedule", f"{schedule.seconds:.1f} s, status {schedule.status}, {len(improved)} improvements ("
                           + ", ".join(f"{stage} {n}" for stage, n in stages.items()) + ")"),
        ("weighted tardiness", f"{final.weighted_tardiness:,} against the list scheduler's "
                               f"{baseline.weighted_tardiness:,}: ratio {tardiness_ratio:.2f}x; late orders "
                               f"{late} against {_late_orders(problem, baseline_placements)}"),
        ("setup minutes", f"{final.setup_minutes:,} against {baseline.setup_minutes:,}: ratio {setup_ratio:.2f}x"),
        ("flow time", f"{final.flow_time:,} against {baseline.flow_time:,}; makespan {final.makespan:,} against "
                      f"{baseline.makespan:,} minutes"),
        ("bound", f"weighted tardiness >= {schedule.bound:,} (infinite capacity), gap {schedule.gap * 100:.0f} %"),
        ("baseline: list scheduler", f"earliest due date, {baseline_seconds * 1000:.0f} ms"),
        ("validator", "every schedule valid (list and final)"),
        ("target", f"first < 2 s -> {verdict(first_feasible < 2)}; tardiness <= 0.5x -> "
                   f"{verdict(tardiness_ratio <= 0.5)}; setups <= 0.7x -> {verdict(setup_ratio <= 0.7)}"),
    ])
    bench_breakdown(problem, schedule.placements)


RESCHEDULE_SECONDS = 5
DOWN_MINUTES = 120
FROZEN_MINUTES = 240


def bench_breakdown(problem, placements) -> None:
    busiest = Counter(p.work_centre for p in placements if p.start < problem.now + 1440).most_common(1)[0][0]
    places = {p.operation: Place(p.work_centre, p.machine, p.start) for p in placements}
    since = min(p.start for p in placements if p.work_centre == busiest)  # it breaks as its first job starts
    down = replace(problem, frozen_minutes=FROZEN_MINUTES, work_centres=[
        replace(c, open_time=_closed(c.open_time, since, since + DOWN_MINUTES)) if c.code == busiest else c
        for c in problem.work_centres])
    started = time.perf_counter()
    kept, lost = keep_places(down, places, set())
    given = ScheduleInput(kept, datetime(2026, 1, 5), places=places, lost=tuple(lost))
    schedule = solve(kept, seconds=RESCHEDULE_SECONDS, workers=2, hint=repaired(given))
    seconds = time.perf_counter() - started
    assert check_schedule(kept, schedule.placements) == []
    moved = sum(1 for p in schedule.placements if (p.work_centre, p.machine, p.start) != places[p.operation])
    on_busiest = sum(1 for p in placements if p.work_centre == busiest)
    block(f"Rescheduling after a breakdown: {busiest} down for {DOWN_MINUTES} minutes as its first operation starts "
          f"(minute {since - problem.now} from now), the final schedule "
          f"accepted, frozen window {FROZEN_MINUTES} minutes, solve --seconds {RESCHEDULE_SECONDS}", [
        ("places lost in the window", f"{len(lost)} (closed by the downtime, or after one that was)"),
        ("rescheduled in", f"{seconds:.1f} s, status {schedule.status}"),
        ("operations moved", f"{moved} of {len(placements)} ({on_busiest} on {busiest})"),
        ("weighted tardiness", f"{schedule.objective.weighted_tardiness:,} against the accepted schedule's "
                               f"{evaluate(problem, placements).weighted_tardiness:,}"),
        ("validator", "the new schedule is valid"),
    ])


def _late_orders(problem, placements) -> int:
    completion: dict[str, int] = {}
    order_of = {op.id: op.order for op in problem.operations}
    for p in placements:
        order = order_of[p.operation]
        completion[order] = max(completion.get(order, p.end), p.end)
    return sum(1 for o in problem.orders if completion[o.id] > o.due)


GROUPS = {"schedule": lambda args: bench_schedule()}
