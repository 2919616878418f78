"""Purchase orders through the REST API as the buyer works: a draft with lines, approval, cancel and close, with
every refusal's code and nothing written; who may do what; the approved PO reaching the receiving site's tablets
(and leaving them); and the receipt rules (status transitions, over-receipt tolerance) tested directly."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from server.quantities import to_micro
from server.purchasing import rules
from tests.sync_fixtures import enrolled_device

SITE = "NB1"
SOON = (date.today() + timedelta(days=14)).isoformat()


def line(item: str, quantity: str = "100", **fields) -> dict:
    return {"item": item, "quantity": quantity, "unit_price": "2.80", "due_date": SOON, **fields}


def draft(buyer: httpx.Client, lines: list[dict], supplier: str = "S-LIFTTEC", **fields) -> dict:
    response = buyer.post("/api/purchase-orders", json={"supplier": supplier, "site": SITE, "lines": lines, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def buyer(login) -> httpx.Client:
    return login("buyer")


def test_buyer_creates_a_numbered_draft_and_approves_it(buyer):
    po = draft(buyer, [line("GAS-C4", "500"), line("MECH-SYN", "200", unit_price="6.10")], notes="Q4 safety parts")
    assert po["code"].startswith(f"PO-{date.today().year}-") and po["status"] == "draft"
    assert po["currency"] == "EUR" and po["created_by"] == "buyer" and po["version"] == 1
    assert [(l["line_no"], l["item"], l["quantity"], l["received_quantity"], l["status"]) for l in po["lines"]] == [
        (10, "GAS-C4", "500", "0", "open"), (20, "MECH-SYN", "200", "0", "open")]
    assert po["total_amount"] == "2620.00"

    approved = buyer.post(f"/api/purchase-orders/{po['code']}/approve", json={"version": 1})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["approved_by"] == "buyer"
    assert approved.json()["version"] == 2

    listed = buyer.get("/api/purchase-orders", params={"status": "approved", "supplier": "S-LIFTTEC", "limit": 500})
    assert po["code"] in {p["code"] for p in listed.json()["items"]}
    assert all(p["status"] == "approved" for p in listed.json()["items"])
    audit = buyer.get("/api/purchase-orders/" + po["code"]).json()
    assert audit["status"] == "approved"


def test_a_po_above_the_limit_is_approved_by_someone_other_than_the_buyer_who_wrote_it(buyer, admin):
    po = draft(buyer, [line("GAS-C4", "5000")])  # 14,000 EUR: above the default 10,000
    own = refused(buyer.post(f"/api/purchase-orders/{po['code']}/approve", json={"version": 1}), 409, "self_approval")
    assert own["details"]["limit"] == "10000" and "14000.00" in own["message"]
    assert buyer.get(f"/api/purchase-orders/{po['code']}").json()["status"] == "draft"
    approved = admin.post(f"/api/purchase-orders/{po['code']}/approve", json={"version": 1})
    assert approved.status_code == 200 and approved.json()["approved_by"] == "admin", approved.text


def test_a_given_code_is_kept_and_a_second_po_with_it_is_a_duplicate(buyer, unique):
    code = unique("PO-HAND")
    assert draft(buyer, [line("GAS-C4")], code=code)["code"] == code
    refused(buyer.post("/api/purchase-orders", json={"code": code, "supplier": "S-LIFTTEC", "site": SITE}), 409, "duplicate")


def test_the_list_pages_and_filters_by_status(buyer):
    for _ in range(3):
        draft(buyer, [line("GAS-C4")])
    first = buyer.get("/api/purchase-orders", params={"status": "draft", "limit": 2}).json()
    second = buyer.get("/api/purchase-orders", params={"status": "draft", "limit": 2, "offset": 2}).json()
    assert first["total"] >= 3 and len(first["items"]) == 2 and second["offset"] == 2
    assert not {p["code"] for p in first["items"]} & {p["code"] for p in second["items"]}
    refused(buyer.get("/api/purchase-orders", params={"status": "lost"}), 400, "invalid_value")


@pytest.mark.parametrize("username", ["warehouse", "viewer"])
def test_warehouse_and_viewer_read_purchase_orders_but_cannot_create_or_approve(login, buyer, username):
    po = draft(buyer, [line("GAS-C4")])
    other = login(username)
    assert other.get(f"/api/purchase-orders/{po['code']}").status_code == 200
    body = refused(other.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": SITE}), 403, "forbidden")
    assert body["details"]["permission"] == "purchasing.write"
    body = refused(other.post(f"/api/purchase-orders/{po['code']}/approve"), 403, "forbidden")
    assert body["details"]["permission"] == "purchasing.approve"
    refused(other.post(f"/api/purchase-orders/{po['code']}/cancel"), 403, "forbidden")
    assert buyer.get(f"/api/purchase-orders/{po['code']}").json()["status"] == "draft"


def test_the_api_says_what_the_caller_may_do_to_a_draft_and_to_an_approved_po(login, buyer):
    po = draft(buyer, [line("GAS-C4")])
    assert po["open_actions"] == ["approve", "cancel", "edit"]
    assert login("viewer").get(f"/api/purchase-orders/{po['code']}").json()["open_actions"] == []
    approved = buyer.post(f"/api/purchase-orders/{po['code']}/approve", json={"version": po["version"]}).json()
    assert approved["status"] == "approved" and approved["open_actions"] == ["cancel", "close"]
    assert buyer.get(f"/api/purchase-orders/{po['code']}").json()["open_actions"] == ["cancel", "close"]


def test_a_draft_is_changed_with_its_version_and_a_stale_version_is_a_conflict(buyer):
    po = draft(buyer, [line("GAS-C4", "500")])
    changed = buyer.patch(f"/api/purchase-orders/{po['code']}",
                          json={"version": 1, "notes": "urgent", "lines": [line("GAS-C4", "600"), line("MECH-SYN", "50")]})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.json()["notes"] == "urgent"
    assert [(l["item"], l["quantity"]) for l in changed.json()["lines"]] == [("GAS-C4", "600"), ("MECH-SYN", "50")]

    body = refused(buyer.patch(f"/api/purchase-orders/{po['code']}", json={"version": 1, "notes": "lost update"}),
                   409, "version_conflict")
    assert body["details"]["version"] == 2
    refused(buyer.post(f"/api/purchase-orders/{po['code']}/approve", json={"version": 1}), 409, "version_conflict")
    after = buyer.get(f"/api/purchase-orders/{po['code']}").json()
    assert after["notes"] == "urgent" and after["status"] == "draft" and after["version"] == 2


def test_an_approved_po_is_no_longer_edited(buyer):
    po = draft(buyer, [line("GAS-C4")])
    buyer.post(f"/api/purchase-orders/{po['code']}/approve").raise_for_status()
    refused(buyer.patch(f"/api/purchase-orders/{po['code']}", json={"version": 2, "notes": "x"}), 409, "po_not_draft")


def test_an_item_the_supplier_does_not_list_needs_the_buyers_explicit_confirmation_which_is_audited(buyer, admin, browse):
    # CST-50 comes from S-NBCASTOR; S-LIFTTEC lists gas lifts and mechanisms only.
    body = refused(buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": SITE,
                                                            "lines": [line("GAS-C4"), line("CST-50")]}),
                   422, "item_not_supplied")
    assert [(e["field"], e["code"]) for e in body["details"]["errors"]] == [("lines[1].item", "item_not_supplied")]
    po = draft(buyer, [line("GAS-C4")])
    refused(buyer.patch(f"/api/purchase-orders/{po['code']}", json={"version": 1, "lines": [line("CST-50")]}),
            422, "item_not_supplied")
    assert buyer.patch(f"/api/purchase-orders/{po['code']}", json={"version": 1, "notes": "unchanged lines"}).status_code == 200

    confirmed = draft(buyer, [line("GAS-C4"), line("CST-50")], allow_unlisted_item=True)
    assert [l["item"] for l in confirmed["lines"]] == ["GAS-C4", "CST-50"]
    audit = admin.get("/api/audit", params={"entity": "purchase_order", "entity_key": confirmed["code"]}).json()["items"]
    allowed = [a for a in audit if a["action"] == "unlisted_item_allowed"]
    assert [(a["username"], a["after"]) for a in allowed] == [("buyer", {"supplier": "S-LIFTTEC", "items": ["CST-50"]})]

    office = browse("buyer")
    form = {"supplier": "S-LIFTTEC", "site": SITE, "lines-0-item": "CST-50", "lines-0-quantity": "5", "lines-0-due_date": SOON}
    page = office.post("/purchase-orders/new", form)
    assert page.status_code == 422 and 'id="po-allow-unlisted"' in page.text
    assert office.post("/purchase-orders/new", {**form, "allow_unlisted_item": "true"}).status_code == 303

    # A line pegged for a sales order keeps its peg through the office form.
    sales_order = admin.get("/api/sales-orders", params={"limit": 1}).json()["items"][0]["code"]
    pegged = draft(buyer, [line("GAS-C4", sales_order=sales_order)])
    edit = office.get(f"/purchase-orders/{pegged['code']}/edit")
    assert f'name="lines-0-sales_order" value="{sales_order}"' in edit.text
    form = {"version": "1", "supplier": "S-LIFTTEC", "site": SITE, "lines-0-line_no": "10", "lines-0-item": "GAS-C4",
            "lines-0-quantity": "7", "lines-0-due_date": SOON, "lines-0-sales_order": sales_order}
    assert office.post(f"/purchase-orders/{pegged['code']}/edit", form).status_code == 303
    assert [(l["quantity"], l["sales_order"]) for l in buyer.get(f"/api/purchase-orders/{pegged['code']}").json()["lines"]] \
        == [("7", sales_order)]


def test_a_po_without_lines_cannot_be_approved(buyer):
    po = draft(buyer, [])
    refused(buyer.post(f"/api/purchase-orders/{po['code']}/approve"), 422, "no_lines")
    assert buyer.get(f"/api/purchase-orders/{po['code']}").json()["status"] == "draft"


def test_approval_refuses_an_item_or_supplier_archived_since_the_draft(buyer, admin, new_item, unique):
    part = new_item()
    po = draft(buyer, [line(part)], allow_unlisted_item=True)
    admin.post(f"/api/items/{part}/archive").raise_for_status()
    body = refused(buyer.post(f"/api/purchase-orders/{po['code']}/approve"), 422, "archived_item")
    assert body["details"]["field"] == "lines[0].item"

    supplier = unique("S-GONE")
    admin.post("/api/suppliers", json={"code": supplier, "name": "Gone Ltd", "currency": "CNY"}).raise_for_status()
    po = draft(buyer, [line("GAS-C4")], supplier=supplier, allow_unlisted_item=True)
    admin.post(f"/api/suppliers/{supplier}/archive").raise_for_status()
    refused(buyer.post(f"/api/purchase-orders/{po['code']}/approve"), 422, "archived_supplier")
    assert buyer.get(f"/api/purchase-orders/{po['code']}").json()["status"] == "draft"


@pytest.mark.parametrize("bad_line, status, code", [
    ({"item": "NO-SUCH-ITEM"}, 422, "unknown_item"),
    ({"quantity": "0"}, 400, "out_of_range"),
    ({"quantity": "-5"}, 400, "out_of_range"),
    ({"quantity": "2.5"}, 422, "too_many_decimals"),
    ({"due_date": "2026-02-30"}, 400, "invalid_type"),
    ({"due_date": (date.today() - timedelta(days=1)).isoformat()}, 422, "due_date_in_past"),
])
def test_a_bad_line_is_refused_with_its_code_and_nothing_is_written(buyer, bad_line, status, code):
    before = buyer.get("/api/purchase-orders", params={"limit": 1}).json()["total"]
    response = buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": SITE,
                                                        "lines": [line("GAS-C4"), {**line("MECH-SYN"), **bad_line}]})
    refused(response, status, code)
    assert buyer.get("/api/purchase-orders", params={"limit": 1}).json()["total"] == before


def test_unknown_supplier_site_and_repeated_line_numbers_are_refused(buyer):
    refused(buyer.post("/api/purchase-orders", json={"supplier": "S-NOBODY", "site": SITE}), 422, "unknown_supplier")
    refused(buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": "NOWHERE"}), 422, "unknown_site")
    body = refused(buyer.post("/api/purchase-orders", json={
        "supplier": "S-LIFTTEC", "site": SITE, "lines": [line("GAS-C4", line_no=10), line("MECH-SYN", line_no=10)]}),
        422, "duplicate_line")
    assert body["details"]["field"] == "lines[1].line_no"


def test_a_bad_line_in_a_draft_edit_writes_nothing(buyer):
    po = draft(buyer, [line("GAS-C4", "500")])
    refused(buyer.patch(f"/api/purchase-orders/{po['code']}", json={"version": 1, "lines": [line("NO-SUCH-ITEM")]}),
            422, "unknown_item")
    after = buyer.get(f"/api/purchase-orders/{po['code']}").json()
    assert after["version"] == 1 and [l["quantity"] for l in after["lines"]] == ["500"]


def test_cancel_and_close_move_the_status_and_final_states_refuse_everything(buyer):
    cancelled = draft(buyer, [line("GAS-C4")])
    response = buyer.post(f"/api/purchase-orders/{cancelled['code']}/cancel", json={"reason": "supplier cannot deliver"})
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert [l["status"] for l in response.json()["lines"]] == ["cancelled"]
    refused(buyer.post(f"/api/purchase-orders/{cancelled['code']}/approve"), 409, "po_cancelled")
    refused(buyer.post(f"/api/purchase-orders/{cancelled['code']}/close"), 409, "po_cancelled")

    closed = draft(buyer, [line("GAS-C4")])
    refused(buyer.post(f"/api/purchase-orders/{closed['code']}/close"), 409, "po_not_approved")
    buyer.post(f"/api/purchase-orders/{closed['code']}/approve").raise_for_status()
    response = buyer.post(f"/api/purchase-orders/{closed['code']}/close")
    assert response.status_code == 200 and response.json()["status"] == "closed"
    refused(buyer.post(f"/api/purchase-orders/{closed['code']}/cancel"), 409, "po_closed")
    refused(buyer.post(f"/api/purchase-orders/{closed['code']}/approve"), 409, "po_closed")
    refused(buyer.post("/api/purchase-orders/PO-NEVER-WAS/approve"), 404, "not_found")


def test_the_approved_po_reaches_the_receiving_sites_tablet_and_leaves_it_when_cancelled(server, login, buyer, tmp_path):
    device = enrolled_device(server.url, login("warehouse"), tmp_path, site=SITE)
    try:
        device.pull_all()
        po = draft(buyer, [line("GAS-C4", "500"), line("MECH-SYN", "200")])
        device.pull_all()
        assert po["code"] not in device.replica("purchase_order"), "a draft stays in the office"

        buyer.post(f"/api/purchase-orders/{po['code']}/approve").raise_for_status()
        device.pull_all()
        held = device.replica("purchase_order")[po["code"]]
        assert held["site"] == SITE and held["supplier"] == "S-LIFTTEC" and held["status"] == "approved"
        assert [(l["line_no"], l["item"], l["quantity"], l["open_quantity"]) for l in held["lines"]] == [
            (10, "GAS-C4", "500", "500"), (20, "MECH-SYN", "200", "200")]

        buyer.post(f"/api/purchase-orders/{po['code']}/cancel").raise_for_status()
        device.pull_all()
        assert po["code"] not in device.replica("purchase_order")
    finally:
        device.close()


def test_a_po_for_another_site_never_reaches_the_tablet_nor_takes_its_receipts(server, login, buyer, admin, unique,
                                                                              tmp_path):
    other_site = unique("SITE")
    admin.post("/api/sites", json={"code": other_site, "name": "Other plant", "timezone": "Asia/Shanghai"}).raise_for_status()
    device = enrolled_device(server.url, login("warehouse"), tmp_path, site=SITE)
    try:
        po = draft(buyer, [line("GAS-C4")], site=other_site)
        buyer.post(f"/api/purchase-orders/{po['code']}/approve").raise_for_status()
        device.pull_all()
        assert po["code"] not in device.replica("purchase_order")
        mutation = device.enqueue("receipt.receive", {"purchase_order": po["code"], "line_no": 10, "item": "GAS-C4",
                                                      "lot": unique("LOT"), "location": "RCV-01", "quantity": "1"})
        device.push_once()
        result = device.result(mutation)
        assert result["status"] == "rejected" and result["error"]["code"] == "out_of_scope", result
        assert result["error"]["details"] == {"purchase_order": po["code"]}, "nothing of the PO is told"
        assert buyer.get(f"/api/purchase-orders/{po['code']}").json()["lines"][0]["received_quantity"] == "0"
    finally:
        device.close()


def test_receipt_tolerance_is_set_per_item_and_supplier_and_bounded(admin, new_item, unique):
    part = new_item(receipt_tolerance_pct="2.5")
    assert admin.get(f"/api/items/{part}").json()["receipt_tolerance_pct"] == "2.5"
    refused(admin.patch(f"/api/items/{part}", json={"receipt_tolerance_pct": "101"}), 400, "out_of_range")
    cleared = admin.patch(f"/api/items/{part}", json={"receipt_tolerance_pct": None})
    assert cleared.status_code == 200 and cleared.json()["receipt_tolerance_pct"] is None
    supplier = unique("S-TOL")
    made = admin.post("/api/suppliers", json={"code": supplier, "name": "Tol Ltd", "currency": "CNY", "receipt_tolerance_pct": "10"})
    assert made.status_code == 201 and made.json()["receipt_tolerance_pct"] == "10"
    exported = admin.get("/api/csv/suppliers").text
    assert "receipt_tolerance_pct" in exported.splitlines()[0]


def test_the_demo_has_approved_pos_open_for_receiving_at_nb1_with_lot_tracked_items(login):
    viewer = login("viewer")
    demo = [po for po in viewer.get("/api/purchase-orders", params={"limit": 500, "sort": "created_at"}).json()["items"]
            if po["created_by"] == "system"]
    assert [po["status"] for po in demo] == ["approved", "approved", "draft"]
    lot_tracked = {item["code"] for item in viewer.get("/api/items", params={"lot_tracked": "true", "limit": 500}).json()["items"]}
    open_items = {line["item"] for po in demo if po["status"] == "approved" and po["site"] == SITE for line in po["lines"]}
    assert open_items & lot_tracked >= {"GAS-C4", "FAB-MESH-BK"}

# The rules a receipt is checked against, as values in and decisions out.

def test_the_tolerance_is_the_items_then_the_suppliers_then_five_percent():
    assert rules.receipt_tolerance(Decimal(0), Decimal(10)) == 0
    assert rules.receipt_tolerance(None, Decimal(10)) == 10
    assert rules.receipt_tolerance(None, None) == 5
    assert rules.receipt_tolerance(None, None, default=Decimal(2)) == 2


def test_a_receipt_within_tolerance_is_allowed_and_one_beyond_it_is_refused():
    ordered = to_micro(Decimal(100))
    within = rules.check_over_receipt(ordered, to_micro(Decimal(90)), to_micro(Decimal(15)), Decimal(5))
    assert within.allowed and within.code is None and within.line_complete
    assert within.over_ordered_micro == to_micro(Decimal(5)) and within.still_receivable_micro == 0
    beyond = rules.check_over_receipt(ordered, to_micro(Decimal(90)), to_micro(Decimal("15.000001")), Decimal(5))
    assert not beyond.allowed and beyond.code == "over_tolerance" and beyond.limit_micro == to_micro(Decimal(105))
    partial = rules.check_over_receipt(ordered, 0, to_micro(Decimal(40)), Decimal(0))
    assert partial.allowed and not partial.line_complete and partial.still_receivable_micro == to_micro(Decimal(60))
    exact = rules.check_over_receipt(ordered, to_micro(Decimal(60)), to_micro(Decimal(40)), Decimal(0))
    assert exact.allowed and exact.line_complete and exact.over_ordered_micro == 0
    assert rules.check_over_receipt(ordered, 0, to_micro(Decimal("100.000001")), Decimal(0)).code == "over_tolerance"
    assert rules.check_over_receipt(ordered, 0, 0, Decimal(5)).code == "quantity_not_positive"
    assert rules.check_over_receipt(ordered, 0, -1, Decimal(5)).code == "quantity_not_positive"


def test_the_limit_rounds_down_to_whole_micro_units():
    assert rules.receipt_limit_micro(3, Decimal(5)) == 3
    assert rules.receipt_limit_micro(to_micro(Decimal(3)), Decimal("33.3333")) == to_micro(Decimal("3.999999"))


def test_status_transitions():
    allowed = {(a, b) for a, targets in rules.TRANSITIONS.items() for b in targets}
    assert ("draft", "approved") in allowed and ("approved", "closed") in allowed
    assert rules.transition_refusal("draft", "approved") is None
    assert rules.transition_refusal("partially_received", "cancelled").code == "po_has_receipts"
    assert rules.transition_refusal("received", "cancelled").code == "po_has_receipts"
    assert rules.transition_refusal("closed", "approved").code == "po_closed"
    assert rules.transition_refusal("cancelled", "closed").code == "po_cancelled"
    assert rules.transition_refusal("draft", "closed").code == "po_not_approved"
    assert rules.transition_refusal("approved", "approved").code == "invalid_transition"
    assert rules.receipt_refusal("closed", "open").code == "po_closed"
    assert rules.receipt_refusal("cancelled", "cancelled").code == "po_cancelled"
    assert rules.receipt_refusal("draft", "open").code == "po_not_approved"
    assert rules.receipt_refusal("approved", "cancelled").code == "line_cancelled"
    assert rules.receipt_refusal("partially_received", "open") is None


def test_the_po_status_follows_its_lines():
    P = rules.LineProgress
    assert rules.po_status_from_lines("approved", [P(10, 0), P(5, 0)]) == "approved"
    assert rules.po_status_from_lines("approved", [P(10, 4), P(5, 0)]) == "partially_received"
    assert rules.po_status_from_lines("partially_received", [P(10, 10, "received"), P(5, 6)]) == "received"
    assert rules.po_status_from_lines("approved", [P(10, 10), P(5, 0, "cancelled")]) == "received"
    assert rules.po_status_from_lines("closed", [P(10, 10)]) == "closed"
    assert rules.po_status_from_lines("draft", [P(10, 10)]) == "draft"
    assert rules.line_status(10, 9) == "open" and rules.line_status(10, 11) == "received"
    assert rules.line_status(10, 10, "cancelled") == "cancelled"


def test_the_draft_form_explains_a_bad_line_and_edits_a_draft_and_a_viewer_gets_no_buttons(browse, buyer):
    office = browse("buyer")
    form = {"supplier": "S-LIFTTEC", "site": SITE, "lines-0-item": "NO-SUCH-ITEM", "lines-0-quantity": "5",
            "lines-0-due_date": SOON, "lines-1-item": ""}
    refused_page = office.post("/purchase-orders/new", form)
    assert refused_page.status_code == 422 and "no item with code" in refused_page.text
    assert 'value="NO-SUCH-ITEM"' in refused_page.text, "what was typed stays in the form"

    po = draft(buyer, [line("GAS-C4", "500")])
    edit = office.get(f"/purchase-orders/{po['code']}/edit")
    assert edit.status_code == 200 and 'value="500"' in edit.text
    saved = office.post(f"/purchase-orders/{po['code']}/edit", {
        "version": "1", "supplier": "S-LIFTTEC", "site": SITE, "notes": "by the form",
        "lines-0-line_no": "10", "lines-0-item": "GAS-C4", "lines-0-quantity": "450", "lines-0-due_date": SOON,
        "lines-1-item": "MECH-SYN", "lines-1-quantity": "20", "lines-1-due_date": SOON})
    assert saved.status_code == 303
    after = buyer.get(f"/api/purchase-orders/{po['code']}").json()
    assert after["notes"] == "by the form" and [(l["line_no"], l["quantity"]) for l in after["lines"]] == [(10, "450"), (20, "20")]
    stale = office.post(f"/purchase-orders/{po['code']}/approve", {"version": "1"})
    assert stale.status_code == 409 and "changed by someone else" in stale.text

    viewer = browse("viewer")
    page = viewer.get(f"/purchase-orders/{po['code']}")
    assert page.status_code == 200 and "/approve" not in page.text and "/edit" not in page.text
    assert viewer.post(f"/purchase-orders/{po['code']}/approve", {"version": "2"}).status_code == 403
    assert viewer.get("/purchase-orders/new").status_code == 403


@pytest.mark.browser
def test_buyer_creates_a_po_with_a_line_and_approves_it_in_the_browser(server, login, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    from tests.browsers import CHROMIUM_ARGS, log_in

    problems: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 800})
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        try:
            log_in(page, server.url, "buyer")
            page.get_by_role("link", name="Purchasing").click()
            page.get_by_role("link", name="New purchase order").click()
            page.locator("#po-supplier").select_option("S-LIFTTEC")
            page.locator("#po-site").select_option(SITE)
            page.locator("#po-line-0-item").fill("GAS-C4")
            page.locator("#po-line-0-quantity").fill("250")
            page.locator("#po-line-0-unit_price").fill("2.80")
            page.locator("#po-line-0-due_date").fill(SOON)
            page.get_by_role("button", name="Save").click()

            expect(page.locator("#po-status")).to_have_text("Draft")
            expect(page.locator("#po-lines")).to_contain_text("GAS-C4")
            code = page.locator("h1").inner_text().split("·")[1].split()[0]
            page.get_by_role("button", name="Approve").click()
            expect(page.locator("#po-status")).to_have_text("Approved")
            expect(page.locator(".alert.ok")).to_contain_text("Approved")
            expect(page.get_by_role("button", name="Approve")).to_have_count(0)
            expect(page.get_by_role("button", name="Close order")).to_be_visible()
            page.screenshot(path=str(tmp_path / "po-approved.png"), full_page=True)

            page.get_by_role("button", name="中文").click()
            expect(page.locator("#po-status")).to_have_text("已批准")
            page.get_by_role("link", name="采购", exact=True).click()
            page.locator("#po-status-filter").select_option("approved")
            page.get_by_role("button", name="筛选").click()
            expect(page.locator("#purchase-orders")).to_contain_text(code)
        finally:
            browser.close()

    assert problems == [], "\n".join(problems)
    po = login("viewer").get(f"/api/purchase-orders/{code}").json()
    assert po["status"] == "approved" and po["approved_by"] == "buyer"
    assert [(l["item"], l["quantity"], l["unit_price"]) for l in po["lines"]] == [("GAS-C4", "250", "2.8")]
