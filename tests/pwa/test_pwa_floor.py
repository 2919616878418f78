"""The floor app's receive, issue and report screens in real Chromium against the real server: a receipt against a
PO, an issue to a production order and a production report, filled by keyboard-wedge scans (PO and order codes, the
material's GS1 label, locations) and typed quantities while offline, survive a reload in the outbox, drain when the
network returns and land exactly once; a refused issue is corrected from needs-attention on its screen, pre-filled."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import expect

from tests.factory import available_by_location, released_production_order
from tests.pwa_browser import (
    enrol, go, gtin13, meta, new_context, outbox, pending, scan_into, typed, until, wait_synced, watch_errors,
    wedge,
)

pytestmark = pytest.mark.browser

DOCK = "RM-A-01-01"
EXPIRY = date.today() + timedelta(days=300)


def floor_setup(admin: httpx.Client, login, unique) -> dict[str, str]:
    """A lot-tracked fabric with a GTIN (and a plain board) made into a seat, cut at CUT then sewn at SEW; a released
    order for 10 seats (needs 20 fabric, 11 board) and an approved PO for 50 fabric."""
    codes = {"item": unique("SEAT"), "fabric": unique("FABRIC"), "board": unique("BOARD"),
             "gtin": gtin13(random.Random())}
    for key, fields in (("fabric", {"lot_tracked": True, "gtin": codes["gtin"]}), ("board", {}),
                        ("item", {"type": "finished", "lot_tracked": True})):
        body = {"code": codes[key], "name": f"Floor {key}", "type": "raw", "unit": "PCS", **fields}
        assert admin.post("/api/items", json=body).status_code == 201, body
    bom = {"code": f"BOM-{codes['item']}", "item": codes["item"], "components": [
        {"line_no": 10, "component": codes["fabric"], "quantity": "2"},
        {"line_no": 20, "component": codes["board"], "quantity": "1", "scrap_pct": "10"}]}
    assert admin.post("/api/boms", json=bom).status_code == 201
    routing = {"code": f"RTG-{codes['item']}", "item": codes["item"], "operations": [
        {"sequence": 10, "work_centre": "CUT", "description": "Cut", "setup_minutes": "15",
         "run_minutes_per_unit": "2"},
        {"sequence": 20, "work_centre": "SEW", "description": "Sew", "setup_minutes": "10",
         "run_minutes_per_unit": "6"}]}
    assert admin.post("/api/routings", json=routing).status_code == 201

    planner = login("planner")
    codes["order"] = released_production_order(planner, codes["item"], "10", due_in_days=30)

    buyer = login("buyer")
    po = buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": "NB1", "allow_unlisted_item": True, "lines": [
        {"item": codes["fabric"], "quantity": "50", "unit_price": "1.00",
         "due_date": (date.today() + timedelta(days=14)).isoformat()}]})
    assert po.status_code == 201, po.text
    codes["po"] = po.json()["code"]
    assert buyer.post(f"/api/purchase-orders/{codes['po']}/approve").status_code == 200
    return codes


def label(gtin: str, lot: str, expiry: date | None = None) -> str:
    """The supplier's GS1-128 label as a scanner sends it: GTIN-14, expiry (AI 17) and lot (AI 10, last: no GS)."""
    return f"]C101{gtin.zfill(14)}" + (f"17{expiry:%y%m%d}" if expiry else "") + f"10{lot}"


