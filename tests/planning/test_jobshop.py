"""`floorsync jobshop FILE` reaches the proven optima of OR-Library's classic instances (ft06 of Fisher and
Thompson, la01-la05 of Lawrence) within 10 s each on two solver threads, through the command line of DESIGN.md
section 6 and the engine that plans the factory; every schedule it prints passes the independent validator. The
instance files are copied verbatim from OR-Library's jobshop1.txt (tests/planning/data/)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from server.planning.jobshop_file import read_instance
from server.planning.schedule_check import check_schedule
from server.planning.scheduling import Placement
from tests.servers import FLOORSYNC, REPO

DATA = Path(__file__).parent / "data"
# Known optima (OR-Library's jobshop1.txt notes and the literature since): each is proven here again.
OPTIMA = {"ft06": 55, "la01": 666, "la02": 655, "la03": 597, "la04": 590, "la05": 593}


def jobshop(path: Path | str, *options: str) -> tuple[subprocess.CompletedProcess, dict]:
    result = subprocess.run([FLOORSYNC, "jobshop", str(path), *options], env=os.environ, capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("instance", sorted(OPTIMA))
def test_the_classic_instance_is_solved_to_its_proven_optimum_within_ten_seconds(instance):
    result, output = jobshop(DATA / f"{instance}.txt", "--seconds", "10", "--schedule")
    assert result.returncode == 0, result.stderr
    assert output["status"] == "optimal"
    assert output["makespan"] == OPTIMA[instance] == output["bound"]
    assert output["gap"] == 0
    assert output["seconds"] < 10
    problem = read_instance((DATA / f"{instance}.txt").read_text())
    placements = [Placement(f"J{row['job']}-{row['operation']}", f"M{row['machine']}", 0, row["start"], row["end"])
                  for row in output["schedule"]]
    assert check_schedule(problem, placements) == []
    assert max(p.end for p in placements) == output["makespan"]


@pytest.mark.parametrize(("text", "says"), [
    ("", "no `jobs machines` line"),
    ("# only a comment\n", "no `jobs machines` line"),
    ("2 2\n0 3 1 2\n", "2 jobs announced, 1 job lines follow"),
    ("1 2\n0 3 2 4\n", "machine 2 is not in 0..1"),
    ("1 2\n0 3 1\n", "expected `machine duration` pairs"),
    ("1 2\n0 three 1 4\n", "is not whole numbers"),
    ("1 2\n0 -3 1 4\n", "a number below 0"),
    ("2\n0 3\n", "expected `jobs machines`"),
])
def test_a_file_that_is_not_an_instance_is_a_json_error_with_a_code_and_no_traceback(tmp_path, text, says):
    source = tmp_path / "instance.txt"
    source.write_text(text)
    result, output = jobshop(source)
    assert result.returncode == 1
    assert output["error"]["code"] == "invalid_instance"
    assert says in output["error"]["message"]
    assert "Traceback" not in result.stderr


def test_a_missing_file_and_a_bad_limit_are_json_errors(tmp_path):
    result, output = jobshop(tmp_path / "nothing.txt")
    assert (result.returncode, output["error"]["code"]) == (1, "unreadable_instance")
    result, output = jobshop(DATA / "ft06.txt", "--seconds", "0")
    assert (result.returncode, output["error"]["code"]) == (1, "invalid_limit")
    assert "Traceback" not in result.stderr
