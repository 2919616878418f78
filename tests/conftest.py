"""Fixtures: one real server per test session (on SQLite, or on PostgreSQL with Redis when
FLOORSYNC_TEST_BACKEND=postgres), logged-in clients per role, and fresh servers for tests that need an empty database."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.browsers import chromium
from tests.clients import Browser, anonymous, signed_in
from tests.factory import make_item
from tests.servers import BACKEND, PG_ADMIN_URL, REDIS_URL, RUN_DIR_VARIABLE, Server, drop_demo_template, make_server
from tests.sync_fixtures import enrolled_device


def _require_services() -> None:
    """On the PostgreSQL run both services must answer: a missing one fails the run, it never skips it."""
    if BACKEND != "postgres":
        return
    pg = subprocess.run(["psql", PG_ADMIN_URL, "-qtAc", "select 1"], capture_output=True, text=True)
    if pg.returncode != 0:
        pytest.exit(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {pg.stderr.strip()}", returncode=3)
    import redis

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis at {REDIS_URL} is not reachable: {exc}", returncode=3)


def pytest_report_header(config: pytest.Config) -> str:
    return f"floorsync backend: {BACKEND}" + (f" (PostgreSQL + Redis {REDIS_URL})" if BACKEND == "postgres" else " (SQLite + in-process broker)")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The run starts from an empty Redis database, emptied once (by the xdist controller, or the only process):
    a worker emptying it would take keys from under the servers of the workers already running."""
    if BACKEND != "postgres" or hasattr(session.config, "workerinput"):
        return
    _require_services()
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require_services()
    srv = make_server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()
    srv.database.drop()


@pytest.fixture
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Server]]:
    """Servers of a test's own, each on a new empty database (demo users only when asked)."""
    started: list[Server] = []

    def start(**kwargs) -> Server:
        srv = make_server(tmp_path_factory.mktemp("fresh"), **kwargs)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()
        srv.database.drop()


@pytest.fixture
def login(server: Server) -> Iterator[Callable[[str], httpx.Client]]:
    clients: list[httpx.Client] = []

    def as_user(username: str) -> httpx.Client:
        client = signed_in(server.url, username)
        clients.append(client)
        return client

    yield as_user
    for client in clients:
        client.close()


@pytest.fixture
def admin(login) -> httpx.Client:
    return login("admin")


@pytest.fixture
def guest(server: Server) -> Iterator[httpx.Client]:
    client = anonymous(server.url)
    yield client
    client.close()


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Codes of a test's own, so tests sharing the session server never collide."""
    suffix = uuid.uuid4().hex[:6].upper()
    return lambda prefix: f"{prefix}-{suffix}"


@pytest.fixture
def browse(server):
    """Office pages as a browser without script uses them: `browse("planner")` is logged in, `browse()` is not."""
    opened: list[Browser] = []

    def open_as(username: str | None = None, accept_language: str = "en") -> Browser:
        browser = Browser(server.url, accept_language)
        opened.append(browser)
        if username:
            assert browser.log_in(username).status_code in (302, 303)
        return browser

    yield open_as
    for browser in opened:
        browser.http.close()


@pytest.fixture
def new_item(admin, unique) -> Callable[..., str]:
    """Items of the test's own, made by admin: `new_item("RCV", lot_tracked=True)` returns the new item's code."""
    return lambda prefix="PART", **fields: make_item(admin, unique(prefix), **fields)


@pytest.fixture
def device(server, login, tmp_path):
    """A warehouse tablet of site NB1 (every warehouse), enrolled through the office API."""
    client = enrolled_device(server.url, login("warehouse"), tmp_path)
    yield client
    client.close()


@pytest.fixture
def packer(server, login, tmp_path):
    """A warehouse tablet enrolled for the FG warehouse: it packs and loads shipments."""
    device = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["FG"])
    yield device
    device.close()


@pytest.fixture(scope="module")
def browser():
    """Debian Chromium for a module's browser tests (each test opens contexts of its own)."""
    with chromium() as browser:
        yield browser