def test_receive_issue_and_report_offline_by_scanning_land_exactly_once(server, login, admin, unique, browser):
    codes = floor_setup(admin, login, unique)
    fabric, lot = codes["fabric"], unique("L")
    clerk = login("warehouse")
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, clerk)
    expect(page.locator("nav.tiles [data-route='receive']")).to_be_visible()
    expect(page.locator("nav.tiles [data-route='issue']")).to_be_visible()
    expect(page.locator("nav.tiles [data-route='report']")).to_be_visible()

    context.set_offline(True)
    # Receive: the PO's code, then the supplier's label (item, lot, expiry; the line and its open 50 follow), the dock.
    go(page, "receive")
    form = page.locator("#receive-form")
    expect(form.locator("input[name=purchase_order]")).to_be_focused()
    scan_into(page, form.locator("input[name=purchase_order]"), codes["po"], codes["po"])
    expect(form.locator("input[name=item]")).to_be_focused()
    scan_into(page, form.locator("input[name=item]"), label(codes["gtin"], lot, EXPIRY), fabric)
    expect(form.locator("input[name=lot]")).to_have_value(lot)
    expect(form.locator("input[name=expiry]")).to_have_value(EXPIRY.isoformat())
    expect(form.locator("select[name=line_no]")).to_have_value("10")
    expect(form.locator("input[name=quantity]")).to_have_value("50")  # the line's open quantity
    expect(form.locator("input[name=location]")).to_be_focused()
    scan_into(page, form.locator("input[name=location]"), DOCK, DOCK)
    expect(form.locator("button[type=submit]")).to_be_focused()
    form.locator("input[name=quantity]").fill("30")  # only 30 came
    form.locator("input[name=quantity]").press("Enter")
    page.wait_for_selector("#screen .notice.ok")

    # Issue: the order's code, the material's label (item and lot), the location, a typed quantity.
    go(page, "issue")
    form = page.locator("#issue-form")
    scan_into(page, form.locator("input[name=production_order]"), codes["order"], codes["order"])
    expect(page.locator(f"#materials li[data-item='{fabric}']")).to_contain_text("20")
    expect(form.locator("input[name=item]")).to_be_focused()
    scan_into(page, form.locator("input[name=item]"), label(codes["gtin"], lot), fabric)
    expect(form.locator("input[name=lot]")).to_have_value(lot)
    expect(form.locator("input[name=location]")).to_be_focused()
    scan_into(page, form.locator("input[name=location]"), DOCK, DOCK)
    expect(form.locator("input[name=quantity]")).to_be_focused()
    typed(page, "20")
    page.wait_for_selector("#screen .notice.ok")

    # Report: the order's code preselects its first operation (10, CUT); not the last, so no finished-goods location.
    go(page, "report")
    form = page.locator("#report-form")
    wedge(page, codes["order"])
    expect(form.locator("select[name=operation]")).to_have_value("10")
    expect(form.locator("input[name=location]")).to_have_count(0)
    expect(form.locator("input[name=good_quantity]")).to_be_focused()
    typed(page, "10")
    typed(page, "1")  # scrap: then a reason is required
    expect(form.locator("input[name=scrap_reason]")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#p-scrap_reason")).not_to_be_empty()
    assert pending(page) == 2, "nothing queued without a scrap reason"
    typed(page, "frayed edge")
    page.wait_for_selector("#screen .notice.ok")
    expect(page.locator("#sync-status")).to_have_attribute("data-pending", "3")

    page.reload()  # still offline: the service worker serves the app, IndexedDB still holds the outbox
    page.wait_for_selector("body[data-ready='1']")
    queued = outbox(page)
    assert [m["name"] for m in queued] == ["receipt.receive", "stock.issue", "production.report"]
    assert queued[0]["args"] == {"purchase_order": codes["po"], "line_no": 10, "item": fabric, "lot": lot,
                                 "expiry": EXPIRY.isoformat(), "location": DOCK, "quantity": "30"}
    assert queued[1]["args"] == {"production_order": codes["order"], "item": fabric, "lot": lot, "location": DOCK,
                                 "quantity": "20"}
    assert queued[2]["args"] == {"production_order": codes["order"], "operation": 10, "good_quantity": "10",
                                 "scrap_quantity": "1", "scrap_reason": "frayed edge", "location": None, "lot": None}
    assert admin.get(f"/api/purchase-orders/{codes['po']}").json()["lines"][0]["received_quantity"] == "0"

    context.set_offline(False)
    wait_synced(page)
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")

    def server_state():
        po = admin.get(f"/api/purchase-orders/{codes['po']}").json()
        order = admin.get(f"/api/production-orders/{codes['order']}").json()
        stock = sorted((r["location"], r["lot"], r["status"], r["quantity"])
                       for r in admin.get("/api/stock", params={"item": fabric}).json()["items"])
        return (po["lines"][0]["received_quantity"], stock,
                [(op["sequence"], op["good_quantity"], op["scrap_quantity"]) for op in order["operations"]],
                {m["item"]: m["issued_quantity"] for m in order["materials"]})

    landed = server_state()
    assert landed == ("30", [(DOCK, lot, "available", "10")], [(10, "10", "1"), (20, "0", "0")],
                      {fabric: "20", codes["board"]: "0"})
    assert available_by_location(admin, fabric) == {DOCK: Decimal(10)}

    # Exactly once: sending the three again changes nothing.
    again = httpx.post(f"{server.url}/api/sync/push", headers={"Authorization": f"Bearer {meta(page, 'token')}"}, json={
        "protocol": 1, "mutations": [{k: m[k] for k in ("seq", "id", "name", "args", "client_time")} for m in queued]})
    assert again.status_code == 200, again.text
    assert [(r["status"], r["outcome"]) for r in again.json()["results"]] == [("duplicate", "applied")] * 3
    assert server_state() == landed
    assert errors == []
    context.close()


def test_a_refused_issue_is_corrected_from_needs_attention_on_its_screen(server, login, admin, unique, browser):
    codes = floor_setup(admin, login, unique)
    board = codes["board"]
    clerk = login("warehouse")
    counted = clerk.post("/api/stock/counts", json={"item": board, "location": DOCK, "counted_quantity": "4"})
    assert counted.status_code == 201, counted.text
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, clerk)

    go(page, "issue")
    form = page.locator("#issue-form")
    for name, value in (("production_order", codes["order"]), ("item", board), ("location", DOCK), ("quantity", "11")):
        form.locator(f"input[name={name}]").fill(value)
        form.locator(f"input[name={name}]").press("Enter")
    page.wait_for_selector("#screen .notice.ok")
    expect(page.locator("#screen .notice.warn")).to_be_visible()  # more than the 4 on hand: the server decides
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "1")
    wait_synced(page)

    go(page, "attention")
    entry = page.locator("#attention-list .entry[data-code='insufficient_stock']")
    entry.locator("button.correct").click()
    page.wait_for_selector("body[data-screen='issue']")
    for name, value in (("production_order", codes["order"]), ("item", board), ("lot", ""), ("location", DOCK),
                        ("quantity", "11")):
        expect(form.locator(f"input[name={name}]")).to_have_value(value)
    expect(form.locator("input[name=quantity]")).to_be_focused()
    page.keyboard.press("Control+A")
    typed(page, "4")
    page.wait_for_selector("body[data-screen='attention']")

    def issued() -> dict[str, str]:
        order = admin.get(f"/api/production-orders/{codes['order']}").json()
        return {m["item"]: m["issued_quantity"] for m in order["materials"]}

    until(lambda: issued()[board] != "0")
    wait_synced(page)
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")
    assert issued()[board] == "4"
    assert available_by_location(admin, board) == {}
    assert errors == []
    context.close()


