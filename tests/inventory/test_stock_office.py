"""Stock booked at a desk: the same moves and counts as a device, audited, bounded."""

from __future__ import annotations

from tests.factory import make_item


def test_a_count_and_a_move_at_a_desk_are_in_the_audit_trail(login, admin, unique):
    item = make_item(login("planner"), unique("DESK"))
    clerk = login("warehouse")
    assert clerk.post("/api/stock/counts", json={"item": item, "location": "RM-A-01-01", "counted_quantity": "12"}).status_code == 201
    moved = clerk.post("/api/stock/moves", json={"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": "5"})
    assert moved.status_code == 201 and moved.json() == {"from_quantity": "7", "to_quantity": "5"}

    entries = admin.get("/api/audit", params={"entity": "stock", "entity_key": item}).json()["items"]
    assert [(e["action"], e["username"]) for e in entries] == [("move", "warehouse"), ("count", "warehouse")]
    assert entries[0]["after"]["from_location"] == "RM-A-01-01" and entries[0]["after"]["quantity"] == "5"
    assert entries[1]["after"]["adjustment"] == "12"


def test_a_refused_desk_move_leaves_no_audit_row_and_no_stock(login, admin, unique):
    item = make_item(login("planner"), unique("DESK"))
    refused = login("warehouse").post(
        "/api/stock/moves", json={"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": "1"})
    assert refused.status_code == 422 and refused.json()["code"] == "insufficient_stock"
    assert admin.get("/api/audit", params={"entity": "stock", "entity_key": item}).json()["total"] == 0
    assert admin.get("/api/stock", params={"item": item}).json()["total"] == 0


def test_on_hand_cannot_grow_beyond_the_ledger_bound(login, admin, unique):
    item = make_item(login("planner"), unique("DESK"))
    clerk = login("warehouse")
    huge = "999999999999"  # 10^12 - 1 units: the most one booking may carry
    assert clerk.post("/api/stock/counts", json={"item": item, "location": "RM-A-01-01", "counted_quantity": huge}).status_code == 201
    assert clerk.post("/api/stock/counts", json={"item": item, "location": "RM-A-01-02", "counted_quantity": huge}).status_code == 201
    over = clerk.post("/api/stock/moves", json={"item": item, "from_location": "RM-A-01-02", "to_location": "RM-A-01-01", "quantity": huge})
    assert over.status_code == 422 and over.json()["code"] == "quantity_too_large"
    rows = {r["location"]: r["quantity"] for r in admin.get("/api/stock", params={"item": item}).json()["items"]}
    assert rows == {"RM-A-01-01": huge, "RM-A-01-02": huge}, "the refused move changed nothing"


def test_available_to_promise_of_an_item_nobody_has_is_not_found(login, unique):
    response = login("viewer").get(f"/api/stock/available/{unique('NOPE')}")
    assert response.status_code == 404 and response.json()["code"] == "unknown_reference"
