"""The scheduling engine on Fisher and Thompson's 10x10 job shop (group `jobshop`): `floorsync jobshop` on ft10
with a 60 s limit and two solver threads, a process as anyone would run it. Reported: the makespan, the second the
proven optimum 930 was first reached (from the solver's callback on each improving solution, `--trace`), the best
bound and gap; against the baseline of the earliest-due-date list scheduler's makespan, measured in the same run.
Target: 930 within 60 s."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from bench.common import block, verdict
from server.planning.jobshop_file import read_instance
from server.planning.scheduling import evaluate, list_schedule
from tests import servers

INSTANCE = Path(servers.REPO) / "tests" / "planning" / "data" / "ft10.txt"
OPTIMUM = 930
LIMIT_SECONDS = 60


def bench_jobshop() -> None:
    problem = read_instance(INSTANCE.read_text())
    started = time.perf_counter()
    baseline = evaluate(problem, list_schedule(problem)).makespan
    baseline_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = subprocess.run([servers.FLOORSYNC, "jobshop", str(INSTANCE), "--seconds", str(LIMIT_SECONDS), "--trace"],
                            capture_output=True, text=True, cwd=servers.REPO, timeout=LIMIT_SECONDS + 60)
    wall = time.perf_counter() - started
    assert result.returncode == 0, result.stdout[:500] + result.stderr[-2000:]
    output = json.loads(result.stdout)
    reached = next((at for at, makespan in output["improvements"] if makespan <= OPTIMUM), None)
    block(f"Job shop ft10 (10 jobs x 10 machines, optimum {OPTIMUM}), floorsync jobshop --seconds {LIMIT_SECONDS}, "
          f"2 solver threads", [
        ("makespan", f"{output['makespan']} ({output['status']}), best bound {output['bound']}, gap "
                     f"{output['gap'] * 100:.1f} %"),
        ("time to 930", f"{reached:.1f} s" if reached is not None else "not reached"),
        ("solver seconds", f"{output['seconds']:.1f} s; the process {wall:.1f} s, start-up included"),
        ("improving solutions", f"{len(output['improvements'])}, the first {output['improvements'][0][1]} at "
                                f"{output['improvements'][0][0]:.2f} s" if output["improvements"] else "none"),
        ("baseline: list scheduler", f"makespan {baseline} (earliest due date, {baseline_seconds * 1000:.0f} ms); "
                                     f"ratio {output['makespan'] / baseline:.2f}x"),
        ("target", f"930 within {LIMIT_SECONDS} s -> {verdict(reached is not None and reached <= LIMIT_SECONDS)}"),
    ])


GROUPS = {"jobshop": lambda args: bench_jobshop()}
