"""Accounts under attack: guessing a password from many addresses, weak passwords, sessions and board sockets that
outlive a logout or a reset, tokens of one session used on another, idle sockets that never say who they are, the
last admin demoting themselves, HSTS and /metrics behind the proxy — through HTTP and websockets."""

from __future__ import annotations

import json
import re
from contextlib import closing

import httpx
import pytest
import yaml
from websockets.sync.client import connect

from server.accounts.login_throttle import LockoutPolicy
from tests.clients import CSRF_COOKIE, anonymous, office
from tests.live_sockets import closed_with, next_message, open_board
from tests.servers import REPO, Server, make_server

SESSION_COOKIE = "floorsync_session"
METRICS_TOKEN = "metrics-token-for-the-scraper"
STRONG = "gear-lathe-kettle-42"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> Server:
    """One server behind a trusted proxy (this machine): each test says where a request comes from with
    X-Forwarded-For, and the limits are small enough to reach in a few requests."""
    srv = make_server(
        tmp_path_factory.mktemp("guarded"),
        FLOORSYNC_PROXY_HEADERS="1",
        FLOORSYNC_TRUSTED_PROXIES="127.0.0.1",
        FLOORSYNC_LOGIN_FAILURES_PER_USER="3",
        FLOORSYNC_LOGIN_LOCKOUT_SECONDS="60",
        FLOORSYNC_WS_HELLO_TIMEOUT_SECONDS="2",
        FLOORSYNC_WS_UNAUTHENTICATED_PER_ADDRESS="3",
        FLOORSYNC_METRICS_TOKEN=METRICS_TOKEN,
    )
    yield srv
    srv.stop()
    srv.database.drop()


def new_user(admin: httpx.Client, username: str, roles: list[str] | None = None, password: str = STRONG) -> str:
    created = admin.post("/api/users", json={"username": username, "display_name": "Test user", "password": password,
                                             "roles": roles or ["viewer"]})
    assert created.status_code == 201, created.text
    return username


def guess(client: httpx.Client, username: str, password: str, address: str) -> httpx.Response:
    return client.post("/api/auth/login", json={"username": username, "password": password},
                       headers={"x-forwarded-for": address})


# -- guessing a password --------------------------------------------------------------------------------------------

def test_guesses_at_one_user_from_many_addresses_lock_that_user_whatever_the_password(guarded, unique):
    with closing(office(guarded.url, "admin")) as admin:
        victim = new_user(admin, unique("victim").lower())
    attacker = anonymous(guarded.url)
    wrong = [guess(attacker, victim, f"guess-{n}-xyz", f"203.0.113.{n}").status_code for n in range(1, 4)]
    assert wrong == [401, 401, 401], "each guess came from another address: the per-address limit saw one each"

    right = guess(attacker, victim, STRONG, "203.0.113.50")
    assert right.status_code == 429, "the fourth try is held back, right password or not"
    assert right.json()["code"] == "rate_limited" and 30 < int(right.headers["retry-after"]) <= 60
    still_wrong = guess(attacker, victim, "another-guess-xyz", "203.0.113.51")
    # The same answer (the seconds left may have ticked on between the two on a busy machine): no oracle.
    assert still_wrong.status_code == 429 and still_wrong.json()["code"] == right.json()["code"] == "rate_limited"
    assert guess(anonymous(guarded.url), "admin", "floorsync-demo", "203.0.113.1").status_code == 200, "others log in"


def test_a_successful_login_forgets_the_failures_before_it(guarded, unique):
    with closing(office(guarded.url, "admin")) as admin:
        user = new_user(admin, unique("fumbler").lower())
    client = anonymous(guarded.url)
    statuses = [guess(client, user, password, "198.51.100.7").status_code
                for password in ("typo-one-abc", "typo-two-abc", STRONG, "typo-three-abc", "typo-four-abc", STRONG)]
    assert statuses == [401, 401, 200, 401, 401, 200]


def test_the_lockout_doubles_with_each_failure_past_the_allowance_up_to_the_longest():
    policy = LockoutPolicy(failures_allowed=3, first_lockout_seconds=30, longest_lockout_seconds=300)
    assert [policy.lockout_seconds(n) for n in range(1, 9)] == [0, 0, 30, 60, 120, 240, 300, 300]


