"""Changing an approved sales order through HTTP: the preview says what the change does downstream and writes
nothing; making it changes the order (a new version, with who, when, why and what) and its planned shipments,
reservations and linked production orders in the same transaction; what is packed cannot be taken off; an order
that grows past its credit limit goes on hold until an approver releases it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal


from tests.factory import approved_order, count_in, finished_item, plan_shipment, pushed, shipment_of

TODAY = date.today()
DUE = (TODAY + timedelta(days=12)).isoformat()


# The tests' customer (the `customer` fixture).
CUSTOMER = {"prefix": "CHG", "name": "Change test customer", "grade": "A", "credit_limit": "5000"}


def change(client, order: dict, *, preview: bool = False, **body):
    path = f"/api/sales-orders/{order['code']}/changes" + ("/preview" if preview else "")
    return client.post(path, json={"version": order["version"], "reason": "customer called", **body})


def reserved(login, item: str) -> Decimal:
    return Decimal(login("viewer").get(f"/api/stock/available/{item}").json()["reserved"])


def test_a_quantity_change_is_previewed_then_made_and_its_shipment_follows(login, customer, unique):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "10")
    order = approved_order(login("sales"), customer, [(item, "5", "100")], DUE)
    shipment = plan_shipment(login, order)
    order = login("viewer").get(f"/api/sales-orders/{order['code']}").json()
    assert order["status"] == "ready" and reserved(login, item) == 5
    sales = login("sales")

    preview = change(sales, order, preview=True, lines=[{"line_no": 10, "quantity": "3"}])
    assert preview.status_code == 200, preview.text
    impact = preview.json()
    assert impact["applied"] is False and impact["blocked"] is False
    assert [(i["kind"], i["key"], i["effect"], i["details"]) for i in impact["impacts"]] == [
        ("shipment", shipment["code"], "shipment_line_reduced", {"from": "5", "to": "3"})]
    assert {"field": "lines[10].quantity", "before": "5", "after": "3"} in impact["changes"]
    assert impact["after"]["lines"][0]["quantity"] == "3"
    assert impact["not_evaluated"], "what this version cannot work out yet is said, not hidden"
    untouched = login("viewer").get(f"/api/sales-orders/{order['code']}").json()
    assert (untouched["version"], untouched["lines"][0]["quantity"]) == (order["version"], "5"), "a preview writes nothing"
    assert shipment_of(login, shipment["code"])["lines"][0]["quantity"] == "5" and reserved(login, item) == 5

    made = change(sales, order, lines=[{"line_no": 10, "quantity": "3", "promised_date": DUE}])
    assert made.status_code == 200, made.text
    assert made.json()["applied"] is True
    assert shipment_of(login, shipment["code"])["lines"][0]["quantity"] == "3" and reserved(login, item) == 3
    revisions = sales.get(f"/api/sales-orders/{order['code']}/history").json()["revisions"]
    last = revisions[-1]
    assert (last["action"], last["actor"], last["reason"]) == ("change", "sales", "customer called")
    assert {"field": "lines[10].quantity", "before": "5", "after": "3"} in last["changes"]
    stale = change(sales, order, lines=[{"line_no": 10, "quantity": "2"}])
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"


def test_a_substituted_product_takes_the_old_one_off_its_planned_shipment(login, customer, unique):
    old, new = finished_item(login, unique, lot_tracked=False), finished_item(login, unique, lot_tracked=False, prefix="NEW")
    count_in(login("warehouse"), old, "FG-02-01", "4")
    order = approved_order(login("sales"), customer, [(old, "4", "100")], DUE)
    shipment = plan_shipment(login, order)
    made = change(login("sales"), login("viewer").get(f"/api/sales-orders/{order['code']}").json(),
                  lines=[{"line_no": 10, "item": new}])
    assert made.status_code == 200, made.text
    assert [(i["effect"], i["key"]) for i in made.json()["impacts"]] == [
        ("shipment_cancelled", shipment["code"]), ("status_changed", order["code"])]
    assert shipment_of(login, shipment["code"])["status"] == "cancelled" and reserved(login, old) == 0
    after = made.json()["after"]
    assert after["lines"][0]["item"] == new and after["status"] == "approved", "nothing covers the new product yet"


def test_a_substituted_product_is_priced_like_a_new_line_and_its_discount_reviewed_again(login, customer, unique):
    old, new = finished_item(login, unique, lot_tracked=False), finished_item(login, unique, lot_tracked=False, prefix="NEW")
    manager = login("manager")
    listed = manager.post("/api/price-lists", json={
        "code": unique("PL"), "name": "Substitutes", "currency": "CNY", "valid_from": (TODAY - timedelta(days=1)).isoformat(),
        "grade_discounts": {"A": "30"}, "items": [{"item": new, "list_price": "80"}]})
    assert listed.status_code == 201, listed.text
    order = approved_order(login("sales"), customer, [(old, "2", "100")], DUE)

    made = change(login("sales"), order, lines=[{"line_no": 10, "item": new}])
    assert made.status_code == 200, made.text
    line = made.json()["after"]["lines"][0]
    assert (line["item"], Decimal(line["unit_price"]), Decimal(line["discount_pct"])) == (new, 80, 30), \
        "the list's price and the grade's discount, not the old product's 100"
    held = [(i["kind"], i["effect"]) for i in made.json()["impacts"] if i["effect"] == "review_hold"]
    assert held == [("discount", "review_hold")] and made.json()["after"]["status"] == "on_hold"
    code = order["code"]
    assert login("sales").post(f"/api/sales-orders/{code}/release").status_code == 403, "an approver of discounts decides"
    released = manager.post(f"/api/sales-orders/{code}/release", json={"reason": "launch price"})
    assert released.status_code == 200 and released.json()["status"] == "approved", released.text


def test_what_is_packed_cannot_be_changed_away_and_nothing_is_written(login, customer, unique, packer):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "6")
    order = approved_order(login("sales"), customer, [(item, "6", "100")], DUE)
    shipment = plan_shipment(login, order)
    packed = pushed(packer, "shipment.pack", {"shipment": shipment["code"], "contents": [
        {"item": item, "location": "FG-02-01", "quantity": "4"}]})
    assert packed["status"] == "applied", packed
    order = login("viewer").get(f"/api/sales-orders/{order['code']}").json()
    sales = login("sales")

    preview = change(sales, order, preview=True, lines=[{"line_no": 10, "quantity": "2"}]).json()
    assert preview["blocked"] is True
    assert [(i["effect"], i["details"]) for i in preview["impacts"]] == [
        ("shipment_line_reduced", {"from": "6", "to": "4"}), ("blocked_packed", {"over_by": "2"})]
    refused = change(sales, order, lines=[{"line_no": 10, "quantity": "2"}])
    assert refused.status_code == 409 and refused.json()["code"] == "change_blocked"
    assert shipment["code"] in refused.json()["message"]
    assert shipment_of(login, shipment["code"])["lines"][0]["quantity"] == "6", "the refused change wrote nothing"
    assert change(sales, order, lines=[{"line_no": 10, "quantity": "5"}]).status_code == 200, "down to what is packed is fine"
    assert shipment_of(login, shipment["code"])["lines"][0]["quantity"] == "5"


def test_an_order_that_grows_past_its_credit_limit_waits_for_an_approver(login, customer):
    sales, manager = login("sales"), login("manager")
    order = approved_order(login("sales"), customer, [("CH-TASK", "10", "320")], DUE)  # 3,200 of 5,000
    grown = change(sales, order, lines=[{"line_no": 10, "quantity": "12"}],
                   add_lines=[{"item": "CH-ERGO", "quantity": "2", "unit_price": "450", "due_date": DUE}])
    assert grown.status_code == 200, grown.text
    body = grown.json()
    assert body["impacts"] == [] and body["after"]["status"] == "approved", "3,840 + 900 is within 5,000"
    assert [line["line_no"] for line in body["after"]["lines"]] == [10, 20]
    over = change(sales, body["after"], lines=[{"line_no": 20, "quantity": "4"}])  # 3,840 + 1,800 = 5,640
    assert over.status_code == 200, over.text
    assert [i["effect"] for i in over.json()["impacts"]] == ["credit_hold"]
    assert Decimal(over.json()["impacts"][0]["details"]["exposure_after"]) == Decimal("5640")
    assert over.json()["after"]["status"] == "on_hold"
    held = login("viewer").get(f"/api/sales-orders/{order['code']}").json()
    refused = sales.post(f"/api/sales-orders/{order['code']}/release")
    assert refused.status_code == 403 and refused.json()["code"] == "approver_role_required"
    released = manager.post(f"/api/sales-orders/{order['code']}/release", json={"version": held["version"]})
    assert released.status_code == 200 and released.json()["status"] == "approved"


def test_a_production_order_made_for_the_line_moves_the_order_and_is_named_by_a_change(login, customer, browse):
    order = approved_order(login("sales"), customer, [("CH-ERGO", "10", "450")], DUE)
    planner = login("planner")
    made = planner.post("/api/production-orders", json={"item": "CH-ERGO", "quantity": "10", "site": "NB1",
                                                        "due_date": DUE, "sales_order": order["code"],
                                                        "sales_order_line": 10})
    assert made.status_code == 201, made.text
    assert made.json()["sales_order"] == order["code"]
    released = planner.post(f"/api/production-orders/{made.json()['code']}/release")
    assert released.status_code == 200, released.text
    order = login("viewer").get(f"/api/sales-orders/{order['code']}").json()
    assert order["status"] == "in_production"

    impact = change(login("sales"), order, preview=True, lines=[{"line_no": 10, "quantity": "2"}]).json()
    assert [(i["kind"], i["key"], i["effect"]) for i in impact["impacts"]] == [
        ("production_order", made.json()["code"], "production_order_to_review")]
    details = impact["impacts"][0]["details"]
    assert (details["making"], details["line_quantity_before"], details["line_quantity_after"]) == ("10", "10", "2")
    page = browse("sales").post(f"/sales-orders/{order['code']}/change/preview", headers={"HX-Request": "true"}, data={
        "version": str(order["version"]), "reason": "customer called", "chg-10-quantity": "2", "chg-10-item": "CH-ERGO",
        "chg-10-due_date": DUE, "chg-10-promised_date": "", "delivery_address": order["delivery_address"],
        "customer_reference": ""})
    assert page.status_code == 200 and "making 10 of CH-ERGO; the line goes from 10 to 2" in page.text, page.text
    assert "E+" not in page.text and "× )" not in page.text
    unknown = planner.post("/api/production-orders", json={"item": "CH-ERGO", "quantity": "1", "site": "NB1",
                                                           "due_date": DUE, "sales_order": order["code"],
                                                           "sales_order_line": 90})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_sales_order_line"


def test_bad_changes_are_refused_with_their_code(login, customer):
    sales = login("sales")
    order = approved_order(login("sales"), customer, [("CH-TASK", "2", "320")], DUE)
    past = (TODAY - timedelta(days=1)).isoformat()
    bad = change(sales, order, lines=[{"line_no": 10, "due_date": past}, {"line_no": 70, "quantity": "1"}])
    assert bad.status_code == 422
    assert {e["code"] for e in bad.json()["details"]["errors"]} == {"due_date_in_past", "unknown_sales_order_line"}
    no_reason = sales.post(f"/api/sales-orders/{order['code']}/changes", json={"version": order["version"], "reason": ""})
    assert no_reason.status_code == 400
    draft = sales.post("/api/sales-orders", json={"customer": customer, "site": "NB1", "lines": []}).json()
    refused = change(sales, draft, lines=[])
    assert refused.status_code == 409 and refused.json()["code"] == "sales_order_not_changeable"
    assert change(login("viewer"), order, lines=[]).status_code == 403


def test_a_cancellation_is_previewed_then_made_with_its_shipments_and_production(login, customer, unique):
    item = finished_item(login, unique, lot_tracked=False)
    count_in(login("warehouse"), item, "FG-02-01", "2")
    order = approved_order(login("sales"), customer, [(item, "2", "100"), ("CH-ERGO", "3", "450")], DUE)
    shipment = login("logistics").post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG",
                                                               "lines": [{"line_no": 10, "quantity": "2"}]}).json()
    planner = login("planner")
    due = (TODAY + timedelta(days=8)).isoformat()
    running, drafted = [planner.post("/api/production-orders", json={
        "item": "CH-ERGO", "quantity": quantity, "site": "NB1", "due_date": due, "sales_order": order["code"],
        "sales_order_line": 20}).json() for quantity in ("2", "1")]
    assert planner.post(f"/api/production-orders/{running['code']}/release").status_code == 200
    sales = login("sales")

    preview = sales.post(f"/api/sales-orders/{order['code']}/cancel/preview", json={"reason": "customer withdrew"})
    assert preview.status_code == 200, preview.text
    impacts = {(i["kind"], i["key"], i["effect"]) for i in preview.json()["impacts"]}
    assert impacts == {("shipment", shipment["code"], "shipment_cancelled"),
                       ("production_order", running["code"], "production_order_to_review"),
                       ("production_order", drafted["code"], "production_order_cancelled")}
    assert preview.json()["after"]["status"] == "cancelled" and preview.json()["applied"] is False
    assert shipment_of(login, shipment["code"])["status"] == "planned", "a preview writes nothing"
    assert planner.get(f"/api/production-orders/{drafted['code']}").json()["status"] == "draft"
    assert sales.get(f"/api/sales-orders/{order['code']}").json()["status"] == "in_production"

    cancelled = sales.post(f"/api/sales-orders/{order['code']}/cancel", json={"reason": "customer withdrew"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert shipment_of(login, shipment["code"])["status"] == "cancelled" and reserved(login, item) == 0
    assert planner.get(f"/api/production-orders/{drafted['code']}").json()["status"] == "cancelled"
    assert planner.get(f"/api/production-orders/{running['code']}").json()["status"] == "released", \
        "released work is the planner's to decide on"
    again = sales.post(f"/api/sales-orders/{order['code']}/cancel/preview", json={})
    assert again.status_code == 409 and again.json()["code"] == "sales_order_cancelled"


def test_a_cancel_preview_compares_the_order_it_locked_with_the_cancelled_order(login, customer):
    order = approved_order(login("sales"), customer, [("CH-ERGO", "1", "450")], DUE)
    preview = login("sales").post(f"/api/sales-orders/{order['code']}/cancel/preview",
                                  json={"version": order["version"], "reason": "customer withdrew"})
    assert preview.status_code == 200, preview.text
    assert {"field": "status", "before": "approved", "after": "cancelled"} in preview.json()["changes"]
    assert preview.json()["after"]["version"] == order["version"] + 1
