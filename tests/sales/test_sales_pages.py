"""The sales order pages over HTTP, as the office uses them: a clerk enters a priced order on the form and Save &
submit says what the review did; an approver decides from the approvals page; each role sees only the buttons it
may press and the handler refuses the rest; holds, cancels and changes carry their reason into the history; a change
is previewed (the impact fragment) before it is made; payments and the review policy have their forms."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import httpx

from tests.factory import count_in, finished_item, plan_shipment, pushed

TODAY = date.today()
DUE = (TODAY + timedelta(days=10)).isoformat()


# The tests' customer (the `customer` fixture): 10,000 CNY credit, 45 days, an address the order takes by default.
CUSTOMER = {"prefix": "CUST", "name": "Suzhou page-test office", "grade": "B", "credit_limit": "10000",
            "payment_terms_days": 45, "address": "8 Page Road, Suzhou"}


def order_form(customer: str, *lines: tuple[str, str, str, str], action: str = "save", **header) -> dict[str, str]:
    """The entry form as posted: lines are (item, quantity, unit price, discount %)."""
    form = {"customer": customer, "site": "NB1", "_action": action, **header}
    for row, (item, quantity, price, discount) in enumerate(lines):
        form |= {f"lines-{row}-item": item, f"lines-{row}-quantity": quantity, f"lines-{row}-unit_price": price,
                 f"lines-{row}-discount_pct": discount, f"lines-{row}-due_date": DUE}
    return form


def entered(client: httpx.Client, form: dict[str, str]) -> tuple[str, httpx.Response]:
    """Post the entry form; the order's code and the page it lands on."""
    response = client.post("/sales-orders/new", data=form)
    assert response.status_code == 303, response.text[-2000:]
    code = response.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    return code, client.get(response.headers["location"])


def api_order(client: httpx.Client, code: str) -> dict:
    response = client.get(f"/api/sales-orders/{code}")
    assert response.status_code == 200, response.text
    return response.json()


def test_save_and_submit_with_a_big_discount_says_it_waits_for_an_approver_and_why(login, customer):
    sales = login("sales")
    bad = sales.post("/sales-orders/new", data=order_form(customer, ("CH-TASK", "0", "320", "0")))
    assert bad.status_code == 422 and 'class="field-error"' in bad.text and 'value="CH-TASK"' in bad.text

    code, page = entered(sales, order_form(customer, ("CH-TASK", "5", "320", "15"), action="submit",
                                           customer_reference="PO-PAGE-1"))
    assert page.status_code == 200
    outcome = re.search(r'id="so-outcome".*?</div>', page.text, re.S).group(0)
    assert "waits for an approver" in outcome and "Discount above 10" in outcome
    order = api_order(sales, code)
    assert order["status"] == "submitted" and order["value"] == "1360.00"
    assert order["delivery_address"] == "8 Page Road, Suzhou" and order["payment_terms_days"] == 45, \
        "left empty, the terms are the customer's"
    assert "PO-PAGE-1" in page.text and "1360" in page.text
    assert 'class="check-failed"' in page.text and 'class="check-passed"' in page.text, "the review's checks are listed"


def test_a_clean_order_saved_as_draft_is_edited_then_submitted_and_approves_itself(login, customer):
    sales = login("sales")
    more = sales.post("/sales-orders/new", data=order_form(customer, ("CH-TASK", "2", "100", "0"), action="more_lines"))
    assert more.status_code == 200 and 'name="lines-3-item"' in more.text and 'value="CH-TASK"' in more.text, \
        "More lines keeps what was typed and adds empty rows"
    code, page = entered(sales, order_form(customer, ("CH-TASK", "2", "100", "0")))
    assert api_order(sales, code)["status"] == "draft" and 'id="so-edit"' in page.text
    edit = sales.get(f"/sales-orders/{code}/edit")
    assert edit.status_code == 200 and 'value="CH-TASK"' in edit.text
    version = api_order(sales, code)["version"]
    saved = sales.post(f"/sales-orders/{code}/edit", data={
        "version": str(version), "site": "NB1", "customer_reference": "", "delivery_address": "Dock 3, 8 Page Road",
        "payment_terms_days": "30", "notes": "", "_action": "submit",
        "lines-0-item": "CH-TASK", "lines-0-quantity": "3", "lines-0-unit_price": "100", "lines-0-due_date": DUE})
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=submit")
    page = sales.get(saved.headers["location"])
    assert "the review approved the order" in page.text
    order = api_order(sales, code)
    assert order["status"] == "approved" and order["lines"][0]["quantity"] == "3"
    assert order["delivery_address"] == "Dock 3, 8 Page Road" and order["payment_terms_days"] == 30