POSTGRES_ONLY_MODULES = {
    "test_sync_multiprocess.py": "several server processes share live events only through Redis",
    "test_webhooks_multiprocess.py": "several server processes share one database only on PostgreSQL",
    "test_push_contention.py": "writers wait for each other's row locks only on PostgreSQL (SQLite has one writer)",
    "test_dispatch_multiprocess.py": "several server processes share live events only through Redis",
}
# Browser scenarios (marked `browser`) drive the pages and the floor app through the same HTTP API as the other tests;
# what the database does under those calls is proven on both backends by the HTTP tests, so a scenario runs once, on
# SQLite, where the guides' pictures are taken.
BROWSER_ON_ONE_BACKEND = "browser scenarios run once, on SQLite; HTTP tests prove their calls on both"
# Scenarios whose answers the database does not decide run once too, on the shorter PostgreSQL run: who may call what
# is the guards' and the session's, asked before any document is read.
# The API fuzzer runs once as well, on PostgreSQL: the contract it checks is the HTTP layer's, and of the two databases
# PostgreSQL is the one with refusals of its own at the boundaries the fuzzer sends (a NUL byte in text, an integer
# past its column), which the embedded database takes in silence. It is the suite's longest test.
FUZZER = "the HTTP contract is checked on the stricter database, whose refusals (NUL bytes, integer widths) SQLite lacks"
ONCE_ON_POSTGRES_MODULES = {
    "test_authorization_matrix.py": "the guards answer before the database is asked; other tests prove their reads on both",
    "test_api_fuzz_csv.py": FUZZER,
    "test_api_fuzz_floor.py": FUZZER,
    "test_api_fuzz_master_data.py": FUZZER,
    "test_api_fuzz_office.py": FUZZER,
}


# Modules that touch no database (rules as values in and decisions out, the MRP and scheduling engines with
# `floorsync mrp FILE` and `floorsync jobshop FILE`, the source's imports) prove on one run all they prove on two:
# they run once, on PostgreSQL's run, the shorter one now that the browser scenarios with guide pictures run on
# SQLite's.
NO_DATABASE = "it reads and writes no database, so a second run would prove nothing the first did not"
ONCE_ON_POSTGRES_MODULES |= {
    "test_architecture.py": NO_DATABASE,
    "test_audit_words.py": NO_DATABASE,
    "test_calendar.py": NO_DATABASE,
    "test_command_schemas.py": NO_DATABASE,
    "test_jobshop.py": NO_DATABASE,
    "test_mrp_properties.py": NO_DATABASE,
    "test_mrp_textbook.py": NO_DATABASE,
    "test_open_actions.py": NO_DATABASE,
    "test_refusal_catalog.py": NO_DATABASE,
    "test_rfq_rules.py": NO_DATABASE,
    "test_sales_rules.py": NO_DATABASE,
    "test_scheduling.py": NO_DATABASE,
    "test_scheduling_scale.py": NO_DATABASE,
    "test_schedule_view.py": NO_DATABASE,
    "test_shipping_rules.py": NO_DATABASE,
}


# Browser scenarios run once. Those that take no guide pictures (the pictures are SQLite's: PostgreSQL's numeric
# columns keep their scale) run on PostgreSQL + Redis, the production shape, which also evens out the two runs' times.
ON_THE_PRODUCTION_SHAPE = "the floor app's offline and update scenarios run once, on PostgreSQL + Redis, as in production"
BROWSER_ON_POSTGRES_MODULES = {
    "test_pwa_sync.py": ON_THE_PRODUCTION_SHAPE,
    "test_pwa_shipping.py": ON_THE_PRODUCTION_SHAPE,
    "test_pwa_update.py": ON_THE_PRODUCTION_SHAPE,
}

BACKEND_NAMES = {"sqlite": "SQLite", "postgres": "PostgreSQL"}


def _deselection_reason(item: pytest.Item) -> str | None:
    if BACKEND != "postgres" and item.path.name in POSTGRES_ONLY_MODULES:
        return f"on SQLite ({POSTGRES_ONLY_MODULES[item.path.name]}): run with FLOORSYNC_TEST_BACKEND=postgres"
    if BACKEND != "postgres" and item.path.name in ONCE_ON_POSTGRES_MODULES:
        return f"on SQLite (run once, on PostgreSQL: {ONCE_ON_POSTGRES_MODULES[item.path.name]})"
    once_on = item.get_closest_marker("once_on")  # a test (a parameter) of its own that runs on one backend
    if once_on is not None and once_on.args[0] != BACKEND:
        here, there = BACKEND_NAMES[BACKEND], BACKEND_NAMES[once_on.args[0]]
        return f"on {here} (run once, on {there}: {once_on.kwargs['reason']})"
    if item.get_closest_marker("browser") is not None:
        on_postgres = item.path.name in BROWSER_ON_POSTGRES_MODULES
        if BACKEND == "postgres" and not on_postgres:
            return f"on PostgreSQL ({BROWSER_ON_ONE_BACKEND}): run with FLOORSYNC_TEST_BACKEND=sqlite"
        if BACKEND != "postgres" and on_postgres:
            return f"on SQLite ({BROWSER_ON_POSTGRES_MODULES[item.path.name]}): run with FLOORSYNC_TEST_BACKEND=postgres"
    return None


