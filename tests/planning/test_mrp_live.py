"""Live MRP through the office API on a factory of the test's own (items, BOMs, routings on a work centre with a
known calendar, a supplier): an approved sales order is exploded level by level into planned production and
purchases with the dates and pegging worked out by hand below; a purchase order due after the need is an
expedite message until it is received; a lot that expires before a need is not netted for it.

The plan is weekly (the default): period 1 is the week of today, starting on its Monday. Every item here is new,
so the assertions on them are exact whatever else the shared server holds."""

from __future__ import annotations

import html
import re
import time
from datetime import date, datetime, timedelta, timezone

import pytest

from tests.english import english_runs
from tests.factory import approved_order, make_customer, make_item

TODAY = datetime.now(timezone.utc).date()
MONDAY = TODAY - timedelta(days=TODAY.weekday())


def period(day: date) -> int:
    return (day - MONDAY).days // 7 + 1


def week(n: int) -> str:
    return (MONDAY + timedelta(days=7 * (n - 1))).isoformat()


def run_mrp(planner) -> dict:
    response = planner.post("/api/mrp/runs", json={"site": "NB1"})
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "completed", run
    return run


def planned(office, run: dict, item: str) -> list[dict]:
    response = office.get(f"/api/mrp/runs/{run['id']}/planned-orders", params={"item": item})
    assert response.status_code == 200, response.text
    return response.json()


def exceptions(office, run: dict, item: str) -> list[tuple[str, int]]:
    response = office.get(f"/api/mrp/runs/{run['id']}/exceptions", params={"item": item})
    assert response.status_code == 200, response.text
    return [(e["code"], e["period"]) for e in response.json()]


@pytest.fixture
def chair_factory(login, unique):
    """FG = 2 SEMI + 1 RAW1; SEMI = 3 RAW2 with 10 % scrap. FG and SEMI are made on a work centre of one 8-hour
    shift, Monday to Friday, 60 minutes' setup and 6 per unit (at a lot of one: 66 minutes, one working day, so
    one week's lead time); RAW1 is bought from a supplier in 14 days (two weeks); RAW2 has no supplier and its own
    lead time of 7 days (one week)."""
    planner, buyer = login("planner"), login("buyer")
    code = unique("MRP")
    centre = f"{code}-WC"
    response = planner.post("/api/work_centres", json={
        "code": centre, "name": f"Cell {code}", "site": "NB1",
        "shifts": [{"name": "Day", "start": "08:00", "end": "16:00"}], "working_days": [1, 2, 3, 4, 5]})
    assert response.status_code == 201, response.text
    fg = make_item(planner, f"{code}-FG", type="finished", gtin=None)
    semi = make_item(planner, f"{code}-SEMI", type="semi_finished")
    raw1 = make_item(planner, f"{code}-R1")
    raw2 = make_item(planner, f"{code}-R2", lead_time_days=7)
    for parent, lines in ((fg, [(semi, "2", "0"), (raw1, "1", "0")]), (semi, [(raw2, "3", "10")])):
        response = planner.post("/api/boms", json={"code": f"{parent}-BOM", "item": parent, "components": [
            {"line_no": 10 * n, "component": c, "quantity": q, "scrap_pct": s} for n, (c, q, s) in enumerate(lines, 1)]})
        assert response.status_code == 201, response.text
        response = planner.post("/api/routings", json={"code": f"{parent}-RT", "item": parent, "operations": [
            {"sequence": 10, "work_centre": centre, "setup_minutes": "60", "run_minutes_per_unit": "6"}]})
        assert response.status_code == 201, response.text
    supplier = f"{code}-SUP"
    response = buyer.post("/api/suppliers", json={"code": supplier, "name": f"Supplier {code}", "currency": "CNY",
                                                  "items": [{"item": raw1, "price": "2.00", "lead_time_days": 14}]})
    assert response.status_code == 201, response.text
    customer = make_customer(login("sales"), f"{code}-C", name=f"Customer {code}", credit_limit="1000000")
    return {"fg": fg, "semi": semi, "raw1": raw1, "raw2": raw2, "supplier": supplier, "customer": customer}


