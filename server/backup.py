"""`floorsync backup FILE` / `floorsync restore FILE`: SQLite's online backup API, or pg_dump/pg_restore on PostgreSQL.

The database is the one FLOORSYNC_DATABASE_URL names. A PostgreSQL password travels to the tools in PGPASSWORD,
never on their command line (where `ps` shows it) and never in a message.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

from server.settings import database_url_from_env, is_postgres_url, sqlite_path_from_url

SQLITE_PAGES_PER_STEP = 1024


class BackupError(SystemExit):
    """A backup or restore that cannot be done: the CLI exits non-zero with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"error: {message}")


def backup(file: str | Path, database_url: str | None = None) -> None:
    database_url = database_url or database_url_from_env()
    target = Path(file).expanduser().resolve()
    if not target.parent.is_dir():
        raise BackupError(f"directory {target.parent} does not exist")
    if is_postgres_url(database_url):
        _run_pg_tool("pg_dump", database_url, ["--format=custom", "--no-owner", f"--file={target}"])
    else:
        _sqlite_copy(source=sqlite_path_from_url(database_url), destination=target, must_exist="database")


def restore(file: str | Path, database_url: str | None = None) -> None:
    """Replace the configured database's content with the backup's. Stop the servers first."""
    database_url = database_url or database_url_from_env()
    source = Path(file).expanduser().resolve()
    if not source.is_file():
        raise BackupError(f"backup file {source} does not exist")
    if is_postgres_url(database_url):
        # One transaction: a restore that fails half-way leaves the database as it was.
        _run_pg_tool(
            "pg_restore", database_url, ["--no-owner", "--clean", "--if-exists", "--single-transaction", str(source)]
        )
    else:
        _check_is_sqlite(source)
        destination = sqlite_path_from_url(database_url)
        destination.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source=source, destination=destination, must_exist="backup file")


def _check_is_sqlite(path: Path) -> None:
    with open(path, "rb") as handle:
        if handle.read(16) != b"SQLite format 3\x00":
            raise BackupError(f"{path} is not a SQLite backup")


def _sqlite_copy(source: Path, destination: Path, must_exist: str) -> None:
    """Page-by-page copy through the online backup API: consistent even while a server is writing to the source."""
    if not source.is_file():
        raise BackupError(f"{must_exist} {source} does not exist")
    try:
        with sqlite3.connect(f"file:{source}?mode=ro", uri=True) as src, sqlite3.connect(destination) as dst:
            src.backup(dst, pages=SQLITE_PAGES_PER_STEP)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup from {source} to {destination} failed: {exc}") from None


def _pg_connection(database_url: str) -> tuple[list[str], dict[str, str]]:
    parsed = urlparse(database_url)
    args = [
        f"--host={parsed.hostname or '127.0.0.1'}",
        f"--port={parsed.port or 5432}",
        f"--username={unquote(parsed.username or 'postgres')}",
        f"--dbname={parsed.path.lstrip('/') or 'postgres'}",
        "--no-password",
    ]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = unquote(parsed.password)
    return args, env


def _run_pg_tool(tool: str, database_url: str, tool_args: list[str]) -> None:
    executable = shutil.which(tool)
    if executable is None:
        raise BackupError(f"{tool} is not installed (PostgreSQL client tools are needed for a PostgreSQL database)")
    connection, env = _pg_connection(database_url)
    result = subprocess.run([executable, *connection, *tool_args], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        password = env.get("PGPASSWORD")
        detail = result.stderr.strip()
        if password:
            detail = detail.replace(password, "***")
        raise BackupError(f"{tool} failed (exit {result.returncode}): {detail}")
