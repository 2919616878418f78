"""Shipping through the real interfaces: a sales clerk's order, a shipment planned in the office with its FEFO pick
list and reservations, packing into SSCC-labelled units, loading onto a truck, and the customer's signature on the
driver's device as a hash-chained proof of delivery; every refusal with its code and nothing written."""

from __future__ import annotations

import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal

import httpx
import zxingcpp
from PIL import Image, ImageChops, ImageDraw

from server.labels.fonts import image_font
from server.labels.symbols import MARGIN_DOTS, TEXT_DOTS

from server.inventory.availability import Bin, fefo_take
from server.labels.gs1 import check_digit
from tests.factory import (
    approved_order, b64, confirmed_order, count_in, driver_on, finished_item, pdf_text, plan_shipment, png_bytes, pushed,
    run_sql, shipment_of, sign_args, signature, stock_rows,
)
from tests.live_sockets import next_message, open_board
from tests.sync_fixtures import enrolled_device

TODAY = date.today()


# -- shipping's own helpers (the shared builders are in tests/factory.py) ---------------------------------------------
def expire_lot(server, item: str, lot: str, expiry: date) -> None:
    """Lots with an expiry come from receipts and production; a count cannot state one, so set it here."""
    run_sql(server, "UPDATE lot SET expiry = ? WHERE item = ? AND code = ?", expiry.isoformat(), item, lot)


def on_hand_by_lot(login, item: str) -> dict[tuple[str, str | None], str]:
    return {(r["location"], r["lot"]): r["quantity"] for r in stock_rows(login("viewer"), item)}


def refused_with(device, name: str, args: dict, code: str) -> dict:
    result = pushed(device, name, args)
    assert result["status"] == "rejected", result
    assert result["error"]["code"] == code, result["error"]
    return result["error"]


# -- sales orders ------------------------------------------------------------------------------------------------------
def test_a_sales_order_is_numbered_submitted_and_guarded(login, unique):
    item = finished_item(login, unique)
    sales = login("sales")
    draft = sales.post("/api/sales-orders", json={"customer": "C-SHWK", "site": "NB1", "lines": [
        {"item": item, "quantity": "4", "due_date": (TODAY + timedelta(days=3)).isoformat()}]}).json()
    assert draft["status"] == "draft" and draft["code"].startswith(f"SO-{TODAY.year}-") and len(draft["code"]) == 12
    assert {k: draft["lines"][0][k] for k in ("line_no", "item", "quantity", "shipped_quantity", "backorder_quantity",
                                              "open_quantity")} == {"line_no": 10, "item": item, "quantity": "4",
                                                                    "shipped_quantity": "0", "backorder_quantity": "0",
                                                                    "open_quantity": "4"}
    assert login("viewer").post("/api/sales-orders", json={"customer": "C-SHWK", "site": "NB1"}).status_code == 403
    assert login("viewer").get(f"/api/sales-orders/{draft['code']}").status_code == 200

    refused = login("logistics").post("/api/shipments", json={"sales_order": draft["code"], "ship_from": "FG",
                                                              "lines": [{"line_no": 10, "quantity": "1"}]})
    assert refused.status_code == 409 and refused.json()["code"] == "sales_order_not_approved"
    bad = sales.post("/api/sales-orders", json={"customer": "C-NOBODY", "site": "NB1", "lines": [
        {"item": item, "quantity": "1", "due_date": (TODAY - timedelta(days=1)).isoformat()}]})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_customer"
    assert {e["code"] for e in bad.json()["details"]["errors"]} == {"unknown_customer", "due_date_in_past"}

    assert sales.post(f"/api/sales-orders/{draft['code']}/submit").json()["status"] == "approved"
    again = sales.post(f"/api/sales-orders/{draft['code']}/submit")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    assert sales.post(f"/api/sales-orders/{draft['code']}/cancel").json()["status"] == "cancelled"
    listed = login("viewer").get("/api/sales-orders", params={"status": "cancelled", "q": draft["code"]}).json()
    assert [o["code"] for o in listed["items"]] == [draft["code"]]


