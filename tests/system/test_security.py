"""Web security the browser relies on: login rate limiting, security headers, cookie flags."""

from __future__ import annotations

import httpx

from tests.clients import anonymous


def test_login_attempts_beyond_the_limit_get_429_until_the_window_passes(fresh_server):
    srv = fresh_server(demo=True, FLOORSYNC_LOGIN_RATE_LIMIT="3/minute")
    client = anonymous(srv.url)
    statuses = [
        client.post("/api/auth/login", json={"username": "admin", "password": "guess"}).status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    limited = client.post("/api/auth/login", json={"username": "admin", "password": "floorsync-demo"})
    assert limited.status_code == 429, "even the right password waits: the limit is on attempts"
    assert limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0
    # Other endpoints are not limited by the login limit.
    assert all(client.get("/api/auth/csrf").status_code == 200 for _ in range(5))


def test_pages_and_api_carry_security_headers(server, login):
    planner = login("planner")
    for response in (planner.get("/api/items"), planner.get("/api/nothing-here"), anonymous(server.url).get("/health")):
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_secure_flag_is_set_when_configured(fresh_server):
    srv = fresh_server(demo=True, FLOORSYNC_SECURE_COOKIES="1")
    client = anonymous(srv.url)
    csrf_cookie = client.get("/api/auth/csrf").headers["set-cookie"].lower()
    assert "secure" in csrf_cookie and "samesite=strict" in csrf_cookie


def test_a_session_id_planted_before_login_is_replaced_at_login(server):
    planted = "planted-by-an-attacker-0123456789abcdef"
    csrf = anonymous(server.url).get("/api/auth/csrf").json()["csrf_token"]
    login = httpx.post(
        f"{server.url}/api/auth/login",
        json={"username": "viewer", "password": "floorsync-demo"},
        headers={"x-csrftoken": csrf},
        cookies={"floorsync_session": planted, "floorsync_csrf": csrf},
    )
    assert login.status_code == 200
    issued = login.cookies.get("floorsync_session")
    assert issued and issued != planted

    assert httpx.get(f"{server.url}/api/auth/me", cookies={"floorsync_session": planted}).status_code == 401
    me = httpx.get(f"{server.url}/api/auth/me", cookies={"floorsync_session": issued})
    assert me.json()["username"] == "viewer"