def test_a_clerk_gets_no_approve_button_and_a_post_to_approve_is_refused(login, customer):
    sales, manager, viewer = login("sales"), login("manager"), login("viewer")
    code, page = entered(sales, order_form(customer, ("CH-TASK", "1", "320", "20"), action="submit"))
    assert 'id="so-approve"' not in page.text and 'id="so-reject"' not in page.text
    assert 'id="so-cancel"' in page.text, "the clerk may still cancel"
    version = api_order(sales, code)["version"]
    refused = sales.post(f"/sales-orders/{code}/approve", data={"version": str(version)})
    assert refused.status_code == 403
    assert sales.get("/sales-orders/approvals").status_code == 403
    assert api_order(sales, code)["status"] == "submitted", "nothing was approved"
    assert 'id="so-change-form"' not in viewer.get(f"/sales-orders/{code}").text
    assert viewer.post(f"/sales-orders/{code}/cancel", data={"reason": "no"}).status_code == 403

    queue = manager.get("/sales-orders/approvals")
    assert queue.status_code == 200
    row = re.search(rf'<tr id="approval-{code}">.*?</tr>', queue.text, re.S).group(0)
    assert "Discount above 10" in row
    assert 'id="so-approve"' in manager.get(f"/sales-orders/{code}").text
    approved = manager.post(f"/sales-orders/{code}/approve", data={"version": str(version), "back": "/sales-orders/approvals"})
    assert approved.status_code == 303 and approved.headers["location"].startswith("/sales-orders/approvals?done=approve")
    assert api_order(manager, code)["approved_by"] == "manager"
    assert f'id="approval-{code}"' not in manager.get("/sales-orders/approvals").text
    elsewhere = manager.post(f"/sales-orders/{code}/hold", data={"reason": "x", "back": "https://evil.example/"})
    assert elsewhere.status_code == 303 and elsewhere.headers["location"].startswith(f"/sales-orders/{code}?")


def test_the_list_filters_by_status_customer_search_and_awaiting_approval(login, customer, unique):
    sales = login("sales")
    reference = unique("REF")
    waiting, _ = entered(sales, order_form(customer, ("CH-TASK", "1", "320", "30"), action="submit",
                                           customer_reference=reference))
    draft, _ = entered(sales, order_form(customer, ("CH-TASK", "1", "320", "0")))
    listed = sales.get("/sales-orders", params={"customer": customer})
    assert waiting in listed.text and draft in listed.text and "CNY" in listed.text
    only_drafts = sales.get("/sales-orders", params={"customer": customer, "status": "draft"}).text
    assert draft in only_drafts and waiting not in only_drafts
    awaiting = sales.get("/sales-orders", params={"customer": customer, "awaiting": "true"}).text
    assert waiting in awaiting and draft not in awaiting
    found = sales.get("/sales-orders", params={"q": reference}).text
    assert waiting in found and draft not in found
    assert sales.get("/sales-orders", params={"status": "on_hold", "page": "0"}).status_code == 400
    assert all(f'value="{s}"' in listed.text for s in ("draft", "submitted", "approved", "in_production", "ready",
                                                       "shipped", "delivered", "closed", "cancelled", "on_hold"))


def test_hold_release_and_cancel_carry_their_reasons_into_the_history(login, customer):
    sales = login("sales")
    code, _ = entered(sales, order_form(customer, ("CH-TASK", "1", "100", "0"), action="submit"))
    no_reason = sales.post(f"/sales-orders/{code}/hold", data={"version": str(api_order(sales, code)["version"])})
    assert no_reason.status_code == 422 and "say why" in no_reason.text
    held = sales.post(f"/sales-orders/{code}/hold", data={"reason": "Customer asked to wait"})
    assert held.status_code == 303
    page = sales.get(f"/sales-orders/{code}")
    assert 'id="so-release"' in page.text and 'id="so-hold"' in page.text
    assert sales.post(f"/sales-orders/{code}/release", data={}).status_code == 303
    stale = sales.post(f"/sales-orders/{code}/cancel", data={"version": "1", "reason": "Duplicate"})
    assert stale.status_code == 409 and 'class="alert error"' in stale.text
    cancelled = sales.post(f"/sales-orders/{code}/cancel", data={"reason": "Duplicate of another order"})
    assert cancelled.status_code == 303
    history = re.search(r'<table class="grid compact audit" id="so-history">.*?</table>\s*</div>', sales.get(f"/sales-orders/{code}").text, re.S).group(0)
    assert "Customer asked to wait" in history and "Duplicate of another order" in history
    assert "On hold" in history and "Cancelled" in history, "the status change is shown before → after, by name"
    assert "on_hold" not in history


