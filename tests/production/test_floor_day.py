"""A whole day on the floor, through the real interfaces only (office HTTP, device pushes, supervisor boards):
receive a PO with lots, inspect and release, issue to a production order, report both operations with some scrap,
pack the finished goods under an SSCC, load, sign with a shortfall. Then the ledger, the order states, the proof
of delivery's hash chain and the board events are checked, on whichever database the suite runs."""

from __future__ import annotations

import base64
import io
import sqlite3
import subprocess
from datetime import date, datetime, timedelta, timezone

import pytest
from PIL import Image

from server.labels.gs1 import check_digit
from tests.live_sockets import closed_with, open_board
from tests.sync_fixtures import enrolled_device

SOON = (date.today() + timedelta(days=10)).isoformat()
DOCK, STORE, FG = "RM-A-01-01", "RM-A-01-02", "FG-01-01"


def query(server, sql: str) -> list[tuple]:
    """Read straight from the server's database (the ledger has no API of its own)."""
    url = server.env["FLOORSYNC_DATABASE_URL"]
    if url.startswith("postgresql"):
        out = subprocess.run(["psql", url, "-At", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True).stdout
        return [tuple(line.split("\t")) for line in out.splitlines() if line]
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        return db.execute(sql).fetchall()


def applied(device, name: str, args: dict) -> dict:
    mutation = device.enqueue(name, args)
    device.push_once()
    result = device.result(mutation)
    assert result["status"] == "applied", (name, result)
    return result["effect"]


def signature_png() -> str:
    image = Image.new("L", (300, 100), 255)
    for x in range(20, 280):
        image.putpixel((x, 50 + (x % 17) - 8), 0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def factory(login, unique):
    """The test's own part, product, BOM, routing and inspection plan (so the day does not depend on demo stock)."""
    planner, quality = login("planner"), login("quality")
    part, product = unique("LIFT"), unique("STOOL")
    for code, kind, extra in ((part, "raw", {"lot_tracked": True, "inspection_required": True}),
                              (product, "finished", {"lot_tracked": True})):
        made = planner.post("/api/items", json={"code": code, "name": f"{kind} {code}", "type": kind, "unit": "PCS", **extra})
        assert made.status_code == 201, made.text
    bom = planner.post("/api/boms", json={"code": f"BOM-{product}", "item": product,
                                          "components": [{"line_no": 10, "component": part, "quantity": "2"}]})
    assert bom.status_code == 201, bom.text
    routing = planner.post("/api/routings", json={"code": f"RTG-{product}", "item": product, "operations": [
        {"sequence": 10, "work_centre": "CUT", "description": "Prepare", "run_minutes_per_unit": "2"},
        {"sequence": 20, "work_centre": "ASM", "description": "Assemble", "run_minutes_per_unit": "5"}]})
    assert routing.status_code == 201, routing.text
    plan = quality.post("/api/inspection-plans", json={"item": part, "characteristics": [
        {"name": "stroke_mm", "kind": "numeric", "unit": "mm", "lower_limit": "99", "upper_limit": "101"}]})
    assert plan.status_code == 201, plan.text
    return part, product


def test_a_whole_day_on_the_floor(server, login, tmp_path, factory):
    part, product = factory
    supervisor = login("supervisor").cookies.get("floorsync_session")
    topics = ["board:warehouse:RM", "board:warehouse:FG", "board:workcentre:CUT", "board:workcentre:ASM",
              "board:orders", "board:dock"]
    board = open_board(server.url, supervisor, topics)
    tablet = enrolled_device(server.url, login("warehouse"), tmp_path)
    driver = enrolled_device(server.url, login("logistics"), tmp_path, route="R-EAST")

    # 1. Buying and receiving: two lots arrive; the part needs inspection, so both go on hold.
    buyer = login("buyer")
    po = buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": "NB1", "allow_unlisted_item": True, "lines": [
        {"item": part, "quantity": "40", "unit_price": "2.80", "due_date": SOON}]}).json()["code"]
    assert buyer.post(f"/api/purchase-orders/{po}/approve").status_code == 200
    early, late = (date.today() + timedelta(days=60)).isoformat(), (date.today() + timedelta(days=300)).isoformat()
    first = applied(tablet, "receipt.receive", {"purchase_order": po, "line_no": 10, "item": part, "lot": "A1",
                                                "expiry": early, "location": DOCK, "quantity": "24"})
    second = applied(tablet, "receipt.receive", {"purchase_order": po, "line_no": 10, "item": part, "lot": "B2",
                                                 "expiry": late, "location": DOCK, "quantity": "16"})
    assert first["status"] == second["status"] == "hold" and second["po_status"] == "received"

    # 2. Quality: both lots pass and are released; the stock moves to its rack.
    for lot in ("A1", "B2"):
        applied(tablet, "quality.record", {"subject": "receipt", "item": part, "lot": lot, "location": DOCK,
                                           "results": [{"characteristic": "stroke_mm", "value": "100.2"}]})
        applied(tablet, "stock.move", {"item": part, "lot": lot, "from_location": DOCK, "to_location": STORE,
                                       "quantity": "24" if lot == "A1" else "16"})

    # 3. Production: ten stools need twenty parts; the first lot (earliest expiry) is issued.
    planner = login("planner")
    order = planner.post("/api/production-orders", json={"item": product, "quantity": "10", "site": "NB1",
                                                         "due_date": SOON})
    assert order.status_code == 201, order.text
    prd = order.json()["code"]
    assert planner.post(f"/api/production-orders/{prd}/release").status_code == 200
    fefo = login("viewer").get("/api/stock/fefo", params={"item": part, "quantity": "20", "warehouse": "RM"}).json()
    assert [(p["lot"], p["quantity"]) for p in fefo["picks"]] == [("A1", "20")]
    issued = applied(tablet, "stock.issue", {"production_order": prd, "item": part, "lot": "A1", "location": STORE,
                                             "quantity": "20"})
    assert not issued.get("over_issue")
    applied(tablet, "production.report", {"production_order": prd, "operation": 10, "good_quantity": "10",
                                          "scrap_quantity": "0"})
    made = applied(tablet, "production.report", {"production_order": prd, "operation": 20, "good_quantity": "9",
                                                 "scrap_quantity": "1", "scrap_reason": "cracked seat",
                                                 "location": FG, "lot": "FG-DAY-1"})
    state = planner.get(f"/api/production-orders/{prd}").json()
    assert [(op["good_quantity"], op["scrap_quantity"]) for op in state["operations"]] == [("10", "0"), ("9", "1")]
    assert state["received_quantity"] == "9" and state["status"] == "in_progress" and made
    # One short of ten with the material used up: the supervisor closes the order short.
    assert login("supervisor").post(f"/api/production-orders/{prd}/close", json={"reason": "short by scrap"}).status_code == 200

    # 4. Sales and shipping: ten ordered, the nine made are shipped under one SSCC, loaded, and signed for with one
    #    carton short (it goes back on the order as a backorder).
    sales, logistics = login("sales"), login("logistics")
    so = sales.post("/api/sales-orders", json={"customer": sales.get("/api/customers").json()["items"][0]["code"],
                                               "site": "NB1", "lines": [{"item": product, "quantity": "10", "due_date": SOON}]})
    assert so.status_code == 201, so.text
    so_code = so.json()["code"]
    assert sales.post(f"/api/sales-orders/{so_code}/submit").status_code == 200
    shipment = logistics.post("/api/shipments", json={"sales_order": so_code, "ship_from": "FG", "route": "R-EAST",
                                                      "lines": [{"line_no": 10, "quantity": "9"}]})
    assert shipment.status_code == 201, shipment.text
    shp = shipment.json()["code"]
    packed = applied(tablet, "shipment.pack", {"shipment": shp, "contents": [
        {"item": product, "lot": "FG-DAY-1", "location": FG, "quantity": "9"}]})
    sscc = packed["sscc"]
    assert len(sscc) == 18 and int(sscc[-1]) == check_digit(sscc[:-1])
    # The loader scans the unit's GS1-128 label (AI 00): it resolves to the unit packed a moment ago.
    scanned = tablet.http.post("/api/scan/resolve", json={"code": f"]C100{sscc}\r"},
                               headers={"Authorization": f"Bearer {tablet.token}"}).json()
    assert scanned["kind"] == "handling_unit" and scanned["document"]["shipment"] == shp, scanned
    applied(tablet, "shipment.load", {"shipment": shp, "sscc": sscc, "vehicle": "TRUCK-7"})
    driver.pull_all()
    assert shp in driver.replica("shipment"), "the loaded shipment is on the driver's tablet"
    applied(driver, "delivery.sign", {"shipment": shp, "signer_name": "王经理", "signature_png": signature_png(),
                                      "shortfalls": [{"line_no": 10, "quantity": "1", "reason": "one carton short"}],
                                      "signed_at": datetime.now(timezone.utc).isoformat()})

    # 5. What the office sees at the end of the day.
    viewer = login("viewer")
    assert viewer.get(f"/api/purchase-orders/{po}").json()["status"] == "received"
    assert viewer.get(f"/api/production-orders/{prd}").json()["status"] == "closed"
    assert viewer.get(f"/api/shipments/{shp}").json()["status"] == "delivered"
    so_line = viewer.get(f"/api/sales-orders/{so_code}").json()["lines"][0]
    assert (so_line["shipped_quantity"], so_line["backorder_quantity"], so_line["open_quantity"]) == ("8", "1", "2")
    stock = {(r["location"], r["lot"], r["status"]): r["quantity"]
             for item in (part, product) for r in viewer.get("/api/stock", params={"item": item}).json()["items"]}
    assert stock == {(STORE, "A1", "available"): "4", (STORE, "B2", "available"): "16"}, "the stools left with the truck"
    verified = viewer.get("/api/proofs/verify").json()
    assert verified["ok"] and verified["proofs"] >= 1

    # The ledger: every on-hand row equals the sum of its moves (the projection is the ledger, summed).
    ledger = query(server, "SELECT location, lot, status, SUM(quantity_micro) FROM stock_move WHERE item IN ('{0}', '{1}') "
                           "GROUP BY location, lot, status HAVING SUM(quantity_micro) <> 0".format(part, product))
    assert {(r[0], r[1], r[2]): str(int(r[3]) // 1_000_000) for r in ledger} == stock

    # The boards heard the day as it happened: stock, work centres, orders and the dock.
    messages, _ = closed_with(board, 3)
    heard = {m["topic"] for m in messages if m.get("type") == "board"}
    assert set(topics) <= heard, heard
    board.close()
    tablet.close()
    driver.close()
