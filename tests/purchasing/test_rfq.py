"""Requests for quotation through the REST API as the buyer works: an RFQ to three suppliers, their quotes (price
breaks, minimum quantities, lead times), the comparison worked out by hand below, the award that makes the draft
purchase order at the quoted prices; an expired quote that cannot be awarded; the refusals with their codes; an RFQ
made from MRP's planned purchases, which firming then leaves alone. Suppliers and items are the test's own, so the
figures are exact whatever else the shared server holds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
import pytest

from tests.english import english_on_screen
from tests.factory import approved_order, make_customer, make_item

TODAY = date.today()
NEEDED_BY = TODAY + timedelta(days=20)


def refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    return body


@pytest.fixture
def buyer(login) -> httpx.Client:
    return login("buyer")


@pytest.fixture
def parts(login, buyer, unique) -> dict[str, str]:
    """Two items and four suppliers of the test's own, in CNY, none listing the items yet."""
    planner, code = login("planner"), unique("RFQ")
    made = {"gas": make_item(planner, f"{code}-GAS"), "mech": make_item(planner, f"{code}-MECH")}
    for name in ("lift", "castor", "foam", "other"):
        supplier = f"{code}-{name.upper()}"
        response = buyer.post("/api/suppliers", json={"code": supplier, "name": f"Supplier {supplier}", "currency": "CNY"})
        assert response.status_code == 201, response.text
        made[name] = supplier
    return made