# -- the whole way: plan, pack, load, sign ------------------------------------------------------------------------------
def test_a_shipment_is_picked_fefo_packed_loaded_and_signed_for_with_a_shortfall(server, login, tmp_path, unique, packer):
    item = finished_item(login, unique)
    late, soon = unique("LATE"), unique("SOON")
    count_in(login("warehouse"), item, "FG-01-01", "6", late)
    count_in(login("warehouse"), item, "FG-01-02", "6", soon)
    expire_lot(server, item, late, TODAY + timedelta(days=90))
    expire_lot(server, item, soon, TODAY + timedelta(days=20))
    order = confirmed_order(login, [(item, "8")])
    route = unique("R")
    dock = open_board(server.url, login("supervisor").cookies.get("floorsync_session"), ["board:dock"])
    assert next_message(dock, "subscribed", 5)

    shipment = plan_shipment(login, order, route=route)
    code = shipment["code"]
    assert code.startswith(f"SHP-{TODAY.year}-") and shipment["status"] == "planned"
    assert [(p["location"], p["lot"], p["quantity"]) for p in shipment["pick_list"]] == [
        ("FG-01-02", soon, "6"), ("FG-01-01", late, "2")], "first expiry first out"
    assert login("viewer").get(f"/api/stock/available/{item}").json()["reserved"] == "8"
    assert packer.pull_all() and packer.replica("shipment")[code]["pick_list"][0]["lot"] == soon

    first = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "lot": soon, "location": "FG-01-02", "quantity": "6"}]})
    assert first["status"] == "applied", first
    sscc = first["effect"]["sscc"]
    assert len(sscc) == 18 and sscc.isdigit() and int(sscc[-1]) == check_digit(sscc[:-1])
    assert first["effect"]["status"] == "picking" and first["effect"]["fefo_deviation"] is False
    second = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "lot": late, "location": "FG-01-01", "quantity": "2"}]})
    assert second["effect"]["status"] == "packed" and second["effect"]["sscc"] != sscc
    assert on_hand_by_lot(login, item) == {("FG-01-01", late): "4"}
    assert login("viewer").get(f"/api/stock/available/{item}").json()["reserved"] == "0", "packed stock is no longer reserved"

    driver = driver_on(server, login, tmp_path, route)
    units = [sscc, second["effect"]["sscc"]]
    loaded = [pushed(driver, "shipment.load", {"shipment": code, "sscc": u, "vehicle": "TRUCK-7"}) for u in units]
    assert [r["effect"]["status"] for r in loaded] == ["packed", "loaded"]
    driver.pull_all()
    assert driver.replica("shipment")[code]["status"] == "loaded"

    signed = pushed(driver, "delivery.sign", sign_args(code, shortfalls=[{"line_no": 10, "quantity": "1", "reason": "carton crushed"}],
                                                      position={"lat": "29.86833", "lon": "121.54399", "accuracy_m": "8"},
                                                      photo_jpeg=b64(b"\xff\xd8\xff\xe0" + b"\x00" * 64)))
    assert signed["status"] == "applied", signed
    assert signed["effect"]["status"] == "delivered" and signed["effect"]["sales_order_status"] == "shipped"
    after = shipment_of(login, code)
    assert after["status"] == "delivered" and after["lines"][0]["delivered_quantity"] == "7"
    assert {u["status"] for u in after["handling_units"]} == {"delivered"}
    line = login("viewer").get(f"/api/sales-orders/{order['code']}").json()["lines"][0]
    assert (line["shipped_quantity"], line["backorder_quantity"], line["open_quantity"]) == ("7", "1", "1")
    driver.pull_all()
    assert code not in driver.replica("shipment"), "a delivered shipment leaves the devices"

    proof = login("viewer").get(f"/api/shipments/{code}/proof").json()
    assert proof["signer_name"] == "王芳" and proof["shortfalls"] == [{"line_no": 10, "quantity": "1", "reason": "carton crushed"}]
    assert proof["hash"] == signed["effect"]["proof"]["hash"] and len(proof["previous_hash"]) == 64
    assert login("viewer").get(f"/api/shipments/{code}/signature.png").content == png_bytes()
    assert login("viewer").get("/api/proofs/verify").json()["ok"] is True

    kinds = []
    while (message := next_message(dock, "board", 3)) is not None:
        kinds += [(e["kind"], e["shipment"]) for e in message["events"] if e["shipment"] == code]
    assert kinds == [("planned", code), ("pack", code), ("pack", code), ("load", code), ("load", code), ("deliver", code)]
    dock.close()
    driver.close()