def test_the_shipped_proxy_overwrites_x_forwarded_for_and_the_servers_trust_only_it():
    """Docker cannot run here: the compose file and nginx's config must say that only nginx's address is trusted and
    that nginx replaces whatever X-Forwarded-For a client sent with the address it sees."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    nginx_address = services["nginx"]["networks"]["internal"]["ipv4_address"]
    for name in ("server-1", "server-2"):
        assert services[name]["environment"]["FLOORSYNC_TRUSTED_PROXIES"] == nginx_address != "*"
    subnet = compose["networks"]["internal"]["ipam"]["config"][0]["subnet"]
    assert nginx_address.rsplit(".", 1)[0] == subnet.rsplit(".", 1)[0]

    nginx = (REPO / "deploy" / "nginx.conf").read_text()
    assert "$proxy_add_x_forwarded_for" not in nginx
    assert len(re.findall(r"proxy_set_header X-Forwarded-For \$remote_addr;", nginx)) == nginx.count("proxy_pass ")
    assert re.search(r"location = /metrics \{\s*return 404;", nginx)


# -- weak passwords -------------------------------------------------------------------------------------------------

WEAK = ["password12", "1234567890", " " * 10, "qwertyuiop", "aaaaaaaaaaaa", "abcabcabcabc", "9876543210"]


@pytest.mark.parametrize("password", WEAK, ids=repr)
def test_an_admin_cannot_give_a_new_user_a_weak_password(admin, unique, password):
    refused = admin.post("/api/users", json={"username": unique("weak").lower(), "display_name": "Weak",
                                             "password": password, "roles": ["viewer"]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "weak_password" and refused.json()["details"]["field"] == "password"


def test_the_username_is_no_password_and_a_reset_is_held_to_the_same_rule(admin, unique):
    username = unique("samename").lower()
    refused = admin.post("/api/users", json={"username": username, "display_name": "Same", "password": username,
                                             "roles": ["viewer"]})
    assert refused.status_code == 422 and refused.json()["code"] == "weak_password"
    new_user(admin, username)
    for password in (username.upper(), "password12", f"{username}-{username}"):
        reset = admin.patch(f"/api/users/{username}", json={"password": password})
        assert reset.status_code == 422 and reset.json()["code"] == "weak_password", password
    assert anonymous(admin.base_url).post("/api/auth/login", json={"username": username, "password": STRONG}).status_code == 200


def test_the_office_form_says_why_the_password_is_refused(browse, unique):
    page = browse("admin").post("/users", [
        ("username", unique("weakform").lower()), ("display_name", "X"), ("password", "password12"), ("roles", "viewer")])
    assert page.status_code == 422 and "too easy to guess" in page.text


def test_the_command_line_refuses_a_weak_password(guarded, unique):
    result = guarded.cli("create-user", unique("cli").lower(), "--password", "1234567890", "--role", "viewer", check=False)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]["code"] == "weak_password"


# -- sessions that end when they should ------------------------------------------------------------------------------

def test_an_admin_reset_ends_every_session_of_the_user_and_reactivation_brings_none_back(server, admin, unique):
    username = new_user(admin, unique("reset").lower())
    first, second = office(server.url, username, STRONG), office(server.url, username, STRONG)
    admin.patch(f"/api/users/{username}", json={"password": "pump-valve-socket-7"}).raise_for_status()
    assert first.get("/api/auth/me").status_code == 401 and second.get("/api/auth/me").status_code == 401

    third = office(server.url, username, "pump-valve-socket-7")
    admin.patch(f"/api/users/{username}", json={"active": False}).raise_for_status()
    admin.patch(f"/api/users/{username}", json={"active": True}).raise_for_status()
    assert third.get("/api/auth/me").status_code == 401, "a deactivation ended the session for good"


def test_changing_ones_own_password_ends_the_other_sessions_and_keeps_this_one(server, admin, unique):
    username = new_user(admin, unique("own").lower())
    here, elsewhere = office(server.url, username, STRONG), office(server.url, username, STRONG)
    wrong = here.post("/api/auth/password", json={"current_password": "not-my-password", "new_password": "x" * 12})
    assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password"
    weak = here.post("/api/auth/password", json={"current_password": STRONG, "new_password": "password12"})
    assert weak.status_code == 422 and weak.json()["details"]["field"] == "new_password"

    changed = here.post("/api/auth/password", json={"current_password": STRONG, "new_password": "drill-press-lantern-9"})
    assert changed.status_code == 200, changed.text
    assert elsewhere.get("/api/auth/me").status_code == 401
    assert here.patch("/api/auth/me", json={"language": "zh"}).status_code == 200, "a new session, with its CSRF token"
    assert anonymous(server.url).post("/api/auth/login", json={"username": username, "password": STRONG}).status_code == 401


def test_a_csrf_token_of_one_session_is_refused_on_another(server, login):
    planner, viewer = login("planner"), login("viewer")
    token = planner.cookies.get(CSRF_COOKIE)
    borrowed = httpx.patch(f"{server.url}/api/auth/me", json={"language": "en"}, headers={"x-csrftoken": token},
                           cookies={SESSION_COOKIE: viewer.cookies.get(SESSION_COOKIE), CSRF_COOKIE: token})
    assert borrowed.status_code == 403 and borrowed.json()["code"] == "csrf_failed"
    assert viewer.patch("/api/auth/me", json={"language": "en"}).status_code == 200


def test_a_logout_hands_out_a_new_csrf_token_and_the_old_one_is_refused(server, unique):
    client = office(server.url, "viewer")
    before = client.cookies.get(CSRF_COOKIE)
    client.post("/api/auth/logout").raise_for_status()
    assert client.cookies.get(CSRF_COOKIE) != before
    again = client.post("/api/auth/login", json={"username": "viewer", "password": "floorsync-demo"})
    assert again.status_code == 200, "logging in again needs no extra request for a token"


# -- board sockets ---------------------------------------------------------------------------------------------------

def _board(server: Server, client: httpx.Client):
    board = open_board(server.url, client.cookies.get(SESSION_COOKIE), ["board:orders"])
    assert next_message(board, "subscribed", 5) is not None
    return board


def test_a_board_closes_when_its_session_logs_out(server):
    supervisor = office(server.url, "supervisor")
    board = _board(server, supervisor)
    supervisor.post("/api/auth/logout").raise_for_status()
    messages, code = closed_with(board, 5)
    assert code == 4401 and messages[-1]["code"] == "session_ended"


@pytest.mark.parametrize("change", [{"active": False}, {"password": "forklift-pallet-dock-3"}], ids=["deactivated", "reset"])
def test_a_board_closes_when_its_user_is_deactivated_or_their_password_reset(server, admin, unique, change):
    username = new_user(admin, unique("boarder").lower(), roles=["production_supervisor"])
    board = _board(server, office(server.url, username, STRONG))
    admin.patch(f"/api/users/{username}", json=change).raise_for_status()
    messages, code = closed_with(board, 5)
    assert code == 4401 and messages[-1]["code"] == "session_ended"


def test_a_logout_of_another_session_of_the_user_leaves_the_board_open(server, login):
    board = _board(server, login("supervisor"))
    office(server.url, "supervisor").post("/api/auth/logout").raise_for_status()  # the same user, another session
    board.send(json.dumps({"type": "ping"}))
    assert next_message(board, "pong", 5) is not None
    board.close()


# -- sockets that never say who they are -----------------------------------------------------------------------------

def _raw_socket(server: Server, address: str):
    return connect(server.url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10, legacy=True,
                   additional_headers={"X-Forwarded-For": address})


def test_a_socket_that_says_nothing_is_closed_after_the_hello_timeout(guarded):
    messages, code = closed_with(_raw_socket(guarded, "192.0.2.10"), 6)
    assert code == 4408 and messages[-1]["code"] == "hello_timeout"


def test_one_address_holds_only_so_many_sockets_that_have_not_said_who_they_are(guarded):
    idle = [_raw_socket(guarded, "192.0.2.20") for _ in range(3)]
    messages, code = closed_with(_raw_socket(guarded, "192.0.2.20"), 5)
    assert code == 4429 and messages[-1]["code"] == "too_many_sockets"
    elsewhere = _raw_socket(guarded, "192.0.2.21")  # another address is still let in, and asked who it is
    elsewhere.send(json.dumps({"type": "subscribe", "topics": ["board:orders"]}))
    assert closed_with(elsewhere, 5)[1] == 4401
    for socket in idle:
        socket.close()


# -- the last admin ---------------------------------------------------------------------------------------------------

def test_the_last_active_admin_cannot_be_demoted_or_deactivated(guarded, unique):
    with closing(office(guarded.url, "admin")) as admin:
        for change in ({"roles": ["viewer"]}, {"active": False}):
            refused = admin.patch("/api/users/admin", json=change)
            assert refused.status_code == 409 and refused.json()["code"] == "last_admin", refused.text
        deputy = new_user(admin, unique("deputy").lower(), roles=["admin"])
        assert admin.patch(f"/api/users/{deputy}", json={"roles": ["planner"]}).status_code == 200, "admin remains"
        assert admin.patch("/api/users/admin", json={"active": False}).json()["code"] == "last_admin"
        assert admin.get("/api/auth/me").json()["roles"] == ["admin"]


# -- deployment defaults ---------------------------------------------------------------------------------------------

def test_hsts_is_sent_over_https_only(guarded):
    over_https = httpx.get(f"{guarded.url}/health", headers={"x-forwarded-proto": "https"})
    assert over_https.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in httpx.get(f"{guarded.url}/health").headers


def test_metrics_answer_the_scraper_with_its_token_or_this_machine_but_nobody_else(guarded):
    outside = {"x-forwarded-for": "203.0.113.99"}
    refused = httpx.get(f"{guarded.url}/metrics", headers=outside)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    wrong = httpx.get(f"{guarded.url}/metrics", headers={**outside, "authorization": "Bearer not-the-token-at-all"})
    assert wrong.status_code == 403
    scraper = httpx.get(f"{guarded.url}/metrics", headers={**outside, "authorization": f"Bearer {METRICS_TOKEN}"})
    assert scraper.status_code == 200 and "litestar_requests_total" in scraper.text
    assert httpx.get(f"{guarded.url}/metrics").status_code == 200, "this machine, without a token"
