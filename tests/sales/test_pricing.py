"""Sales pricing through HTTP: price lists with quantity breaks and grade discounts price the lines sent without a
price (the newest valid list in the customer's currency wins, a contract's agreed price beats them all); the
discount check measures what a line really gives against that price; an order under a contract keeps to it or
waits for the approver the policy names (another customer's contract is refused outright); a quote is priced,
edited, approved when its discount passes the threshold, printed as PDF and converted once into a linked order."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from tests.factory import pdf_text

TODAY = date.today()
DUE = (TODAY + timedelta(days=10)).isoformat()
NUMBER = re.compile(r"^[0-9]+(\.[0-9]+)?$")


def decimals(value):
    """Numbers as Decimals, wherever they sit: PostgreSQL answers 100.0000 where SQLite answers 100."""
    if isinstance(value, str) and NUMBER.match(value):
        return Decimal(value)
    if isinstance(value, (list, tuple)):
        return type(value)(decimals(v) for v in value)
    if isinstance(value, dict):
        return {k: decimals(v) for k, v in value.items()}
    return value


POLICY_FIELDS = ("credit_check", "discount_check", "max_discount_pct", "auto_approve", "approvers")


@pytest.fixture
def item(login, unique):
    code = unique("PR-CH")
    login("planner").post("/api/items", json={"code": code, "name": "Priced chair", "type": "finished",
                                              "unit": "PCS"}).raise_for_status()
    return code


@pytest.fixture
def customers(login, unique):
    """Two customers of the test's own in CNY: grade A and grade B, each with room on its credit."""
    codes = {}
    for grade in ("A", "B"):
        code = unique(f"PRC-{grade}")
        login("sales").post("/api/customers", json={
            "code": code, "name": f"Grade {grade} customer", "grade": grade, "credit_limit": "1000000",
            "currency": "CNY", "payment_terms_days": 30}).raise_for_status()
        codes[grade] = code
    return codes


def price_list(manager: httpx.Client, code: str, items: list[dict], *, currency: str = "CNY", days_ago: int = 1,
               grades: dict | None = None) -> dict:
    response = manager.post("/api/price-lists", json={
        "code": code, "name": f"List {code}", "currency": currency,
        "valid_from": (TODAY - timedelta(days=days_ago)).isoformat(),
        "grade_discounts": grades if grades is not None else {"A": "10", "B": "5"}, "items": items})
    assert response.status_code == 201, response.text
    return response.json()


def price(client: httpx.Client, customer: str, item: str, quantity: str, **extra) -> httpx.Response:
    return client.get("/api/prices", params={"customer": customer, "item": item, "quantity": quantity, **extra})


def order(client: httpx.Client, customer: str, *lines: dict, **extra) -> dict:
    response = client.post("/api/sales-orders", json={"customer": customer, "site": "NB1", **extra,
                                                      "lines": [{"due_date": DUE, **line} for line in lines]})
    assert response.status_code == 201, response.text
    return response.json()


def submit(client: httpx.Client, code: str) -> dict:
    response = client.post(f"/api/sales-orders/{code}/submit")
    assert response.status_code == 200, response.text
    return response.json()


def last_review(client: httpx.Client, code: str) -> dict:
    return client.get(f"/api/sales-orders/{code}/history").json()["reviews"][-1]


