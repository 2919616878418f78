"""Outgoing webhooks through the real interface: an admin subscribes a real receiver (an HTTP server in this test
process), pings it, and the request arrives signed with the secret shown once; a receiver that fails gets the same
delivery again with backoff until it answers 2xx, or the delivery is given up and can be redelivered; every
attempt is in the log. Only admins may touch any of it, and bad input is refused with a code."""

from __future__ import annotations

import contextlib
import html
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import closing

import httpx
import pytest

from tests.clients import anonymous, office
from tests.factory import run_sql
from tests.servers import Server, make_server
from tests.clients import Browser
from tests.webhook_receiver import Receiver, signature_valid

MAX_ATTEMPTS = 4


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    yield running
    running.close()


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory) -> Iterator[Server]:
    """A server of its own whose retries come fast (0.2 s, 0.6 s, 2.4 s…) and give up after four attempts."""
    srv = make_server(tmp_path_factory.mktemp("webhooks"), FLOORSYNC_WEBHOOK_RETRY_BASE_SECONDS="0.2",
                      FLOORSYNC_WEBHOOK_MAX_ATTEMPTS=str(MAX_ATTEMPTS))
    yield srv
    srv.stop()
    srv.database.drop()


@pytest.fixture
def quick_admin(quick_server) -> Iterator[httpx.Client]:
    with closing(office(quick_server.url, "admin")) as client:
        yield client