def test_an_edited_proof_breaks_the_chain_and_verify_names_it(server, login, tmp_path, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "3")
    route = unique("R")
    code = plan_shipment(login, confirmed_order(login, [(item, "3")]), route=route)["code"]
    sscc = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "3"}]})["effect"]["sscc"]
    driver = driver_on(server, login, tmp_path, route)
    pushed(driver, "shipment.load", {"shipment": code, "sscc": sscc, "vehicle": "VAN-1"})
    signed = pushed(driver, "delivery.sign", sign_args(code))
    assert signed["effect"]["sales_order_status"] == "delivered"
    sequence = signed["effect"]["proof"]["sequence"]
    viewer = login("viewer")
    assert viewer.get("/api/proofs/verify").json()["ok"] is True
    try:
        run_sql(server, "UPDATE proof_of_delivery SET signer_name = ? WHERE sequence = ?", "Someone Else", sequence)
        verdict = viewer.get("/api/proofs/verify").json()
        assert verdict["ok"] is False
        assert verdict["first_broken"] == {"sequence": sequence, "shipment": code, "reason": "hash_mismatch"}
        run_sql(server, "UPDATE proof_of_delivery SET signer_name = ?, signature_png = ? WHERE sequence = ?",
                "王芳", b64(png_bytes((121, 40))), sequence)
        assert viewer.get("/api/proofs/verify").json()["first_broken"]["reason"] == "signature_mismatch"
    finally:
        run_sql(server, "UPDATE proof_of_delivery SET signer_name = ?, signature_png = ? WHERE sequence = ?",
                "王芳", signature(), sequence)
    assert viewer.get("/api/proofs/verify").json()["ok"] is True
    driver.close()


# -- refusals ------------------------------------------------------------------------------------------------------------
def test_every_refusal_has_its_code_and_writes_nothing(server, login, tmp_path, unique, packer):
    item, other = finished_item(login, unique), finished_item(login, unique, prefix="DESK")
    good, old = unique("GOOD"), unique("OLD")
    count_in(login("warehouse"), item, "FG-01-01", "10", good)
    count_in(login("warehouse"), item, "FG-01-02", "5", old)
    count_in(login("warehouse"), item, "RM-A-01-01", "5", good)
    count_in(login("warehouse"), other, "FG-01-01", "5", good)
    expire_lot(server, item, old, TODAY - timedelta(days=1))
    route = unique("R")
    code = plan_shipment(login, confirmed_order(login, [(item, "4")]), route=route)["code"]
    stock_before = on_hand_by_lot(login, item)

    def pack(**content):
        return {"shipment": code, "contents": [{"item": item, "lot": good, "location": "FG-01-01", "quantity": "1"} | content]}

    refused_with(packer, "shipment.pack", pack(item=other), "not_on_shipment")
    refused_with(packer, "shipment.pack", pack(quantity="5"), "exceeds_shipment")
    refused_with(packer, "shipment.pack", pack(lot=old, location="FG-01-02"), "lot_expired")
    refused_with(packer, "shipment.pack", pack(lot=unique("NONE")), "unknown_lot")
    refused_with(packer, "shipment.pack", {**pack(), "shipment": "SHP-NOPE"}, "unknown_shipment")
    refused_with(packer, "shipment.pack", {**pack(), "sscc": "006141410000000001"}, "bad_check_digit")
    wide = enrolled_device(server.url, login("warehouse"), tmp_path)
    refused_with(wide, "shipment.pack", pack(location="RM-A-01-01"), "wrong_warehouse")
    refused_with(packer, "shipment.pack", pack(location="RM-A-01-01"), "out_of_scope")
    refused_with(packer, "shipment.load", {"shipment": code, "sscc": "006141410000000000", "vehicle": "T1"}, "nothing_packed")
    driver = driver_on(server, login, tmp_path, route)
    refused_with(driver, "delivery.sign", sign_args(code), "shipment_not_loaded")
    assert on_hand_by_lot(login, item) == stock_before
    assert shipment_of(login, code)["handling_units"] == [] and shipment_of(login, code)["status"] == "planned"

    # A second shipment's unit, to scan onto the wrong truck.
    code2 = plan_shipment(login, confirmed_order(login, [(item, "1")]), route=route)["code"]
    theirs = pushed(packer, "shipment.pack", {"shipment": code2, "contents": [pack()["contents"][0]]})["effect"]["sscc"]
    ours = pushed(packer, "shipment.pack", pack(quantity="4"))["effect"]["sscc"]
    refused_with(packer, "shipment.pack", {**pack(), "sscc": theirs}, "wrong_shipment")
    refused_with(driver, "shipment.load", {"shipment": code, "sscc": "006141410000000000", "vehicle": "T1"}, "unknown_handling_unit")
    refused_with(driver, "shipment.load", {"shipment": code, "sscc": theirs, "vehicle": "T1"}, "wrong_shipment")
    elsewhere = driver_on(server, login, tmp_path, unique("OTHER"))
    refused_with(elsewhere, "shipment.load", {"shipment": code, "sscc": ours, "vehicle": "T1"}, "out_of_scope")
    # Out of scope is said before anything of the shipment is: not which unit is whose, nor its status.
    refused_with(elsewhere, "shipment.load", {"shipment": code, "sscc": theirs, "vehicle": "T1"}, "out_of_scope")
    assert pushed(driver, "shipment.load", {"shipment": code, "sscc": ours, "vehicle": "T1"})["status"] == "applied"
    refused_with(driver, "shipment.load", {"shipment": code, "sscc": ours, "vehicle": "T1"}, "already_loaded")
    refused_with(packer, "shipment.pack", {**pack(), "sscc": ours}, "shipment_loaded")
    refused_with(elsewhere, "shipment.pack", {**pack(), "sscc": ours}, "out_of_scope")

    loaded = shipment_of(login, code)
    refused_with(driver, "delivery.sign", sign_args(code, signature_png=None), "signature_required")
    refused_with(driver, "delivery.sign", sign_args(code, signature_png=b64(png_bytes((1400, 1400)) + b"\x00" * 210_000)),
                 "signature_too_large")
    refused_with(driver, "delivery.sign", sign_args(code, signature_png=b64(b"GIF89a" + b"\x00" * 20)), "invalid_signature")
    refused_with(driver, "delivery.sign", sign_args(code, shortfalls=[{"line_no": 10, "quantity": "5", "reason": "x"}]),
                 "shortfall_exceeds_shipment")
    refused_with(driver, "delivery.sign", sign_args(code, shortfalls=[{"line_no": 99, "quantity": "1", "reason": "x"}]),
                 "unknown_shipment_line")
    refused_with(elsewhere, "delivery.sign", sign_args(code), "out_of_scope")
    assert shipment_of(login, code) == loaded
    assert login("viewer").get(f"/api/shipments/{code}/proof").status_code == 404
    for device in (wide, driver, elsewhere):
        device.close()