def test_the_last_operation_puts_finished_goods_where_the_operator_scans(server, login, admin, unique, browser):
    codes = floor_setup(admin, login, unique)
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, login("warehouse"))

    go(page, "report")
    form = page.locator("#report-form")
    wedge(page, codes["order"])
    typed(page, "5")  # operation 10 first: the server lets no operation pass on more than the one before it
    typed(page, "")
    typed(page, "")
    page.wait_for_selector("#screen .notice.ok")
    form.locator("select[name=operation]").select_option("20")
    expect(form.locator("input[name=location]")).to_be_visible()  # the last operation: finished goods go somewhere
    form.locator("input[name=good_quantity]").focus()
    typed(page, "5")
    form.locator("button[type=submit]").click()
    expect(page.locator("#p-location")).not_to_be_empty()
    assert pending(page) == 0
    scan_into(page, form.locator("input[name=location]"), "FG-01-01", "FG-01-01")
    expect(form.locator("input[name=lot]")).to_be_focused()
    scan_into(page, form.locator("input[name=lot]"), "SEAT-LOT-1", "SEAT-LOT-1")
    form.locator("button[type=submit]").click()
    expect(page.locator("#screen .notice.ok")).to_contain_text("20")
    until(lambda: admin.get(f"/api/production-orders/{codes['order']}").json()["received_quantity"] != "0")
    wait_synced(page)
    refused = page.evaluate("import('/app/db.js').then(db => db.attention())")
    assert refused == [], [entry.get("error") for entry in refused]
    order = admin.get(f"/api/production-orders/{codes['order']}").json()
    assert order["received_quantity"] == "5"
    stock = admin.get("/api/stock", params={"item": codes["item"]}).json()["items"]
    assert [(r["location"], r["lot"], r["quantity"]) for r in stock] == [("FG-01-01", "SEAT-LOT-1", "5")]
    assert errors == []
    context.close()
