"""The sales order lifecycle through HTTP: a priced order is submitted and the review decides (a clean order approves
itself, a credit limit holds it, a discount over the threshold waits for an approver of the right role); approvers
approve and reject; holds need a reason; payments free credit; every version is kept with what changed; an API
client's Idempotency-Key makes one order; illegal transitions and stale versions are refused with a code."""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal

import httpx

from tests.webhook_receiver import Receiver, signature_valid

TODAY = date.today()
DUE = (TODAY + timedelta(days=10)).isoformat()


# The tests' customer (the `customer` fixture): a credit limit of 10,000 CNY and nothing ordered yet.
CUSTOMER = {"prefix": "CUST", "name": "Hangzhou test furniture", "grade": "B", "credit_limit": "10000",
            "payment_terms_days": 45, "address": "1 Test Road, Hangzhou"}


def order_json(customer: str, *lines: tuple[str, str, str] | tuple[str, str, str, str], **extra) -> dict:
    """lines: (item, quantity, unit price[, discount %])."""
    return {"customer": customer, "site": "NB1", **extra, "lines": [
        {"item": item, "quantity": qty, "unit_price": price, "discount_pct": rest[0] if rest else "0", "due_date": DUE}
        for item, qty, price, *rest in lines]}


def draft(client: httpx.Client, customer: str, *lines, **extra) -> dict:
    response = client.post("/api/sales-orders", json=order_json(customer, *lines, **extra))
    assert response.status_code == 201, response.text
    return response.json()


def history(client: httpx.Client, code: str) -> dict:
    response = client.get(f"/api/sales-orders/{code}/history")
    assert response.status_code == 200, response.text
    return response.json()


def act(client: httpx.Client, code: str, action: str, **body) -> httpx.Response:
    return client.post(f"/api/sales-orders/{code}/{action}", json=body or None)


def test_a_clean_order_is_priced_and_approves_itself_on_submission(login, customer):
    sales = login("sales")
    order = draft(sales, customer, ("CH-TASK", "10", "320.00"), ("CH-ERGO", "2", "450", "5"),
                  customer_reference="PO-88")
    assert order["status"] == "draft" and order["source"] == "api" and order["currency"] == "CNY"
    assert order["payment_terms_days"] == 45 and order["delivery_address"] == "1 Test Road, Hangzhou"
    assert [line["value"] for line in order["lines"]] == ["3200.00", "855.00"] and order["value"] == "4055.00"

    submitted = act(sales, order["code"], "submit", version=order["version"]).json()
    assert submitted["status"] == "approved" and submitted["approved_by"] == "review"
    assert submitted["awaiting_approval"] is False
    kept = history(sales, order["code"])
    assert [r["action"] for r in kept["revisions"]] == ["create", "submit"]
    assert {"field": "status", "before": "draft", "after": "approved"} in kept["revisions"][1]["changes"]
    review = kept["reviews"][0]
    assert [(c["check"], c["passed"], c["code"]) for c in review["checks"]] == [
        ("credit", True, "credit_ok"), ("discount", True, "discount_ok")]
    assert Decimal(review["checks"][0]["details"]["exposure_after"]) == Decimal("4055")


def test_an_order_over_the_credit_limit_is_held_until_an_approver_releases_it(login, customer):
    sales, manager = login("sales"), login("manager")
    first = draft(sales, customer, ("CH-TASK", "20", "320"))  # 6,400 of 10,000
    assert act(sales, first["code"], "submit").json()["status"] == "approved"
    second = draft(sales, customer, ("CH-TASK", "15", "320"))  # 4,800 more: 11,200 > 10,000
    held = act(sales, second["code"], "submit").json()
    assert held["status"] == "on_hold" and held["awaiting_approval"] is True
    assert "11200" in held["hold_reason"] and "10000" in held["hold_reason"], held["hold_reason"]
    review = history(sales, second["code"])["reviews"][-1]
    assert review["outcome"] == "on_hold" and review["checks"][0]["code"] == "credit_limit_exceeded"
    details = review["checks"][0]["details"]
    assert {k: Decimal(details[k]) for k in ("credit_limit", "exposure", "order_value", "exposure_after")} == {
        "credit_limit": 10000, "exposure": 6400, "order_value": 4800, "exposure_after": 11200}
    assert details["currency"] == "CNY"

    refused = act(sales, second["code"], "approve")
    assert refused.status_code == 403, "a clerk may not approve"
    blocked = login("logistics").post("/api/shipments", json={"sales_order": second["code"], "ship_from": "FG",
                                                               "lines": [{"line_no": 10, "quantity": "1"}]})
    assert blocked.status_code == 409 and blocked.json()["code"] == "sales_order_not_approved"
    assert act(sales, second["code"], "release").json()["code"] == "approval_required"

    approved = act(manager, second["code"], "approve", reason="Paid in advance, see bank slip 2231").json()
    assert approved["status"] == "approved" and approved["approved_by"] == "manager" and approved["hold_reason"] == ""
    review = history(sales, second["code"])["reviews"][-1]
    assert (review["decision"], review["decided_by"], review["note"]) == (
        "approved", "manager", "Paid in advance, see bank slip 2231")
    again = act(manager, second["code"], "approve")
    assert again.status_code == 409 and again.json()["code"] == "sales_order_not_awaiting_approval"


