"""What reaches which device, through real HTTP with the reference client: scope membership and deletes,
re-scoping, the paged and resumable initial sync, and feed compaction with its reset."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from sync.client import DeviceClient
from tests.clients import office
from tests.factory import count_in, make_item
from tests.sync_fixtures import enrolled_device

ITEM_FIELDS = ("code", "name", "type", "unit")


@pytest.fixture
def devices(server, login, tmp_path):
    """Enrol tablets through the office API; each starts with its initial sync done."""
    made: list[DeviceClient] = []

    def enrol(*warehouses: str, **client_kwargs) -> DeviceClient:
        device = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=list(warehouses), **client_kwargs)
        device.pull_all()
        made.append(device)
        return device

    yield enrol
    for device in made:
        device.close()


def make_location(office_client: httpx.Client, code: str, warehouse: str) -> str:
    office_client.post("/api/locations", json={"code": code, "name": f"Bin {code}", "warehouse": warehouse}).raise_for_status()
    return code


def pulled_changes(device: DeviceClient) -> list[dict[str, Any]]:
    """Pull to the head and return what came, page by page, as the device applied it."""
    changes: list[dict[str, Any]] = []
    while True:
        body = device.pull_once()
        changes += body["changes"]
        if not body["has_more"] and not body["reset"]:
            return changes


def ops_for(changes: list[dict[str, Any]], entity: str, key: str) -> list[str]:
    return [c["op"] for c in changes if c["entity"] == entity and c["id"] == key]


def all_pages(office_client: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    while True:
        page = office_client.get(path, params={**params, "limit": 500, "offset": len(rows)}).json()
        rows += page["items"]
        if len(rows) >= page["total"] or not page["items"]:
            return rows


def server_scope(office_client: httpx.Client, warehouses: list[str]) -> dict[str, dict[str, Any]]:
    """What the server holds for a scope of warehouses, read through the office API the way a person would check it."""
    items = {r["code"]: {f: r[f] for f in ITEM_FIELDS} for r in all_pages(office_client, "/api/items")}
    locations = {r["code"]: r["warehouse"] for w in warehouses for r in all_pages(office_client, "/api/locations", warehouse=w)}
    stock = {
        f"{r['item']}|{r['location']}|{r['lot'] or ''}|{r['status']}": r["quantity"]
        for r in all_pages(office_client, "/api/stock") if r["location"] in locations
    }
    return {"item": items, "location": locations, "stock": stock}


def replica_scope(device: DeviceClient) -> dict[str, dict[str, Any]]:
    return {
        "item": {k: {f: v[f] for f in ITEM_FIELDS} for k, v in device.replica("item").items()},
        "location": {k: v["warehouse"] for k, v in device.replica("location").items()},
        "stock": {k: v["quantity"] for k, v in device.replica("stock").items()},
    }


# -- scope and deletes ----------------------------------------------------------------------------------------

def test_a_location_moved_to_another_warehouse_leaves_the_old_scope_and_enters_the_new(devices, login, unique):
    raw_tablet, fg_tablet = devices("RM"), devices("FG")
    warehouse, planner = login("warehouse"), login("planner")
    item = make_item(planner, unique("MOVEBIN"))
    bin_code = make_location(warehouse, unique("RM-Z"), "RM")
    count_in(warehouse, item, bin_code, "12")
    raw_tablet.pull_all(), fg_tablet.pull_all()
    assert raw_tablet.replica("location")[bin_code]["warehouse"] == "RM"
    assert bin_code not in fg_tablet.replica("location")
    stock_key = f"{item}|{bin_code}||available"
    assert raw_tablet.replica("stock")[stock_key]["quantity"] == "12" and stock_key not in fg_tablet.replica("stock")

    warehouse.patch(f"/api/locations/{bin_code}", json={"warehouse": "FG"}).raise_for_status()

    to_raw, to_fg = pulled_changes(raw_tablet), pulled_changes(fg_tablet)
    assert ops_for(to_raw, "location", bin_code) == ["delete"]
    assert ops_for(to_fg, "location", bin_code) == ["upsert"]
    assert bin_code not in raw_tablet.replica("location")
    assert fg_tablet.replica("location")[bin_code]["warehouse"] == "FG"
    # The stock lying in that bin went with it.
    assert ops_for(to_raw, "stock", stock_key) == ["delete"] and stock_key not in raw_tablet.replica("stock")
    assert ops_for(to_fg, "stock", stock_key) == ["upsert"] and fg_tablet.replica("stock")[stock_key]["quantity"] == "12"


def test_an_archived_item_becomes_a_delete_for_every_device(devices, login, unique):
    tablets = [devices("RM"), devices("FG"), devices()]
    planner = login("planner")
    item = make_item(planner, unique("ARCH"))
    for tablet in tablets:
        tablet.pull_all()
        assert item in tablet.replica("item")
    planner.post(f"/api/items/{item}/archive").raise_for_status()
    for tablet in tablets:
        assert ops_for(pulled_changes(tablet), "item", item) == ["delete"]
        assert item not in tablet.replica("item")
    # Restored, it comes back everywhere.
    planner.post(f"/api/items/{item}/restore").raise_for_status()
    for tablet in tablets:
        tablet.pull_all()
        assert tablet.replica("item")[item]["code"] == item


def test_stock_at_a_location_outside_the_scope_never_reaches_the_device(devices, login, unique):
    raw_tablet, fg_tablet = devices("RM"), devices("FG")
    warehouse = login("warehouse")
    item = make_item(login("planner"), unique("FGONLY"))
    count_in(warehouse, item, "FG-01-01", "30")
    warehouse.post("/api/stock/moves", json={"item": item, "from_location": "FG-01-01", "to_location": "SHP-01",
                                             "quantity": "5"}).raise_for_status()
    seen_by_raw = pulled_changes(raw_tablet)
    assert [c for c in seen_by_raw if c["entity"] == "stock" and c["data"] and c["data"]["item"] == item] == []
    assert [c for c in seen_by_raw if c["entity"] == "stock" and c["id"].startswith(f"{item}|")] == []
    pulled_changes(fg_tablet)
    held = {k: v["quantity"] for k, v in fg_tablet.replica("stock").items() if k.startswith(f"{item}|")}
    fg_locations = {r["code"] for r in all_pages(warehouse, "/api/locations", warehouse="FG")}
    expected = {f"{r['item']}|{r['location']}||available": r["quantity"]
                for r in all_pages(warehouse, "/api/stock", item=item) if r["location"] in fg_locations}
    assert held == expected and held[f"{item}|FG-01-01||available"] == "25"
    for tablet in (raw_tablet, fg_tablet):
        warehouses_seen = {v["warehouse"] for v in tablet.replica("location").values()}
        held_locations = {v["location"] for v in tablet.replica("stock").values()}
        assert held_locations <= set(tablet.replica("location")), "stock only where the device knows the location"
        assert warehouses_seen == ({"RM"} if tablet is raw_tablet else {"FG"})


def test_a_mutation_result_reaches_only_its_own_device(devices, login, unique):
    sender, bystander = devices("RM"), devices("RM")
    item = make_item(login("planner"), unique("OWN"))
    mutation_id = sender.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "3"})
    # The push's response is dropped, so the sender learns the outcome only through its feed.
    httpx.post(f"{sender.base_url}/api/sync/push", json={"protocol": 1, "mutations": sender.pending()},
               headers={"Authorization": f"Bearer {sender.token}"}).raise_for_status()
    to_sender, to_bystander = pulled_changes(sender), pulled_changes(bystander)
    assert ops_for(to_sender, "mutation_result", mutation_id) == ["upsert"]
    assert [c for c in to_bystander if c["entity"] == "mutation_result"] == []
    assert sender.result(mutation_id)["status"] == "applied" and bystander.result(mutation_id) is None
    # Both see the stock, which is in both scopes.
    assert bystander.replica("stock")[f"{item}|RM-A-01-01||available"]["quantity"] == "3"


# -- re-scope ------------------------------------------------------------------------------------------------

def test_a_rescoped_device_resets_and_then_holds_exactly_its_new_scope(devices, login, admin, unique):
    tablet = devices("RM")
    warehouse = login("warehouse")
    item = make_item(login("planner"), unique("RESCOPE"))
    count_in(warehouse, item, "RM-A-01-01", "4")
    count_in(warehouse, item, "FG-01-01", "6")
    tablet.pull_all()
    assert {v["warehouse"] for v in tablet.replica("location").values()} == {"RM"}

    warehouse.patch(f"/api/devices/{tablet.device_id}", json={"scope": {"site": "NB1", "warehouses": ["FG"]}}).raise_for_status()

    body = tablet.pull_once()
    assert body["reset"] is True and body["cursor"] == 0 and body["changes"] == []
    assert tablet.cursor == 0
    pages = tablet.pull_all()
    assert pages >= 1
    again = tablet.pull_once()
    assert again["reset"] is False and again["changes"] == [], "a reset is answered once, never in a loop"
    assert replica_scope(tablet) == server_scope(admin, ["FG"])
    assert f"{item}|FG-01-01||available" in tablet.replica("stock")
    assert f"{item}|RM-A-01-01||available" not in tablet.replica("stock")


def test_renaming_a_device_does_not_make_it_resnapshot(devices, login):
    tablet = devices("RM")
    login("warehouse").patch(f"/api/devices/{tablet.device_id}", json={"name": "Forklift 7"}).raise_for_status()
    body = tablet.pull_once()
    assert body["reset"] is False and body["cursor"] > 0


# -- initial sync --------------------------------------------------------------------------------------------

def test_an_initial_sync_in_small_pages_shows_progress_resumes_after_an_interruption_and_ends_equal_to_the_server(
    server, login, admin, tmp_path
):
    state = tmp_path / f"tablet-{uuid.uuid4().hex[:6]}.sqlite"
    tablet = DeviceClient(server.url, state, page_size=7)
    code = login("warehouse").post("/api/devices/enrolments", json={"scope": {"site": "NB1", "warehouses": ["RM"]}}).json()["code"]
    tablet.enroll(code, "Slow tablet")

    progress: list[tuple[int, int]] = []
    for _ in range(3):
        body = tablet.pull_once()
        assert len(body["changes"]) == 7 and body["has_more"] is True and body["reset"] is False
        progress.append((body["cursor"], body["head"]))
    cursors = [c for c, _ in progress]
    assert cursors == sorted(cursors) and len(set(cursors)) == 3
    assert all(0 < c < head for c, head in progress), "the cursor against the head is the progress bar"
    held_before = len(tablet.replica("item")) + len(tablet.replica("location")) + len(tablet.replica("stock"))
    assert 0 < held_before <= 21
    reached = tablet.cursor
    tablet.close()  # the app is closed in the middle of the sync

    tablet = DeviceClient(server.url, state, page_size=7)
    assert tablet.cursor == reached
    first_after = tablet.pull_once()
    assert first_after["reset"] is False
    assert all(change["version"] > reached for change in first_after["changes"]), "resumed, not restarted"
    # The rest in big pages: the session's server holds every other test's items, hundreds of pages of seven.
    tablet.page_size = tablet.initial_page_size = 1000
    pages = 1 + tablet.pull_all()
    assert pages >= 2
    assert replica_scope(tablet) == server_scope(admin, ["RM"])
    tablet.close()


# -- compaction ----------------------------------------------------------------------------------------------

def test_compaction_drops_superseded_changes_resets_a_stale_device_and_lets_a_recent_one_continue(fresh_server, tmp_path):
    srv = fresh_server(demo=True)
    warehouse, planner = office(srv.url, "warehouse"), office(srv.url, "planner")
    enrol = lambda: enrolled_device(srv.url, warehouse, tmp_path, warehouses=["RM"])  # noqa: E731
    stale, recent = enrol(), enrol()
    stale.pull_all()

    item = make_item(planner, "CHURN-1")
    for quantity in ("1", "2", "3", "4", "5"):
        count_in(warehouse, item, "RM-A-01-01", quantity)
    doomed = make_location(warehouse, "RM-DOOMED", "RM")
    warehouse.post(f"/api/locations/{doomed}/archive").raise_for_status()
    recent.pull_all()
    assert doomed not in recent.replica("location")
    count_in(warehouse, item, "RM-A-01-02", "9")
    count_in(warehouse, item, "RM-A-01-02", "8")

    result = json.loads(srv.cli("compact-feed", "--keep", "1").stdout)
    assert result["removed"] > 0 and result["compacted_through"] > stale.cursor

    # A new device's snapshot holds only the newest change per entity.
    fresh = enrol()
    snapshot = pulled_changes(fresh)
    assert ops_for(snapshot, "stock", f"{item}|RM-A-01-01||available") == ["upsert"]
    assert [c["data"]["quantity"] for c in snapshot if c["id"] == f"{item}|RM-A-01-01||available"] == ["5"]
    assert ops_for(snapshot, "location", doomed) == []

    # The device that never heard of the archived bin's delete re-snapshots, once.
    reset = stale.pull_once()
    assert reset["reset"] is True and reset["cursor"] == 0
    bodies = []
    while True:
        bodies.append(stale.pull_once())
        if not bodies[-1]["has_more"]:
            break
    assert not any(b["reset"] for b in bodies) and len(bodies) < 10
    # The device that saw the delete just continues from where it was.
    cursor_before = recent.cursor
    continued = recent.pull_once()
    assert continued["reset"] is False and continued["cursor"] > cursor_before
    assert [c["data"]["quantity"] for c in continued["changes"] if c["id"] == f"{item}|RM-A-01-02||available"] == ["8"]

    truth = server_scope(warehouse, ["RM"])
    for device in (stale, recent, fresh):
        device.pull_all()
        assert replica_scope(device) == truth
        assert doomed not in device.replica("location")
    for client in (stale, recent, fresh, warehouse, planner):
        client.close()


def test_a_rescope_in_the_middle_of_an_initial_sync_restarts_it_for_the_new_scope(server, login, admin, tmp_path):
    tablet = DeviceClient(server.url, tmp_path / f"tablet-{uuid.uuid4().hex[:6]}.sqlite", page_size=5)
    code = login("warehouse").post("/api/devices/enrolments", json={"scope": {"site": "NB1", "warehouses": ["RM"]}}).json()["code"]
    tablet.enroll(code, "Half-synced tablet")
    assert tablet.pull_once()["has_more"] is True
    login("warehouse").patch(f"/api/devices/{tablet.device_id}",
                             json={"scope": {"site": "NB1", "warehouses": ["FG"]}}).raise_for_status()
    assert tablet.pull_once()["reset"] is True
    tablet.page_size = tablet.initial_page_size = 1000  # the rest in big pages (see the test above)
    tablet.pull_all()
    assert replica_scope(tablet) == server_scope(admin, ["FG"])
    tablet.close()


def test_a_cursor_beyond_the_head_is_answered_with_a_reset_to_zero(devices):
    # What a device holding a cursor from before a database restore would send.
    tablet = devices("RM")
    response = httpx.get(f"{tablet.base_url}/api/sync/pull", params={"protocol": 1, "cursor": tablet.cursor + 10**6},
                         headers={"Authorization": f"Bearer {tablet.token}"})
    body = response.json()
    assert response.status_code == 200 and body["reset"] is True and body["cursor"] == 0 and body["changes"] == []
    restarted = httpx.get(f"{tablet.base_url}/api/sync/pull", params={"protocol": 1, "cursor": 0},
                          headers={"Authorization": f"Bearer {tablet.token}"}).json()
    assert restarted["reset"] is False and restarted["changes"]
