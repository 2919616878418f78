"""HTTP clients as an office user would be: a session cookie, and the CSRF token sent with every write; and a browser
without script that posts the pages' forms."""

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


class Browser:
    """A cookie jar that posts forms the way the pages do: form-encoded, with the `_csrf_token` field."""

    def __init__(self, base_url: str, accept_language: str = "en"):
        self.http = httpx.Client(base_url=base_url, timeout=30, headers={"accept-language": accept_language})
        self.http.get("/login")

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post(self, path: str, data: dict | list | None = None, *, token: bool = True, **kwargs) -> httpx.Response:
        pairs = list(data.items()) if isinstance(data, dict) else list(data or [])
        if token:
            pairs.append(("_csrf_token", self.http.cookies.get(CSRF_COOKIE)))
        fields: dict[str, list[str]] = {}
        for name, value in pairs:
            fields.setdefault(name, []).append(value)
        return self.http.post(path, data=fields, **kwargs)

    def log_in(self, username: str, password: str = "floorsync-demo") -> httpx.Response:
        return self.post("/login", {"username": username, "password": password})