def test_above_the_policys_limits_an_approver_may_not_approve_their_own_order(login, admin, customer):
    manager = login("manager")
    own = draft(manager, customer, ("CH-TASK", "2", "320", "60"))
    assert act(manager, own["code"], "submit").json()["status"] == "submitted"
    refused = act(manager, own["code"], "approve", reason="my own customer")
    assert refused.status_code == 409 and refused.json()["code"] == "self_approval", refused.text
    assert "60" in refused.json()["message"] and refused.json()["details"]["approver"] == "manager"
    assert history(manager, own["code"])["reviews"][-1]["decision"] is None
    approved = act(admin, own["code"], "approve", reason="checked with the customer").json()
    assert approved["status"] == "approved" and approved["approved_by"] == "admin"

    policy = {k: v for k, v in admin.get("/api/sales-policy").json().items() if k not in ("updated_by", "updated_at")}
    assert (policy["other_approver_above_value"], Decimal(policy["other_approver_above_discount_pct"])) == (None, 20)
    try:
        saved = admin.put("/api/sales-policy", json={**policy, "auto_approve": False, "other_approver_above_value": "1000",
                                                      "other_approver_above_discount_pct": None})
        assert saved.status_code == 200, saved.text
        page = admin.get("/sales-policy").text
        assert 'name="other_approver_above_value" value="1000"' in page and 'name="other_approver_above_discount_pct" value=""' in page
        big, small = draft(manager, customer, ("CH-TASK", "4", "320")), draft(manager, customer, ("CH-TASK", "3", "320", "60"))
        for order in (big, small):
            assert act(manager, order["code"], "submit").json()["status"] == "submitted"
        too_big = act(manager, big["code"], "approve")
        assert too_big.status_code == 409 and too_big.json()["code"] == "self_approval" and "1280" in too_big.json()["message"]
        assert act(manager, small["code"], "approve").json()["status"] == "approved", "below every limit of this policy"
    finally:
        admin.put("/api/sales-policy", json=policy).raise_for_status()


def test_payments_free_the_credit_they_paid_for(login, customer):
    sales = login("sales")
    first = draft(sales, customer, ("CH-TASK", "30", "320"))  # 9,600
    assert act(sales, first["code"], "submit").json()["status"] == "approved"
    paid = sales.post(f"/api/sales-orders/{first['code']}/payments",
                      json={"amount": "5000", "paid_on": TODAY.isoformat(), "reference": "BANK-1"})
    assert paid.status_code == 201 and Decimal(paid.json()["paid_amount"]) == 5000
    second = draft(sales, customer, ("CH-TASK", "10", "320"))  # 3,200: 4,600 + 3,200 = 7,800 within 10,000
    assert act(sales, second["code"], "submit").json()["status"] == "approved"
    kept = history(sales, first["code"])
    assert [(Decimal(p["amount"]), p["reference"]) for p in kept["payments"]] == [(5000, "BANK-1")]
    bad = sales.post(f"/api/sales-orders/{first['code']}/payments", json={"amount": "0", "paid_on": TODAY.isoformat()})
    assert bad.status_code == 400
    not_yet = draft(sales, customer, ("CH-TASK", "1", "1"))
    refused = sales.post(f"/api/sales-orders/{not_yet['code']}/payments", json={"amount": "1", "paid_on": TODAY.isoformat()})
    assert refused.status_code == 409 and refused.json()["code"] == "sales_order_not_payable"