def test_quantity_breaks_and_grade_discounts_price_the_lines_sent_without_a_price(login, unique, item, customers):
    sales, manager = login("sales"), login("manager")
    old = price_list(manager, unique("PL-OLD"), [{"item": item, "list_price": "200"}], days_ago=30)
    current = price_list(manager, unique("PL"), [{"item": item, "list_price": "100", "breaks": [
        {"from_quantity": "50", "unit_price": "80"}, {"from_quantity": "10", "unit_price": "90"}]}])
    price_list(manager, unique("PL-USD"), [{"item": item, "list_price": "15"}], currency="USD")
    assert [b["from_quantity"] for b in current["items"][0]["breaks"]] == ["10", "50"], "breaks kept in order"

    few = price(sales, customers["A"], item, "5").json()
    assert decimals((few["unit_price"], few["discount_pct"], few["net_unit_price"])) == decimals(("100", "10", "90"))
    assert (few["source"], few["price_list"], few["break_from_quantity"]) == ("price_list", current["code"], None)
    many = price(sales, customers["A"], item, "60").json()
    assert decimals((many["unit_price"], many["break_from_quantity"], many["net_unit_price"])) == decimals(("80", "50", "72"))
    assert decimals(price(sales, customers["B"], item, "10").json()["net_unit_price"]) == decimals("85.5")
    before = price(sales, customers["A"], item, "5", on=(TODAY - timedelta(days=10)).isoformat()).json()
    assert decimals((before["unit_price"], before["price_list"])) == decimals(("200", old["code"])), "ten days ago only the old list held"

    priced = order(sales, customers["A"], {"item": item, "quantity": "60"}, {"item": item, "quantity": "5",
                                                                            "unit_price": "95"})
    lines = priced["lines"]
    assert decimals([(l["unit_price"], l["discount_pct"], l["value"]) for l in lines]) == decimals([
        ("80", "10", "4320.00"), ("95", "0", "475.00")]), "unpriced line priced, explicit price kept"
    assert submit(sales, priced["code"])["status"] == "approved", "a grade discount of 10 % is within the threshold"

    edited = sales.put(f"/api/sales-orders/{priced['code']}", json={"version": 1, "site": "NB1", "lines": []})
    assert edited.status_code == 409, "only a draft is edited"
    draft = order(sales, customers["B"], {"item": item, "quantity": "5"})
    rewritten = sales.put(f"/api/sales-orders/{draft['code']}", json={
        "version": draft["version"], "site": "NB1", "lines": [{"item": item, "quantity": "12", "due_date": DUE}]})
    assert rewritten.status_code == 200, rewritten.text
    assert decimals([(l["unit_price"], l["discount_pct"]) for l in rewritten.json()["lines"]]) == decimals([("90", "5")])

    nothing = price(sales, customers["A"], unique("NO-ITEM"), "1")
    assert nothing.status_code == 422 and nothing.json()["code"] == "no_price"


def test_the_discount_check_measures_the_price_against_the_list_not_only_the_typed_discount(login, unique, item,
                                                                                             customers):
    sales, manager = login("sales"), login("manager")
    price_list(manager, unique("PL"), [{"item": item, "list_price": "100"}])
    cut = order(sales, customers["B"], {"item": item, "quantity": "5", "unit_price": "85"})  # no typed discount
    waiting = submit(sales, cut["code"])
    assert waiting["status"] == "submitted" and waiting["awaiting_approval"] is True
    discount = next(c for c in last_review(sales, cut["code"])["checks"] if c["check"] == "discount")
    assert discount["code"] == "discount_above_threshold"
    assert {k: Decimal(v) for k, v in discount["details"]["lines"].items()} == {"10": 15}
    fair = order(sales, customers["B"], {"item": item, "quantity": "5", "unit_price": "95"})
    assert submit(sales, fair["code"])["status"] == "approved"