def test_an_approved_order_for_40_is_planned_level_by_level_with_the_dates_and_pegging_worked_by_hand(login, chair_factory):
    f = chair_factory
    due = MONDAY + timedelta(days=30)  # the Wednesday of week 5
    order = approved_order(login("sales"), f["customer"], [(f["fg"], "40")], due, unit_price="0")
    demand = f"sales:{order['code']}:{order['lines'][0]['line_no']}"
    planner = login("planner")
    run = run_mrp(planner)
    assert period(due) == 5

    # FG: 40 needed in week 5, none on hand: receive 40 in week 5, release a week before (week 4)
    [fg] = planned(planner, run, f["fg"])
    assert (fg["kind"], fg["quantity"], fg["receipt_period"], fg["release_period"]) == ("production", "40", 5, 4)
    assert (fg["receipt_date"], fg["release_date"]) == (week(5), week(4))
    assert [(p["demand"], p["quantity"]) for p in fg["pegging"]] == [(demand, "40")]
    # SEMI: 2 x 40 = 80 by FG's release in week 4, released in week 3
    [semi] = planned(planner, run, f["semi"])
    assert (semi["quantity"], semi["receipt_period"], semi["release_period"]) == ("80", 4, 3)
    assert [(p["demand"], p["quantity"]) for p in semi["pegging"]] == [(fg["key"], "80")]
    # RAW1: 1 x 40 by week 4, bought from the supplier in two weeks: ordered in week 2
    [raw1] = planned(planner, run, f["raw1"])
    assert (raw1["kind"], raw1["quantity"], raw1["receipt_period"], raw1["release_period"], raw1["supplier"]) == (
        "purchase", "40", 4, 2, f["supplier"])
    # RAW2: 3 x 80 plus 10 % scrap = 264 by SEMI's release in week 3, its own week of lead time: week 2; and no
    # supplier to buy it from
    [raw2] = planned(planner, run, f["raw2"])
    assert (raw2["quantity"], raw2["receipt_period"], raw2["release_period"], raw2["supplier"]) == ("264", 3, 2, None)
    assert exceptions(planner, run, f["raw2"]) == [("no_supplier", 2)]
    assert exceptions(planner, run, f["fg"]) == exceptions(planner, run, f["raw1"]) == []

    record = planner.get(f"/api/mrp/runs/{run['id']}/records/{f['semi']}").json()
    assert record["gross_requirements"][:5] == ["0", "0", "0", "80", "0"]
    assert record["planned_order_releases"][:5] == ["0", "0", "80", "0", "0"]
    assert record["period_starts"][0] == MONDAY.isoformat()

    # the sales order line's supply, down the BOM: FG's planned order, under it SEMI's (under it RAW2's) and RAW1's
    tree = planner.get(f"/api/mrp/runs/{run['id']}/pegging", params={"demand": demand}).json()
    assert [(n["supply"], n["quantity"]) for n in tree] == [(fg["key"], "40")]
    below = {n["item"]: n for n in tree[0]["components"]}
    assert (below[f["semi"]]["supply"], below[f["raw1"]]["supply"]) == (semi["key"], raw1["key"])
    assert [(n["supply"], n["quantity"]) for n in below[f["semi"]]["components"]] == [(raw2["key"], "264")]


def test_a_purchase_due_after_the_need_is_expedited_until_it_is_received(login, chair_factory):
    f = chair_factory
    approved_order(login("sales"), f["customer"], [(f["fg"], "40")], MONDAY + timedelta(days=30), unit_price="0")
    buyer = login("buyer")
    response = buyer.post("/api/purchase-orders", json={"supplier": f["supplier"], "site": "NB1", "lines": [
        {"item": f["raw1"], "quantity": "40", "unit_price": "2.00", "due_date": week(6)}]})
    assert response.status_code == 201, response.text
    po = response.json()["code"]
    assert buyer.post(f"/api/purchase-orders/{po}/approve").status_code == 200
    planner = login("planner")

    run = run_mrp(planner)  # RAW1 is needed in week 4 (FG's release), the PO is due in week 6
    assert exceptions(planner, run, f["raw1"]) == [("expedite", 4)]
    [message] = planner.get(f"/api/mrp/runs/{run['id']}/exceptions", params={"item": f["raw1"]}).json()
    assert f"{po} / 10" in message["message"] and "needed in period 4" in message["message"]

    received = login("warehouse").post("/api/stock/receipts", json={
        "purchase_order": po, "line_no": 10, "item": f["raw1"], "location": "RCV-01", "quantity": "40"})
    assert received.status_code == 201, received.text
    run = run_mrp(planner)  # received early: 40 on hand cover week 4, nothing to expedite, nothing to buy
    assert exceptions(planner, run, f["raw1"]) == []
    assert planned(planner, run, f["raw1"]) == []


