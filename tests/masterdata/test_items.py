"""Items through the REST API: create, read, list with filters and sorting, change, archive, and the refusals."""

from __future__ import annotations


def test_planner_creates_lists_changes_and_archives_an_item(login, unique):
    planner = login("planner")
    unit, code = unique("PCS"), unique("SEAT")
    planner.post("/api/units", json={"code": unit, "name": "Piece"}).raise_for_status()
    created = planner.post(
        "/api/items",
        json={"code": code, "name": "Seat cushion", "type": "semi_finished", "unit": unit, "safety_stock": "12.5",
              "lead_time_days": 3, "standard_cost": "8.20", "gtin": "4006381333931"},
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert item["gtin"] == "04006381333931" and item["safety_stock"] == "12.5" and item["archived"] is False

    listed = planner.get("/api/items", params={"unit": unit, "sort": "-code"}).json()
    assert listed["total"] == 1 and listed["items"][0]["code"] == code
    assert planner.get("/api/items", params={"q": "cushion", "type": "semi_finished", "unit": unit}).json()["total"] == 1
    assert planner.get("/api/items", params={"type": "raw", "unit": unit}).json()["total"] == 0

    changed = planner.patch(f"/api/items/{code}", json={"name": "Seat cushion, grey", "lead_time_days": 5})
    assert changed.status_code == 200 and changed.json()["lead_time_days"] == 5
    assert planner.get(f"/api/items/{code}").json()["name"] == "Seat cushion, grey"

    planner.post(f"/api/items/{code}/archive").raise_for_status()
    assert planner.get("/api/items", params={"unit": unit}).json()["total"] == 0
    assert planner.get("/api/items", params={"unit": unit, "archived": True}).json()["total"] == 1
    assert planner.post(f"/api/items/{code}/restore").json()["archived"] is False


def test_paging_walks_every_item_once(login, unique):
    planner = login("planner")
    unit = unique("EA")
    planner.post("/api/units", json={"code": unit, "name": "Each"}).raise_for_status()
    codes = {unique(f"P{i}") for i in range(7)}
    for code in codes:
        planner.post("/api/items", json={"code": code, "name": code, "type": "raw", "unit": unit}).raise_for_status()
    seen = []
    for offset in range(0, 9, 3):
        page = planner.get("/api/items", params={"unit": unit, "limit": 3, "offset": offset}).json()
        assert page["total"] == 7
        seen += [i["code"] for i in page["items"]]
    assert sorted(seen) == sorted(codes)


def test_an_item_refers_to_an_existing_unit(login, unique):
    refused = login("planner").post("/api/items", json={"code": unique("X"), "name": "X", "type": "raw", "unit": "NO-SUCH-UNIT"})
    assert refused.status_code == 422
    assert refused.json()["code"] == "unknown_reference"
    assert refused.json()["details"]["field"] == "unit"


def test_a_second_item_with_the_same_code_or_gtin_is_a_duplicate(login, unique):
    planner = login("planner")
    unit, code = unique("U"), unique("DUP")
    planner.post("/api/units", json={"code": unit, "name": "U"}).raise_for_status()
    body = {"code": code, "name": "A", "type": "raw", "unit": unit, "gtin": "96385074"}
    planner.post("/api/items", json=body).raise_for_status()
    again = planner.post("/api/items", json=body)
    assert again.status_code == 409 and again.json()["code"] == "duplicate" and again.json()["details"]["field"] == "code"
    other = planner.post("/api/items", json={**body, "code": unique("DUP2")})
    assert other.status_code == 409 and other.json()["details"]["field"] == "gtin"


def test_a_gtin_with_a_wrong_check_digit_is_refused(login, unique):
    refused = login("planner").post(
        "/api/items", json={"code": unique("G"), "name": "G", "type": "raw", "unit": "X", "gtin": "4006381333932"}
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "invalid_check_digit"
    assert refused.json()["details"]["errors"][0]["field"] == "gtin"
