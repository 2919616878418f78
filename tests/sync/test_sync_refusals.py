"""What a device is refused, through real HTTP: each refusal has its own 4xx status and code, and leaves nothing
behind (no stock moved, no feed entry, the device's last_seq as it was)."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import uuid
from typing import Any

import httpx
import pytest

from tests.factory import stock_rows
from tests.servers import BACKEND, Server
from tests.sync_fixtures import enrolled_device, enrolment_code


@pytest.fixture
def device(server, login, tmp_path, item):
    """A tablet in warehouse RM, synced after the test's item exists, so anything new in its feed is the test's doing."""
    client = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["RM"])
    client.pull_all()
    yield client
    client.close()


@pytest.fixture
def item(login, unique) -> str:
    code = unique("REFUSE")
    login("planner").post("/api/items", json={"code": code, "name": "Refusal test part", "type": "raw", "unit": "PCS"}).raise_for_status()
    return code


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def push(base_url: str, token: str | None, mutations: list[dict[str, Any]], protocol: int = 1) -> httpx.Response:
    return httpx.post(f"{base_url}/api/sync/push", json={"protocol": protocol, "mutations": mutations},
                      headers=bearer(token) if token else {}, timeout=30)


def mutation(seq: int, name: str, args: dict[str, Any], mutation_id: str | None = None) -> dict[str, Any]:
    return {"seq": seq, "id": mutation_id or str(uuid.uuid4()), "name": name, "args": args}


def count(seq: int, item: str, location: str = "RM-A-01-01", quantity: str = "5", mutation_id: str | None = None) -> dict[str, Any]:
    return mutation(seq, "stock.count", {"item": item, "location": location, "counted_quantity": quantity}, mutation_id)


def device_row(office: httpx.Client, device_id: str) -> dict[str, Any]:
    return next(d for d in office.get("/api/devices").json() if d["device_id"] == device_id)


def changes_since(device, cursor: int) -> list[dict[str, Any]]:
    """What the device would pull now, read without moving its own cursor."""
    response = httpx.get(f"{device.base_url}/api/sync/pull", params={"protocol": 1, "cursor": cursor, "limit": 1000},
                         headers=bearer(device.token))
    assert response.status_code == 200, response.text
    return response.json()["changes"]


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text


def assert_nothing_written(device, office: httpx.Client, item: str, last_seq: int = 0) -> None:
    assert stock_rows(office, item) == []
    assert device_row(office, device.device_id)["last_seq"] == last_seq
    assert [c for c in changes_since(device, device.cursor) if c["entity"] != "mutation_result"] == []


def run_sql(server: Server, sql: str) -> None:
    """Straight into the server's database, for what no interface can do without waiting (time passing)."""
    url = server.env["FLOORSYNC_DATABASE_URL"]
    if BACKEND == "postgres":
        subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True, capture_output=True)
    else:
        with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
            db.execute(sql)


# -- who is calling ------------------------------------------------------------------------------------------

def test_a_push_without_a_token_is_401_missing_token_and_writes_nothing(device, admin, item):
    assert_refused(push(device.base_url, None, [count(1, item)]), 401, "missing_token")
    assert_nothing_written(device, admin, item)


def test_a_push_with_an_unknown_token_is_401_invalid_token_and_writes_nothing(device, admin, item):
    assert_refused(push(device.base_url, "not-a-token-" + uuid.uuid4().hex, [count(1, item)]), 401, "invalid_token")
    assert_nothing_written(device, admin, item)


def test_a_revoked_device_is_refused_at_once_and_its_push_writes_nothing(device, login, admin, item):
    login("warehouse").post(f"/api/devices/{device.device_id}/revoke").raise_for_status()
    assert_refused(push(device.base_url, device.token, [count(1, item)]), 401, "device_revoked")
    pulled = httpx.get(f"{device.base_url}/api/sync/pull", params={"protocol": 1}, headers=bearer(device.token))
    assert_refused(pulled, 401, "device_revoked")
    assert stock_rows(admin, item) == [] and device_row(admin, device.device_id)["last_seq"] == 0


# -- enrolment codes -----------------------------------------------------------------------------------------

