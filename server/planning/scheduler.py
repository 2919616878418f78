"""The scheduler's entry point: `solve` makes a schedule of a problem, with one CP-SAT model (server/planning/
scheduling.py) for a problem of up to `LARGE_OPERATIONS` operations to schedule (and always for the job shop's
makespan), and with the search from the list scheduler's schedule (server/planning/schedule_search.py) above it.
It sits above both, so neither imports the other's caller."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from server.planning.schedule_search import search
from server.planning.scheduling import Placement, Problem, Schedule, _gap, _Index, _key, _list_schedule, _Model, evaluate

# More operations to schedule than this: the search of schedule_search.py. Measured on the generated factory
# (tests/planning/scaled_factory.py) with 10 s: at 54 operations one model ends a little better (weighted tardiness
# 401k against 405k), at 105 the search does (254k against 293k), and at 242 one model finds nothing of its own.
LARGE_OPERATIONS = 80


def solve(problem: Problem, seconds: float = 10.0, workers: int = 2,
          on_solution: Callable[[str, float, int], None] | None = None,
          hint: Sequence[Placement] | None = None) -> Schedule:
    """The schedule CP-SAT finds within `seconds` (wall), started from the list scheduler's; `on_solution` hears
    (phase, seconds since the start, objective value) for every improving solution. A large problem is searched
    (`schedule_search.search`): its `on_solution` hears the stage (list, batching, priorities, windows) and the
    weighted tardiness, from the list schedule on. `hint`, a valid schedule of the problem (the accepted one,
    repaired: server/planning/schedules.py), is the start instead when it is no worse than the list scheduler's (a
    warm start), and what is returned (status `kept`) when nothing better is found."""
    started = time.perf_counter()
    index = _Index(problem)
    first = _list_schedule(index)
    first_objective = evaluate(problem, first)
    start, start_objective, start_status = first, first_objective, "list"
    if hint is not None and _key(problem, evaluate(problem, hint)) <= _key(problem, first_objective):
        start, start_objective, start_status = tuple(hint), evaluate(problem, hint), "kept"
    if problem.objective == "tardiness" and len(problem.operations) - len(index.frozen) > LARGE_OPERATIONS:
        phases, placements = search(index, start, seconds, workers, started, on_solution)
    else:
        model = _Model(index, start)
        phases, placements = model.solve(seconds, workers, started, on_solution)
    elapsed = time.perf_counter() - started
    if placements is None or _key(problem, evaluate(problem, placements)) >= _key(problem, start_objective) and (
            start_status == "kept" or _key(problem, evaluate(problem, placements)) > _key(problem, start_objective)):
        main = start_objective.makespan if problem.objective == "makespan" else start_objective.weighted_tardiness
        bound = phases[0].bound if phases and phases[0].status in ("optimal", "feasible") else 0
        return Schedule(start, start_objective, start_status, bound, _gap(main, bound), elapsed, tuple(phases),
                        first_objective)
    objective = evaluate(problem, placements)
    status = "optimal" if all(p.status == "optimal" for p in phases) else "feasible"
    main = phases[0]
    return Schedule(tuple(placements), objective, status, main.bound, _gap(main.value, main.bound), elapsed,
                    tuple(phases), first_objective)