def test_office_refusals_for_planning_and_cancelling(login, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "2")
    order = confirmed_order(login, [(item, "3")])
    logistics = login("logistics")

    def plan(**body):
        return logistics.post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG",
                                                      "lines": [{"line_no": 10, "quantity": "1"}]} | body)

    assert plan(ship_from="NOWHERE").json()["code"] == "unknown_warehouse"
    assert plan(lines=[{"line_no": 20, "quantity": "1"}]).json()["code"] == "unknown_sales_order_line"
    assert plan(lines=[{"line_no": 10, "quantity": "4"}]).json()["code"] == "exceeds_open_quantity"
    assert plan(sales_order="SO-NOPE").status_code == 404
    assert login("sales").post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG",
                                                      "lines": [{"line_no": 10, "quantity": "1"}]}).status_code == 403
    planned = plan(lines=[{"line_no": 10, "quantity": "3"}]).json()
    assert planned["pick_list"][-1] == {"line_no": 10, "item": item, "location": None, "lot": None, "expiry": None,
                                        "quantity": "1", "missing": True}, "what the warehouse lacks is shown, not hidden"
    assert plan().json()["code"] == "exceeds_open_quantity", "an open shipment already carries the whole line"
    close = login("sales").post(f"/api/sales-orders/{order['code']}/close")
    assert close.status_code == 409 and close.json()["code"] == "sales_order_has_open_shipments"

    assert logistics.post(f"/api/shipments/{planned['code']}/cancel").json()["status"] == "cancelled"
    assert login("viewer").get(f"/api/stock/available/{item}").json()["reserved"] == "0"
    again = logistics.post(f"/api/shipments/{planned['code']}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "shipment_cancelled"


# -- stock is promised once ----------------------------------------------------------------------------------------------
def figures(viewer: httpx.Client, item: str) -> tuple[str, str, str]:
    body = viewer.get(f"/api/stock/available/{item}").json()
    return body["on_hand"], body["reserved"], body["available_to_promise"]


def picked(shipment: dict) -> list[tuple[str | None, str, bool]]:
    return [(p["location"], p["quantity"], p["missing"]) for p in shipment["pick_list"]]


def plan_all(logistics: httpx.Client, order: dict) -> httpx.Response:
    return logistics.post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG", "lines": [
        {"line_no": line["line_no"], "quantity": line["quantity"]} for line in order["lines"]]})