def test_an_expired_enrolment_code_is_refused_and_enrols_nothing(server, login, admin):
    # The shortest lifetime a code can be given is one minute; rather than wait it out, the test moves the code's
    # expiry into the past in the database, which is exactly what the passing of time does to it.
    code = enrolment_code(login("warehouse"), "NB1", ttl_minutes=1)
    digest = hashlib.sha256(code.encode()).hexdigest()
    run_sql(server, f"UPDATE device_enrolment SET expires_at = expires_at - INTERVAL '2 minutes' WHERE code_hash = '{digest}'"
            if BACKEND == "postgres" else
            f"UPDATE device_enrolment SET expires_at = '2000-01-01 00:00:00+00:00' WHERE code_hash = '{digest}'")
    devices_before = len(admin.get("/api/devices").json())
    response = httpx.post(f"{server.url}/api/sync/enroll", json={"code": code, "device_name": "Late tablet"})
    assert_refused(response, 401, "enrolment_code_expired")
    assert len(admin.get("/api/devices").json()) == devices_before


def test_a_used_enrolment_code_is_refused_the_second_time_and_enrols_nothing_more(server, login, admin):
    code = enrolment_code(login("warehouse"), "NB1")
    assert httpx.post(f"{server.url}/api/sync/enroll", json={"code": code, "device_name": "First"}).status_code == 200
    devices_before = len(admin.get("/api/devices").json())
    assert_refused(httpx.post(f"{server.url}/api/sync/enroll", json={"code": code, "device_name": "Second"}),
                   401, "enrolment_code_used")
    assert len(admin.get("/api/devices").json()) == devices_before


def test_an_unknown_enrolment_code_is_refused(server):
    assert_refused(httpx.post(f"{server.url}/api/sync/enroll", json={"code": "AAAA-BBBB-CCCC", "device_name": "Guess"}),
                   401, "invalid_enrolment_code")


# -- what the device asks for: rejected mutations consume their seq and change nothing else ------------------

def rejected(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "rejected", result
    return result["error"]


def test_a_count_at_a_location_outside_the_scope_is_rejected_out_of_scope(device, admin, item):
    error = rejected(push(device.base_url, device.token, [count(1, item, location="FG-01-01")]))
    assert error["code"] == "out_of_scope" and error["details"]["location"] == "FG-01-01"
    assert_nothing_written(device, admin, item, last_seq=1)


def test_a_move_into_a_location_outside_the_scope_is_rejected_and_the_source_keeps_its_stock(device, admin, item):
    assert push(device.base_url, device.token, [count(1, item, quantity="8")]).json()["results"][0]["status"] == "applied"
    move = mutation(2, "stock.move", {"item": item, "from_location": "RM-A-01-01", "to_location": "FG-01-01", "quantity": 3})
    assert rejected(push(device.base_url, device.token, [move]))["code"] == "out_of_scope"
    assert [(r["location"], r["quantity"]) for r in stock_rows(admin, item)] == [("RM-A-01-01", "8")]


def test_an_unknown_command_is_rejected_unknown_command(device, admin, item):
    error = rejected(push(device.base_url, device.token, [mutation(1, "stock.teleport", {"item": item})]))
    assert error["code"] == "unknown_command"
    assert_nothing_written(device, admin, item, last_seq=1)


@pytest.mark.parametrize("args", [
    {"location": "RM-A-01-01", "counted_quantity": "5"},                              # no item
    {"item": "X", "location": "RM-A-01-01", "counted_quantity": "-1"},                 # negative count
    {"item": "X", "location": "RM-A-01-01", "counted_quantity": "1.0000001"},          # finer than the ledger keeps
    {"item": "X", "location": "RM-A-01-01", "counted_quantity": "5", "colour": "red"},  # a field no one defined
])
def test_args_that_fail_the_command_schema_are_rejected_invalid_args(device, admin, item, args):
    args = {**args, "item": item} if "item" in args else args
    error = rejected(push(device.base_url, device.token, [mutation(1, "stock.count", args)]))
    assert error["code"] == "invalid_args" and error["details"]["errors"]
    assert_nothing_written(device, admin, item, last_seq=1)


def test_a_rejection_reaches_the_device_through_its_feed_too(device, item):
    mutation_id = str(uuid.uuid4())
    push(device.base_url, device.token, [mutation(1, "stock.teleport", {}, mutation_id)])
    device.pull_all()
    assert device.result(mutation_id)["status"] == "rejected"
    assert device.result(mutation_id)["error"]["code"] == "unknown_command"


# -- the shape of the request ------------------------------------------------------------------------------

def test_a_batch_over_the_limit_is_413_batch_too_large_and_nothing_in_it_is_applied(device, admin, item):
    batch = [count(seq, item, quantity=str(seq)) for seq in range(1, 202)]
    response = push(device.base_url, device.token, batch)
    assert_refused(response, 413, "batch_too_large")
    assert response.json()["details"]["max"] == 200
    assert_nothing_written(device, admin, item)


def test_a_body_over_the_size_limit_is_413_and_nothing_is_applied(device, admin, item):
    padding = "x" * 200
    batch = [mutation(seq, "stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "1",
                                           "reason": padding}) for seq in range(1, 101)]
    big = {"protocol": 1, "mutations": batch, "padding": "y" * (3 * 1024 * 1024)}
    response = httpx.post(f"{device.base_url}/api/sync/push", json=big, headers=bearer(device.token), timeout=30)
    assert_refused(response, 413, "too_large")
    assert_nothing_written(device, admin, item)


