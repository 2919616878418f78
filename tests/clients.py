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


def _client(base_url: str, cookies: httpx.Cookies | None = None) -> httpx.Client:
    client = httpx.Client(base_url=base_url, timeout=30, cookies=cookies)
    client.event_hooks["request"] = [lambda request: _send_csrf(request, client)]
    return client


def anonymous(base_url: str) -> httpx.Client:
    client = _client(base_url)
    client.get("/api/auth/csrf").raise_for_status()
    return client


def office(base_url: str, username: str, password: str = DEMO_PASSWORD) -> httpx.Client:
    """A new session of its own: a real login."""
    client = anonymous(base_url)
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return client


# Sessions of this test process, by server and user, that `signed_in` hands out again.
_sessions: dict[tuple[str, str], httpx.Cookies] = {}


def signed_in(base_url: str, username: str) -> httpx.Client:
    """A client in a session of `username` that this process already opened on that server, if it is still alive;
    otherwise a new one (a real login). A login verifies an argon2 hash, by design the most expensive request the
    server answers (about a quarter of a CPU-second): the suite's tests ask for logged-in users over a thousand times
    a run, and a session reused costs one cheap `GET /api/auth/me` instead. A test that ends the session (logout,
    deactivation, password reset) leaves a dead one, which the check finds; tests about sessions themselves use
    `office`, a session of their own."""
    key = (base_url, username)
    if key in _sessions:
        client = _client(base_url, _sessions[key])
        me = client.get("/api/auth/me")
        if me.status_code == 200 and me.json().get("username") == username:
            return client
        client.close()
    client = office(base_url, username)
    _sessions[key] = httpx.Cookies(client.cookies)
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