def test_units_reserved_for_one_order_are_not_offered_to_the_next_whose_shipment_is_short(login, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", "2")
    sales, logistics, viewer = login("sales"), login("logistics"), login("viewer")
    first_order, second_order = (approved_order(sales, "C-BJYB", [(item, "2")], TODAY + timedelta(days=7)) for _ in "12")
    first = plan_all(logistics, first_order).json()
    assert picked(first) == [("FG-01-02", "2", False)]
    assert figures(viewer, item) == ("2", "2", "0")
    suggestion = viewer.get("/api/stock/fefo", params={"item": item, "quantity": "2"}).json()
    assert (suggestion["picks"], suggestion["missing"]) == ([], "2"), "reserved units are no pick suggestion"

    second = plan_all(logistics, second_order).json()
    assert picked(second) == [(None, "2", True)], "the same two units are not picked twice"
    assert figures(viewer, item) == ("2", "2", "0"), "never below zero"
    lines = [viewer.get(f"/api/sales-orders/{order['code']}/tracking").json()["lines"][0] for order in (first_order, second_order)]
    assert [(line["on_shipments"], line["short"], line["available_to_promise"]) for line in lines] == [
        ("2", "0", "0"), ("0", "2", "0")], "only the first order is covered"
    page = viewer.get(f"/sales-orders/{second_order['code']}/tracking")
    assert 'id="track-short-10">2<' in page.text.replace(" ", "")

    take = {"shipment": second["code"], "contents": [{"item": item, "location": "FG-01-02", "quantity": "2"}]}
    assert refused_with(packer, "shipment.pack", take, "reserved_for_another_order")["details"]["available"] == "0"

    assert logistics.post(f"/api/shipments/{first['code']}/cancel").status_code == 200
    assert figures(viewer, item) == ("2", "0", "2"), "a cancelled shipment's units are free again"
    assert pushed(packer, "shipment.pack", take)["status"] == "applied"
    assert figures(viewer, item) == ("0", "0", "0")


def test_shipments_planned_at_the_same_moment_never_share_the_last_units(login, unique):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-01-02", "2")
    sales, logistics = login("sales"), login("logistics")
    orders = [approved_order(sales, "C-BJYB", [(item, "2")], TODAY + timedelta(days=7)) for _ in range(4)]
    start = threading.Barrier(len(orders))

    def plan(order: dict) -> httpx.Response:
        start.wait()
        return plan_all(logistics, order)

    with ThreadPoolExecutor(len(orders)) as pool:
        responses = list(pool.map(plan, orders))
    assert [r.status_code for r in responses] == [201] * len(orders), [r.text for r in responses]
    outcomes = [picked(r.json()) for r in responses]
    assert (outcomes.count([("FG-01-02", "2", False)]), outcomes.count([(None, "2", True)])) == (1, 3), outcomes
    assert figures(login("viewer"), item) == ("2", "2", "0")


def test_a_plan_and_a_pick_of_the_same_free_units_at_the_same_moment_never_both_get_them(login, unique, packer):
    """A shipment short of stock is packed from units that came in since, while another order's shipment is planned:
    either the pick takes them and the plan finds none, or the plan reserves them and the pick is refused."""
    item = finished_item(login, unique, lot_tracked=False)
    sales, logistics = login("sales"), login("logistics")
    for _ in range(3):
        short, other = (approved_order(sales, "C-BJYB", [(item, "2")], TODAY + timedelta(days=7)) for _ in "12")
        waiting = plan_all(logistics, short).json()["code"]
        count_in(login("warehouse"), item, "FG-02-01", "2")
        start = threading.Barrier(2, timeout=60)
        mutation = packer.enqueue("shipment.pack", {"shipment": waiting, "contents": [
            {"item": item, "location": "FG-02-01", "quantity": "2"}]})

        def plan(start: threading.Barrier, order: dict) -> httpx.Response:
            start.wait()
            return plan_all(logistics, order)

        with ThreadPoolExecutor(1) as pool:  # the device's own state is used from this thread only
            planning = pool.submit(plan, start, other)
            start.wait()
            packer.push_once()
            picked_result, planned = packer.result(mutation), planning.result()
        assert planned.status_code == 201, planned.text
        if picked_result["status"] == "applied":
            assert picked(planned.json()) == [(None, "2", True)], "the units picked are not promised too"
        else:
            assert picked_result["error"]["code"] == "reserved_for_another_order", picked_result
            assert picked(planned.json()) == [("FG-02-01", "2", False)]
            assert logistics.post(f"/api/shipments/{planned.json()['code']}/cancel").status_code == 200
            assert pushed(packer, "shipment.pack", {"shipment": waiting, "contents": [
                {"item": item, "location": "FG-02-01", "quantity": "2"}]})["status"] == "applied"


# -- devices: scope, route moves, duplicates -----------------------------------------------------------------------------
def test_a_driver_sees_the_shipment_on_its_route_once_loaded_and_loses_it_when_the_route_changes(server, login, tmp_path, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "2")
    north, south = unique("NORTH"), unique("SOUTH")
    code = plan_shipment(login, confirmed_order(login, [(item, "2")]), route=north)["code"]
    sscc = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "2"}]})["effect"]["sscc"]
    north_driver, south_driver = driver_on(server, login, tmp_path, north), driver_on(server, login, tmp_path, south)
    assert pushed(north_driver, "shipment.load", {"shipment": code, "sscc": sscc, "vehicle": "TRUCK-1"})["effect"]["status"] == "loaded"
    for device in (north_driver, south_driver, packer):
        device.pull_all()
    assert north_driver.replica("shipment")[code]["route"] == north
    assert code not in south_driver.replica("shipment"), "a driver on another route does not carry it"
    assert packer.replica("shipment")[code]["status"] == "loaded", "the warehouse still sees what it shipped"

    moved = login("logistics").post(f"/api/shipments/{code}/route", json={"route": south})
    assert moved.status_code == 200 and moved.json()["route"] == south
    for device in (north_driver, south_driver):
        device.pull_all()
    assert code not in north_driver.replica("shipment") and south_driver.replica("shipment")[code]["route"] == south
    refused_with(north_driver, "delivery.sign", sign_args(code), "out_of_scope")
    assert pushed(south_driver, "delivery.sign", sign_args(code))["status"] == "applied"
    north_driver.close()
    south_driver.close()