def test_a_discount_over_the_threshold_waits_for_the_role_the_policy_names(login, admin, customer):
    sales, manager = login("sales"), login("manager")
    order = draft(sales, customer, ("CH-EXEC", "2", "1280", "25"))
    waiting = act(sales, order["code"], "submit").json()
    assert waiting["status"] == "submitted" and waiting["awaiting_approval"] is True
    review = history(sales, order["code"])["reviews"][-1]
    assert [(c["check"], c["passed"]) for c in review["checks"]] == [("credit", True), ("discount", False)]
    assert {k: Decimal(v) for k, v in review["checks"][1]["details"]["lines"].items()} == {"10": 25}

    policy = admin.get("/api/sales-policy").json()
    try:
        assert admin.put("/api/sales-policy", json={**{k: policy[k] for k in (
            "credit_check", "discount_check", "max_discount_pct", "auto_approve")},
            "approvers": {"discount": ["admin"]}}).status_code == 200
        refused = act(manager, order["code"], "approve")
        assert refused.status_code == 403 and refused.json()["code"] == "approver_role_required"
        assert refused.json()["details"]["roles"] == ["admin"]
    finally:
        admin.put("/api/sales-policy", json={k: policy[k] for k in (
            "credit_check", "discount_check", "max_discount_pct", "auto_approve", "approvers")}).raise_for_status()
    assert sales.put("/api/sales-policy", json={}).status_code == 403, "only an admin sets the policy"

    rejected = act(manager, order["code"], "reject", reason="25 % is more than we agreed").json()
    assert rejected["status"] == "draft"
    edited = sales.put(f"/api/sales-orders/{order['code']}", json={
        "version": rejected["version"], "site": "NB1", "notes": "15 % as agreed",
        "lines": [{"item": "CH-EXEC", "quantity": "2", "unit_price": "1280", "discount_pct": "8", "due_date": DUE}]})
    assert edited.status_code == 200, edited.text
    assert Decimal(edited.json()["lines"][0]["discount_pct"]) == 8
    assert act(sales, order["code"], "submit").json()["status"] == "approved"
    revisions = history(sales, order["code"])["revisions"]
    assert [(r["action"], r["actor"]) for r in revisions] == [
        ("create", "sales"), ("submit", "sales"), ("reject", "manager"), ("edit", "sales"), ("submit", "sales")]
    edit = revisions[3]
    assert [(Decimal(c["before"]), Decimal(c["after"])) for c in edit["changes"]
            if c["field"] == "lines[10].discount_pct"] == [(25, 8)]
    assert {"field": "notes", "before": "", "after": "15 % as agreed"} in edit["changes"]


def test_illegal_transitions_stale_versions_and_missing_reasons_are_refused(login, customer):
    sales, manager = login("sales"), login("manager")
    order = draft(sales, customer, ("CH-TASK", "1", "320"))
    stale = act(sales, order["code"], "submit", version=order["version"] + 1)
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    assert act(manager, order["code"], "approve").json()["code"] == "sales_order_not_awaiting_approval"
    assert act(sales, order["code"], "close").json()["code"] == "sales_order_not_submitted"
    no_reason = act(sales, order["code"], "hold")
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "reason_required"
    empty = draft(sales, customer)
    assert act(sales, empty["code"], "submit").json()["code"] == "no_lines"

    approved = act(sales, order["code"], "submit").json()
    not_draft = sales.put(f"/api/sales-orders/{order['code']}", json={"version": approved["version"], "site": "NB1"})
    assert not_draft.status_code == 409 and not_draft.json()["code"] == "sales_order_not_editable"
    held = act(sales, order["code"], "hold", reason="Customer asked to wait").json()
    assert held["status"] == "on_hold" and held["hold_reason"] == "Customer asked to wait"
    assert act(sales, order["code"], "hold", reason="again").json()["code"] == "sales_order_on_hold"
    assert act(sales, order["code"], "release").json()["status"] == "approved"
    assert act(sales, order["code"], "close").json()["status"] == "closed"
    assert act(sales, order["code"], "cancel").json()["code"] == "sales_order_closed"
    assert act(sales, order["code"], "release").json()["code"] == "sales_order_not_on_hold"
    assert login("viewer").post(f"/api/sales-orders/{order['code']}/hold", json={"reason": "x"}).status_code == 403
    assert sales.get("/api/sales-orders/NO-SUCH-ORDER").status_code == 404


