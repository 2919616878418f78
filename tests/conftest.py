"""Fixtures: one real server per test session (on SQLite, or on PostgreSQL with Redis when
FLOORSYNC_TEST_BACKEND=postgres), logged-in clients per role, and fresh servers for tests that need an empty database."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.browsers import chromium
from tests.clients import Browser, anonymous, office
from tests.factory import make_item
from tests.servers import BACKEND, PG_ADMIN_URL, REDIS_URL, Server, make_server
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


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _require_services()
    if BACKEND == "postgres":
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()
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
        client = office(server.url, username)
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
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests that need the PostgreSQL + Redis shape are deselected (not skipped) on SQLite, and the run says so."""
    if BACKEND == "postgres":
        return
    deselected = [item for item in items if item.path.name in POSTGRES_ONLY_MODULES]
    if not deselected:
        return
    items[:] = [item for item in items if item.path.name not in POSTGRES_ONLY_MODULES]
    config.hook.pytest_deselected(items=deselected)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    for module in sorted({item.path.name for item in deselected}):
        line = f"deselected {module} on SQLite ({POSTGRES_ONLY_MODULES[module]}): run with FLOORSYNC_TEST_BACKEND=postgres"
        if reporter is not None:
            reporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("PICCOLO_CONF", "server.piccolo_conf")
