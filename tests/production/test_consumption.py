"""Consumption that adds up: each BOM line says how its component reaches a production order, and what the floor
reports consumes its share at the operation that uses it. Issued by scan (`manual`): a report short of it is flagged
under-issued on the order, its page, the tablets and the boards. Issued before reporting (`required`): the report is
refused with `material_not_issued`. Backflushed: the report itself issues it from the work centre's issue location,
through the same ledger as a scanned issue. Through real HTTP and the reference device client."""

from __future__ import annotations

import pytest

from tests.clients import office
from tests.factory import count_in, on_hand
from tests.live_sockets import next_message, open_board
from tests.production.test_production import FINISHED_STORE, STORE, order_of, planner, push, refused, released
from tests.sync_fixtures import enrolled_device

__all__ = ["planner"]  # a fixture shared with the neighbouring module


@pytest.fixture(scope="module")
def device(server, tmp_path_factory):
    """One site-wide tablet for the module: enrolling takes seconds, and each test works on orders of its own."""
    supervisor = office(server.url, "supervisor")
    client = enrolled_device(server.url, supervisor, tmp_path_factory.mktemp("tablet"))
    supervisor.close()
    yield client
    client.close()


@pytest.fixture
def product(admin, unique):
    """A plain seat of 1 × a plain frame and 1 × a plain board (10 % scrap), the board issued as `board_method` says
    at operation `board_operation`; cut at `cut_centre`, sewn at SEW."""

    def make(board_method: str = "manual", board_operation: int | None = None, cut_centre: str = "CUT") -> dict[str, str]:
        codes = {"item": unique("SEAT"), "frame": unique("FRAME"), "board": unique("BOARD")}
        for key in ("frame", "board", "item"):
            body = {"code": codes[key], "name": f"Test {key}", "type": "finished" if key == "item" else "raw", "unit": "PCS"}
            assert admin.post("/api/items", json=body).status_code == 201
        bom = {"code": f"BOM-{codes['item']}", "item": codes["item"], "components": [
            {"line_no": 10, "component": codes["frame"], "quantity": "1"},
            {"line_no": 20, "component": codes["board"], "quantity": "1", "scrap_pct": "10", "issue_method": board_method,
             "operation": board_operation}]}
        response = admin.post("/api/boms", json=bom)
        assert response.status_code == 201, response.text
        routing = {"code": f"RTG-{codes['item']}", "item": codes["item"], "operations": [
            {"sequence": 10, "work_centre": cut_centre, "description": "Cut"},
            {"sequence": 20, "work_centre": "SEW", "description": "Sew"}]}
        assert admin.post("/api/routings", json=routing).status_code == 201
        return codes

    return make


def report(device, code: str, operation: int, good: str, **more) -> dict:
    return push(device, "production.report", production_order=code, operation=operation, good_quantity=good, **more)


def materials(client, code: str) -> dict[str, tuple]:
    return {m["item"]: (m["issue_method"], m["operation"], m["issued_quantity"], m["consumed_quantity"], m["under_issued"])
            for m in order_of(client, code)["materials"]}


def test_an_order_reported_complete_with_nothing_issued_is_flagged_under_issued_everywhere(
        server, login, planner, product, device):
    codes = product()
    order = released(planner, codes["item"], "10")
    board = open_board(server.url, login("supervisor").cookies.get("floorsync_session"), ["board:orders"])
    assert next_message(board, "subscribed", 5)

    assert report(device, order["code"], 10, "4")["status"] == "applied"
    event = next_message(board, "board", 5)
    flags = {e["item"]: (e["issued_quantity"], e["consumed_quantity"]) for e in event["events"] if e["kind"] == "under_issue"}
    assert flags == {codes["frame"]: ("0", "4"), codes["board"]: ("0", "4")}  # 4.4 boards: 4 whole ones by now
    done = report(device, order["code"], 20, "4", location=FINISHED_STORE)
    assert done["status"] == "applied" and sorted(done["effect"]["under_issued"]) == sorted([codes["frame"], codes["board"]])

    now = order_of(planner, order["code"])
    assert now["under_issued"] is True and now["over_issued"] is False
    assert materials(planner, order["code"]) == {codes["frame"]: ("manual", 10, "0", "4", True),
                                                 codes["board"]: ("manual", 10, "0", "4", True)}
    page = planner.get(f"/production-orders/{order['code']}")
    assert page.status_code == 200 and 'id="prd-under-issue"' in page.text
    assert f'data-under-issued="{codes["board"]}"' in page.text
    device.pull_all()
    tablet = device.replica("production_order")[order["code"]]
    assert tablet["under_issued"] is True and all(m["under_issued"] for m in tablet["materials"])

    # Issuing what was consumed clears the flag.
    count_in(login("warehouse"), codes["frame"], STORE, "4")
    count_in(login("warehouse"), codes["board"], STORE, "4")
    for item in (codes["frame"], codes["board"]):
        assert push(device, "stock.issue", production_order=order["code"], item=item, location=STORE, quantity="4")["status"] == "applied"
    assert order_of(planner, order["code"])["under_issued"] is False
    board.close()


