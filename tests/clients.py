"""HTTP clients as an office user would be: a session cookie, and the CSRF token sent with every write."""

from __future__ import annotations

import httpx

from server.demo import DEMO_PASSWORD

CSRF_COOKIE = "floorsync_csrf"


def _send_csrf(request: httpx.Request, client: httpx.Client) -> None:
    token = client.cookies.get(CSRF_COOKIE)
    if token and request.method not in ("GET", "HEAD", "OPTIONS"):
        request.headers["x-csrftoken"] = token


def anonymous(base_url: str) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30)
    client.event_hooks["request"] = [lambda request: _send_csrf(request, client)]
    client.get("/api/auth/csrf").raise_for_status()
    return client


def office(base_url: str, username: str, password: str = DEMO_PASSWORD) -> httpx.Client:
    client = anonymous(base_url)
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client