def test_a_push_in_another_protocol_version_is_426_and_applies_nothing(device, admin, item):
    response = push(device.base_url, device.token, [count(1, item)], protocol=2)
    assert_refused(response, 426, "unsupported_protocol")
    assert response.json()["details"]["supported"] == [1]
    assert_nothing_written(device, admin, item)


def test_a_pull_without_the_protocol_parameter_is_refused(device):
    response = httpx.get(f"{device.base_url}/api/sync/pull", headers=bearer(device.token))
    assert response.status_code == 400, response.text


# -- seq and id are the two dedup keys ------------------------------------------------------------------------

def test_a_seq_reused_for_a_different_mutation_is_seq_conflict_and_has_no_effect(device, admin, item):
    first = push(device.base_url, device.token, [count(1, item, quantity="5")]).json()["results"][0]
    assert first["status"] == "applied"
    other = count(1, item, quantity="9")
    error = rejected(push(device.base_url, device.token, [other]))
    assert error["code"] == "seq_conflict" and error["details"]["stored_id"] == first["id"]
    assert [r["quantity"] for r in stock_rows(admin, item)] == ["5"]
    assert device_row(admin, device.device_id)["last_seq"] == 1


def test_an_id_reused_under_a_new_seq_is_duplicate_id_and_never_a_second_effect(device, admin, item):
    mutation_id = str(uuid.uuid4())
    move_in = count(1, item, quantity="5", mutation_id=mutation_id)
    assert push(device.base_url, device.token, [move_in]).json()["results"][0]["status"] == "applied"
    again = count(2, item, quantity="7", mutation_id=mutation_id)
    error = rejected(push(device.base_url, device.token, [again]))
    assert error["code"] == "duplicate_id"
    assert [r["quantity"] for r in stock_rows(admin, item)] == ["5"]
    # The seq is consumed so the queue moves on, and the next mutation applies normally.
    assert device_row(admin, device.device_id)["last_seq"] == 2
    assert push(device.base_url, device.token, [count(3, item, quantity="6")]).json()["results"][0]["status"] == "applied"
    # Retrying the refused one gives its stored refusal back, not a conflict and not an effect.
    retry = push(device.base_url, device.token, [again]).json()["results"][0]
    assert retry["status"] == "duplicate" and retry["outcome"] == "rejected" and retry["error"]["code"] == "duplicate_id"
    assert [r["quantity"] for r in stock_rows(admin, item)] == ["6"]


# -- per-device rate limit ------------------------------------------------------------------------------------

def test_a_device_calling_too_often_gets_429_and_another_device_is_not_affected(fresh_server, tmp_path):
    srv = fresh_server(demo=True, FLOORSYNC_DEVICE_RATE_LIMIT="5/minute")
    from tests.clients import office

    warehouse = office(srv.url, "warehouse")
    busy = enrolled_device(srv.url, warehouse, tmp_path)
    calm = enrolled_device(srv.url, warehouse, tmp_path)
    statuses = [httpx.get(f"{srv.url}/api/sync/pull", params={"protocol": 1}, headers=bearer(busy.token)).status_code
                for _ in range(5)]
    assert statuses == [200] * 5
    sixth = push(srv.url, busy.token, [count(1, "ANY")])
    assert_refused(sixth, 429, "rate_limited")
    assert sixth.headers.get("retry-after") or sixth.headers.get("ratelimit-reset")
    assert httpx.get(f"{srv.url}/api/sync/pull", params={"protocol": 1}, headers=bearer(calm.token)).status_code == 200
    # The refused push was not applied: the device's seq 1 is still free.
    assert next(d for d in warehouse.get("/api/devices").json() if d["device_id"] == busy.device_id)["last_seq"] == 0
    busy.close(), calm.close(), warehouse.close()