def test_a_lot_that_expires_before_a_need_is_not_netted_for_it(login, unique):
    planner, buyer = login("planner"), login("buyer")
    code = unique("EXP")
    item = make_item(planner, f"{code}-R", lot_tracked=True, shelf_life_days=30)
    supplier = f"{code}-SUP"
    assert buyer.post("/api/suppliers", json={"code": supplier, "name": supplier, "currency": "CNY", "items": [
        {"item": item, "price": "1", "lead_time_days": 0}]}).status_code == 201
    response = buyer.post("/api/purchase-orders", json={"supplier": supplier, "site": "NB1", "lines": [
        {"item": item, "quantity": "100", "due_date": TODAY.isoformat()}]})
    po = response.json()["code"]
    assert buyer.post(f"/api/purchase-orders/{po}/approve").status_code == 200
    expiry = TODAY + timedelta(days=10)
    received = login("warehouse").post("/api/stock/receipts", json={
        "purchase_order": po, "line_no": 10, "item": item, "lot": f"{code}-L1", "expiry": expiry.isoformat(),
        "location": "RCV-01", "quantity": "100"})
    assert received.status_code == 201, received.text
    customer = make_customer(login("sales"), f"{code}-C", name=f"Customer {code}", credit_limit="1000000")
    # 30 wanted this week come from the lot; 60 wanted a week after it expires cannot: they are planned
    approved_order(login("sales"), customer, [(item, "30")], TODAY, unit_price="0")
    later = expiry + timedelta(days=7)
    approved_order(login("sales"), customer, [(item, "60")], later, unit_price="0")
    run = run_mrp(planner)
    [order] = planned(planner, run, item)
    assert (order["quantity"], order["receipt_period"]) == ("60", period(later))
    record = planner.get(f"/api/mrp/runs/{run['id']}/records/{item}").json()
    assert record["projected_on_hand"][0] == "70"  # the lot's 70 left over after this week's 30
    assert record["projected_on_hand"][period(later) - 1] == "0"  # …are gone by then, and 60 arrive for the need