def test_a_change_is_previewed_with_its_impact_then_made_and_a_blocked_one_is_refused(login, customer, unique, packer):
    sales = login("sales")
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "10")
    code, _ = entered(sales, order_form(customer, (item, "6", "10", "0"), action="submit"))
    order = api_order(sales, code)
    shipment = plan_shipment(login, order, {10: "4"})
    page = sales.get(f"/sales-orders/{code}")
    assert 'id="so-change-form"' in page.text and 'hx-post="/sales-orders/' in page.text
    change = {"version": str(order["version"]), "reason": "Customer cut the order", "chg-10-quantity": "2",
              "chg-10-item": item, "chg-10-due_date": DUE, "chg-10-promised_date": "",
              "delivery_address": order["delivery_address"], "customer_reference": ""}
    preview = sales.post(f"/sales-orders/{code}/change/preview", data=change, headers={"HX-Request": "true"})
    assert preview.status_code == 200 and 'id="so-impact"' in preview.text and "<html" not in preview.text
    assert "Shipment line reduced" in preview.text and shipment["code"] in preview.text
    assert api_order(sales, code)["lines"][0]["quantity"] == "6", "a preview writes nothing"
    refused = sales.post(f"/sales-orders/{code}/change/preview", data={**change, "reason": ""})
    assert refused.status_code == 422 and 'id="so-impact-refused"' in refused.text

    pushed(packer, "shipment.pack", {"shipment": shipment["code"], "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "4"}]})
    blocked = sales.post(f"/sales-orders/{code}/change", data={**change, "version": str(api_order(sales, code)["version"])})
    assert blocked.status_code == 409 and "cannot be made" in blocked.text and 'id="so-errors"' in blocked.text
    assert api_order(sales, code)["lines"][0]["quantity"] == "6"

    grown = {**change, "version": str(api_order(sales, code)["version"]), "chg-10-quantity": "7",
             "reason": "One more for the showroom"}
    made = sales.post(f"/sales-orders/{code}/change", data=grown)
    assert made.status_code == 303, made.text[-1500:]
    assert api_order(sales, code)["lines"][0]["quantity"] == "7"
    history = sales.get(f"/sales-orders/{code}").text
    assert "One more for the showroom" in history and "line 10 · Quantity" in history
    assert "lines[10].quantity" not in history, "a changed field by its label, not its internal name"


def test_a_payment_is_recorded_on_the_page_and_bad_amounts_are_explained(login, customer):
    sales = login("sales")
    code, page = entered(sales, order_form(customer, ("CH-TASK", "1", "500", "0"), action="submit"))
    assert 'id="so-payment-form"' in page.text
    bad = sales.post(f"/sales-orders/{code}/payments", data={"amount": "-5", "paid_on": TODAY.isoformat()})
    assert bad.status_code == 422 and 'value="-5"' in bad.text
    paid = sales.post(f"/sales-orders/{code}/payments", data={"amount": "200", "paid_on": TODAY.isoformat(),
                                                              "reference": "BANK-77"})
    assert paid.status_code == 303
    assert Decimal(api_order(sales, code)["paid_amount"]) == 200
    assert "BANK-77" in sales.get(f"/sales-orders/{code}").text


def test_only_an_admin_sets_the_review_policy_and_it_decides_the_next_submission(login, customer, admin):
    assert login("manager").get("/sales-policy").status_code == 403
    assert login("sales").post("/sales-policy", data={"max_discount_pct": "50"}).status_code == 403
    before = admin.get("/api/sales-policy").json()
    try:
        page = admin.get("/sales-policy")
        assert page.status_code == 200 and 'id="pol-max-discount"' in page.text
        bad = admin.post("/sales-policy", data={"credit_check": "true", "discount_check": "true", "auto_approve": "true",
                                                "max_discount_pct": "150"})
        assert bad.status_code == 422 and 'class="field-error"' in bad.text
        saved = admin.post("/sales-policy", data={
            "credit_check": "true", "discount_check": "true", "auto_approve": "true", "max_discount_pct": "25",
            "approvers-discount": "sales_manager", "approvers-credit": "sales_manager"})
        assert saved.status_code == 303
        policy = admin.get("/api/sales-policy").json()
        assert Decimal(policy["max_discount_pct"]) == 25 and policy["approvers"]["discount"] == ["sales_manager"]
        code, _ = entered(login("sales"), order_form(customer, ("CH-TASK", "1", "100", "20"), action="submit"))
        assert api_order(admin, code)["status"] == "approved", "20 % is within the new threshold"
    finally:
        admin.put("/api/sales-policy", json={k: before[k] for k in ("credit_check", "discount_check", "max_discount_pct",
                                                                     "auto_approve", "approvers")})


def test_choosing_a_customer_fills_its_address_and_terms(login, customer):
    sales = login("sales")
    fragment = sales.get("/sales-orders/customer-defaults", params={"customer": customer}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "8 Page Road, Suzhou" in fragment.text and 'value="45"' in fragment.text
    typed = sales.get("/sales-orders/customer-defaults", params={"customer": customer, "delivery_address": "Gate 2"})
    assert "Gate 2" in typed.text and "8 Page Road, Suzhou</textarea>" not in typed.text
    assert sales.get("/sales-orders/customer-defaults", params={"customer": "bad code!"}).status_code == 400


def test_tracking_customer_and_home_pages_show_what_the_tracking_service_says(login, customer, unique):
    sales = login("sales")
    item = unique("SLOW")
    created = login("planner").post("/api/items", json={"code": item, "name": "Made to order", "type": "finished",
                                                        "unit": "PCS", "lead_time_days": 30})
    assert created.status_code == 201, created.text
    code, _ = entered(sales, order_form(customer, (item, "4", "250", "0"), action="submit", customer_reference="PO-TRK"))
    page = sales.get(f"/sales-orders/{code}/tracking")
    assert page.status_code == 200
    line = re.search(r'<tr id="track-line-10">.*?</tr>', page.text, re.S).group(0)
    assert item in line and "At risk" in line and "30 needed" in line
    assert "Approved" in re.search(r'id="track-status">.*?</span>', page.text, re.S).group(0)
    assert "Entered" in page.text and "Submitted" in page.text, "the timeline lists each version"
    assert sales.get("/sales-orders/NO-SUCH-ORDER/tracking").status_code == 404

    summary = sales.get(f"/api/customers/{customer}/summary").json()
    figures = sales.get(f"/customers/{customer}/orders")
    assert figures.status_code == 200 and code in figures.text and "PO-TRK" in figures.text
    assert "1000 CNY" in re.search(r'id="cust-exposure">[^<]*', figures.text).group(0) and Decimal(summary["exposure"]) == 1000
    assert "nothing delivered yet" in figures.text
    assert sales.get("/customers/NO-SUCH-CUSTOMER/orders").status_code == 404

    late = sales.get("/api/sales-orders/late", params={"limit": 10}).json()
    home = sales.get("/")
    panel = re.search(r'<section class="panel" id="late-orders">.*?</section>', home.text, re.S).group(0)
    shown_lines = re.findall(r'href="/sales-orders/([^"/]+)/tracking">[^<]*</a> · (\d+)', panel)
    assert shown_lines == [(entry["sales_order"], str(entry["line_no"])) for entry in late] and shown_lines
    chinese = login("viewer")
    chinese.post("/language", data={"language": "zh", "next": "/"})
    try:
        assert "延误和有风险的订单" in chinese.get("/").text
        assert "订单跟踪" in chinese.get(f"/sales-orders/{code}/tracking").text
    finally:  # the language is the user's own: give the shared demo viewer back its English
        chinese.post("/language", data={"language": "en", "next": "/"})


def test_the_cancel_button_previews_what_a_cancellation_does(login, unique):
    sales = login("sales")
    created = sales.post("/api/sales-orders", json={"customer": "C-BJYB", "site": "NB1", "lines": [
        {"item": "CH-TASK", "quantity": "1", "unit_price": "100", "due_date": DUE}]}).json()
    order = sales.post(f"/api/sales-orders/{created['code']}/submit").json()
    page = sales.get(f"/sales-orders/{order['code']}")
    assert 'id="so-cancel-preview"' in page.text and 'id="so-cancel-impact"' in page.text
    preview = sales.post(f"/sales-orders/{order['code']}/cancel/preview", data={"version": str(order["version"]),
                                                                              "reason": "duplicate order"})
    assert preview.status_code == 200 and 'id="so-impact"' in preview.text
    assert sales.get(f"/api/sales-orders/{order['code']}").json()["status"] == "approved", "a preview writes nothing"
    stale = sales.post(f"/sales-orders/{order['code']}/cancel/preview", data={"version": str(order["version"] + 5)})
    assert stale.status_code == 409 and 'data-code="version_conflict"' in stale.text
    assert 'id="so-cancel-preview"' not in login("viewer").get(f"/sales-orders/{order['code']}").text


def test_a_refused_action_is_the_403_page_for_htmx_requests_too(login, customer):
    sales, viewer = login("sales"), login("viewer")
    code, _ = entered(sales, order_form(customer, ("CH-TASK", "1", "320", "0")))
    htmx = {"HX-Request": "true"}
    preview = viewer.post(f"/sales-orders/{code}/change/preview", data={"version": "1"}, headers=htmx)
    assert preview.status_code == 403 and "Not allowed" in preview.text
    approve = sales.post(f"/sales-orders/{code}/approve", data={"version": "1"}, headers=htmx)
    assert approve.status_code == 403 and "Not allowed" in approve.text
    assert api_order(sales, code)["status"] == "draft"
