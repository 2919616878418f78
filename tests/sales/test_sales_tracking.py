"""Following orders through HTTP: an order's tracking shows each line's way through production, shipping and
delivery with its risk; lines late or at risk of missing their promise date are listed across orders (and reach
the office home); a customer's figures (exposure, open value, on-time rate) come from its orders and deliveries."""

from __future__ import annotations

import json
import time
from contextlib import closing
from datetime import date, timedelta
from decimal import Decimal


from tests.clients import office

from tests.factory import approved_order, count_in, driver_on, finished_item, pushed, run_sql, sign_args
from tests.webhook_receiver import Receiver, signature_valid

TODAY = date.today()


# The tests' customer (the `customer` fixture).
CUSTOMER = {"prefix": "TRK", "name": "Tracking test customer", "grade": "A", "credit_limit": "100000"}


def tracking(login, code: str) -> dict:
    response = login("viewer").get(f"/api/sales-orders/{code}/tracking")
    assert response.status_code == 200, response.text
    return response.json()


def test_tracking_follows_an_order_through_production_and_shipping_to_delivery(server, login, customer, unique, packer,
                                                                              tmp_path):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "3")
    order = approved_order(login("sales"), customer, [(item, "3"), ("CH-ERGO", "2")], TODAY + timedelta(days=30), unit_price="100")
    made = login("planner").post("/api/production-orders", json={
        "item": "CH-ERGO", "quantity": "2", "site": "NB1", "due_date": (TODAY + timedelta(days=20)).isoformat(),
        "sales_order": order["code"], "sales_order_line": 20})
    assert made.status_code == 201, made.text
    planner = login("planner")
    assert planner.post(f"/api/production-orders/{made.json()['code']}/release").status_code == 200
    route = unique("R")
    planned = login("logistics").post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG",
                                                              "route": route, "lines": [{"line_no": 10, "quantity": "3"}]})
    assert planned.status_code == 201, planned.text
    shipment = planned.json()  # the chairs come later, from production

    seen = tracking(login, order["code"])
    assert seen["order"]["status"] == "in_production", "the chairs are still being made"
    first, second = seen["lines"]
    assert (first["on_shipments"], first["open"], first["risk"]) == ("3", "3", "on_track")
    assert (second["on_shipments"], second["in_production"], second["risk"]) == ("0", "2", "on_track")
    assert [p["code"] for p in seen["production"]] == [made.json()["code"]]
    assert [s["code"] for s in seen["shipments"]] == [shipment["code"]]
    assert [e["action"] for e in seen["events"]][:2] == ["create", "submit"]
    material = planner.get(f"/api/production-orders/{made.json()['code']}").json()["materials"][0]["item"]
    buyer = login("buyer")
    soon = (TODAY + timedelta(days=9)).isoformat()
    po, for_stock = (buyer.post("/api/purchase-orders", json={
        "supplier": "S-LIFTTEC", "site": "NB1", "allow_unlisted_item": True, "lines": [
            {"item": material, "quantity": "10", "unit_price": "2.80", "due_date": soon, **peg}]})
        for peg in ({"production_order": made.json()["code"]}, {}))
    assert po.status_code == 201 and for_stock.status_code == 201, po.text
    for bought_po in (po, for_stock):
        assert buyer.post(f"/api/purchase-orders/{bought_po.json()['code']}/approve").status_code == 200
    bought = tracking(login, order["code"])["purchasing"]
    assert [(p["purchase_order"], p["item"], p["for_item"]) for p in bought] == [(po.json()["code"], material, "CH-ERGO")], \
        "what was bought for its production, not what was bought for stock"
    receipt = login("warehouse").post("/api/stock/receipts", json={
        "purchase_order": po.json()["code"], "line_no": 10, "item": material, "location": "RM-A-01-01", "quantity": "10"})
    assert receipt.status_code == 201, receipt.text
    bought = tracking(login, order["code"])["purchasing"]
    assert [(p["purchase_order"], p["received"], p["status"]) for p in bought] == [(po.json()["code"], "10", "received")], \
        "the purchase that supplied it stays on its tracking once received"
    unknown = buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": "NB1", "lines": [
        {"item": "GAS-C4", "quantity": "1", "due_date": soon, "sales_order": "SO-NOPE-1"}]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_sales_order", unknown.text

    sscc = pushed(packer, "shipment.pack", {"shipment": shipment["code"], "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "3"}]})["effect"]["sscc"]
    driver = driver_on(server, login, tmp_path, route)
    pushed(driver, "shipment.load", {"shipment": shipment["code"], "sscc": sscc, "vehicle": "VAN-9"})
    assert tracking(login, order["code"])["lines"][0]["loaded"] == "3"
    signed = pushed(driver, "delivery.sign", sign_args(shipment["code"]))
    assert signed["status"] == "applied", signed
    driver.close()
    after = tracking(login, order["code"])
    assert after["order"]["status"] == "shipped"
    assert [(line["delivered"], line["backorder"], line["risk"]) for line in after["lines"]] == [
        ("3", "0", "delivered"), ("0", "0", "on_track")]
    assert after["shipments"][0]["status"] == "delivered" and after["shipments"][0]["delivered_at"]

    summary = login("viewer").get(f"/api/customers/{customer}/summary").json()
    assert (summary["orders"], summary["open_orders"], summary["delivered_lines"], summary["on_time_lines"]) == (1, 1, 1, 1)
    assert summary["on_time_rate_pct"] == 100 and Decimal(summary["open_value"]) == 200
    assert Decimal(summary["volume_last_365_days"]) == 500 and Decimal(summary["exposure"]) == 500
    assert Decimal(summary["available_credit"]) == Decimal(100000) - 500
    assert [o["code"] for o in summary["recent_orders"]] == [order["code"]]


def test_late_and_at_risk_lines_are_listed_most_urgent_first(server, login, customer, unique):
    slow = unique("SLOW")
    login("planner").post("/api/items", json={"code": slow, "name": "Made slowly", "type": "finished", "unit": "PCS",
                                              "lead_time_days": 10}).raise_for_status()
    at_risk = approved_order(login("sales"), customer, [(slow, "1")], TODAY + timedelta(days=3), unit_price="100")
    late = approved_order(login("sales"), customer, [(slow, "2")], TODAY + timedelta(days=3), unit_price="100")
    relaxed = approved_order(login("sales"), customer, [(slow, "1")], TODAY + timedelta(days=40), unit_price="100")
    # An order entered for a date that has since passed: set the date behind the API's back, as time would.
    run_sql(server, "UPDATE sales_order_line SET due_date = ? WHERE sales_order = (SELECT id FROM sales_order WHERE code = ?)",
            (TODAY - timedelta(days=2)).isoformat(), late["code"])

    listed = login("viewer").get("/api/sales-orders/late", params={"limit": 1000}).json()
    mine = [(line["sales_order"], line["risk"]) for line in listed if line["customer"] == customer]
    assert mine == [(late["code"], "late"), (at_risk["code"], "at_risk")]
    assert relaxed["code"] not in {line["sales_order"] for line in listed}
    assert tracking(login, late["code"])["risk"] == "late"
    assert "2 day(s) past" in tracking(login, late["code"])["lines"][0]["risk_reason"]
    assert tracking(login, relaxed["code"])["risk"] == "on_track"
    assert login("viewer").get("/api/sales-orders/NOPE/tracking").status_code == 404
    assert login("viewer").get("/api/customers/NOPE/summary").status_code == 404


def test_a_line_at_risk_is_announced_once_as_a_webhook(fresh_server):
    srv = fresh_server(FLOORSYNC_LATE_CHECK_SECONDS="0.3")
    receiver = Receiver()
    with closing(office(srv.url, "admin")) as admin, closing(office(srv.url, "planner")) as planner, \
            closing(office(srv.url, "sales")) as sales:
        subscription = admin.post("/api/webhooks", json={"url": receiver.url, "event_types": ["sales_order.late"]}).json()
        planner.post("/api/items", json={"code": "SLOW-1", "name": "Made slowly", "type": "finished", "unit": "PCS",
                                         "lead_time_days": 10}).raise_for_status()
        created = sales.post("/api/sales-orders", json={"customer": "C-BJYB", "site": "NB1", "lines": [
            {"item": "SLOW-1", "quantity": "1", "due_date": (TODAY + timedelta(days=2)).isoformat()}]}).json()
        assert sales.post(f"/api/sales-orders/{created['code']}/submit").json()["status"] == "approved"

        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # several more runs of the watch: the line is not announced again
        events = [json.loads(r.body) for r in receiver.requests]
        assert [(e["type"], e["data"]["sales_order"], e["data"]["line_no"], e["data"]["risk"]) for e in events] == [
            ("sales_order.late", created["code"], 10, "at_risk")]
        assert signature_valid(subscription["secret"], receiver.requests[0].headers["floorsync-signature"],
                               receiver.requests[0].body)
    receiver.close()
