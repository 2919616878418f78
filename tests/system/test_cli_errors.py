"""A newcomer's first commands: run before `floorsync migrate`, or against a database that is missing or cannot be
reached, a `floorsync` subcommand says so in one line on stderr, with no traceback, and exits with status 1."""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.servers import FLOORSYNC, PG_ADMIN_URL, REPO, Database

COMMANDS = [["enrol-code", "--site", "NB1"], ["demo"]]


def floorsync(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORSYNC_")}
    env["FLOORSYNC_DATABASE_URL"] = database_url
    return subprocess.run([FLOORSYNC, *args], env=env, capture_output=True, text=True, cwd=REPO, timeout=120)


def the_one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_an_empty_sqlite_file_asks_for_migrate_first(tmp_path: Path, command: list[str]):
    path = tmp_path / "floorsync.db"
    path.touch()
    line = the_one_line(floorsync(f"sqlite:///{path}", *command))
    assert line.startswith(f"floorsync {command[0]}: the SQLite database {path} has no Floorsync tables yet")
    assert line.endswith("run `floorsync migrate` first")


def test_a_sqlite_path_with_nothing_there_asks_for_migrate_first_and_makes_no_file(tmp_path: Path):
    path = tmp_path / "not-yet" / "floorsync.db"
    line = the_one_line(floorsync(f"sqlite:///{path}", "enrol-code", "--site", "NB1"))
    assert line == f"floorsync enrol-code: the SQLite database {path} does not exist yet: run `floorsync migrate` first"
    assert not path.parent.exists()


def test_a_database_of_this_backend_before_migrate_asks_for_migrate_first(tmp_path: Path):
    database = Database.create(tmp_path)
    try:
        line = the_one_line(floorsync(database.url, "create-user", "ana", "--password", "long-enough-pw", "--role", "admin"))
    finally:
        database.drop()
    assert line.startswith("floorsync create-user: the ")
    assert line.endswith("run `floorsync migrate` first")


@pytest.mark.parametrize("command", [*COMMANDS, ["migrate"]], ids=lambda c: c[0])
def test_a_postgres_database_that_does_not_exist_is_named(command: list[str]):
    name = f"floorsync_missing_{uuid.uuid4().hex[:8]}"
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    line = the_one_line(floorsync(url, *command))
    assert line.startswith(f'floorsync {command[0]}: the PostgreSQL database "{name}" at ')
    assert line.endswith("does not exist: create it (createdb) or point FLOORSYNC_DATABASE_URL at another")


def test_a_postgres_server_that_does_not_answer_is_named():
    line = the_one_line(floorsync("postgresql://postgres@127.0.0.1:1/floorsync", "demo"))
    assert line.startswith('floorsync demo: the PostgreSQL database "floorsync" at 127.0.0.1:1 cannot be reached (')
    assert line.endswith("is the server running? (FLOORSYNC_DATABASE_URL)")
