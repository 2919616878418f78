"""Goods receipt against purchase orders, from a tablet (`receipt.receive`) and at a desk: lots with expiry,
serials, quality hold, tolerance, PO progress and closing; every refusal with its code and nothing written."""

from __future__ import annotations

import io
from datetime import date, timedelta

import httpx
import pytest
import zxingcpp
from PIL import Image

from tests.factory import on_hand

SOON = (date.today() + timedelta(days=14)).isoformat()
DOCK = "RM-A-01-01"


@pytest.fixture
def approved_po(login):
    buyer = login("buyer")

    def make(*lines: tuple[str, str], supplier: str = "S-LIFTTEC") -> str:
        body = {"supplier": supplier, "site": "NB1", "allow_unlisted_item": True,
                "lines": [{"item": item, "quantity": qty, "unit_price": "1.00", "due_date": SOON} for item, qty in lines]}
        created = buyer.post("/api/purchase-orders", json=body)
        assert created.status_code == 201, created.text
        code = created.json()["code"]
        assert buyer.post(f"/api/purchase-orders/{code}/approve").status_code == 200
        return code

    return make


def receive(device, **args) -> dict:
    mutation = device.enqueue("receipt.receive", args)
    device.push_once()
    return device.result(mutation)


def test_a_lot_with_expiry_is_received_into_stock_and_the_po_line_moves_on(device, login, new_item, approved_po):
    item = new_item("RCV", lot_tracked=True)
    po = approved_po((item, "100"))
    expiry = (date.today() + timedelta(days=200)).isoformat()
    result = receive(device, purchase_order=po, line_no=10, item=item, lot="L-2026-01", expiry=expiry, location=DOCK,
                     quantity="60", supplier_lot="SUP-778")
    assert result["status"] == "applied", result
    assert result["effect"]["status"] == "available" and result["effect"]["po_status"] == "partially_received"
    assert result["effect"]["receipt"].startswith("RCV-")
    viewer = login("viewer")
    assert on_hand(viewer, item) == [(DOCK, "L-2026-01", "available", "60")]
    po_now = viewer.get(f"/api/purchase-orders/{po}").json()
    assert po_now["status"] == "partially_received" and po_now["lines"][0]["received_quantity"] == "60"
    device.pull_all()
    assert device.replica("lot")[f"{item}|L-2026-01"]["expiry"] == expiry


def test_the_last_receipt_within_tolerance_closes_the_po_and_takes_it_off_the_tablets(device, login, new_item, approved_po):
    item = new_item("RCV")
    po = approved_po((item, "100"))
    device.pull_all()
    assert po in device.replica("purchase_order")
    assert receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="104")["status"] == "applied"
    assert login("viewer").get(f"/api/purchase-orders/{po}").json()["status"] == "received"
    device.pull_all()
    assert po not in device.replica("purchase_order")
    closed = receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="1")
    assert closed["status"] == "rejected" and closed["error"]["code"] == "po_received", closed


def test_beyond_tolerance_is_rejected_and_nothing_is_written(device, login, new_item, approved_po):
    item = new_item("RCV")
    po = approved_po((item, "100"))
    result = receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="106")
    assert result["status"] == "rejected" and result["error"]["code"] == "over_tolerance"
    assert result["error"]["details"]["limit"] == "105"
    assert on_hand(login("viewer"), item) == []
    assert login("viewer").get(f"/api/purchase-orders/{po}").json()["lines"][0]["received_quantity"] == "0"


def test_an_item_that_needs_inspection_goes_on_hold(device, login, new_item, approved_po):
    item = new_item("RCV", lot_tracked=True, inspection_required=True)
    po = approved_po((item, "10"))
    result = receive(device, purchase_order=po, line_no=10, item=item, lot="GL-7", location=DOCK, quantity="10")
    assert result["effect"]["status"] == "hold"
    assert on_hand(login("viewer"), item) == [(DOCK, "GL-7", "hold", "10")]


def test_serial_tracked_items_are_received_with_one_serial_per_unit(device, login, new_item, approved_po, unique):
    item = new_item("RCV", serial_tracked=True)
    po = approved_po((item, "3"))
    missing = receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="3", serials=["S1", "S2"])
    assert missing["error"]["code"] == "serials_required"
    serials = [f"{unique('SN')}-{n}" for n in range(3)]
    two = receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="2", serials=serials[:2])
    assert two["status"] == "applied", two
    again = receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="1", serials=[serials[0]])
    assert again["error"]["code"] == "serial_exists"
    # A move names the serials it takes; one that is not at the source is refused.
    wrong = device.enqueue("stock.move", {"item": item, "from_location": DOCK, "to_location": "RM-A-01-02", "quantity": 1,
                                          "serials": [serials[2]]})
    moved = device.enqueue("stock.move", {"item": item, "from_location": DOCK, "to_location": "RM-A-01-02", "quantity": 1,
                                          "serials": [serials[1]]})
    device.push_once()
    assert device.result(wrong)["error"]["code"] == "serial_not_here"
    assert device.result(moved)["status"] == "applied"
    assert on_hand(login("viewer"), item) == [(DOCK, None, "available", "1"), ("RM-A-01-02", None, "available", "1")]


