"""Stock promised to an order stays promised: a move or an issue takes only the free part of a bin, at the desk and
from a device alike, and a refusal names the order and what is free; a count that finds less than is reserved is
booked all the same and the latest reservations give way, their shipments and orders showing short; a short shipment
re-planned after stock came in reserves it and is short no more. Through the office API and pages and device pushes,
as the warehouse, the floor and logistics use them."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from tests.factory import confirmed_order, count_in, finished_item, on_hand, plan_shipment, pushed, shipment_of

DUE = (date.today() + timedelta(days=14)).isoformat()


def picked(shipment: dict) -> list[tuple[str | None, str, bool]]:
    return [(p["location"], p["quantity"], p["missing"]) for p in shipment["pick_list"]]


def figures(viewer: httpx.Client, item: str) -> tuple[str, str, str]:
    body = viewer.get(f"/api/stock/available/{item}").json()
    return body["on_hand"], body["reserved"], body["available_to_promise"]


def stock_audit(login, item: str) -> list[str]:
    entries = login("admin").get("/api/audit", params={"entity": "stock", "entity_key": item}).json()["items"]
    return [entry["action"] for entry in entries]


def tracked_line(login, order: str) -> dict:
    return login("viewer").get(f"/api/sales-orders/{order}/tracking").json()["lines"][0]


def test_a_move_of_reserved_units_is_refused_at_the_desk_and_from_a_device_and_nothing_is_written(login, unique, device):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", "5")
    shipment = plan_shipment(login, confirmed_order(login, [(item, "3")]))
    assert picked(shipment) == [("FG-01-02", "3", False)]
    move = {"item": item, "from_location": "FG-01-02", "to_location": "FG-02-01", "quantity": "3"}

    refused = login("warehouse").post("/api/stock/moves", json=move)
    assert refused.status_code == 409 and refused.json()["code"] == "reserved_for_order", refused.text
    details = refused.json()["details"]
    assert (details["available"], details["reserved"], details["requested"]) == ("2", "3", "3")
    assert (details["order_kind"], details["order"]) == ("shipment", shipment["code"])
    result = pushed(device, "stock.move", move)
    assert result["status"] == "rejected" and result["error"]["code"] == "reserved_for_order", result
    assert result["error"]["details"]["order"] == shipment["code"]
    assert [m["error"]["code"] for m in device.attention()] == ["reserved_for_order"], "the operator sees it to correct"
    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "5")]
    assert figures(login("viewer"), item) == ("5", "3", "2")
    assert stock_audit(login, item) == ["count"], "a refused move leaves no trace"
    assert shipment_of(login, shipment["code"])["pick_list"] == shipment["pick_list"]

    # The free part moves: the operator corrects the quantity and sends it again, once.
    corrected = device.resend(device.attention()[0]["id"], {**move, "quantity": "2"})
    device.push_once()
    assert device.result(corrected)["status"] == "applied"
    assert device.attention() == []
    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "3"), ("FG-02-01", None, "available", "2")]
    assert figures(login("viewer"), item) == ("5", "3", "2"), "the shipment still holds its three where its pick list says"
    last = login("warehouse").post("/api/stock/moves", json={**move, "quantity": "1"})
    assert last.status_code == 409 and last.json()["details"]["available"] == "0"


def test_an_issue_of_reserved_units_is_refused_from_a_device_and_at_the_desk_and_nothing_is_written(
        login, unique, browse, device):
    admin, planner = login("admin"), login("planner")
    board, seat = unique("BOARD"), unique("SEAT")
    for code, kind in ((board, "raw"), (seat, "finished")):
        assert admin.post("/api/items", json={"code": code, "name": f"Test {code}", "type": kind, "unit": "PCS"}).status_code == 201
    assert admin.post("/api/boms", json={"code": f"BOM-{seat}", "item": seat, "components": [
        {"line_no": 10, "component": board, "quantity": "1"}]}).status_code == 201
    assert admin.post("/api/routings", json={"code": f"RTG-{seat}", "item": seat, "operations": [
        {"sequence": 10, "work_centre": "CUT", "description": "Cut", "setup_minutes": "0", "run_minutes_per_unit": "1"}]}).status_code == 201
    created = planner.post("/api/production-orders", json={"item": seat, "quantity": "4", "site": "NB1", "due_date": DUE}).json()
    production = planner.post(f"/api/production-orders/{created['code']}/release", json={"version": created["version"]}).json()
    # The boards are sold too: a customer's order holds three of the four in the bin.
    count_in(login("warehouse"), board, "FG-01-01", "4")
    shipment = plan_shipment(login, confirmed_order(login, [(board, "3")]))
    assert picked(shipment) == [("FG-01-01", "3", False)]
    issue = {"production_order": production["code"], "item": board, "location": "FG-01-01", "quantity": "2"}

    result = pushed(device, "stock.issue", issue)
    assert result["status"] == "rejected" and result["error"]["code"] == "reserved_for_order", result
    details = result["error"]["details"]
    assert (details["available"], details["reserved"], details["order"]) == ("1", "3", shipment["code"])
    assert [m["error"]["code"] for m in device.attention()] == ["reserved_for_order"]
    desk = browse("supervisor")
    at_desk = desk.post(f"/production-orders/{production['code']}/issue",
                        {"item": board, "lot": "", "location": "FG-01-01", "quantity": "2"})
    assert at_desk.status_code == 422 and f"is reserved for shipment {shipment['code']}" in at_desk.text
    assert on_hand(login("viewer"), board) == [("FG-01-01", None, "available", "4")]
    assert figures(login("viewer"), board) == ("4", "3", "1")
    state = planner.get(f"/api/production-orders/{production['code']}").json()
    assert state["status"] == "released" and state["materials"][0]["issued_quantity"] == "0"

    assert pushed(device, "stock.issue", {**issue, "quantity": "1"})["status"] == "applied", "the free one is issued"
    assert on_hand(login("viewer"), board) == [("FG-01-01", None, "available", "3")]
    assert figures(login("viewer"), board) == ("3", "3", "0")


def test_a_count_below_what_is_reserved_is_booked_and_the_latest_reservation_gives_way_and_the_order_shows_short(
        login, unique, device, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", "5")
    first_order, second_order = confirmed_order(login, [(item, "3")]), confirmed_order(login, [(item, "2")])
    first, second = plan_shipment(login, first_order), plan_shipment(login, second_order)
    assert (picked(first), picked(second)) == ([("FG-01-02", "3", False)], [("FG-01-02", "2", False)])
    packer.pull_all()

    # Three went missing: the count is a fact, never refused.
    result = pushed(device, "stock.count", {"item": item, "location": "FG-01-02", "counted_quantity": "2"})
    assert result["status"] == "applied", result
    assert result["effect"]["adjustment"] == "-3"
    assert [(c["order"], c["line_no"], c["quantity"]) for c in result["effect"]["reservations_cut"]] == [
        (second["code"], 10, "2"), (first["code"], 10, "1")], "the latest promise gives way first"
    assert on_hand(login("viewer"), item) == [("FG-01-02", None, "available", "2")]
    assert figures(login("viewer"), item) == ("2", "2", "0")
    assert picked(shipment_of(login, first["code"])) == [("FG-01-02", "2", False), (None, "1", True)]
    assert picked(shipment_of(login, second["code"])) == [(None, "2", True)]

    assert [(line["on_shipments"], line["short"]) for line in (tracked_line(login, first_order["code"]),
                                                             tracked_line(login, second_order["code"]))] == [("2", "1"), ("0", "2")]
    page = login("viewer").get(f"/sales-orders/{second_order['code']}/tracking")
    assert 'id="track-short-10">2<' in page.text.replace(" ", "")
    assert f'id="track-shipment-{second["code"]}"' in page.text and "Short" in page.text
    packer.pull_all()
    assert picked(packer.replica("shipment")[second["code"]]) == [(None, "2", True)], "the pickers' devices know it"

    # Packing the first shipment takes what it still holds; the second's missing units are nobody's to pick.
    take = {"shipment": first["code"], "contents": [{"item": item, "location": "FG-01-02", "quantity": "2"}]}
    assert pushed(packer, "shipment.pack", take)["status"] == "applied"
    assert figures(login("viewer"), item) == ("0", "0", "0")


def test_a_short_shipment_replanned_after_a_receipt_reserves_the_new_stock_and_is_short_no_more(login, unique, browse,
                                                                                                    device):
    item = finished_item(login, unique, lot_tracked=False)
    order = confirmed_order(login, [(item, "3")])
    shipment = plan_shipment(login, order)
    assert picked(shipment) == [(None, "3", True)]
    logistics = login("logistics")

    nothing = logistics.post(f"/api/shipments/{shipment['code']}/replan")
    assert nothing.status_code == 409 and nothing.json()["code"] == "no_free_stock", nothing.text
    assert nothing.json()["details"]["missing"] == "3"
    assert shipment_of(login, shipment["code"]) == shipment, "refused, and nothing touched"

    supplier = unique("SUP")
    assert login("admin").post("/api/suppliers", json={"code": supplier, "name": f"Maker of {item}", "currency": "CNY",
                                                       "items": [{"item": item}]}).status_code == 201
    buyer = login("buyer")
    po = buyer.post("/api/purchase-orders", json={"supplier": supplier, "site": "NB1", "lines": [
        {"item": item, "quantity": "3", "unit_price": "1", "due_date": DUE}]})
    assert po.status_code == 201, po.text
    assert buyer.post(f"/api/purchase-orders/{po.json()['code']}/approve").status_code == 200

    def receive(quantity: str) -> None:
        received = pushed(device, "receipt.receive", {"purchase_order": po.json()["code"], "line_no": 10, "item": item,
                                                      "location": "FG-02-01", "quantity": quantity})
        assert received["status"] == "applied", received

    receive("1")
    assert picked(shipment_of(login, shipment["code"])) == [(None, "3", True)], "a receipt tops nothing up by itself"
    desk = browse("logistics")
    page = desk.get(f"/shipments/{shipment['code']}")
    assert 'id="ship-short"' in page.text and 'id="ship-replan"' in page.text
    replanned = desk.post(f"/shipments/{shipment['code']}/replan")
    assert replanned.status_code == 303, replanned.text
    assert picked(shipment_of(login, shipment["code"])) == [("FG-02-01", "1", False), (None, "2", True)]
    assert tracked_line(login, order["code"])["short"] == "2"

    receive("2")
    topped = logistics.post(f"/api/shipments/{shipment['code']}/replan")
    assert topped.status_code == 200, topped.text
    assert picked(topped.json()) == [("FG-02-01", "3", False)]
    assert figures(login("viewer"), item) == ("3", "3", "0")
    line = tracked_line(login, order["code"])
    assert (line["on_shipments"], line["short"]) == ("3", "0")
    assert 'id="ship-short"' not in desk.get(f"/shipments/{shipment['code']}").text
    again = logistics.post(f"/api/shipments/{shipment['code']}/replan")
    assert again.status_code == 409 and again.json()["code"] == "shipment_not_short"
    assert [e["action"] for e in login("admin").get("/api/audit", params={
        "entity": "shipment", "entity_key": shipment["code"]}).json()["items"]] == ["replan", "replan", "create"]