def subscribe(admin: httpx.Client, url: str, event_types="*", **extra) -> dict:
    response = admin.post("/api/webhooks", json={"url": url, "event_types": event_types, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def ping(admin: httpx.Client, subscription: dict) -> dict:
    response = admin.post(f"/api/webhooks/{subscription['id']}/ping")
    assert response.status_code == 202, response.text
    return response.json()


def delivery_when(admin: httpx.Client, delivery_id: str, status: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        delivery = admin.get(f"/api/webhook-deliveries/{delivery_id}").json()
        if delivery["status"] == status:
            return delivery
        assert time.monotonic() < deadline, f"delivery still {delivery['status']}: {delivery}"
        time.sleep(0.1)


def test_ping_reaches_the_receiver_signed_with_the_secret_shown_once(admin, receiver):
    subscription = subscribe(admin, receiver.url, ["sales_order.late"], description="ERP bridge")
    secret = subscription["secret"]
    assert secret.startswith("whsec_") and len(secret) > 30
    shown_again = admin.get(f"/api/webhooks/{subscription['id']}").json()
    assert "secret" not in shown_again and shown_again["event_types"] == ["sales_order.late"]
    assert all("secret" not in s for s in admin.get("/api/webhooks").json())

    queued = ping(admin, subscription)
    assert queued["event_type"] == "ping" and queued["status"] in ("pending", "delivered")
    [request] = receiver.wait_for(queued["id"])
    assert request.headers["floorsync-event"] == "ping"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.body)
    assert body["type"] == "ping" and body["id"] == queued["event_id"] and body["data"]["subscription"] == subscription["id"]
    assert set(body) == {"id", "type", "created_at", "data"}

    signature = request.headers["floorsync-signature"]
    assert signature_valid(secret, signature, request.body)
    tampered = request.body.replace(b'"ping"', b'"pong"')
    assert tampered != request.body and not signature_valid(secret, signature, tampered)
    assert not signature_valid("whsec_someone-else", signature, request.body)

    delivered = delivery_when(admin, queued["id"], "delivered")
    [attempt] = delivered["attempts"]
    assert attempt["status_code"] == 200 and attempt["error"] == "" and "response_excerpt" not in attempt
    assert delivered["attempt_count"] == 1 and delivered["delivered_at"] is not None


def test_a_rotated_secret_signs_from_then_on_and_the_old_one_no_longer_verifies(admin, receiver):
    subscription = subscribe(admin, receiver.url)
    rotated = admin.post(f"/api/webhooks/{subscription['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != subscription["secret"]
    [request] = receiver.wait_for(ping(admin, subscription)["id"])
    assert signature_valid(new_secret, request.headers["floorsync-signature"], request.body)
    assert not signature_valid(subscription["secret"], request.headers["floorsync-signature"], request.body)


def test_ping_goes_to_the_pinged_subscription_only_and_never_to_an_inactive_one(admin, receiver):
    one = subscribe(admin, receiver.url + "?one")
    other = subscribe(admin, receiver.url + "?other")
    queued = ping(admin, one)
    receiver.wait_for(queued["id"])
    delivery_when(admin, queued["id"], "delivered")
    assert admin.get(f"/api/webhooks/{other['id']}/deliveries").json()["total"] == 0

    assert admin.patch(f"/api/webhooks/{other['id']}", json={"active": False}).json()["active"] is False
    refused = admin.post(f"/api/webhooks/{other['id']}/ping")
    assert refused.status_code == 409 and refused.json()["code"] == "subscription_inactive"


def test_a_receiver_failing_twice_gets_the_event_on_the_third_attempt_with_the_same_delivery_id(quick_admin, receiver):
    subscription = subscribe(quick_admin, receiver.url + "?flaky")
    receiver.fail_next = 2
    queued = ping(quick_admin, subscription)
    requests = receiver.wait_for(queued["id"], 3)
    assert [r.answered for r in requests] == [500, 500, 200]
    assert {r.delivery for r in requests} == {queued["id"]}
    assert len({r.body for r in requests}) == 1, "every retry carries the same body"

    delivered = delivery_when(quick_admin, queued["id"], "delivered")
    assert [a["attempt_no"] for a in delivered["attempts"]] == [1, 2, 3]
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 500, 200]
    shown = quick_admin.get(f"/api/webhook-deliveries/{queued['id']}").text
    assert "receiver says no" not in shown, "nothing of the receiver's answer is kept, only its status"
    first, second, third = (a["started_at"] for a in delivered["attempts"])
    assert first < second < third

    log = quick_admin.get(f"/api/webhooks/{subscription['id']}/deliveries").json()
    assert log["total"] == 1 and log["items"][0]["id"] == queued["id"] and len(log["items"][0]["attempts"]) == 3


def test_a_receiver_that_always_fails_is_given_up_after_n_attempts_and_redelivery_sends_again(quick_admin, receiver):
    subscription = subscribe(quick_admin, receiver.url + "?down")
    receiver.always_fail = True
    try:
        queued = ping(quick_admin, subscription)
        failed = delivery_when(quick_admin, queued["id"], "failed")
    finally:
        receiver.always_fail = False
    assert failed["attempt_count"] == MAX_ATTEMPTS and len(failed["attempts"]) == MAX_ATTEMPTS
    assert all(a["status_code"] == 500 for a in failed["attempts"])
    assert failed["next_attempt_at"] is None
    time.sleep(1)
    assert len(receiver.of(queued["id"])) == MAX_ATTEMPTS, "nothing is sent once given up"

    again = quick_admin.post(f"/api/webhook-deliveries/{queued['id']}/redeliver")
    assert again.status_code == 202 and again.json()["status"] in ("pending", "delivered")
    requests = receiver.wait_for(queued["id"], MAX_ATTEMPTS + 1)
    assert requests[-1].answered == 200 and requests[-1].body == requests[0].body
    delivered = delivery_when(quick_admin, queued["id"], "delivered")
    assert delivered["attempt_count"] == MAX_ATTEMPTS + 1


def _not_http() -> tuple[socket.socket, str]:
    """A service on the loopback that is open but speaks no HTTP: it greets like an SSH daemon and hangs up."""
    listener = socket.create_server(("127.0.0.1", 0))

    def greet() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = listener.accept()
                with conn:
                    conn.sendall(b"SSH-2.0-OpenSSH_9.2 internal\r\n")

    threading.Thread(target=greet, daemon=True).start()
    return listener, f"http://127.0.0.1:{listener.getsockname()[1]}/"


def test_a_closed_port_and_an_open_one_that_speaks_no_http_fail_with_the_same_reason(quick_admin, receiver):
    closed = Receiver()
    closed_url = closed.url
    closed.close()  # nobody listens there any more: every attempt is a connection error
    listener, open_url = _not_http()
    try:
        queued = {url: ping(quick_admin, subscribe(quick_admin, url)) for url in (closed_url, open_url)}
        failed = {url: delivery_when(quick_admin, q["id"], "failed") for url, q in queued.items()}
    finally:
        listener.close()
    for delivery in failed.values():
        assert [(a["status_code"], a["error"]) for a in delivery["attempts"]] == [(None, "no_answer")] * MAX_ATTEMPTS
        assert "SSH" not in json.dumps(delivery)
    newest_first = quick_admin.get(f"/api/webhooks/{failed[closed_url]['subscription']}/deliveries",
                                   params={"status": "failed"}).json()
    assert newest_first["total"] == 1


def test_the_delivery_log_is_paged_newest_first(admin, receiver):
    subscription = subscribe(admin, receiver.url + "?paged")
    ids = [ping(admin, subscription)["id"] for _ in range(3)]
    for delivery_id in ids:
        delivery_when(admin, delivery_id, "delivered")
    page = admin.get(f"/api/webhooks/{subscription['id']}/deliveries", params={"limit": 2}).json()
    assert page["total"] == 3 and [d["id"] for d in page["items"]] == ids[::-1][:2]
    rest = admin.get(f"/api/webhooks/{subscription['id']}/deliveries", params={"limit": 2, "offset": 2}).json()
    assert [d["id"] for d in rest["items"]] == ids[:1]


def test_deleting_a_subscription_takes_its_log_with_it(admin, receiver):
    subscription = subscribe(admin, receiver.url + "?gone")
    queued = ping(admin, subscription)
    delivery_when(admin, queued["id"], "delivered")
    assert admin.delete(f"/api/webhooks/{subscription['id']}").status_code == 204
    assert admin.get(f"/api/webhooks/{subscription['id']}").json()["code"] == "not_found"
    assert admin.get(f"/api/webhook-deliveries/{queued['id']}").status_code == 404


def test_subscriptions_are_audited_without_their_secret(admin, receiver):
    subscription = subscribe(admin, receiver.url + "?audited")
    def trail() -> list[dict]:
        entries = admin.get("/api/audit", params={"entity": "webhook", "entity_key": str(subscription["id"])})
        assert entries.status_code == 200, entries.text
        assert subscription["secret"] not in entries.text
        newest_first = entries.json()["items"]
        # On SQLite a deleted subscription's id may be handed out again: its trail ends at its own creation.
        creation = next(n for n, e in enumerate(newest_first) if e["action"] == "create")
        return newest_first[:creation + 1]

    [created] = trail()
    assert created["action"] == "create" and created["after"]["url"] == receiver.url + "?audited"
    admin.post(f"/api/webhooks/{subscription['id']}/rotate-secret")
    assert [e["action"] for e in trail()] == ["rotate_secret", "create"]


@pytest.mark.parametrize("username", ["planner", "sales", "viewer"])
def test_non_admins_get_403_on_every_webhook_endpoint(server, admin, receiver, username):
    subscription = subscribe(admin, receiver.url + "?guarded")
    queued = ping(admin, subscription)
    sid, did = subscription["id"], queued["id"]
    calls = [
        ("GET", "/api/webhooks", None), ("GET", "/api/webhooks/event-types", None),
        ("POST", "/api/webhooks", {"url": receiver.url, "event_types": "*"}),
        ("GET", f"/api/webhooks/{sid}", None), ("PATCH", f"/api/webhooks/{sid}", {"active": False}),
        ("DELETE", f"/api/webhooks/{sid}", None), ("POST", f"/api/webhooks/{sid}/rotate-secret", None),
        ("POST", f"/api/webhooks/{sid}/ping", None), ("GET", f"/api/webhooks/{sid}/deliveries", None),
        ("GET", f"/api/webhook-deliveries/{did}", None), ("POST", f"/api/webhook-deliveries/{did}/redeliver", None),
    ]
    with closing(office(server.url, username)) as someone, closing(anonymous(server.url)) as nobody:
        for method, path, body in calls:
            refused = someone.request(method, path, json=body)
            assert refused.status_code == 403 and refused.json()["code"] == "forbidden", (method, path, refused.text)
            assert nobody.request(method, path, json=body).status_code == 401, (method, path)
    still = admin.get(f"/api/webhooks/{sid}").json()
    assert still["active"] is True
    assert admin.get(f"/api/webhooks/{sid}/deliveries").json()["total"] == 1


# What the contract's pattern states (the scheme, no white space) is a malformed request (400); the rest is a rule
# of the receiver's URL (422).
@pytest.mark.parametrize(("url", "status", "code"), [
    ("ftp://erp.example.com/hook", 400, "invalid_url"),
    ("file:///etc/passwd", 400, "invalid_url"),
    ("javascript:alert(1)", 400, "invalid_url"),
    ("erp.example.com/hook", 400, "invalid_url"),
    ("https://", 400, "invalid_url"),
    ("https://erp.example.com:99999/hook", 422, "invalid_url"),
    ("https://erp example.com/hook", 400, "invalid_url"),
    ("https://user:password@erp.example.com/hook", 422, "url_credentials"),
    ("https://token@erp.example.com/hook", 422, "url_credentials"),
])
def test_a_bad_url_is_refused_with_a_code(admin, url, status, code):
    refused = admin.post("/api/webhooks", json={"url": url, "event_types": "*"})
    assert refused.status_code == status and refused.json()["code"] == code, refused.text


def test_receivers_on_the_factory_lan_and_on_the_allow_list_are_allowed(admin, receiver):
    for url in ("http://192.168.1.20:8080/hook", "http://10.0.0.5/hook", "http://172.16.4.1/", "https://[fd00::5]/x",
                "https://erp.example.com/hook", receiver.url):  # the test servers allow 127.0.0.1, where receivers listen
        created = admin.post("/api/webhooks", json={"url": url, "event_types": "*", "active": False})
        assert created.status_code == 201, created.text


SERVERS_OWN = ["http://127.0.0.2:8199/", "http://2130706434:8199/", "http://0x7f.0.0.2:8199/", "http://017700000002/",
               "http://127.2/", "http://[::1]:8199/", "http://[::ffff:127.0.0.2]:8199/", "http://[::ffff:7f00:2]/",
               "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0:8199/", "http://0/", "http://[::]/",
               "http://[fe80::1]/", "http://224.0.0.1/", "http://255.255.255.255/"]


def test_the_servers_own_addresses_are_refused_in_every_spelling_when_subscribing_and_when_changing_the_url(
        admin, receiver):
    for url in SERVERS_OWN:
        refused = admin.post("/api/webhooks", json={"url": url, "event_types": "*"})
        assert refused.status_code == 422 and refused.json()["code"] == "webhook_target_refused", (url, refused.text)
        assert "127.0.0" not in refused.json()["message"], "the refusal does not say where the name led"
    subscription = subscribe(admin, receiver.url + "?moved")
    for url in SERVERS_OWN[:3]:
        moved = admin.patch(f"/api/webhooks/{subscription['id']}", json={"url": url})
        assert moved.status_code == 422 and moved.json()["code"] == "webhook_target_refused", moved.text
    assert admin.get(f"/api/webhooks/{subscription['id']}").json()["url"] == receiver.url + "?moved"
    assert all(s["url"] not in SERVERS_OWN for s in admin.get("/api/webhooks").json())


def test_an_address_is_checked_again_at_delivery_and_nothing_reaches_a_refused_one(quick_server, quick_admin, receiver):
    """A subscription written before this check (here straight into the database), or a name that resolves
    elsewhere by the time it is sent: the connection is refused, and the service there hears nothing."""
    internal = Receiver("127.0.0.2")  # a service only the server's own host can reach
    subscription = subscribe(quick_admin, receiver.url + "?rebound")
    try:
        run_sql(quick_server, "UPDATE webhook_subscription SET url = ? WHERE id = ?", internal.url, subscription["id"])
        queued = ping(quick_admin, subscription)
        deadline = time.monotonic() + 30
        while not (attempts := quick_admin.get(f"/api/webhook-deliveries/{queued['id']}").json()["attempts"]):
            assert time.monotonic() < deadline, "no attempt was made"
            time.sleep(0.05)
        assert (attempts[0]["status_code"], attempts[0]["error"]) == (None, "target_refused")
        assert internal.requests == [] and receiver.of(queued["id"]) == []
    finally:
        quick_admin.delete(f"/api/webhooks/{subscription['id']}")
        internal.close()


def test_unknown_event_types_are_refused_with_a_code(admin, receiver):
    refused = admin.post("/api/webhooks", json={"url": receiver.url, "event_types": ["sales_order.late", "order.exploded"]})
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_event_type" and refused.json()["details"]["unknown"] == ["order.exploded"]
    empty = admin.post("/api/webhooks", json={"url": receiver.url, "event_types": []})
    assert empty.status_code == 400 and empty.json()["code"]
    subscription = subscribe(admin, receiver.url, ["sales_order.late"])
    patched = admin.patch(f"/api/webhooks/{subscription['id']}", json={"event_types": ["nope"]})
    assert patched.status_code == 422 and patched.json()["code"] == "unknown_event_type"
    bad_url = admin.patch(f"/api/webhooks/{subscription['id']}", json={"url": "gopher://x"})
    assert bad_url.status_code == 400 and bad_url.json()["code"] == "invalid_url"
    assert admin.get(f"/api/webhooks/{subscription['id']}").json()["url"] == receiver.url
    known = {e["type"] for e in admin.get("/api/webhooks/event-types").json()}
    assert {"ping", "sales_order.late"} <= known


def test_unknown_subscription_and_delivery_are_404(admin):
    assert admin.post("/api/webhooks/999999/ping").json()["code"] == "not_found"
    missing = admin.post("/api/webhook-deliveries/00000000-0000-0000-0000-000000000000/redeliver")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert admin.get("/api/webhook-deliveries/not-a-uuid").status_code == 400


# -- the office page -------------------------------------------------------------------------------------------

SHOWN_SECRET = re.compile(r'<output class="secret" id="webhook-secret"[^>]*>(whsec_[A-Za-z0-9_-]+)</output>')


def _chinese_admin(browse, unique) -> Browser:
    username = unique("guanli").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "管理员"),
                                              ("password", "long-enough-pw"), ("roles", "admin"), ("language", "zh")])
    assert created.status_code == 303, created.text
    person = browse()
    assert person.log_in(username, "long-enough-pw").status_code in (302, 303)
    return person