@pytest.mark.parametrize("change, code", [
    ({"item": "SCR-M6-20"}, "wrong_item"),
    ({"line_no": 9}, "unknown_po_line"),
    ({"purchase_order": "PO-NOPE-1"}, "unknown_purchase_order"),
    ({"location": "FG-NOWHERE"}, "unknown_location"),
    ({"lot": "L1", "expiry": "2020-01-31"}, "lot_expired"),
    ({"lot": None}, "lot_required"),
    ({"quantity": "2.5"}, "too_many_decimals"),
    ({"quantity": "0"}, "invalid_args"),
    ({"quantity": "-3"}, "invalid_args"),
])
def test_each_bad_receipt_is_rejected_with_its_code_and_nothing_written(device, login, new_item, approved_po, change, code):
    item = new_item("RCV", lot_tracked=True)
    po = approved_po((item, "50"))
    args = {"purchase_order": po, "line_no": 10, "item": item, "lot": "L1", "location": DOCK, "quantity": "5", **change}
    result = receive(device, **{k: v for k, v in args.items() if v is not None})
    assert result["status"] == "rejected" and result["error"]["code"] == code, result
    assert on_hand(login("viewer"), item) == []
    assert login("viewer").get(f"/api/purchase-orders/{po}").json()["lines"][0]["received_quantity"] == "0"


def test_a_receipt_on_a_cancelled_po_is_rejected(device, login, new_item, approved_po):
    item = new_item("RCV")
    po = approved_po((item, "10"))
    assert login("buyer").post(f"/api/purchase-orders/{po}/cancel").status_code == 200
    result = receive(device, purchase_order=po, line_no=10, item=item, location=DOCK, quantity="1")
    assert result["error"]["code"] == "po_cancelled"


def test_a_receipt_pushed_twice_is_received_once(device, login, new_item, approved_po):
    item = new_item("RCV")
    po = approved_po((item, "10"))
    device.enqueue("receipt.receive", {"purchase_order": po, "line_no": 10, "item": item, "location": DOCK, "quantity": "4"})
    batch = device.pending()
    device.push_once()
    again = httpx.post(f"{device.base_url}/api/sync/push", json={"protocol": 1, "mutations": batch},
                       headers={"Authorization": f"Bearer {device.token}"}).json()
    assert again["results"][0]["status"] == "duplicate"
    assert on_hand(login("viewer"), item) == [(DOCK, None, "available", "4")]


def test_a_warehouse_clerk_receives_at_the_desk_and_a_viewer_may_not(login, new_item, approved_po):
    item = new_item("RCV", lot_tracked=True)
    po = approved_po((item, "10"))
    body = {"purchase_order": po, "line_no": 10, "item": item, "lot": "DESK-1", "location": DOCK, "quantity": "10"}
    refused = login("viewer").post("/api/stock/receipts", json=body)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    done = login("warehouse").post("/api/stock/receipts", json=body)
    assert done.status_code == 201, done.text
    assert done.json()["po_status"] == "received"
    assert on_hand(login("viewer"), item) == [(DOCK, "DESK-1", "available", "10")]


def test_fefo_suggests_the_earliest_expiry_first_and_skips_expired_lots(device, login, new_item, approved_po):
    item = new_item("RCV", lot_tracked=True)
    po = approved_po((item, "30"))
    soon, later = date.today() + timedelta(days=20), date.today() + timedelta(days=90)
    for lot, expiry, where in (("LATE", later, DOCK), ("EARLY", soon, "RM-A-01-02")):
        assert receive(device, purchase_order=po, line_no=10, item=item, lot=lot, expiry=expiry.isoformat(), location=where,
                       quantity="10")["status"] == "applied"
    suggestion = login("viewer").get("/api/stock/fefo", params={"item": item, "quantity": "15"}).json()
    assert [(p["lot"], p["quantity"]) for p in suggestion["picks"]] == [("EARLY", "10"), ("LATE", "5")]
    assert suggestion["missing"] == "0"
    alerts = login("viewer").get("/api/stock/alerts", params={"days": 30}).json()
    assert {"item": item, "lot": "EARLY", "expiry": soon.isoformat(), "on_hand": "10"} in alerts["expiring"]


def test_a_po_label_scanned_on_the_floor_opens_the_po(device, new_item, approved_po):
    item = new_item("RCV")
    po = approved_po((item, "10"))
    resolved = device.http.post("/api/scan/resolve", json={"code": f"{po}\r\n"}, headers={"Authorization": f"Bearer {device.token}"})
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert body["kind"] == "purchase_order" and body["code"] == po
    assert [(line["line_no"], line["item"]) for line in body["document"]["lines"]] == [(10, item)]


def test_the_po_label_scans_back_to_the_po_code(login, new_item, approved_po):
    po = approved_po((new_item("RCV"), "5"))
    viewer = login("viewer")
    png = viewer.get(f"/api/purchase-orders/{po}/label.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert [(b.format, b.text) for b in zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))] == [
        (zxingcpp.BarcodeFormat.Code128, po)]
    assert viewer.get(f"/api/purchase-orders/{po}/label.zpl").text.startswith("^XA")
    assert viewer.get("/api/purchase-orders/PO-NONE-9/label.png").status_code == 404
