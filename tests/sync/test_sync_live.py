"""Live pokes through a real server and real websockets: a device hears at once about changes in its scope and
nothing about others; heartbeats keep it visible to the office; a bad, revoked or newly revoked token closes it."""

from __future__ import annotations

import json
import time
from datetime import datetime

import httpx
import pytest
from websockets.sync.client import connect

from tests.live_sockets import closed_with, drain, next_message, open_live
from tests.sync_fixtures import enrolled_device

POKE_WITHIN_SECONDS = 2.0
QUIET_FOR_SECONDS = 1.0


@pytest.fixture
def devices(server, login, tmp_path):
    """Enrol devices with a warehouse scope each; all are closed at the end."""
    made = []

    def enrol(*warehouses: str):
        client = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=list(warehouses))
        made.append(client)
        return client

    yield enrol
    for client in made:
        client.close()


@pytest.fixture
def sockets():
    opened = []

    def open_for(device):
        socket = open_live(device.base_url, device.token)
        opened.append(socket)
        return socket

    yield open_for
    for socket in opened:
        socket.close()


def new_item(login, unique) -> str:
    code = unique("LIVE")
    login("planner").post("/api/items", json={"code": code, "name": "Live test part", "type": "raw", "unit": "PCS"}).raise_for_status()
    return code


def test_a_move_in_my_warehouse_pokes_me_with_the_cursor_to_pull_to(devices, sockets, login, unique):
    item = new_item(login, unique)
    pusher, listener = devices("RM"), devices("RM")
    socket = sockets(listener)
    drain(socket)

    pusher.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "9"})
    pusher.enqueue("stock.move", {"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": 4})
    pushed_at = time.monotonic()
    pusher.push_once()

    poke = next_message(socket, "poke", POKE_WITHIN_SECONDS)
    assert poke is not None, f"no poke within {POKE_WITHIN_SECONDS}s of the push"
    assert time.monotonic() - pushed_at < POKE_WITHIN_SECONDS
    listener.pull_all()
    assert listener.cursor >= poke["cursor"]
    assert listener.replica("stock")[f"{item}|RM-A-01-02||available"]["quantity"] == "4"


def test_a_move_in_another_warehouse_pokes_nobody_here(devices, sockets, login, unique):
    item = new_item(login, unique)
    pusher, fg_pusher, raw_materials, finished_goods = devices("RM"), devices("FG"), devices("RM"), devices("FG")
    fg_socket, rm_socket = sockets(finished_goods), sockets(raw_materials)
    drain(fg_socket)
    drain(rm_socket)

    pusher.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "5"})
    pusher.push_once()
    assert next_message(rm_socket, "poke", POKE_WITHIN_SECONDS) is not None
    assert next_message(fg_socket, "poke", QUIET_FOR_SECONDS) is None, "a change at RM poked a device scoped to FG"

    # The FG socket does hear its own warehouse: its silence above was the scope, not a dead socket.
    fg_pusher.enqueue("stock.count", {"item": item, "location": "FG-01-01", "counted_quantity": "2"})
    assert fg_pusher.push_once()[0]["status"] == "applied"
    assert next_message(fg_socket, "poke", POKE_WITHIN_SECONDS) is not None


def test_a_rejected_mutation_pokes_only_its_own_device(devices, sockets, login, unique):
    item = new_item(login, unique)
    pusher, bystander = devices("RM"), devices("RM")
    own_socket, other_socket = sockets(pusher), sockets(bystander)
    drain(own_socket)
    drain(other_socket)

    refused = pusher.enqueue("stock.move", {"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": 50})
    httpx.post(f"{pusher.base_url}/api/sync/push", json={"protocol": 1, "mutations": pusher.pending()},
               headers={"Authorization": f"Bearer {pusher.token}"}).raise_for_status()  # the response is thrown away

    poke = next_message(own_socket, "poke", POKE_WITHIN_SECONDS)
    assert poke is not None, "the refusing device was not poked about its mutation_result"
    assert next_message(other_socket, "poke", QUIET_FOR_SECONDS) is None, "another device was poked about a refusal"
    pusher.pull_all()
    assert pusher.result(refused)["status"] == "rejected" and pusher.result(refused)["error"]["code"] == "insufficient_stock"


def test_heartbeats_keep_the_device_last_seen_and_pending_visible_to_the_office(devices, sockets, admin):
    device = devices("RM")
    socket = sockets(device)

    def seen() -> dict:
        return next(d for d in admin.get("/api/devices").json() if d["device_id"] == device.device_id)

    before = datetime.fromisoformat(seen()["last_seen_at"])
    time.sleep(0.05)
    socket.send(json.dumps({"type": "ping", "pending": 3}))
    assert next_message(socket, "pong", 5) is not None
    after = seen()
    assert datetime.fromisoformat(after["last_seen_at"]) > before
    assert after["pending"] == 3


@pytest.mark.parametrize("token_kind", ["unknown", "revoked"])
def test_a_bad_or_revoked_token_gets_an_error_and_close_code_4401(token_kind, server, devices, admin):
    token = "not-a-real-token"
    if token_kind == "revoked":
        device = devices("RM")
        admin.post(f"/api/devices/{device.device_id}/revoke").raise_for_status()
        token = device.token
    socket = connect(server.url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10, legacy=True)
    socket.send(json.dumps({"type": "hello", "token": token}))
    messages, code = closed_with(socket, 5)
    assert code == 4401
    assert messages == [{"type": "error", "code": "invalid_token" if token_kind == "unknown" else "device_revoked",
                         "message": messages[0]["message"]}]


def test_a_header_token_works_like_the_first_message(server, devices):
    device = devices("RM")
    socket = connect(server.url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10, legacy=True,
                     additional_headers={"Authorization": f"Bearer {device.token}"})
    try:
        assert next_message(socket, "hello", 5)["device_id"] == device.device_id
    finally:
        socket.close()


def test_revoking_a_device_closes_its_open_socket_at_once(devices, sockets, admin):
    device = devices("RM")
    socket = sockets(device)
    drain(socket)

    revoked_at = time.monotonic()
    admin.post(f"/api/devices/{device.device_id}/revoke").raise_for_status()
    messages, code = closed_with(socket, POKE_WITHIN_SECONDS)
    assert code == 4401, f"socket still open {POKE_WITHIN_SECONDS}s after revocation"
    assert time.monotonic() - revoked_at < POKE_WITHIN_SECONDS
    assert messages[-1]["type"] == "error" and messages[-1]["code"] == "device_revoked"


def test_a_re_scoped_device_is_poked_for_its_new_warehouse_on_the_same_socket(devices, sockets, admin, login, unique):
    item = new_item(login, unique)
    pusher, moving = devices("RM"), devices("FG")
    socket = sockets(moving)
    admin.patch(f"/api/devices/{moving.device_id}", json={"scope": {"site": "NB1", "warehouses": ["RM"]}}).raise_for_status()
    drain(socket, 0.5)

    pusher.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "1"})
    pusher.push_once()
    assert next_message(socket, "poke", POKE_WITHIN_SECONDS) is not None, "the socket kept the old scope after re-scoping"
