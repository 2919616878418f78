"""Real servers for the tests: a fresh database (SQLite file or PostgreSQL database), migrated, then
`floorsync serve` in a subprocess on a free port. The suite talks to it over HTTP like any client."""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
BACKEND = os.environ.get("FLOORSYNC_TEST_BACKEND", "sqlite")
PG_ADMIN_URL = os.environ.get("FLOORSYNC_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("FLOORSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
FLOORSYNC = str(Path(sys.executable).parent / "floorsync")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The suite's PostgreSQL databases commit without waiting for the WAL flush (`synchronous_commit = off`): a commit
# returns in about 0.1 ms instead of about 4 ms on this machine's disk, the same for every test. Nothing the suite
# checks depends on a commit surviving a PostgreSQL crash (the tests kill our servers, never PostgreSQL), and the
# order, visibility and locking of commits are unchanged. The benchmarks set this to True: their figures are the
# production setting's.
DURABLE_COMMITS = False


def _psql(*statements: str) -> None:
    command = ["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-q"]
    for sql in statements:
        command += ["-c", sql]
    subprocess.run(command, check=True, capture_output=True)


def _create_database(name: str, template: str | None = None) -> None:
    create = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
    _psql(create, *(() if DURABLE_COMMITS else (f'ALTER DATABASE "{name}" SET synchronous_commit = off',)))


@dataclass
class Database:
    """A database of its own for one server (or a group of servers sharing it)."""

    url: str
    name: str
    tmp: Path

    @classmethod
    def create(cls, tmp: Path) -> Database:
        name = f"floorsync_test_{uuid.uuid4().hex[:10]}"
        if BACKEND == "postgres":
            _create_database(name)
            base = PG_ADMIN_URL.rsplit("/", 1)[0]
            return cls(url=f"{base}/{name}", name=name, tmp=tmp)
        return cls(url=f"sqlite:///{tmp / (name + '.db')}", name=name, tmp=tmp)

    @classmethod
    def copy_of(cls, template: Database, tmp: Path) -> Database:
        """A new database with the template's rows: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL."""
        name = f"floorsync_test_{uuid.uuid4().hex[:10]}"
        if BACKEND == "postgres":
            _create_database(name, template.name)
            return cls(url=f"{template.url.rsplit('/', 1)[0]}/{name}", name=name, tmp=tmp)
        source = template.url.removeprefix("sqlite:///")
        for suffix in ("", "-wal"):  # a write-ahead log left behind holds rows too
            if os.path.exists(source + suffix):
                shutil.copyfile(source + suffix, tmp / (name + ".db" + suffix))
        return cls(url=f"sqlite:///{tmp / (name + '.db')}", name=name, tmp=tmp)

    def drop(self) -> None:
        if BACKEND == "postgres":
            _psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@dataclass
class Server:
    database: Database
    port: int
    env: dict[str, str]
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a `floorsync` subcommand against this server's database."""
        result = subprocess.run([FLOORSYNC, *args], env=self.env, capture_output=True, text=True, cwd=REPO)
        if check and result.returncode != 0:
            raise AssertionError(f"floorsync {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def start(self) -> Server:
        self.log_path = self.database.tmp / f"server-{self.port}.log"
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [FLOORSYNC, "serve", "--port", str(self.port)], env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO
        )
        deadline = time.monotonic() + 60  # a start-up takes 2-3 s; a loaded machine (CI beside other work) more
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def log_text(self) -> str:
        return self.log_path.read_text() if self.log_path and self.log_path.exists() else ""


def server_env(database: Database, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOORSYNC_")}
    env.update(
        FLOORSYNC_DATABASE_URL=database.url,
        FLOORSYNC_DATA_DIR=str(data_dir),
        FLOORSYNC_SECRET="test-secret-" + "x" * 40,
        FLOORSYNC_LOGIN_RATE_LIMIT="10000/minute",
        FLOORSYNC_DEVICE_RATE_LIMIT="100000/minute",  # simulations sync far faster than a tablet; tests of the limit set their own
        FLOORSYNC_WEBHOOK_ALLOW="127.0.0.1",  # the tests' webhook receivers listen there; the rest of 127/8 stays refused
    )
    if BACKEND == "postgres":
        env["FLOORSYNC_REDIS_URL"] = REDIS_URL
    env.update(extra)
    return env


_demo_template: Database | None = None
# The run's own folder (made by tests/conftest.py before any xdist worker starts): the demo template of the run, its
# lock and the file that names it live there. Without it (a script importing this module), each process loads its own.
RUN_DIR_VARIABLE = "FLOORSYNC_TEST_RUN_DIR"
TEMPLATE_RECORD = "demo-template.json"


def _load_demo_template(tmp: Path) -> Database:
    template = Database.create(tmp)
    loader = Server(database=template, port=0, env=server_env(template, tmp / "template-data"))
    loader.cli("migrate")
    loader.cli("demo", "--if-empty")
    return template


def demo_template(tmp: Path) -> Database:
    """A database migrated and loaded with the demo factory by the real commands, once per run: the first test process
    (xdist worker) to need it loads it while the others wait for it, and a new demo server starts on a copy of it
    instead of loading the demo again. The run drops it at its end (tests/conftest.py: drop_demo_template)."""
    global _demo_template
    if _demo_template is not None and _demo_template.url.startswith("sqlite") != (BACKEND != "postgres"):
        _demo_template = None  # a benchmark run moved to the other database: that template is no template here
    if _demo_template is None:
        run_dir = os.environ.get(RUN_DIR_VARIABLE)
        if not run_dir:
            _demo_template = _load_demo_template(tmp)
            atexit.register(_demo_template.drop)
            return _demo_template
        record = Path(run_dir) / TEMPLATE_RECORD
        with open(Path(run_dir) / "demo-template.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when this process ends, should it fail while loading
            if not record.exists():
                template = _load_demo_template(Path(run_dir))
                record.write_text(json.dumps({"url": template.url, "name": template.name}))
            fields = json.loads(record.read_text())
        _demo_template = Database(url=fields["url"], name=fields["name"], tmp=Path(run_dir))
    return _demo_template


def drop_demo_template(run_dir: Path) -> None:
    """At the end of the run: the run's demo template, if a test loaded it."""
    record = run_dir / TEMPLATE_RECORD
    if record.exists():
        fields = json.loads(record.read_text())
        Database(url=fields["url"], name=fields["name"], tmp=run_dir).drop()


def make_server(tmp: Path, *, demo: bool = True, database: Database | None = None, **extra_env: str) -> Server:
    """A server on a new database: migrated, with the demo factory (a copy of the demo template) unless demo=False;
    or on the database given, migrated, and loaded by `floorsync demo` unless demo=False."""
    copy_demo = demo and database is None
    database = database or (Database.copy_of(demo_template(tmp), tmp) if copy_demo else Database.create(tmp))
    data_dir = tmp / f"data-{uuid.uuid4().hex[:6]}"
    server = Server(database=database, port=free_port(), env=server_env(database, data_dir, **extra_env))
    if not copy_demo:
        server.cli("migrate")
        if demo:
            server.cli("demo", "--if-empty")
    return server.start()
