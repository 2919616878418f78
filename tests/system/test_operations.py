"""Operations through the running server: /health, /metrics, structured logs, and no secrets in any of them."""

from __future__ import annotations

import json
import re
import time
from contextlib import closing

from tests.clients import CSRF_COOKIE, anonymous, office
from tests.servers import BACKEND, Database

SESSION_COOKIE = "floorsync_session"


def _log_entries(server, wanted=lambda entry: True, timeout_s: float = 5.0) -> list[dict]:
    """Every line of the server's log parsed as JSON (a line that is not JSON fails the test), waiting for `wanted`."""
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [line for line in server.log_text().splitlines() if line.strip()]
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"server log line is not JSON: {line!r}") from None
        if any(wanted(e) for e in entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.1)


def test_health_reports_the_database_and_broker_in_use(guest):
    health = guest.get("/health")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"]
    if BACKEND == "postgres":
        assert body["database"]["kind"] == "postgresql" and body["database"]["url"].startswith("postgresql://")
        assert body["broker"]["kind"] == "redis" and body["broker"]["url"].startswith("redis://")
    else:
        assert body["database"]["kind"] == "sqlite" and body["database"]["url"].startswith("sqlite:///")
        assert body["broker"]["kind"] == "memory"


def test_health_never_shows_a_password_or_the_secret(fresh_server, tmp_path):
    password = "db-pass-" + "Zq9" * 4
    database = Database.create(tmp_path)
    if BACKEND == "postgres":
        # The test cluster trusts local connections, so the server starts with the password in its URL.
        database.url = database.url.replace("postgresql://postgres@", f"postgresql://postgres:{password}@")
    server = fresh_server(demo=False, database=database)
    with closing(anonymous(server.url)) as guest:
        text = guest.get("/health").text
    assert password not in text
    assert server.env["FLOORSYNC_SECRET"] not in text
    assert "@" not in json.loads(text)["database"]["url"]
    assert password not in server.log_text()


def _requests_total(metrics_text: str, path: str, status: int) -> float:
    total = 0.0
    for line in metrics_text.splitlines():
        if line.startswith("litestar_requests_total{") and f'path="{path}"' in line and f'status_code="{status}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_are_prometheus_text_and_count_requests(guest, admin):
    first = guest.get("/metrics")
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("text/plain")
    assert "# TYPE litestar_requests_total counter" in first.text
    assert "litestar_request_duration_seconds_bucket" in first.text

    before = _requests_total(first.text, "/api/units", 200)
    for _ in range(3):
        admin.get("/api/units").raise_for_status()
    after = _requests_total(guest.get("/metrics").text, "/api/units", 200)
    assert after - before == 3


def test_every_log_line_is_a_json_object_and_requests_have_method_path_status_duration(server, admin, unique):
    marker = unique("logmark").lower()
    admin.get("/api/items", params={"q": marker}).raise_for_status()
    admin.get(f"/api/items/{marker}")

    def is_request(entry, path, status):
        return entry.get("logger") == "floorsync.requests" and entry.get("path") == path and entry.get("status") == status

    entries = _log_entries(server, lambda e: is_request(e, f"/api/items/{marker}", 404))
    assert entries, "the server wrote no log"
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= entry.keys(), entry
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", entry["time"]), entry["time"]
    found = [e for e in entries if is_request(e, f"/api/items/{marker}", 404)]
    assert len(found) == 1
    assert found[0]["method"] == "GET" and found[0]["level"] == "info"
    assert isinstance(found[0]["duration_ms"], (int, float)) and found[0]["duration_ms"] >= 0
    assert any(is_request(e, "/api/items", 200) for e in entries)
    # The query string (which could carry a token) is not logged.
    assert all(marker not in json.dumps(e) for e in entries if e.get("path") != f"/api/items/{marker}")


def test_the_log_holds_no_password_no_session_cookie_and_no_secret(fresh_server, unique):
    server = fresh_server(demo=True)
    username, password = unique("logcheck").lower(), "Pa55-" + unique("word")
    with closing(office(server.url, "admin")) as admin:
        created = admin.post("/api/users", json={"username": username, "display_name": "Log check", "password": password,
                                                 "roles": ["viewer"]})
        assert created.status_code == 201, created.text
    with closing(anonymous(server.url)) as stranger:
        wrong = stranger.post("/api/auth/login", json={"username": username, "password": password + "-typo"})
        assert wrong.status_code == 401
    with closing(office(server.url, username, password)) as user:
        session_cookie = user.cookies.get(SESSION_COOKIE)
        csrf_cookie = user.cookies.get(CSRF_COOKIE)
        assert session_cookie and csrf_cookie
        assert user.get("/api/auth/me").status_code == 200
        assert user.post("/api/units", json={"code": unique("NOPE"), "name": "refused"}).status_code == 403
        user.post("/api/auth/logout").raise_for_status()

    entries = _log_entries(server, lambda e: e.get("path") == "/api/auth/logout")
    assert any(e.get("path") == "/api/auth/logout" for e in entries), "the requests were not logged"
    log = server.log_text()
    assert password not in log
    assert session_cookie not in log
    assert csrf_cookie not in log
    assert server.env["FLOORSYNC_SECRET"] not in log


def test_the_production_shape_is_two_servers_behind_nginx_sharing_postgres_and_redis():
    """Docker cannot run in the test environment: this checks the compose file and the proxy config say what we ship."""
    import yaml

    from tests.servers import REPO

    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    assert services["postgres"]["image"].startswith("postgres:15") and services["redis"]["image"].startswith("redis:7")
    servers = [services["server-1"], services["server-2"]]
    for server in servers:
        assert server["command"][:2] == ["floorsync", "serve"] and "--proxy-headers" in server["command"]
        assert server["environment"]["FLOORSYNC_SECURE_COOKIES"] == "1"
        assert server["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "ports" not in server
    assert servers[0]["environment"] == servers[1]["environment"] == services["migrate"]["environment"]
    assert services["migrate"]["command"] == ["floorsync", "migrate"]
    assert services["nginx"]["ports"] == ["80:80"]

    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert "server server-1:8000" in nginx and "server server-2:8000" in nginx
    assert re.search(r"location = /metrics \{\s*return 404;", nginx)
    live = re.search(r"location /api/sync/live \{(.*?)\}", nginx, re.S).group(1)
    assert "proxy_set_header Upgrade $http_upgrade;" in live and "proxy_set_header Connection $connection_upgrade;" in live