def new_rfq(buyer: httpx.Client, parts: dict, suppliers: tuple[str, ...] = ("lift", "castor", "foam"), **fields) -> dict:
    body = {"site": "NB1", "needed_by": NEEDED_BY.isoformat(), "suppliers": [parts[s] for s in suppliers],
            "lines": [{"item": parts["gas"], "quantity": "400"}, {"item": parts["mech"], "quantity": "100"}], **fields}
    response = buyer.post("/api/rfqs", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def sent_rfq(buyer: httpx.Client, parts: dict, **fields) -> dict:
    rfq = new_rfq(buyer, parts, **fields)
    response = buyer.post(f"/api/rfqs/{rfq['code']}/send", json={"version": rfq["version"]})
    assert response.status_code == 200, response.text
    return response.json()


def quote(lead_time_days: int, gas: dict, mech: dict, valid_until: date = TODAY + timedelta(days=30)) -> dict:
    return {"lead_time_days": lead_time_days, "valid_until": valid_until.isoformat(), "notes": "by e-mail",
            "lines": [{"line_no": 10, **gas}, {"line_no": 20, **mech}]}


def record(buyer: httpx.Client, rfq: dict, supplier: str, body: dict) -> dict:
    response = buyer.put(f"/api/rfqs/{rfq['code']}/quotes/{supplier}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def purchase_orders_of(buyer: httpx.Client, rfq_code: str) -> list[dict]:
    listed = buyer.get("/api/purchase-orders", params={"q": rfq_code, "limit": 500})
    assert listed.status_code == 200, listed.text
    return [po for po in listed.json()["items"] if po["notes"] == rfq_code]


# The three quotes, for 400 gas lifts and 100 mechanisms needed in 20 days:
#   lift:   lead 28 days (8 days late). Gas 2.80, from 500 up 2.50, sells at least 500: 500 x 2.50 = 1250.00;
#           mech 6.10: 100 x 6.10 = 610.00. Total 1860.00, the cheapest, but late.
#   castor: lead 14 days (on time). Gas 3.20, from 300 up 3.00: 400 x 3.00 = 1200.00; mech 6.50, sells at least
#           150: 150 x 6.50 = 975.00. Total 2175.00 (without the minimum it would have been 1850.00, the cheapest).
#   foam:   lead 10 days (on time). Gas 3.10: 400 x 3.10 = 1240.00; mech 7.00: 100 x 7.00 = 700.00. Total 1940.00.
# The cheapest quote that meets the date is foam's.
LIFT = quote(28, {"unit_price": "2.80", "min_quantity": "500", "price_breaks": [{"min_quantity": "500", "unit_price": "2.50"}]},
             {"unit_price": "6.10"})
CASTOR = quote(14, {"unit_price": "3.20", "price_breaks": [{"min_quantity": "300", "unit_price": "3.00"}]},
               {"unit_price": "6.50", "min_quantity": "150"})
FOAM = quote(10, {"unit_price": "3.10"}, {"unit_price": "7.00"})


def test_three_quotes_are_compared_and_the_award_makes_the_po_of_the_cheapest_that_meets_the_date(buyer, admin, parts):
    rfq = new_rfq(buyer, parts, notes="Q1 gas lifts")
    assert rfq["code"].startswith(f"RFQ-{TODAY.year}-") and rfq["status"] == "draft" and rfq["currency"] == "CNY"
    assert rfq["suppliers"] == [parts["lift"], parts["castor"], parts["foam"]]
    assert [(l["line_no"], l["item"], l["quantity"]) for l in rfq["lines"]] == [(10, parts["gas"], "400"), (20, parts["mech"], "100")]
    assert rfq["open_actions"] == ["send", "cancel"]
    sent = buyer.post(f"/api/rfqs/{rfq['code']}/send", json={"version": 1}).json()
    assert sent["status"] == "sent" and sent["sent_at"] and sent["open_actions"] == ["quote", "award", "cancel"]

    for name, body in (("lift", LIFT), ("castor", CASTOR), ("foam", FOAM)):
        after = record(buyer, rfq, parts[name], body)
    assert [(q["supplier"], q["expired"]) for q in after["quotes"]] == sorted(
        (parts[name], False) for name in ("lift", "castor", "foam"))
    castor = next(q for q in after["quotes"] if q["supplier"] == parts["castor"])
    assert castor["lines"][0]["price_breaks"] == [{"min_quantity": "300", "unit_price": "3"}]
    assert castor["lines"][1]["min_quantity"] == "150"

    comparison = buyer.get(f"/api/rfqs/{rfq['code']}/comparison").json()
    rows = {q["supplier"]: q for q in comparison["quotes"]}
    assert [q["supplier"] for q in comparison["quotes"]] == [parts["lift"], parts["foam"], parts["castor"]]  # cheapest first
    assert {name: rows[parts[name]]["total"] for name in ("lift", "castor", "foam")} == {
        "lift": "1860.00", "castor": "2175.00", "foam": "1940.00"}
    assert [(l["billed_quantity"], l["unit_price"], l["cost"]) for l in rows[parts["lift"]]["lines"]] == [
        ("500", "2.5", "1250.00"), ("100", "6.1", "610.00")]
    assert [(l["billed_quantity"], l["unit_price"], l["cost"]) for l in rows[parts["castor"]]["lines"]] == [
        ("400", "3", "1200.00"), ("150", "6.5", "975.00")]
    assert (rows[parts["lift"]]["meets_date"], rows[parts["lift"]]["days_late"]) == (False, 8)
    assert rows[parts["lift"]]["delivery_date"] == (TODAY + timedelta(days=28)).isoformat()
    assert (rows[parts["foam"]]["meets_date"], rows[parts["foam"]]["days_late"]) == (True, 0)
    assert comparison["recommended"] == parts["foam"] and comparison["not_quoted"] == []
    assert [q["recommended"] for q in comparison["quotes"]] == [False, True, False]

    awarded = buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["foam"]})
    assert awarded.status_code == 200, awarded.text
    awarded = awarded.json()
    assert (awarded["status"], awarded["awarded_supplier"], awarded["awarded_by"]) == ("awarded", parts["foam"], "buyer")
    po = buyer.get(f"/api/purchase-orders/{awarded['purchase_order']}").json()
    assert (po["supplier"], po["site"], po["status"], po["currency"], po["notes"]) == (
        parts["foam"], "NB1", "draft", "CNY", rfq["code"])
    # due when needed: the supplier delivers in 10 days, before the 20 the goods are needed in
    assert [(l["line_no"], l["item"], l["quantity"], l["unit_price"], l["due_date"]) for l in po["lines"]] == [
        (10, parts["gas"], "400", "3.1", NEEDED_BY.isoformat()), (20, parts["mech"], "100", "7", NEEDED_BY.isoformat())]
    assert po["total_amount"] == "1940.00"

    # awarded twice: refused with the purchase order it made, and no second one
    again = refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["foam"]}), 409, "rfq_awarded")
    assert again["details"]["purchase_order"] == po["code"]
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["castor"]}), 409, "rfq_awarded")
    refused(buyer.put(f"/api/rfqs/{rfq['code']}/quotes/{parts['lift']}", json=LIFT), 409, "rfq_awarded")
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/cancel"), 409, "rfq_awarded")
    assert [p["code"] for p in purchase_orders_of(buyer, rfq["code"])] == [po["code"]]
    trail = admin.get("/api/audit", params={"entity": "rfq", "entity_key": rfq["code"]}).json()["items"]
    assert [row["action"] for row in reversed(trail)] == ["create", "send", "quote", "quote", "quote", "award"]