# The modules of 15 s or more on either backend's run (JUnit of full runs, each module's time after its worker has
# started), longest first. Under `--dist loadfile` a worker takes a whole module, and the run lasts as long as its
# slowest worker: started first, the long modules spread over the workers, and the short ones, handed out last, even
# out where each worker ends (in collection order, tests/system/test_webhooks.py, 23 s, ran alone at the end of both
# runs). A module not named keeps its collection order after these: name a new one here once it takes 15 s.
LONGEST_FIRST = [
    "test_api_fuzz_master_data.py", "test_api_fuzz_floor.py", "test_api_fuzz_office.py", "test_sync_multiprocess.py",
    "test_pwa_guide.py", "test_backup.py", "test_pwa_sync.py", "test_authorization_matrix.py", "test_sync_faults.py",
    "test_sync_simulation.py", "test_pwa_shipping.py", "test_hardening_auth.py", "test_api_fuzz_csv.py",
    "test_pwa_scanning.py", "test_operations.py", "test_quality.py", "test_forecasts.py", "test_browser_planning.py",
    "test_browser_schedule.py",
    "test_mrp_live.py", "test_pwa_update.py", "test_sync_scope.py", "test_demo.py", "test_production.py",
    "test_browser_sales.py", "test_sync_refusals.py", "test_security.py", "test_shipping.py", "test_webhooks.py",
    "test_pwa_floor.py", "test_cli_errors.py", "test_large_import.py", "test_office_devices_ui.py", "test_pwa_ops.py",
    "test_webhooks_multiprocess.py", "test_devices.py", "test_sync_protocol.py", "test_rfq.py",
    "test_scheduling_scale.py", "test_pwa_chinese.py", "test_import_problems_chinese.py", "test_site_scoping.py",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest modules first (a stable sort: each module's own order holds). Tests that need the PostgreSQL +
    Redis shape are deselected (not skipped) on SQLite, browser scenarios on PostgreSQL, what runs once on the other
    backend's run, and the run says so, module by module (under xdist the workers hand their lines to the
    controller, which prints them at the end)."""
    rank = {name: position for position, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))
    reasons = {item: _deselection_reason(item) for item in items}
    deselected = [item for item in items if reasons[item]]
    if not deselected:
        return
    items[:] = [item for item in items if not reasons[item]]
    config.hook.pytest_deselected(items=deselected)
    counts: dict[tuple[str, str], int] = {}
    for item in deselected:
        key = (str(item.path.relative_to(config.rootpath)), reasons[item])
        counts[key] = counts.get(key, 0) + 1
    lines = [f"deselected {path} ({n} test{'s' if n > 1 else ''}) {reason}" for (path, reason), n in sorted(counts.items())]
    if hasattr(config, "workeroutput"):
        config.workeroutput["deselected"] = lines
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line)


_deselected_by_workers: set[str] = set()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    _deselected_by_workers.update(getattr(node, "workeroutput", {}).get("deselected", []))


def pytest_terminal_summary(terminalreporter) -> None:
    if _deselected_by_workers:
        terminalreporter.section("deselected, not skipped")
        for line in sorted(_deselected_by_workers):
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")
    if not hasattr(config, "workerinput"):
        # The run's folder, made before the xdist workers start (they inherit the variable): one demo template for
        # the whole run instead of one loaded by each worker (tests/servers.py: demo_template).
        os.environ[RUN_DIR_VARIABLE] = tempfile.mkdtemp(prefix="floorsync-test-run-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and os.environ.get(RUN_DIR_VARIABLE):
        run_dir = Path(os.environ.pop(RUN_DIR_VARIABLE))
        drop_demo_template(run_dir)
        shutil.rmtree(run_dir, ignore_errors=True)