def test_a_driver_carries_only_the_shipments_of_its_route_from_planning_on(server, login, tmp_path, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    north, south = unique("NORTH"), unique("SOUTH")
    mine, theirs = (plan_shipment(login, confirmed_order(login, [(item, "1")]), route=route)["code"] for route in (north, south))
    unrouted = plan_shipment(login, confirmed_order(login, [(item, "1")]))["code"]
    driver = driver_on(server, login, tmp_path, north)
    for device in (driver, packer):
        device.pull_all()
    assert {mine, theirs, unrouted} & set(driver.replica("shipment")) == {mine}, "another route's and no route's stay off"
    assert {mine, theirs, unrouted} <= set(packer.replica("shipment")), "the warehouse's tablet has every one"
    driver.close()


def test_a_pack_and_a_signature_pushed_twice_apply_once(server, login, tmp_path, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "5")
    route = unique("R")
    order = confirmed_order(login, [(item, "2")])
    code = plan_shipment(login, order, route=route)["code"]

    def push_twice(device, name, args):
        mutation = device.enqueue(name, args)
        batch = device.pending()
        device.push_once()
        again = httpx.post(f"{server.url}/api/sync/push", json={"protocol": 1, "mutations": batch},
                           headers={"Authorization": f"Bearer {device.token}"}).json()["results"][0]
        assert again["status"] == "duplicate" and again["outcome"] == "applied"
        assert again["effect"] == device.result(mutation)["effect"]
        return again["effect"]

    sscc = push_twice(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "2"}]})["sscc"]
    assert on_hand_by_lot(login, item) == {("FG-02-01", None): "3"}
    assert len(shipment_of(login, code)["handling_units"]) == 1
    driver = driver_on(server, login, tmp_path, route)
    pushed(driver, "shipment.load", {"shipment": code, "sscc": sscc, "vehicle": "T"})
    push_twice(driver, "delivery.sign", sign_args(code))
    line = login("viewer").get(f"/api/sales-orders/{order['code']}").json()["lines"][0]
    assert line["shipped_quantity"] == "2" and login("viewer").get("/api/proofs/verify").json()["ok"] is True
    driver.close()


