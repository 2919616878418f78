"""MRP on the demo factory (server/demo.py, as `make run` loads it), on a server of the test's own: an approved
order for 40 basic task chairs, planned in daily periods, gives exactly the planned orders worked out by hand below
for every item of the factory; receiving a purchase order early turns its expedite message into none; firming the
plan creates those production orders and purchase orders, and the next run proposes nothing.

Daily periods make every demo date fixed: the demo's documents are dated today + N days, which is period N + 1
(today is period 1). A made item's lead time is its routing at a lot of one (a few minutes) laid on its first work
centre's calendar: one working day, so 1 day when today is a working day of that centre, more over a weekend or a
plant holiday (`lead()` below counts them). A bought item's is its supplier's, in days.

What the demo holds that MRP sees (nothing on hand; every raw item and chair has a safety stock):
- the approved order BW-4711, 20 CH-ERGO due today + 10 (period 11);
- a released production order of 20 CH-ERGO due today + 5 (a receipt in period 6) whose material, none issued yet,
  is needed now (period 1): per chair 1 SA-MESH, 1 BA-MESH, 1 MECH-SYN, 1 ARM-2D, 1 BASE-NY5, 5 CST-50, 1 GAS-C4,
  1 CARTON-L, 12 SCR-M6-20 + 2 % (244.8, rounded up to the piece: 245);
- purchase orders: GAS-C4 500 and MECH-SYN 200 due today + 7 (period 8), FAB-MESH-BK 300 today + 5 (period 6),
  FAB-WOOL-GR 150 today + 10 (period 11); a draft for CST-50 2000 and BASE-NY5 100 today + 14 (period 15);
- two orders not approved (one held for credit, one waiting for its discount): no demand.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from server.demo import MON_TO_FRI, MON_TO_SAT, PLANT_HOLIDAYS
from tests.clients import office
from tests.factory import approved_order

TODAY = datetime.now(timezone.utc).date()


def day(period: int) -> str:
    return (TODAY + timedelta(days=period - 1)).isoformat()


def lead(working_days: list[int], holidays: list[date]) -> int:
    """Days until the end of the first working day of a calendar, today counted as day 1."""
    days, current = 1, TODAY
    while current.isoweekday() not in working_days or current in holidays:
        days, current = days + 1, current + timedelta(days=1)
    return days


def planned_by_item(planner, run: dict) -> dict[str, list[tuple[str, int, int]]]:
    response = planner.get(f"/api/mrp/runs/{run['id']}/planned-orders", params={"limit": 5000})
    assert response.status_code == 200, response.text
    plan: dict[str, list[tuple[str, int, int]]] = {}
    for order in response.json():
        assert (order["receipt_date"], order["release_date"]) == (day(order["receipt_period"]),
                                                                   day(order["release_period"])), order
        plan.setdefault(order["item"], []).append((order["quantity"], order["receipt_period"], order["release_period"]))
    return {item: sorted(orders, key=lambda o: o[1]) for item, orders in plan.items()}


def run_mrp(planner) -> dict:
    response = planner.post("/api/mrp/runs", json={"site": "NB1"})
    assert response.status_code == 201, response.text
    return response.json()


def test_an_order_for_40_task_chairs_on_the_demo_factory_is_planned_as_worked_by_hand_then_firmed(fresh_server):
    srv = fresh_server(demo=True)
    planner, buyer, sales = (office(srv.url, name) for name in ("planner", "buyer", "sales"))
    try:
        assert planner.put("/api/planning/settings", json={"bucket": "day", "horizon": 40}).status_code == 200
        order = approved_order(sales, "C-BJYB", [("CH-TASK", "40", "499.00")], TODAY + timedelta(days=21))
        # chairs start on the assembly line (Monday to Saturday), seat and backrest assemblies at cutting (Monday to
        # Friday): one working day each
        chair, part = lead(MON_TO_SAT, PLANT_HOLIDAYS), lead(MON_TO_FRI, PLANT_HOLIDAYS)
        ship = 22  # the 40 chairs are due today + 21
        chairs_start = ship - chair  # the chairs' release: their parts and hardware are needed then
        parts_start = chairs_start - part  # the wool seat and backrest assemblies' release
        assert parts_start > 15, "the demo's receipts (periods 6 to 15) all come before the second wave"

        first = run_mrp(planner)
        # Level 0. Chairs: on hand 0 against a safety stock is short today (period 1), released before today.
        # CH-ERGO: 20 short of its safety stock today; the production order's 20 (period 6) then meet the 20 ordered
        #   (period 11): one planned order of 20 in period 1.
        # CH-EXEC: 10 short today, nothing ordered: 10 in period 1.
        # CH-TASK: 30 short today; in period 22 the 40 ordered take the balance to -10, 40 below 30: 40 more.
        # Level 1, needed when the chairs are released (period 1 for the first wave, `chairs_start` for the 40):
        # SA-WOOL, BA-WOOL: 10 (EXEC) + 30 (TASK) = 40 in period 1, and 40 for the 40 chairs.
        # SA-MESH, BA-MESH: 20 (ERGO's planned order) + 20 (the released order's material) = 40 in period 1.
        # MECH-SYN (safety 30): 20 + 20 + 10 = 50 today, 80 to reach 30; its 200 (period 8) come later.
        # ARM-2D (safety 40): 20 + 20 + 10 = 50, so 90.
        # BASE-NY5 (safety 60): 20 + 20 + 10 + 30 = 80, so 140; the 100 of the draft (period 15) leave 160, and
        #   the 40 of the second wave 120: above safety, nothing more.
        # CST-50 (safety 500): 5 x (20 + 20 + 10 + 30) = 400, so 900; 2000 in period 15 cover the 200 later.
        # GAS-C4 (safety 60): 80, so 140; the 500 of period 8 cover the 40 later.
        # CARTON-L (safety 100): 80, so 180; later 100 - 40 = 60, 40 below safety: 40 more at the second wave.
        # Level 2, needed when the assemblies are released (period 1, and `parts_start` for the 40 chairs' wool
        # parts; SCR-M6-20 also under the chairs, at `chairs_start`):
        # PLY-SEAT (safety 50): 40 (SA-WOOL) + 40 (SA-MESH) = 80, so 130; later 40: 40 more.
        # FOAM-SEAT (safety 50, 2 % scrap, whole pieces): 40.8 -> 41 for each seat order: 82, so 132; later 41.
        # FOAM-BACK (safety 40, 2 %): 41 (BA-WOOL), so 81; later 41.
        # FRAME-BACK (safety 40): 40 (BA-WOOL) + 40 (BA-MESH) = 80, so 120; later 40.
        # FAB-WOOL-GR (safety 80, metres): 40 x 0.9 x 1.08 = 38.88 (seats) + 40 x 0.8 x 1.08 = 34.56 (backs) =
        #   73.44 today, so 153.44; the 150 of period 11 leave 230, and 230 - 73.44 = 156.56 later: nothing more.
        # FAB-MESH-BK (safety 100): 40 x 0.8 x 1.05 = 33.6 + 40 x 0.7 x 1.05 = 29.4 = 63, so 163; 300 in period 6.
        # GLUE-PU (safety 20, kg): 40 x 0.06 = 2.4 (SA-WOOL) + 40 x 0.05 = 2 (BA-WOOL) + 2 (SA-MESH) = 6.4, so
        #   26.4; later 2.4 + 2 = 4.4 below safety: 4.4 more.
        # SCR-M6-20 (safety 2000): 245 (ERGO planned) + 245 (the released order) + 12 x 10 x 1.02 = 122.4 -> 123
        #   (EXEC) + 8 x 30 x 1.02 = 244.8 -> 245 (TASK) + 4 x 40 x 1.01 = 161.6 -> 162 (SA-MESH) = 1020 today,
        #   so 3020; at the 40 chairs' release 8 x 40 x 1.02 = 326.4 -> 327 more.
        # Releases: a chair 1 day (`chair`) before, an assembly `part`, a bought item its supplier's days before.
        now, second = 1, chairs_start
        worked = {
            "CH-ERGO": [("20", now, now - chair)],
            "CH-EXEC": [("10", now, now - chair)],
            "CH-TASK": [("30", now, now - chair), ("40", ship, ship - chair)],
            "SA-WOOL": [("40", now, now - part), ("40", second, second - part)],
            "BA-WOOL": [("40", now, now - part), ("40", second, second - part)],
            "SA-MESH": [("40", now, now - part)],
            "BA-MESH": [("40", now, now - part)],
            "MECH-SYN": [("80", now, now - 28)],
            "ARM-2D": [("90", now, now - 21)],
            "BASE-NY5": [("140", now, now - 14)],
            "CST-50": [("900", now, now - 14)],
            "GAS-C4": [("140", now, now - 28)],
            "CARTON-L": [("180", now, now - 7), ("40", second, second - 7)],
            "PLY-SEAT": [("130", now, now - 10), ("40", parts_start, parts_start - 10)],
            "FOAM-SEAT": [("132", now, now - 10), ("41", parts_start, parts_start - 10)],
            "FOAM-BACK": [("81", now, now - 10), ("41", parts_start, parts_start - 10)],
            "FRAME-BACK": [("120", now, now - 21), ("40", parts_start, parts_start - 21)],
            "FAB-WOOL-GR": [("153.44", now, now - 20)],
            "FAB-MESH-BK": [("163", now, now - 15)],
            "GLUE-PU": [("26.4", now, now - 7), ("4.4", parts_start, parts_start - 7)],
            "SCR-M6-20": [("3020", now, now - 7), ("327", second, second - 7)],
        }
        assert planned_by_item(planner, first) == worked

        # FAB-WOOL-GR's purchase order (150, period 11) is needed today: expedite. Received today, it is on hand:
        # 150 - 73.44 = 76.56, 3.44 below safety today; at the second wave 80 - 73.44 = 6.56: 73.44 more.
        po = next(o for o in buyer.get("/api/purchase-orders", params={"status": "approved", "supplier": "S-SXTEXTILE"}
                                       ).json()["items"] if any(l["item"] == "FAB-WOOL-GR" for l in o["lines"]))
        line = next(l for l in po["lines"] if l["item"] == "FAB-WOOL-GR")
        messages = planner.get(f"/api/mrp/runs/{first['id']}/exceptions", params={"item": "FAB-WOOL-GR"}).json()
        assert [(m["code"], m["period"]) for m in messages if f"{po['code']} / {line['line_no']}" in m["message"]] == [
            ("expedite", 1)]
        received = office(srv.url, "warehouse").post("/api/stock/receipts", json={
            "purchase_order": po["code"], "line_no": line["line_no"], "item": "FAB-WOOL-GR", "lot": "DYE-0142",
            "location": "RM-B-01-01", "quantity": "150"})
        assert received.status_code == 201, received.text
        again = run_mrp(planner)
        messages = planner.get(f"/api/mrp/runs/{again['id']}/exceptions", params={"item": "FAB-WOOL-GR"}).json()
        assert [m for m in messages if po["code"] in m["message"]] == []
        worked["FAB-WOOL-GR"] = [("3.44", now, now - 20), ("73.44", parts_start, parts_start - 20)]
        assert planned_by_item(planner, again) == worked

        # Firming: every planned order becomes a draft production order or a draft purchase order (one per
        # supplier, at least its minimum order quantity); the next run sees them as receipts and proposes nothing.
        listed = planner.get(f"/api/mrp/runs/{again['id']}/planned-orders", params={"limit": 5000}).json()
        made = [o["key"] for o in listed if o["kind"] == "production"]
        bought = [o["key"] for o in listed if o["kind"] == "purchase"]
        assert len(made) == 10 and len(bought) == 22
        response = planner.post(f"/api/mrp/runs/{again['id']}/firm-production", json={"keys": made})
        assert response.status_code == 200, response.text
        orders = {row["key"]: row["firmed_as"] for row in response.json()}
        assert all(row["created"] for row in response.json()) and len(set(orders.values())) == 10
        task = planner.get(f"/api/production-orders/{orders[f'CH-TASK@{ship}']}").json()
        assert (task["item"], task["quantity"], task["due_date"], task["status"]) == ("CH-TASK", "40", day(ship), "draft")
        assert (task["sales_order"], task["sales_order_line"]) == (order["code"], order["lines"][0]["line_no"])
        seat = planner.get(f"/api/production-orders/{orders[f'SA-WOOL@{second}']}").json()
        assert (seat["quantity"], seat["due_date"], seat["parent_order"]) == ("40", day(second), task["code"])
        response = buyer.post(f"/api/mrp/runs/{again['id']}/firm-purchases", json={"keys": bought})
        assert response.status_code == 200, response.text
        purchase_orders = {row["firmed_as"] for row in response.json()}
        drafts = [buyer.get(f"/api/purchase-orders/{code}").json() for code in sorted(purchase_orders)]
        assert sorted(po["supplier"] for po in drafts) == ["S-FSFOAM", "S-LIFTTEC", "S-NBCASTOR", "S-SXTEXTILE"]
        assert {po["status"] for po in drafts} == {"draft"} and sum(len(po["lines"]) for po in drafts) == 22
        [foam] = [po for po in drafts if po["supplier"] == "S-FSFOAM"]
        # the supplier's minimum order quantity: 26.4 kg of glue is ordered as 50, 4.4 as 50; cartons 180 and 40
        # as 500 each
        assert sorted((l["item"], l["quantity"], l["due_date"]) for l in foam["lines"] if l["item"] in (
            "GLUE-PU", "CARTON-L")) == sorted([("GLUE-PU", "50", day(now)), ("GLUE-PU", "50", day(parts_start)),
                                               ("CARTON-L", "500", day(now)), ("CARTON-L", "500", day(second))])
        last = run_mrp(planner)
        assert last["planned_orders"] == 0, planned_by_item(planner, last)
        page = planner.get("/planning", params={"site": "NB1"})
        assert page.status_code == 200 and f"Since run {again['id']}: 0 new, 0 changed, 32 gone" in page.text
    finally:
        for client in (planner, buyer, sales):
            client.close()