def test_an_expired_quote_reads_as_expired_is_never_recommended_and_cannot_be_awarded(buyer, parts):
    rfq = sent_rfq(buyer, parts, suppliers=("lift", "foam"))
    cheap_but_stale = quote(5, {"unit_price": "1.00"}, {"unit_price": "1.00"}, valid_until=TODAY - timedelta(days=1))
    record(buyer, rfq, parts["lift"], cheap_but_stale)
    after = record(buyer, rfq, parts["foam"], FOAM)
    assert {q["supplier"]: q["expired"] for q in after["quotes"]} == {parts["lift"]: True, parts["foam"]: False}

    comparison = buyer.get(f"/api/rfqs/{rfq['code']}/comparison").json()
    assert [(q["supplier"], q["total"], q["expired"]) for q in comparison["quotes"]] == [
        (parts["foam"], "1940.00", False), (parts["lift"], "500.00", True)]  # the expired one last
    assert comparison["recommended"] == parts["foam"]

    body = refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"]}), 409, "quote_expired")
    assert body["details"]["valid_until"] == (TODAY - timedelta(days=1)).isoformat()
    still = buyer.get(f"/api/rfqs/{rfq['code']}").json()
    assert (still["status"], still["purchase_order"], still["version"]) == ("sent", None, rfq["version"] + 2)
    assert purchase_orders_of(buyer, rfq["code"]) == []

    # quoted again within its validity, it can be awarded; the supplier's items take the price and lead time
    record(buyer, rfq, parts["lift"], quote(5, {"unit_price": "1.00"}, {"unit_price": "1.50"}))
    awarded = buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"], "update_supplier_items": True})
    assert awarded.status_code == 200, awarded.text
    po = buyer.get(f"/api/purchase-orders/{awarded.json()['purchase_order']}").json()
    assert [(l["quantity"], l["unit_price"]) for l in po["lines"]] == [("400", "1"), ("100", "1.5")]
    supplier = buyer.get(f"/api/suppliers/{parts['lift']}").json()
    assert sorted((i["item"], i["price"], i["lead_time_days"]) for i in supplier["items"]) == sorted(
        [(parts["gas"], "1", 5), (parts["mech"], "1.5", 5)])


def test_a_late_quote_alone_is_recommended_and_its_po_is_due_when_the_supplier_can_deliver(buyer, parts):
    rfq = sent_rfq(buyer, parts, suppliers=("lift", "castor"))
    record(buyer, rfq, parts["lift"], LIFT)
    comparison = buyer.get(f"/api/rfqs/{rfq['code']}/comparison").json()
    assert comparison["recommended"] == parts["lift"] and comparison["not_quoted"] == [parts["castor"]]
    awarded = buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"]}).json()
    po = buyer.get(f"/api/purchase-orders/{awarded['purchase_order']}").json()
    late = (TODAY + timedelta(days=28)).isoformat()
    assert [(l["quantity"], l["unit_price"], l["due_date"]) for l in po["lines"]] == [("500", "2.5", late), ("100", "6.1", late)]