def test_cancelling_an_order_cancels_its_planned_shipment_and_releases_the_stock(login, customer, unique):
    item = unique("SO-CH")
    login("planner").post("/api/items", json={"code": item, "name": "Test chair", "type": "finished",
                                              "unit": "PCS"}).raise_for_status()
    login("warehouse").post("/api/stock/counts", json={"item": item, "location": "FG-01-01",
                                                       "counted_quantity": "5"}).raise_for_status()
    sales, logistics = login("sales"), login("logistics")
    order = act(sales, draft(sales, customer, (item, "3", "100"))["code"], "submit").json()
    shipment = logistics.post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG",
                                                      "lines": [{"line_no": 10, "quantity": "3"}]})
    assert shipment.status_code == 201, shipment.text
    assert sales.get(f"/api/sales-orders/{order['code']}").json()["status"] == "ready", "its stock is on a shipment"
    assert Decimal(logistics.get(f"/api/stock/available/{item}").json()["reserved"]) == 3

    cancelled = act(sales, order["code"], "cancel", reason="Customer withdrew").json()
    assert cancelled["status"] == "cancelled"
    assert logistics.get(f"/api/shipments/{shipment.json()['code']}").json()["status"] == "cancelled"
    assert Decimal(logistics.get(f"/api/stock/available/{item}").json()["reserved"]) == 0
    revisions = history(sales, order["code"])["revisions"]
    assert [r["action"] for r in revisions] == ["create", "submit", "progress", "progress", "cancel"]


def test_the_same_idempotency_key_twice_makes_one_order_even_when_racing(login, customer):
    sales = login("sales")
    key = str(uuid.uuid4())
    body = order_json(customer, ("CH-TASK", "2", "320"), customer_reference="SHOP-1001")
    first = sales.post("/api/sales-orders", json=body, headers={"Idempotency-Key": key})
    again = sales.post("/api/sales-orders", json=body, headers={"Idempotency-Key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["code"] == first.json()["code"]
    other = sales.post("/api/sales-orders", json=order_json(customer, ("CH-TASK", "3", "320")),
                       headers={"Idempotency-Key": key})
    assert other.status_code == 409 and other.json()["code"] == "idempotency_key_reused"

    racing_key, answers = str(uuid.uuid4()), []

    def send():
        answers.append(sales.post("/api/sales-orders", json=body, headers={"Idempotency-Key": racing_key}))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["code"] for a in answers}) == 1
    listed = sales.get("/api/sales-orders", params={"customer": customer, "q": "SHOP-1001"}).json()
    assert listed["total"] == 2, "one order per key"
    assert sales.post("/api/sales-orders", json=body, headers={"Idempotency-Key": "bad key with spaces"}).status_code == 400


def test_every_step_of_an_order_reaches_a_webhook_receiver_signed(login, admin, customer):
    receiver = Receiver()
    subscription = admin.post("/api/webhooks", json={"url": receiver.url, "event_types": [
        "sales_order.created", "sales_order.submitted", "sales_order.approved"]}).json()
    try:
        sales, manager = login("sales"), login("manager")
        order = draft(sales, customer, ("CH-EXEC", "1", "1280", "20"))
        assert act(sales, order["code"], "submit").json()["status"] == "submitted"
        assert act(manager, order["code"], "approve", reason="ok").json()["status"] == "approved"

        def received() -> list[dict]:
            return [json.loads(r.body) for r in list(receiver.requests)
                    if json.loads(r.body)["data"]["order"]["code"] == order["code"]]

        deadline = time.monotonic() + 30
        while len(received()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        events = sorted(received(), key=lambda event: event["data"]["order"]["version"])
        assert [(e["type"], e["data"]["actor"], e["data"]["order"]["status"]) for e in events] == [
            ("sales_order.created", "sales", "draft"), ("sales_order.submitted", "sales", "submitted"),
            ("sales_order.approved", "manager", "approved")]
        assert {"field": "status", "before": "submitted", "after": "approved"} in events[2]["data"]["changes"]
        request = next(r for r in receiver.requests if json.loads(r.body)["id"] == events[2]["id"])
        assert signature_valid(subscription["secret"], request.headers["floorsync-signature"], request.body)
    finally:
        admin.delete(f"/api/webhooks/{subscription['id']}")
        receiver.close()


def test_the_api_says_which_actions_are_open_to_the_caller_as_the_order_moves_on(login, customer):
    sales, manager, viewer = login("sales"), login("manager"), login("viewer")
    order = draft(sales, customer, ("CH-TASK", "10", "320"))
    assert order["open_actions"] == ["submit", "cancel", "edit"]
    assert viewer.get(f"/api/sales-orders/{order['code']}").json()["open_actions"] == []

    submitted = act(sales, order["code"], "submit", version=order["version"]).json()
    assert submitted["status"] == "approved" and submitted["open_actions"] == ["hold", "cancel", "close", "change", "pay"]
    read = manager.get(f"/api/sales-orders/{order['code']}").json()
    assert read["open_actions"] == ["hold", "cancel", "close", "change", "pay"]
    listed = sales.get("/api/sales-orders", params={"customer": customer}).json()["items"]
    assert [o["open_actions"] for o in listed] == [submitted["open_actions"]]