def test_running_mrp_needs_planning_write_and_a_known_site(login):
    assert login("sales").post("/api/mrp/runs", json={"site": "NB1"}).status_code == 403
    response = login("planner").post("/api/mrp/runs", json={"site": "NOPE"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert login("sales").get("/api/mrp/runs", params={"site": "NB1"}).status_code == 200
    response = login("planner").get("/api/mrp/runs/999999")
    assert response.status_code == 404


def test_firming_makes_draft_orders_once_linked_to_parent_and_sales_line_and_the_next_run_proposes_nothing_new(
        login, chair_factory):
    f = chair_factory
    order = approved_order(login("sales"), f["customer"], [(f["fg"], "40")], MONDAY + timedelta(days=30), unit_price="0")
    line = order["lines"][0]["line_no"]
    planner, buyer = login("planner"), login("buyer")
    run = run_mrp(planner)
    keys = {name: planned(planner, run, f[name])[0]["key"] for name in ("fg", "semi", "raw1", "raw2")}

    production = {"keys": [keys["semi"], keys["fg"]]}
    assert buyer.post(f"/api/mrp/runs/{run['id']}/firm-production", json=production).status_code == 403
    response = planner.post(f"/api/mrp/runs/{run['id']}/firm-production", json=production)
    assert response.status_code == 200, response.text
    firmed = {row["key"]: row for row in response.json()}
    assert all(row["created"] for row in firmed.values())
    fg_order = planner.get(f"/api/production-orders/{firmed[keys['fg']]['firmed_as']}").json()
    semi_order = planner.get(f"/api/production-orders/{firmed[keys['semi']]['firmed_as']}").json()
    assert (fg_order["item"], fg_order["quantity"], fg_order["due_date"], fg_order["status"]) == (f["fg"], "40", week(5), "draft")
    assert (fg_order["sales_order"], fg_order["sales_order_line"], fg_order["parent_order"]) == (order["code"], line, None)
    assert (semi_order["quantity"], semi_order["due_date"], semi_order["parent_order"]) == ("80", week(4), fg_order["code"])
    assert (semi_order["sales_order"], semi_order["sales_order_line"]) == (order["code"], line)
    again = planner.post(f"/api/mrp/runs/{run['id']}/firm-production", json=production).json()
    assert [(row["firmed_as"], row["created"]) for row in again] == [
        (firmed[keys["fg"]]["firmed_as"], False), (firmed[keys["semi"]]["firmed_as"], False)]

    # purchases: RAW2 has no supplier to go to, so the buyer must choose one; RAW1 goes to its supplier
    response = buyer.post(f"/api/mrp/runs/{run['id']}/firm-purchases", json={"keys": [keys["raw1"], keys["raw2"]]})
    assert response.status_code == 422 and response.json()["code"] == "no_supplier"
    assert planner.post(f"/api/mrp/runs/{run['id']}/firm-purchases", json={"keys": [keys["raw1"]]}).status_code == 403
    response = buyer.post(f"/api/mrp/runs/{run['id']}/firm-purchases", json={"keys": [keys["raw1"]]})
    assert response.status_code == 200, response.text
    [bought] = response.json()
    po = buyer.get(f"/api/purchase-orders/{bought['firmed_as']}").json()
    assert (po["supplier"], po["status"]) == (f["supplier"], "draft")
    assert [(l["item"], l["quantity"], l["unit_price"], l["due_date"], l["sales_order"]) for l in po["lines"]] == [
        (f["raw1"], "40", "2", week(4), order["code"])]

    # the next run sees the drafts as scheduled receipts: only RAW2, still unfirmed, is proposed again
    second = run_mrp(planner)
    assert [planned(planner, second, f[name]) for name in ("fg", "semi", "raw1")] == [[], [], []]
    [raw2] = planned(planner, second, f["raw2"])
    assert (raw2["key"], raw2["quantity"]) == (keys["raw2"], "264")
    page = planner.get("/planning", params={"site": "NB1"})  # FG, SEMI and RAW1 left the plan, nothing else moved
    assert page.status_code == 200 and f"Since run {run['id']}: 0 new, 0 changed, 3 gone" in page.text
    stale = planner.post(f"/api/mrp/runs/{run['id']}/firm-production", json=production)
    assert stale.status_code == 409 and stale.json()["code"] == "plan_superseded"


def test_the_plan_its_records_and_pegging_speak_chinese(login, browse, unique, chair_factory):
    f = chair_factory
    order = approved_order(login("sales"), f["customer"], [(f["fg"], "40")], MONDAY + timedelta(days=30), unit_price="0")
    run = run_mrp(login("planner"))
    username = unique("zhplan").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "计划员"),
                                              ("password", "long-enough-pw"), ("language", "zh"), ("roles", "planner")])
    assert created.status_code == 303, created.text
    reader = browse(accept_language="zh-CN")
    reader.log_in(username, "long-enough-pw")
    data = [order["code"], *f.values(), "NB1"]
    pages = {
        "/planning?site=NB1": ["物料需求计划", "计划订单", "无供应商", "为采购件但没有供应商供货", "自制", "采购"],
        f"/planning/records/{f['semi']}?run={run['id']}": ["毛需求", "预计库存", "计划订单下达", "低层码"],
        f"/planning/pegging?run={run['id']}&demand=sales:{order['code']}:10": ["需求追溯", "计划订单", "第 5 期 40"],
    }
    for path, words in pages.items():
        page = reader.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        text = html.unescape(re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", "\n", page.text, flags=re.S))
        for word in words:
            assert word in text, (path, word)
        english = [run for line in text.splitlines() for run in english_runs(line, data)]
        assert english == [], (path, english)


def test_the_order_tracking_shows_the_planned_and_firmed_supply_of_each_line(login, chair_factory):
    f = chair_factory
    order = approved_order(login("sales"), f["customer"], [(f["fg"], "40")], MONDAY + timedelta(days=30), unit_price="0")
    planner = login("planner")
    run = run_mrp(planner)
    [fg] = planned(planner, run, f["fg"])
    firmed = planner.post(f"/api/mrp/runs/{run['id']}/firm-production", json={"keys": [fg["key"]]}).json()
    tracking = login("sales").get(f"/api/sales-orders/{order['code']}/tracking").json()
    supply = {(p["item"], p["depth"]): p for p in tracking["planned"]}
    assert (supply[(f["fg"], 0)]["quantity"], supply[(f["fg"], 0)]["firmed_as"]) == ("40", firmed[0]["firmed_as"])
    assert (supply[(f["semi"], 1)]["quantity"], supply[(f["semi"], 1)]["firmed_as"]) == ("80", None)
    assert (supply[(f["raw2"], 2)]["quantity"], supply[(f["raw2"], 2)]["receipt_date"]) == ("264", week(3))
    assert supply[(f["raw1"], 1)]["kind"] == "purchase"
    page = login("sales").get(f"/sales-orders/{order['code']}/tracking")
    assert page.status_code == 200 and firmed[0]["firmed_as"] in page.text and f["raw2"] in page.text


def test_a_forecast_is_planned_for_what_the_orders_of_its_period_have_not_claimed(login, unique):
    planner, buyer = login("planner"), login("buyer")
    code = unique("FC")
    item = make_item(planner, f"{code}-R")
    assert buyer.post("/api/suppliers", json={"code": f"{code}-S", "name": code, "currency": "CNY", "items": [
        {"item": item, "price": "1", "lead_time_days": 0}]}).status_code == 201
    saved = planner.put("/api/forecasts", json=[{"site": "NB1", "item": item, "period_start": week(3), "quantity": "30"},
                                                {"site": "NB1", "item": item, "period_start": week(4), "quantity": "25"}])
    assert saved.status_code == 200, saved.text
    customer = make_customer(login("sales"), f"{code}-C", name=code, credit_limit="1000000")
    order = approved_order(login("sales"), customer, [(item, "10")], MONDAY + timedelta(days=15), unit_price="0")
    run = run_mrp(planner)
    # week 3: the order's 10 and what is left of the forecast, 30 - 10 = 20; week 4: the forecast's 25 untouched
    orders = planned(planner, run, item)
    assert [(o["receipt_period"], o["quantity"]) for o in orders] == [(3, "30"), (4, "25")]
    assert sorted((p["demand"], p["quantity"]) for p in orders[0]["pegging"]) == [
        (f"forecast:{item}:{week(3)}", "20"), (f"sales:{order['code']}:10", "10")]


def test_a_site_keeps_its_last_five_plans_and_older_ones_are_deleted_after_the_answer(login):
    """A plan is derived data and a large one is a million rows: each run deletes the site's plans older than its
    last five completed runs, after it has answered."""
    planner = login("planner")
    first = run_mrp(planner)
    assert planner.get(f"/api/mrp/runs/{first['id']}/planned-orders").status_code == 200
    latest = [run_mrp(planner) for _ in range(5)][-1]
    deadline = time.monotonic() + 30
    while planner.get(f"/api/mrp/runs/{first['id']}").status_code != 404:
        assert time.monotonic() < deadline, "the sixth run before the latest was not deleted"
        time.sleep(0.1)
    assert planner.get(f"/api/mrp/runs/{first['id']}/planned-orders").status_code == 404
    runs = planner.get("/api/mrp/runs", params={"site": "NB1", "limit": 200}).json()
    completed = [run["id"] for run in runs if run["status"] == "completed"]
    assert completed[:5] == sorted(completed, reverse=True)[:5] and len(completed) == 5, runs
    assert latest["id"] == completed[0]
    assert planner.get(f"/api/mrp/runs/{latest['id']}/planned-orders").status_code == 200


def test_below_a_draft_production_order_serving_two_orders_each_tree_shows_its_share(login, chair_factory):
    """A draft production order is a firm planned receipt: its components are exploded from all it has to make,
    and the pegging tree of one of the two orders it serves shows that order's share of them."""
    f = chair_factory
    planner, sales = login("planner"), login("sales")
    draft = planner.post("/api/production-orders", json={"item": f["fg"], "quantity": "40", "site": "NB1",
                                                         "due_date": week(5)})
    assert draft.status_code == 201, draft.text
    first, second = (approved_order(sales, f["customer"], [(f["fg"], "20")], MONDAY + timedelta(days=30),
                                    unit_price="0") for _ in range(2))
    run = run_mrp(planner)
    assert planned(planner, run, f["fg"]) == []  # the draft's 40 serve both orders
    [semi] = planned(planner, run, f["semi"])  # 2 x 40 for the draft, by its release in week 4
    assert (semi["quantity"], semi["receipt_period"]) == ("80", 4)
    for order in (first, second):
        demand = f"sales:{order['code']}:{order['lines'][0]['line_no']}"
        tree = planner.get(f"/api/mrp/runs/{run['id']}/pegging", params={"demand": demand}).json()
        assert [(n["supply"], n["quantity"]) for n in tree] == [(f"production:{draft.json()['code']}", "20")]
        below = {n["item"]: (n["supply"], n["quantity"]) for n in tree[0]["components"]}
        assert below == {f["semi"]: (semi["key"], "40"), f["raw1"]: (below[f["raw1"]][0], "20")}