# -- scanning, labels, pages -----------------------------------------------------------------------------------------------
def _scan(png: bytes) -> list:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def test_shipment_codes_scan_and_labels_print(server, login, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "1")
    code = plan_shipment(login, confirmed_order(login, [(item, "1")]))["code"]
    sscc = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "1"}]})["effect"]["sscc"]
    viewer = login("viewer")

    resolved = viewer.post("/api/scan/resolve", json={"code": code}).json()
    assert resolved["kind"] == "shipment" and resolved["document"]["handling_units"] == [sscc]
    assert viewer.post("/api/scan/resolve", json={"code": "SHP-01"}).json()["kind"] == "location", "a dock is still a dock"
    unit = viewer.get(f"/api/handling-units/{sscc}").json()
    assert unit["shipment"] == code and unit["contents"][0]["item"] == item

    label = viewer.get(f"/api/shipments/{code}/label.png")
    assert label.status_code == 200 and [b.text for b in _scan(label.content)] == [code]
    sscc_label = _scan(viewer.get(f"/api/handling-units/{sscc}/label.png").content)
    assert [(b.symbology_identifier, b.text) for b in sscc_label] == [("]C1", f"(00){sscc}")]
    note = viewer.get(f"/api/shipments/{code}/delivery-note.pdf")
    assert note.status_code == 200 and note.content.startswith(b"%PDF")
    assert viewer.get(f"/api/shipments/{code}/delivery-note.zpl").text.startswith("^XA")


def _drawn_at_margin(png: bytes, text: str) -> bool:
    """Whether the note shows `text` at the left margin exactly as the font draws it: every glyph, Chinese, Latin
    and ×, pixel for pixel; a box drawn for a missing glyph, or a line left out, does not match."""
    note = Image.open(io.BytesIO(png)).convert("L")
    font = image_font(TEXT_DOTS)
    width = int(font.getlength(text)) + 1
    expected = Image.new("L", (width, TEXT_DOTS + 8), 255)
    ImageDraw.Draw(expected).text((0, 0), text, fill=0, font=font)
    return any(
        ImageChops.difference(note.crop((MARGIN_DOTS, y, MARGIN_DOTS + width, y + TEXT_DOTS + 8)), expected).getbbox() is None
        for y in range(note.height - TEXT_DOTS - 8)
    )


def test_the_delivery_note_prints_the_chinese_customer_address_lines_and_a_signature_line(login, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "3")
    order = confirmed_order(login, [(item, "3")], customer="C-BJYB")
    code = plan_shipment(login, order)["code"]
    pushed(packer, "shipment.pack", {"shipment": code, "contents": [{"item": item, "location": "FG-02-01", "quantity": "3"}]})
    viewer = login("viewer")
    customer = viewer.get("/api/customers/C-BJYB").json()
    assert any("\u4e00" <= c <= "\u9fff" for c in customer["name"]), "a customer whose name is written in Chinese"

    text = pdf_text(viewer.get(f"/api/shipments/{code}/delivery-note.pdf").content)
    for wanted in ("送货单", "Delivery note", customer["name"], customer["address"], order["code"],
                   f"10 {item} Shipping test {item} × 3", "签收人 / Received by"):
        assert wanted in text, (wanted, text)

    png = viewer.get(f"/api/shipments/{code}/delivery-note.png").content
    assert _drawn_at_margin(png, "送货单 / Delivery note")
    assert _drawn_at_margin(png, f"客户 / Customer: C-BJYB {customer['name']}")
    assert _drawn_at_margin(png, f"10 {item} Shipping test {item} × 3")
    assert not _drawn_at_margin(png, "客户 / Customer: C-BJYB 某某"), "the check tells one name from another"
    zpl = viewer.get(f"/api/shipments/{code}/delivery-note.zpl").text
    assert customer["name"] in zpl and "^A@N" in zpl, "Chinese lines in the printer's CJK font"


def test_office_pages_show_orders_shipments_and_proofs_in_both_languages(server, login, tmp_path, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "1")
    route = unique("R")
    order = confirmed_order(login, [(item, "1")])
    code = plan_shipment(login, order, route=route)["code"]
    sscc = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "1"}]})["effect"]["sscc"]
    driver = driver_on(server, login, tmp_path, route)
    pushed(driver, "shipment.load", {"shipment": code, "sscc": sscc, "vehicle": "T"})
    proof = pushed(driver, "delivery.sign", sign_args(code))["effect"]["proof"]
    viewer = login("viewer")
    for lang, words in (("zh", ("签收凭证", "链完整")), ("en", ("Proof of delivery", "Chain intact"))):
        viewer.post("/language", data={"language": lang, "next": "/"})
        page = viewer.get(f"/shipments/{code}")
        assert page.status_code == 200 and sscc in page.text and proof["hash"] in page.text
        assert all(word in page.text for word in words), (lang, words)
        assert f"/api/shipments/{code}/signature.png" in page.text
        assert code in viewer.get("/shipments").text
        assert order["code"] in viewer.get("/sales-orders").text and item in viewer.get(f"/sales-orders/{order['code']}").text
    driver.close()