@pytest.fixture
def contract(login, unique, item, customers):
    """Customer A's contract: the item at 70 (its list price is 100), 100 units over a month."""
    manager = login("manager")
    price_list(manager, unique("PL"), [{"item": item, "list_price": "100"}])
    code = unique("K")
    response = manager.post("/api/contracts", json={
        "code": code, "customer": customers["A"], "valid_from": (TODAY - timedelta(days=1)).isoformat(),
        "valid_to": (TODAY + timedelta(days=30)).isoformat(), "payment_terms_days": 60,
        "items": [{"item": item, "agreed_price": "70", "agreed_quantity": "100"}]})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_contract_price_wins_and_orders_under_it_are_called_off(login, item, customers, contract):
    sales = login("sales")
    agreed = price(sales, customers["A"], item, "60", contract=contract["code"]).json()
    assert decimals((agreed["unit_price"], agreed["discount_pct"], agreed["source"], agreed["contract"])) == decimals((
        "70", "0", "contract", contract["code"]))
    assert decimals(price(sales, customers["A"], item, "60").json()["unit_price"]) == decimals("100"), "without the contract: the list"

    placed = order(sales, customers["A"], {"item": item, "quantity": "40"}, contract=contract["code"])
    assert (placed["contract"], placed["payment_terms_days"]) == (contract["code"], 60), "the contract's terms"
    assert decimals((placed["lines"][0]["unit_price"], placed["lines"][0]["discount_pct"])) == decimals(("70", "0"))
    assert submit(sales, placed["code"])["status"] == "approved", "70 against the agreed 70 is no discount"
    checks = last_review(sales, placed["code"])["checks"]
    assert [(c["check"], c["passed"], c["code"]) for c in checks][-1] == ("contract", True, "contract_ok")

    read = sales.get(f"/api/contracts/{contract['code']}").json()
    assert decimals([(i["called_off_quantity"], i["remaining_quantity"]) for i in read["items"]]) == decimals([("40", "60")])
    assert decimals([(o["sales_order"], o["status"], o["quantities"]) for o in read["orders"]]) == decimals([
        (placed["code"], "approved", {item: "40"})])