def test_an_admin_adds_a_webhook_on_the_page_sees_the_secret_once_pings_and_reads_the_log(browse, admin, receiver):
    office_admin = browse("admin")
    assert 'href="/webhooks"' in office_admin.get("/").text
    created = office_admin.post("/webhooks", [("url", receiver.url + "?page"), ("event_types", "sales_order.late"),
                                              ("event_types", "sales_order.approved"), ("description", "ERP")])
    assert created.status_code == 200, created.text
    found = SHOWN_SECRET.search(created.text)
    assert found, created.text
    secret = found.group(1)
    subscription = next(s for s in admin.get("/api/webhooks").json() if s["url"] == receiver.url + "?page")
    assert subscription["event_types"] == ["sales_order.approved", "sales_order.late"]
    listed = office_admin.get("/webhooks").text
    assert html.escape(receiver.url + "?page") in listed and secret not in listed

    pinged = office_admin.post(f"/webhooks/{subscription['id']}/ping", follow_redirects=False)
    assert pinged.status_code == 303
    [newest] = admin.get(f"/api/webhooks/{subscription['id']}/deliveries").json()["items"]
    [request] = receiver.wait_for(newest["id"])
    assert signature_valid(secret, request.headers["floorsync-signature"], request.body)
    delivery_when(admin, request.delivery, "delivered")
    log_page = office_admin.get(f"/webhooks/{subscription['id']}").text
    assert f'data-delivery="{request.delivery}"' in log_page and "HTTP 200" in log_page and secret not in log_page

    rotated = office_admin.post(f"/webhooks/{subscription['id']}/rotate-secret")
    new_secret = SHOWN_SECRET.search(rotated.text).group(1)
    assert new_secret != secret
    redelivered = office_admin.post(f"/webhook-deliveries/{request.delivery}/redeliver", follow_redirects=False)
    assert redelivered.status_code == 303
    again = receiver.wait_for(request.delivery, 2)[-1]
    assert signature_valid(new_secret, again.headers["floorsync-signature"], again.body)

    paused = office_admin.post(f"/webhooks/{subscription['id']}/active", [("active", "0")], follow_redirects=False)
    assert paused.status_code == 303 and admin.get(f"/api/webhooks/{subscription['id']}").json()["active"] is False


def test_the_webhook_page_refuses_a_bad_url_next_to_the_form_in_chinese(browse, unique):
    person = _chinese_admin(browse, unique)
    page = person.get("/webhooks")
    assert page.status_code == 200 and "添加 Webhook" in page.text
    refused = person.post("/webhooks", [("url", "ftp://erp.example.com/x"), ("event_types", "*")])
    assert refused.status_code == 422 and 'role="alert"' in refused.text
    assert "Webhook 未创建" in refused.text and "网址不可用" in refused.text and 'id="webhook-secret"' not in refused.text


def test_non_admins_may_not_open_the_webhook_page(browse):
    planner = browse("planner")
    assert planner.get("/webhooks").status_code == 403
    assert planner.post("/webhooks", [("url", "http://example.com/x"), ("event_types", "*")]).status_code == 403
    assert 'href="/webhooks"' not in planner.get("/").text