def test_fefo_takes_the_earliest_expiry_first_and_lots_without_expiry_last():
    bins = [Bin("A", "L-NONE", None, 5_000_000), Bin("B", "L-LATE", date(2030, 1, 1), 5_000_000),
            Bin("C", "L-SOON", date(2027, 1, 1), 2_000_000)]
    picks, missing = fefo_take(bins, 8_000_000)
    assert [(p.location, p.quantity_micro) for p in picks] == [("C", 2_000_000), ("B", 5_000_000), ("A", 1_000_000)]
    assert missing == 0


def test_a_clerk_enters_and_submits_an_order_and_logistics_plans_its_shipment_on_the_pages(login, unique):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "5")
    sales = login("sales")
    due = (TODAY + timedelta(days=5)).isoformat()
    bad = sales.post("/sales-orders/new", data={"customer": "C-BJYB", "site": "NB1", "lines-0-item": item,
                                                "lines-0-quantity": "0", "lines-0-due_date": due})
    assert bad.status_code == 422 and 'class="field-error"' in bad.text, "the bad quantity is explained next to it"
    saved = sales.post("/sales-orders/new", data={"customer": "C-BJYB", "site": "NB1", "notes": "by phone",
                                                  "lines-0-item": item, "lines-0-quantity": "3", "lines-0-due_date": due})
    assert saved.status_code == 303
    code = saved.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    version = sales.get(f"/api/sales-orders/{code}").json()["version"]
    assert sales.post(f"/sales-orders/{code}/submit", data={"version": str(version)}).status_code == 303
    page = login("logistics").get(f"/sales-orders/{code}")
    assert 'name="ship-10"' in page.text and 'id="plan-shipment"' in page.text
    too_many = login("logistics").post(f"/sales-orders/{code}/ship", data={"ship_from": "FG", "route": "", "ship-10": "4"})
    assert too_many.status_code == 422 and 'class="alert error"' in too_many.text and 'value="4"' in too_many.text
    planned = login("logistics").post(f"/sales-orders/{code}/ship", data={"ship_from": "FG", "route": "", "ship-10": "3"})
    assert planned.status_code == 303 and planned.headers["location"].startswith("/shipments/SHP-")
    shipment = login("viewer").get(planned.headers["location"].split("?")[0])
    assert shipment.status_code == 200 and "FG-02-01" in shipment.text
    assert 'name="ship-10"' not in login("viewer").get(f"/sales-orders/{code}").text, "a viewer gets no shipping form"


def test_the_demo_has_an_approved_order_waiting_for_its_chairs(login):
    orders = login("viewer").get("/api/sales-orders", params={"customer": "C-BUEROWELT", "status": "approved"}).json()
    assert any(line["item"] == "CH-ERGO" for order in orders["items"] for line in order["lines"])


def test_mrp_plans_neither_what_is_packed_nor_less_than_a_part_delivery_leaves_owed(server, login, tmp_path, unique,
                                                                                    packer):
    """Packing takes units out of stock and ends their reservation; until the delivery books them shipped they are
    the order's, not a need. And an order delivered in part (status shipped) still owes the rest."""
    item, lot = finished_item(login, unique), unique("LOT")
    count_in(login("warehouse"), item, "FG-01-01", "10", lot)
    order = confirmed_order(login, [(item, "4")])
    route = unique("R")
    code = plan_shipment(login, order, {order["lines"][0]["line_no"]: "3"}, route=route)["code"]
    sscc = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "lot": lot, "location": "FG-01-01", "quantity": "3"}]})["effect"]["sscc"]
    planner = login("planner")

    def planned_need() -> tuple[Decimal, str]:
        run = planner.post("/api/mrp/runs", json={"site": "NB1"})
        assert run.status_code == 201, run.text
        record = planner.get(f"/api/mrp/runs/{run.json()['id']}/records/{item}").json()
        return sum(Decimal(q) for q in record["gross_requirements"]), record["on_hand"]

    # 4 ordered, 3 packed (out of stock, no longer reserved): 1 is needed, 7 are on hand
    assert planned_need() == (1, "7")
    driver = driver_on(server, login, tmp_path, route)
    pushed(driver, "shipment.load", {"shipment": code, "sscc": sscc, "vehicle": "VAN-1"})
    assert planned_need() == (1, "7")  # loaded: still the order's
    assert pushed(driver, "delivery.sign", sign_args(code))["effect"]["sales_order_status"] == "shipped"
    assert planned_need() == (1, "7")  # 3 delivered: the order, shipped in part, still owes 1
    driver.close()