def test_contract_breaches_wait_for_the_approver_the_policy_names(login, admin, unique, item, customers, contract):
    sales, manager = login("sales"), login("manager")
    other = unique("PR-OT")
    login("planner").post("/api/items", json={"code": other, "name": "Off-contract desk", "type": "finished",
                                              "unit": "PCS"}).raise_for_status()
    submit(sales, order(sales, customers["A"], {"item": item, "quantity": "40"}, contract=contract["code"])["code"])
    breach = order(sales, customers["A"], {"item": item, "quantity": "70"},
                   {"item": item, "quantity": "1", "unit_price": "65"},
                   {"item": other, "quantity": "1", "unit_price": "10"}, contract=contract["code"])
    waiting = submit(sales, breach["code"])
    assert waiting["status"] == "submitted" and waiting["awaiting_approval"] is True
    check = next(c for c in last_review(sales, breach["code"])["checks"] if c["check"] == "contract")
    assert (check["passed"], check["code"]) == (False, "contract_violated")
    assert [b["code"] for b in check["details"]["breaches"]] == [
        "below_agreed_price", "item_not_on_contract", "over_agreed_quantity"]
    over = check["details"]["breaches"][-1]
    assert (over["called_off"], over["ordered"], over["agreed"]) == ("40", "71", "100")

    policy = admin.get("/api/sales-policy").json()
    try:
        assert admin.put("/api/sales-policy", json={**{k: policy[k] for k in POLICY_FIELDS},
                                                    "approvers": {"contract": ["admin"], "discount": ["admin"]}}
                         ).status_code == 200
        refused = manager.post(f"/api/sales-orders/{breach['code']}/approve")
        assert refused.status_code == 403 and refused.json()["code"] == "approver_role_required"
        assert refused.json()["details"]["check"] in ("contract", "discount")
        assert sales.post(f"/api/sales-orders/{breach['code']}/approve").status_code == 403, "a clerk approves nothing"
        approved = admin.post(f"/api/sales-orders/{breach['code']}/approve", json={"reason": "Agreed by phone"})
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
    finally:
        admin.put("/api/sales-policy", json={k: policy[k] for k in POLICY_FIELDS}).raise_for_status()

    stranger = sales.post("/api/sales-orders", json={"customer": customers["B"], "site": "NB1", "contract": contract["code"],
                                                     "lines": [{"item": item, "quantity": "1", "due_date": DUE}]})
    assert stranger.status_code == 422 and stranger.json()["code"] == "contract_of_another_customer"
    unknown = sales.post("/api/sales-orders", json={"customer": customers["A"], "site": "NB1", "contract": "NO-SUCH-K",
                                                    "lines": [{"item": item, "quantity": "1", "due_date": DUE}]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_contract"
    gone = manager.delete(f"/api/contracts/{contract['code']}")
    assert gone.status_code == 409 and gone.json()["code"] == "contract_has_orders"


def test_an_expired_contract_prices_from_the_list_and_its_orders_are_flagged(login, unique, item, customers):
    sales, manager = login("sales"), login("manager")
    price_list(manager, unique("PL"), [{"item": item, "list_price": "100"}], grades={})
    code = unique("K-OLD")
    manager.post("/api/contracts", json={
        "code": code, "customer": customers["A"], "valid_from": (TODAY - timedelta(days=60)).isoformat(),
        "valid_to": (TODAY - timedelta(days=1)).isoformat(),
        "items": [{"item": item, "agreed_price": "70", "agreed_quantity": "100"}]}).raise_for_status()
    late = order(sales, customers["A"], {"item": item, "quantity": "5"}, contract=code)
    assert decimals(late["lines"][0]["unit_price"]) == decimals("100")
    assert submit(sales, late["code"])["status"] == "submitted"
    check = next(c for c in last_review(sales, late["code"])["checks"] if c["check"] == "contract")
    assert [b["code"] for b in check["details"]["breaches"]] == ["contract_not_valid"]


def test_a_discounted_quote_is_approved_printed_and_converted_once(login, unique, item, customers):
    sales, manager = login("sales"), login("manager")
    price_list(manager, unique("PL"), [{"item": item, "list_price": "100",
                                        "breaks": [{"from_quantity": "10", "unit_price": "90"}]}])
    created = sales.post("/api/quotes", json={"customer": customers["B"], "site": "NB1", "notes": "Delivery by truck",
                                              "lines": [{"item": item, "quantity": "5"}]})
    assert created.status_code == 201, created.text
    quote = created.json()
    assert quote["code"].startswith("QT-") and quote["status"] == "draft" and quote["currency"] == "CNY"
    assert decimals([(l["unit_price"], l["discount_pct"], l["price_source"]) for l in quote["lines"]]) == decimals([("100", "5", "price_list")])

    edited = sales.put(f"/api/quotes/{quote['code']}", json={
        "version": quote["version"], "site": "NB1", "notes": "Delivery by truck",
        "lines": [{"item": item, "quantity": "12"}, {"item": item, "quantity": "2", "unit_price": "75"}]})
    assert edited.status_code == 200, edited.text
    quote = edited.json()
    assert decimals([(l["unit_price"], l["discount_pct"], l["reference_price"]) for l in quote["lines"]]) == decimals([
        ("90", "5", "90"), ("75", "0", "100")])
    early = sales.post(f"/api/quotes/{quote['code']}/convert")
    assert early.status_code == 409 and early.json()["code"] == "quote_not_approved"

    waiting = sales.post(f"/api/quotes/{quote['code']}/submit").json()
    assert waiting["status"] == "submitted", "75 against a list price of 100 is 25 % off"
    assert waiting["review"][0]["code"] == "discount_above_threshold"
    assert sales.post(f"/api/quotes/{quote['code']}/approve").status_code == 403
    no_edit = sales.put(f"/api/quotes/{quote['code']}", json={"version": waiting["version"], "site": "NB1",
                                                              "lines": [{"item": item, "quantity": "1"}]})
    assert no_edit.status_code == 409 and no_edit.json()["code"] == "quote_not_editable"
    approved = manager.post(f"/api/quotes/{quote['code']}/approve", json={"reason": "Launch customer"}).json()
    assert (approved["status"], approved["approved_by"]) == ("approved", "manager")

    pdf = login("viewer").get(f"/api/quotes/{quote['code']}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and quote["code"].encode() in pdf.content
    chinese = sales.get(f"/api/quotes/{quote['code']}/pdf", params={"lang": "zh"})
    assert chinese.status_code == 200 and chinese.content.startswith(b"%PDF-") and "报价单" in pdf_text(chinese.content)

    converted = sales.post(f"/api/quotes/{quote['code']}/convert", json={"customer_reference": "PO-Q1"})
    assert converted.status_code == 201, converted.text
    so = converted.json()
    assert (so["status"], so["source"], so["quote"], so["customer"], so["customer_reference"]) == (
        "draft", "quote", quote["code"], customers["B"], "PO-Q1")
    assert so["open_actions"] == ["submit", "cancel", "edit"]
    assert decimals([(l["quantity"], l["unit_price"], l["discount_pct"]) for l in so["lines"]]) == decimals([
        ("12", "90", "5"), ("2", "75", "0")])
    assert so["value"] == quote["value"]
    after = sales.get(f"/api/quotes/{quote['code']}").json()
    assert (after["status"], after["sales_order"]) == ("converted", so["code"])
    again = sales.post(f"/api/quotes/{quote['code']}/convert")
    assert again.status_code == 409 and again.json()["code"] == "quote_already_converted"
    listed = sales.get("/api/sales-orders", params={"customer": customers["B"]}).json()
    assert listed["total"] == 1, "one conversion, one order"

    # The manager approved that discount on the quote: the order does not ask for it again, and says so.
    submitted = sales.post(f"/api/sales-orders/{so['code']}/submit")
    assert submitted.status_code == 200, submitted.text
    review = sales.get(f"/api/sales-orders/{so['code']}/history").json()["reviews"][-1]
    discount = next(check for check in review["checks"] if check["check"] == "discount")
    assert (discount["passed"], discount["code"], discount["details"]["approved_by"]) == (
        True, "discount_approved_on_quote", "manager")
    audit = login("admin").get("/api/audit", params={"entity": "sales_order", "entity_key": so["code"]}).json()["items"]
    assert [a["username"] for a in audit if a["action"] == "approval_carried"] == ["sales"]


def test_a_clean_quote_approves_itself_and_a_rejected_one_is_edited_again(login, unique, item, customers):
    sales, manager = login("sales"), login("manager")
    price_list(manager, unique("PL"), [{"item": item, "list_price": "100"}])
    quote = sales.post("/api/quotes", json={"customer": customers["A"], "site": "NB1",
                                            "lines": [{"item": item, "quantity": "3"}]}).json()
    assert sales.post(f"/api/quotes/{quote['code']}/submit").json()["status"] == "approved"
    cut = sales.post("/api/quotes", json={"customer": customers["A"], "site": "NB1",
                                          "lines": [{"item": item, "quantity": "3", "discount_pct": "30"}]}).json()
    assert sales.post(f"/api/quotes/{cut['code']}/submit").json()["status"] == "submitted"
    rejected = manager.post(f"/api/quotes/{cut['code']}/reject", json={"reason": "Too deep"}).json()
    assert rejected["status"] == "rejected"
    again = sales.put(f"/api/quotes/{cut['code']}", json={"version": rejected["version"], "site": "NB1",
                                                          "lines": [{"item": item, "quantity": "3"}]})
    assert again.status_code == 200 and again.json()["status"] == "draft"
    assert sales.post(f"/api/quotes/{cut['code']}/submit").json()["status"] == "approved"


def test_roles_and_bad_input_are_refused_with_codes(login, unique, item, customers):
    sales, manager, viewer = login("sales"), login("manager"), login("viewer")
    body = {"code": unique("PL"), "name": "List", "currency": "CNY", "valid_from": TODAY.isoformat(),
            "items": [{"item": item, "list_price": "10"}]}
    assert sales.post("/api/price-lists", json=body).status_code == 403, "a clerk does not set prices"
    assert sales.post("/api/contracts", json={}).status_code == 403
    assert viewer.post("/api/quotes", json={}).status_code == 403
    assert viewer.get("/api/price-lists").status_code == 200 and viewer.get("/api/contracts").status_code == 200

    created = manager.post("/api/price-lists", json=body)
    assert created.status_code == 201
    assert manager.post("/api/price-lists", json=body).json()["code"] == "duplicate"
    twice = manager.post("/api/price-lists", json={**body, "code": unique("PL"), "items": [
        {"item": item, "list_price": "10"}, {"item": item, "list_price": "11"}]})
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_item"
    unknown = manager.post("/api/price-lists", json={**body, "code": unique("PL"), "items": [
        {"item": "NO-SUCH-ITEM", "list_price": "10"}]})
    assert unknown.status_code == 422 and unknown.json()["code"] == "unknown_item"
    backwards = manager.post("/api/price-lists", json={**body, "code": unique("PL"),
                                                      "valid_to": (TODAY - timedelta(days=1)).isoformat()})
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_period"
    stale = manager.put(f"/api/price-lists/{body['code']}", json={**body, "version": 7})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    renamed = manager.put(f"/api/price-lists/{body['code']}", json={**body, "name": "Renamed", "version": 1})
    assert renamed.status_code == 200 and renamed.json()["version"] == 2

    no_price = sales.post("/api/quotes", json={"customer": customers["A"], "site": "NB1",
                                               "lines": [{"item": unique("NOPE"), "quantity": "1"}]})
    assert no_price.status_code == 422 and no_price.json()["code"] == "unknown_item"
    quote_no_price = sales.post("/api/quotes", json={"customer": customers["A"], "site": "NB1", "currency": "USD",
                                                     "lines": [{"item": item, "quantity": "1"}]})
    assert quote_no_price.status_code == 400, "unknown fields are refused"
    usd = unique("PRC-USD")
    sales.post("/api/customers", json={"code": usd, "name": "US buyer", "grade": "C", "currency": "USD",
                                       "credit_limit": "1000"}).raise_for_status()
    unpriced = sales.post("/api/quotes", json={"customer": usd, "site": "NB1", "lines": [{"item": item, "quantity": "1"}]})
    assert unpriced.status_code == 422 and unpriced.json()["code"] == "no_price", "no USD list prices it"
    assert sales.post("/api/quotes", json={"customer": "NOBODY", "site": "NB1", "lines": [
        {"item": item, "quantity": "1", "unit_price": "1"}]}).json()["code"] == "unknown_customer"
    assert price(sales, customers["A"], item, "many").status_code == 400
    assert price(sales, "NOBODY", item, "1").json()["code"] == "unknown_customer"
    assert sales.get("/api/quotes/NO-SUCH-QUOTE").status_code == 404
    assert sales.get("/api/contracts/NO-SUCH-K").status_code == 404
    assert manager.delete(f"/api/price-lists/{body['code']}").status_code == 204
    assert viewer.get(f"/api/price-lists/{body['code']}").status_code == 404


def test_office_pages_make_a_price_list_a_contract_and_a_quote_and_convert_it(login, unique, item, customers):
    manager, sales = login("manager"), login("sales")
    assert sales.get("/price-lists/new").status_code == 403, "a clerk sets no prices"
    list_code = unique("PL")
    bad = manager.post("/price-lists/new", data={"code": list_code, "name": "Office list", "currency": "CNY",
                                                 "valid_from": TODAY.isoformat(), "lines-0-item": item,
                                                 "lines-0-list_price": "abc"})
    assert bad.status_code == 422 and 'class="alert error"' in bad.text
    saved = manager.post("/price-lists/new", data={
        "code": list_code, "name": "Office list", "currency": "CNY", "valid_from": TODAY.isoformat(), "grade_A": "10",
        "lines-0-item": item, "lines-0-list_price": "100", "lines-0-breaks": "10:90, 50:80"})
    assert saved.status_code == 303 and saved.headers["location"].startswith(f"/price-lists/{list_code}")
    shown = login("viewer").get(f"/price-lists/{list_code}")
    assert shown.status_code == 200 and item in shown.text and 'id="pl-grade-A"' in shown.text
    assert list_code in login("viewer").get("/price-lists").text

    contract_code = unique("K")
    made = manager.post("/contracts/new", data={
        "code": contract_code, "customer": customers["A"], "valid_from": TODAY.isoformat(),
        "valid_to": (TODAY + timedelta(days=90)).isoformat(), "lines-0-item": item, "lines-0-agreed_price": "75",
        "lines-0-agreed_quantity": "500"})
    assert made.status_code == 303, made.text

    quoted = sales.post("/quotes/new", data={"customer": customers["A"], "site": "NB1", "contract": contract_code,
                                             "lines-0-item": item, "lines-0-quantity": "20"})
    assert quoted.status_code == 303, quoted.text
    code = quoted.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    page = sales.get(f"/quotes/{code}")
    assert page.status_code == 200 and f"/api/quotes/{code}/pdf" in page.text and "/submit" in page.text
    quote = sales.get(f"/api/quotes/{code}").json()
    assert decimals([(l["unit_price"], l["price_source"]) for l in quote["lines"]]) == decimals([("75", "contract")])
    assert 'id="quote-edit"' in page.text and 'id="quote-edit"' not in login("viewer").get(f"/quotes/{code}").text
    form = sales.get(f"/quotes/{code}/edit")
    assert form.status_code == 200 and f'name="version" value="{quote["version"]}"' in form.text
    too_few = sales.post(f"/quotes/{code}/edit", data={"version": str(quote["version"]), "site": "NB1",
                                                       "contract": contract_code, "lines-0-item": item,
                                                       "lines-0-quantity": "0"})
    assert too_few.status_code == 422 and 'class="alert error"' in too_few.text
    edited = sales.post(f"/quotes/{code}/edit", data={
        "version": str(quote["version"]), "site": "NB1", "contract": contract_code, "notes": "thirty, not twenty",
        "valid_until": (TODAY + timedelta(days=20)).isoformat(), "lines-0-item": item, "lines-0-quantity": "30"})
    assert edited.status_code == 303, edited.text
    quote = sales.get(f"/api/quotes/{code}").json()
    assert decimals([(l["quantity"], l["unit_price"]) for l in quote["lines"]]) == decimals([("30", "75")])
    assert quote["notes"] == "thirty, not twenty"
    stale = sales.post(f"/quotes/{code}/edit", data={"version": "1", "site": "NB1", "lines-0-item": item,
                                                     "lines-0-quantity": "5"})
    assert stale.status_code == 409
    assert sales.post(f"/quotes/{code}/submit", data={"version": str(quote["version"])}).status_code == 303
    version = sales.get(f"/api/quotes/{code}").json()["version"]
    converted = sales.post(f"/quotes/{code}/convert", data={"version": str(version)})
    assert converted.status_code == 303 and converted.headers["location"].startswith("/sales-orders/SO-")
    order_page = sales.get(converted.headers["location"].split("?")[0])
    assert f'href="/quotes/{code}"' in order_page.text and f'href="/contracts/{contract_code}"' in order_page.text
    again = sales.post(f"/quotes/{code}/convert", data={})
    assert again.status_code == 409 and 'class="alert error"' in again.text
    contract_page = login("viewer").get(f"/contracts/{contract_code}")
    assert contract_page.status_code == 200 and converted.headers["location"].split("?")[0].rsplit("/", 1)[-1] \
        in contract_page.text, "the order made from the quote is listed under its contract"


def test_imported_lines_without_a_price_are_priced_from_the_lists(login, unique, item, customers):
    price_list(login("manager"), unique("PL"), [{"item": item, "list_price": "100",
                                                 "breaks": [{"from_quantity": "10", "unit_price": "90"}]}])
    sales = login("sales")
    csv = ("order_ref,customer,site,item,quantity,unit_price,due_date\n"
           f"IMP-1,{customers['B']},NB1,{item},12,,{DUE}\n"
           f"IMP-1,{customers['B']},NB1,{item},1,50,{DUE}\n")
    imported = sales.post("/api/sales-orders/import", files={"file": ("orders.csv", csv.encode(), "text/csv")})
    assert imported.status_code == 200, imported.text
    order = sales.get("/api/sales-orders", params={"customer": customers["B"]}).json()["items"][0]
    assert decimals([(l["unit_price"], l["discount_pct"]) for l in order["lines"]]) == decimals([("90", "5"), ("50", "0")])