def test_material_that_must_be_issued_first_refuses_the_report_until_it_is(login, planner, product, device):
    codes = product(board_method="required")
    order = released(planner, codes["item"], "10")
    refusal = report(device, order["code"], 10, "5")
    assert refusal["status"] == "rejected" and refusal["error"]["code"] == "material_not_issued", refusal
    assert refusal["error"]["details"]["item"] == codes["board"]
    assert refusal["error"]["details"]["needed_quantity"] == "5"  # 5.5 boards: 5 whole ones
    untouched = order_of(planner, order["code"])
    assert untouched["operations"][0]["good_quantity"] == "0" and untouched["status"] == "released"

    count_in(login("warehouse"), codes["board"], STORE, "5")
    assert push(device, "stock.issue", production_order=order["code"], item=codes["board"], location=STORE,
                quantity="5")["status"] == "applied"
    assert report(device, order["code"], 10, "5")["status"] == "applied"
    assert materials(planner, order["code"])[codes["board"]] == ("required", 10, "5", "5", False)
    # The rest of the order needs the rest of the requirement (11 boards with the scrap allowance).
    assert report(device, order["code"], 10, "5")["error"]["code"] == "material_not_issued"


def test_backflushed_material_is_issued_by_the_report_from_the_work_centres_issue_location(
        admin, login, planner, product, device, unique):
    refused(admin.post("/api/work_centres", json={"code": unique("WC"), "name": "Nowhere", "site": "NB1",
                                                  "issue_location": "NO-SUCH-BIN"}), 422, "unknown_reference")
    centre = unique("WC")
    assert admin.post("/api/work_centres", json={"code": centre, "name": "Cutting with a line-side bin", "site": "NB1",
                                                 "issue_location": STORE}).status_code == 201
    codes = product(board_method="backflush", board_operation=10, cut_centre=centre)
    order = released(planner, codes["item"], "10")
    count_in(login("warehouse"), codes["board"], STORE, "20")

    first = report(device, order["code"], 10, "4")
    assert first["status"] == "applied", first
    assert first["effect"]["backflushed"] == [{"item": codes["board"], "location": STORE, "quantity": "4"}]
    assert report(device, order["code"], 10, "6", scrap_quantity="1", scrap_reason="torn")["status"] == "applied"
    assert materials(planner, order["code"])[codes["board"]] == ("backflush", 10, "11", "11", False)
    assert on_hand(planner, codes["board"]) == [(STORE, None, "available", "9")]

    # Not enough at the issue location: the report is refused and nothing of it stays.
    other = released(planner, codes["item"], "10")
    short = report(device, other["code"], 10, "10")
    assert short["error"]["code"] == "insufficient_stock", short
    assert order_of(planner, other["code"])["operations"][0]["good_quantity"] == "0"


def test_a_backflush_needs_an_issue_location_and_an_untracked_component(admin, planner, product, device, unique):
    codes = product(board_method="backflush", board_operation=10)  # CUT has no issue location
    order = released(planner, codes["item"], "10")
    refusal = report(device, order["code"], 10, "1")
    assert refusal["error"]["code"] == "no_issue_location" and refusal["error"]["details"]["work_centre"] == "CUT"

    fabric = unique("FABRIC")
    assert admin.post("/api/items", json={"code": fabric, "name": "Fabric", "type": "raw", "unit": "PCS",
                                          "lot_tracked": True}).status_code == 201
    body = refused(admin.post("/api/boms", json={"code": unique("BOM"), "item": codes["item"], "version": 2, "components": [
        {"line_no": 10, "component": fabric, "quantity": "1", "issue_method": "backflush"}]}), 422, "backflush_tracked_item")
    assert body["details"]["errors"][0]["field"] == "components[0].issue_method"
    unknown = admin.post("/api/boms", json={"code": unique("BOM"), "item": codes["item"], "version": 3, "components": [
        {"line_no": 10, "component": fabric, "quantity": "1", "issue_method": "whenever"}]})
    assert unknown.status_code == 400 and unknown.json()["details"]["errors"][0]["field"].endswith("issue_method")
