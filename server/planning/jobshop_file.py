"""`floorsync jobshop FILE`: a job-shop instance in OR-Library's text format (DESIGN.md section 6) read into the
scheduling engine's problem, and its schedule written back as JSON."""

from __future__ import annotations

from typing import Any

from server.planning.scheduler import solve
from server.planning.scheduling import Placement, Problem, SchedulingError, job_shop


class InstanceError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _numbers(line: str, number: int) -> list[int]:
    try:
        values = [int(word) for word in line.split()]
    except ValueError:
        raise InstanceError("invalid_instance", f"line {number}: {line.strip()!r} is not whole numbers") from None
    if any(v < 0 for v in values):
        raise InstanceError("invalid_instance", f"line {number}: a number below 0")
    return values


def read_instance(text: str) -> Problem:
    """Lines starting with # and blank lines are comments; the first other line is `jobs machines`, then one line
    per job of `machine duration` pairs, machines numbered from 0."""
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1)
             if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise InstanceError("invalid_instance", "no `jobs machines` line")
    header = _numbers(lines[0][1], lines[0][0])
    if len(header) != 2 or header[0] < 1 or header[1] < 1:
        raise InstanceError("invalid_instance", f"line {lines[0][0]}: expected `jobs machines`, two numbers above 0")
    job_count, machines = header
    if len(lines) - 1 != job_count:
        raise InstanceError("invalid_instance", f"{job_count} jobs announced, {len(lines) - 1} job lines follow")
    jobs = []
    for number, line in lines[1:]:
        values = _numbers(line, number)
        if not values or len(values) % 2:
            raise InstanceError("invalid_instance", f"line {number}: expected `machine duration` pairs")
        pairs = list(zip(values[::2], values[1::2]))
        for machine, _ in pairs:
            if machine >= machines:
                raise InstanceError("invalid_instance", f"line {number}: machine {machine} is not in 0..{machines - 1}")
        jobs.append(pairs)
    return job_shop(jobs, machines)


def write_schedule(placements: tuple[Placement, ...]) -> list[dict[str, Any]]:
    return [{"job": int(p.operation.split("-")[0][1:]), "operation": int(p.operation.split("-")[1]),
             "machine": int(p.work_centre[1:]), "start": p.start, "end": p.end} for p in placements]


def solve_file(text: str, seconds: float, workers: int = 2, with_schedule: bool = False,
               with_trace: bool = False) -> tuple[dict[str, Any], int]:
    """The command's output and exit status: makespan, status, wall seconds and the best bound (and on request
    the schedule and each improving makespan with its second), or an `error` with exit status 1."""
    try:
        problem = read_instance(text)
        trace: list[list[float | int]] = []
        schedule = solve(problem, seconds=seconds, workers=workers,
                         on_solution=(lambda _, at, value: trace.append([round(at, 3), value])) if with_trace else None)
    except InstanceError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}, 1
    except SchedulingError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}, 1
    output: dict[str, Any] = {"makespan": schedule.objective.makespan,
                              "status": "optimal" if schedule.status == "optimal" else "feasible",
                              "seconds": round(schedule.seconds, 3), "bound": schedule.bound, "gap": schedule.gap}
    if with_trace:
        output["improvements"] = trace
    if with_schedule:
        output["schedule"] = write_schedule(schedule.placements)
    return output, 0