def test_refusals_have_their_codes_and_write_nothing(buyer, parts):
    one = buyer.post("/api/rfqs", json={"site": "NB1", "needed_by": NEEDED_BY.isoformat(), "suppliers": [parts["lift"]],
                                        "lines": [{"item": parts["gas"], "quantity": "1"}]})
    assert one.status_code in (400, 422), one.text
    body = refused(buyer.post("/api/rfqs", json={
        "site": "NB1", "needed_by": (TODAY - timedelta(days=1)).isoformat(), "suppliers": [parts["lift"], "NO-SUCH"],
        "lines": [{"item": "NO-SUCH-ITEM", "quantity": "1"}]}), 422, "unknown_supplier")
    assert [e["code"] for e in body["details"]["errors"]] == ["unknown_supplier", "needed_by_in_past", "unknown_item"]

    draft = new_rfq(buyer, parts)
    refused(buyer.put(f"/api/rfqs/{draft['code']}/quotes/{parts['lift']}", json=LIFT), 409, "rfq_not_sent")
    refused(buyer.post(f"/api/rfqs/{draft['code']}/award", json={"supplier": parts["lift"]}), 409, "rfq_not_sent")

    rfq = sent_rfq(buyer, parts)
    refused(buyer.put(f"/api/rfqs/{rfq['code']}/quotes/{parts['other']}", json=LIFT), 422, "supplier_not_asked")
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["other"]}), 422, "supplier_not_asked")
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"]}), 422, "supplier_not_quoted")
    partial = {**FOAM, "lines": FOAM["lines"][:1]}
    refused(buyer.put(f"/api/rfqs/{rfq['code']}/quotes/{parts['foam']}", json=partial), 422, "line_not_quoted")
    wrong = {**FOAM, "lines": [*FOAM["lines"], {"line_no": 30, "unit_price": "1"}]}
    refused(buyer.put(f"/api/rfqs/{rfq['code']}/quotes/{parts['foam']}", json=wrong), 422, "unknown_rfq_line")
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/send"), 409, "invalid_transition")
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"], "version": 1}),
            409, "version_conflict")
    after = buyer.get(f"/api/rfqs/{rfq['code']}").json()
    assert (after["status"], after["quotes"], after["version"]) == ("sent", [], rfq["version"])

    cancelled = buyer.post(f"/api/rfqs/{rfq['code']}/cancel", json={"reason": "prices fell"}).json()
    assert cancelled["status"] == "cancelled" and cancelled["open_actions"] == []
    refused(buyer.put(f"/api/rfqs/{rfq['code']}/quotes/{parts['lift']}", json=LIFT), 409, "rfq_cancelled")
    refused(buyer.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"]}), 409, "rfq_cancelled")

    for response in (buyer.get("/api/rfqs/RFQ-1999-9999"), buyer.get("/api/rfqs/RFQ-1999-9999/comparison"),
                     buyer.post("/api/rfqs/RFQ-1999-9999/award", json={"supplier": parts["lift"]}),
                     buyer.put(f"/api/rfqs/RFQ-1999-9999/quotes/{parts['lift']}", json=LIFT)):
        assert refused(response, 404, "not_found")["details"]["entity"] == "rfq"


@pytest.mark.parametrize("username", ["warehouse", "viewer", "planner"])
def test_other_roles_read_rfqs_but_neither_create_quote_nor_award(login, buyer, parts, username):
    rfq = sent_rfq(buyer, parts)
    other = login(username)
    read = other.get(f"/api/rfqs/{rfq['code']}")
    assert read.status_code == 200 and read.json()["open_actions"] == []
    assert other.get(f"/api/rfqs/{rfq['code']}/comparison").status_code == 200
    assert other.get("/api/rfqs", params={"status": "sent"}).status_code == 200
    for response in (other.post("/api/rfqs", json={}), other.put(f"/api/rfqs/{rfq['code']}/quotes/{parts['lift']}", json=LIFT),
                     other.post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": parts["lift"]}),
                     other.post(f"/api/rfqs/{rfq['code']}/cancel")):
        assert refused(response, 403, "forbidden")["details"]["permission"] == "purchasing.write"
    assert buyer.get(f"/api/rfqs/{rfq['code']}").json()["quotes"] == []


def test_an_rfq_from_planned_purchases_takes_their_items_and_dates_and_firming_them_makes_no_po(login, buyer, parts, unique):
    planner, code = login("planner"), unique("RFQP")
    bought = make_item(planner, f"{code}-BUY", type="finished", make_or_buy="buy", lead_time_days=7, gtin=None)
    customer = make_customer(login("sales"), f"{code}-C", name=f"Customer {code}", credit_limit="1000000")
    approved_order(login("sales"), customer, [(bought, "30")], TODAY + timedelta(days=30), unit_price="0")
    run = planner.post("/api/mrp/runs", json={"site": "NB1"})
    assert run.status_code == 201, run.text
    run = run.json()
    [planned] = buyer.get(f"/api/mrp/runs/{run['id']}/planned-orders", params={"item": bought}).json()
    assert planned["kind"] == "purchase"

    body = {"run": run["id"], "keys": [planned["key"]], "suppliers": [parts["lift"], parts["foam"]]}
    assert login("planner").post("/api/rfqs/from-plan", json=body).status_code == 403
    response = buyer.post("/api/rfqs/from-plan", json=body)
    assert response.status_code == 201, response.text
    rfq = response.json()
    assert (rfq["site"], rfq["status"], rfq["needed_by"], rfq["suppliers"]) == (
        "NB1", "draft", planned["receipt_date"], [parts["lift"], parts["foam"]])
    assert [(l["item"], l["quantity"]) for l in rfq["lines"]] == [(bought, planned["quantity"])]
    assert planned["key"] in rfq["notes"]

    firmed = buyer.post(f"/api/mrp/runs/{run['id']}/firm-purchases",
                        json={"keys": [planned["key"]], "suppliers": [{"key": planned["key"], "supplier": parts["lift"]}]})
    assert firmed.status_code == 200, firmed.text
    assert [(f["firmed_as"], f["created"]) for f in firmed.json()] == [(rfq["code"], False)]
    body = refused(buyer.post("/api/rfqs/from-plan", json=body), 409, "planned_order_firmed")
    assert body["details"]["keys"] == [planned["key"]]


def test_the_buyer_works_an_rfq_on_its_pages_and_a_chinese_buyer_reads_them_without_english(browse, buyer, parts, unique):
    office = browse("buyer")
    form = [("site", "NB1"), ("needed_by", NEEDED_BY.isoformat()), ("currency", ""), ("notes", ""),
            ("suppliers", parts["castor"]), ("suppliers", parts["foam"]), ("suppliers", parts["lift"]),
            ("lines-0-item", parts["gas"]), ("lines-0-quantity", "400"), ("lines-1-item", parts["mech"]),
            ("lines-1-quantity", "100"), ("lines-2-item", ""), ("lines-2-quantity", "")]
    one_supplier = office.post("/rfqs/new", [pair for pair in form if pair[1] not in (parts["foam"], parts["lift"])])
    assert one_supplier.status_code == 422 and 'id="rfq-form"' in one_supplier.text
    created = office.post("/rfqs/new", form)
    assert created.status_code == 303, created.text
    code = created.headers["location"].split("?")[0].rsplit("/", 1)[-1]
    rfq = buyer.get(f"/api/rfqs/{code}").json()
    assert rfq["suppliers"] == [parts["castor"], parts["foam"], parts["lift"]] and len(rfq["lines"]) == 2
    assert office.post(f"/rfqs/{code}/send", {"version": str(rfq["version"])}).status_code == 303

    # castor's quote as the page takes it: a minimum on line 20 and a price break on line 10
    castor = office.post(f"/rfqs/{code}/quotes", {
        "supplier": parts["castor"], "lead_time_days": "14", "valid_until": (TODAY + timedelta(days=30)).isoformat(),
        "lines-10-unit_price": "3.20", "lines-10-break_quantity": "300", "lines-10-break_price": "3.00",
        "lines-20-unit_price": "6.50", "lines-20-min_quantity": "150"})
    assert castor.status_code == 303, castor.text
    missing = office.post(f"/rfqs/{code}/quotes", {"supplier": parts["foam"], "lead_time_days": "10",
                                                   "valid_until": TODAY.isoformat(), "lines-10-unit_price": "3.10"})
    assert missing.status_code == 422 and "has no price" in missing.text
    record(buyer, rfq, parts["foam"], FOAM)
    record(buyer, rfq, parts["lift"], {**LIFT, "valid_until": (TODAY - timedelta(days=1)).isoformat()})
    page = office.get(f"/rfqs/{code}")
    assert page.status_code == 200
    assert "2175.00" in page.text and "1940.00" in page.text and "1860.00" in page.text
    assert page.text.count('name="supplier" value=') == 2  # the expired quote has no award button

    username = unique("zh").lower()
    made = browse("admin").post("/users", [("username", username), ("display_name", "李采购"), ("password", "long-enough-pw"),
                                           ("language", "zh"), ("roles", "buyer")])
    assert made.status_code == 303, made.text
    reader = browse(accept_language="zh-CN,zh;q=0.9")
    reader.log_in(username, "long-enough-pw")
    # what people typed is data, not English of ours: the suppliers' names (the form lists every supplier), the notes
    names = [s["name"] for s in buyer.get("/api/suppliers", params={"limit": 500}).json()["items"]]
    data = sorted([*names, "by e-mail"], key=len, reverse=True)
    for path in ("/rfqs", "/rfqs/new", f"/rfqs/{code}", "/purchase-orders"):
        shown = reader.get(path)
        assert shown.status_code == 200, path
        assert english_on_screen(shown.text, data) == [], path
    assert "推荐" in reader.get(f"/rfqs/{code}").text and "已过期" in reader.get(f"/rfqs/{code}").text

    awarded = office.post(f"/rfqs/{code}/award", {"supplier": parts["foam"], "version": str(buyer.get(f"/api/rfqs/{code}").json()["version"])})
    assert awarded.status_code == 303, awarded.text
    po = buyer.get(f"/api/rfqs/{code}").json()["purchase_order"]
    done = reader.get(f"/rfqs/{code}")
    assert po in done.text and english_on_screen(done.text, data) == []
    refused_page = office.post(f"/rfqs/{code}/award", {"supplier": parts["foam"]})
    assert refused_page.status_code == 409 and 'id="rfq-comparison"' in refused_page.text
    assert office.post(f"/rfqs/{code}/award", {}).status_code == 422


def test_two_buyers_awarding_at_once_make_one_purchase_order(login, buyer, parts):
    rfq = sent_rfq(buyer, parts, suppliers=("castor", "foam"))
    record(buyer, rfq, parts["castor"], CASTOR)
    record(buyer, rfq, parts["foam"], FOAM)
    clients = [buyer, login("admin")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda pair: pair[0].post(f"/api/rfqs/{rfq['code']}/award", json={"supplier": pair[1]}),
                                zip(clients, (parts["castor"], parts["foam"]))))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    winner = next(r.json() for r in answers if r.status_code == 200)
    loser = next(r.json() for r in answers if r.status_code == 409)
    assert loser["code"] == "rfq_awarded" and loser["details"]["purchase_order"] == winner["purchase_order"]
    assert [po["code"] for po in purchase_orders_of(buyer, rfq["code"])] == [winner["purchase_order"]]
