"""Schedules through the API on the demo factory, on a server of the module's own: a planner proposes a schedule
of the released and firmed orders, accepts it, proposes again and nothing moves; pins an operation to a later time
and to another work centre, sees it land there and what moved, accepts; a proposal made against a schedule since
replaced cannot be accepted; a work centre reported down by a tablet reschedules the site around the downtime by
itself; an operation behind its schedule and an order line the schedule finishes after its promise are announced;
the assembly line and packing sharing a crew set through the REST API run no more operations at once than it has
operators. And the refusals."""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.clients import office
from tests.factory import chairs_planned_and_firmed, pushed, run_sql
from tests.servers import make_server
from tests.sync_fixtures import enrolled_device
from tests.webhook_receiver import Receiver

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    """The demo factory with an approved order of 40 task chairs planned by MRP and its production firmed."""
    srv = make_server(tmp_path_factory.mktemp("schedules"), FLOORSYNC_LATE_CHECK_SECONDS="0.5")
    chairs_planned_and_firmed(srv)
    yield srv
    srv.stop()
    srv.database.drop()


def proposed(planner, **body) -> dict:
    response = planner.post("/api/schedules", json={"site": "NB1", "seconds": 1, **body})
    assert response.status_code == 201, response.text
    return response.json()


def accepted(planner, run: dict) -> dict:
    response = planner.post(f"/api/schedules/{run['id']}/accept")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_planner_proposes_accepts_pins_and_a_proposal_against_a_replaced_schedule_is_refused(factory):
    planner = office(factory.url, "planner")
    first = proposed(planner)
    assert first["status"] == "proposed" and first["based_on"] is None and first["moved"] == 0
    assert first["engine_status"] in ("optimal", "feasible", "list")
    ops = {op["operation"]: op for op in first["scheduled"]}
    # The released order of 20 CH-ERGO: (20 + 9 x 20) minutes at ASM's 90 % = 223, (5 + 2.5 x 20) at PACK's 95 % = 58.
    released = [o["code"] for o in planner.get("/api/production-orders", params={"limit": 200}).json()["items"]
                if o["status"] == "released"]
    ergo = [op for op in first["scheduled"] if op["production_order"] in released]
    assert sorted((op["sequence"], op["work_centre"], op["minutes"]) for op in ergo) == [(10, "ASM", 223), (20, "PACK", 58)]
    assert len(ops) == first["operations"] and first["weighted_tardiness"] <= first["list_weighted_tardiness"]
    for op in first["scheduled"]:  # in the shifts: ASM works 06:00-22:00 Monday to Saturday
        if op["work_centre"] == "ASM":
            start = datetime.fromisoformat(op["start_at"]).astimezone(SHANGHAI)
            assert 6 <= start.hour < 22 and start.weekday() < 6, op
    accepted(planner, first)
    assert planner.get("/api/schedules/accepted", params={"site": "NB1"}).json()["id"] == first["id"]

    again = proposed(planner)  # nothing changed: nothing moves but by the minutes since (an operation due to start
    # at once has not been reported started, so it and what follows it on its machine slip by as much), unless the
    # solver, whose first schedule was not proven optimal in its seconds, now finds a better one
    assert again["based_on"] == first["id"]
    if again["engine_status"] == "kept":
        elapsed = datetime.fromisoformat(again["created_at"]) - datetime.fromisoformat(first["created_at"])
        for op in again["scheduled"]:
            slip = datetime.fromisoformat(op["start_at"]) - datetime.fromisoformat(ops[op["operation"]]["start_at"])
            assert timedelta(0) <= slip <= elapsed + timedelta(minutes=1), op
            assert op["moved"] == (slip > timedelta(0))
    else:
        assert first["engine_status"] != "optimal", (first, again)

    # Pin a free operation three days later than it was, on the cutting centre's shifts, and another to PACK.
    free = [op for op in first["scheduled"] if not op["frozen"] and op["work_centre"] == "CUT"]
    target = free[-1]
    later = (datetime.fromisoformat(target["start_at"]) + timedelta(days=3)).astimezone(SHANGHAI).replace(
        hour=8, minute=0, second=0, microsecond=0)
    pinned = proposed(planner, pins=[{"operation": target["operation"], "not_before": later.isoformat()}])
    landed = next(op for op in pinned["scheduled"] if op["operation"] == target["operation"])
    assert datetime.fromisoformat(landed["start_at"]) >= later and landed["moved"]
    assert pinned["moved"] >= 1 and pinned["pins"][0]["operation"] == target["operation"]

    rival = proposed(planner)  # made against the same accepted schedule as the pinned one
    accepted(planner, pinned)
    stale = planner.post(f"/api/schedules/{rival['id']}/accept")
    assert stale.status_code == 409 and stale.json()["code"] == "schedule_stale"
    again = planner.post(f"/api/schedules/{pinned['id']}/accept")
    assert again.status_code == 409 and again.json()["code"] == "schedule_not_proposed"
    discarded = planner.post(f"/api/schedules/{rival['id']}/discard")
    assert discarded.status_code == 200 and discarded.json()["status"] == "discarded"
    listed = {run["id"]: run["status"] for run in planner.get("/api/schedules", params={"site": "NB1"}).json()}
    assert listed[first["id"]] == "superseded" and listed[pinned["id"]] == "accepted"
    planner.close()


def test_a_work_centre_reported_down_on_a_tablet_reschedules_the_site_around_it(factory, tmp_path):
    planner = office(factory.url, "planner")
    if planner.get("/api/schedules/accepted", params={"site": "NB1"}).status_code == 404:  # the tests run in any order
        accepted(planner, proposed(planner))
    current = planner.get("/api/schedules/accepted", params={"site": "NB1"}).json()
    device = enrolled_device(factory.url, office(factory.url, "supervisor"), tmp_path)
    try:
        down = pushed(device, "production.downtime", {"work_centre": "ASM", "action": "start", "reason": "Press jam"})
        assert down["status"] == "applied", down
        reported = datetime.now(timezone.utc)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            latest = planner.get("/api/schedules/accepted", params={"site": "NB1"}).json()
            if latest["id"] != current["id"]:
                break
            time.sleep(0.5)
        else:
            pytest.fail("no schedule after the downtime")
    finally:
        device.close()
    assert latest["reason"] == "downtime" and latest["based_on"] == current["id"] and latest["created_by"] == "system"
    # Closed for the settings' 120 minutes from when it went down: nothing starts at ASM in that time.
    for op in latest["scheduled"]:
        if op["work_centre"] == "ASM" and not op["frozen"]:
            start = datetime.fromisoformat(op["start_at"])
            assert not (reported - timedelta(minutes=1) <= start < reported + timedelta(minutes=119)), op
    planner.close()


def test_schedule_refusals(factory):
    planner, sales = office(factory.url, "planner"), office(factory.url, "sales")
    try:
        assert sales.post("/api/schedules", json={"site": "NB1"}).status_code == 403
        unknown_site = planner.post("/api/schedules", json={"site": "NOPE"})
        assert unknown_site.status_code == 404 and unknown_site.json()["code"] == "not_found"
        unknown_op = planner.post("/api/schedules", json={"site": "NB1", "pins": [
            {"operation": "PRD-NOPE/10", "work_centre": "PACK"}]})
        assert unknown_op.status_code == 422 and unknown_op.json()["code"] == "unknown_operation"
        naive = planner.post("/api/schedules", json={"site": "NB1", "pins": [
            {"operation": "PRD-NOPE/10", "not_before": "2026-12-08T08:00:00"}]})
        assert naive.status_code == 422 and naive.json()["code"] == "pin_without_time_zone", naive.text
        assert naive.json()["details"]["field"] == "pins[0].not_before"
        empty_pin = planner.post("/api/schedules", json={"site": "NB1", "pins": [{"operation": "PRD-NOPE/10"}]})
        assert empty_pin.status_code == 422 and empty_pin.json()["code"] == "pin_without_target", empty_pin.text
        twice = planner.post("/api/schedules", json={"site": "NB1", "pins": [
            {"operation": "PRD-NOPE/10", "work_centre": "PACK"}, {"operation": "PRD-NOPE/10", "work_centre": "ASM"}]})
        assert twice.status_code == 422 and twice.json()["code"] == "pinned_twice", twice.text
        assert planner.post("/api/schedules/999999/accept").json()["code"] == "not_found"
    finally:
        planner.close()
        sales.close()


def _working_day_before(planner, days: int) -> date:
    centre = planner.get("/api/work_centres/ASM").json()
    day = datetime.now(SHANGHAI).date() - timedelta(days=days)
    while day.isoweekday() not in centre["working_days"] or day.isoformat() in {str(h) for h in centre["holidays"]}:
        day -= timedelta(days=1)
    return day


def test_an_operation_behind_its_schedule_and_a_line_finishing_after_its_promise_are_announced(factory):
    planner, admin, sales = office(factory.url, "planner"), office(factory.url, "admin"), office(factory.url, "sales")
    receiver = Receiver()
    try:
        if planner.get("/api/schedules/accepted", params={"site": "NB1"}).status_code == 404:
            accepted(planner, proposed(planner))
        schedule = planner.get("/api/schedules/accepted", params={"site": "NB1"}).json()
        subscription = admin.post("/api/webhooks", json={"url": receiver.url,
                                                         "event_types": ["production.behind_plan", "sales_order.late"]})
        assert subscription.status_code == 201, subscription.text
        # The released CH-ERGO order's assembly (223 working minutes for all 20, none reported) was to run from 08:00
        # on a working day at least three days ago: set its place back behind the API's back, as time would. All 223
        # minutes should be done by now and none is: 223 behind, over the settings' 60.
        released = [o["code"] for o in planner.get("/api/production-orders", params={"limit": 200}).json()["items"]
                    if o["status"] == "released"]
        assembly = next(op for op in schedule["scheduled"] if op["production_order"] in released and op["sequence"] == 10)
        start = datetime.combine(_working_day_before(planner, 3), datetime.min.time(), SHANGHAI).replace(hour=8)
        run_sql(factory, "UPDATE scheduled_operation SET start_at = ?, end_at = ? WHERE run = ? AND production_order = ? "
                "AND sequence = 10", str(start.astimezone(timezone.utc)),
                str((start + timedelta(minutes=223)).astimezone(timezone.utc)), schedule["id"], assembly["production_order"])
        # The chairs made for the order finish on the schedule's last day for them; promise the line a day before.
        chairs = [op for op in schedule["scheduled"] if op["sales_order"] and op["item"] == "CH-TASK"]
        finish = max(datetime.fromisoformat(op["end_at"]) for op in chairs).astimezone(SHANGHAI).date()
        order = chairs[0]["sales_order"]
        promise = max(finish - timedelta(days=1), datetime.now(SHANGHAI).date())
        assert promise < finish, "the schedule finishes the chairs today: nothing can be promised before"
        run_sql(factory, "UPDATE sales_order_line SET promised_date = ? WHERE sales_order = "
                "(SELECT id FROM sales_order WHERE code = ?)", promise.isoformat(), order)
        # The demo holds no stock, so the chairs may have finished after the line's own date since the first schedule
        # (their backrest frames take 21 days to buy) and been announced then, before this test listened: forget it.
        run_sql(factory, "DELETE FROM sales_order_alert WHERE sales_order = ?", order)

        deadline = time.monotonic() + 90
        def heard() -> set[str]:
            return {body["type"] for body in map(lambda r: json.loads(r.body), receiver.requests)
                    if body["type"] == "production.behind_plan" or body["data"].get("sales_order") == order}
        while time.monotonic() < deadline and len(heard()) < 2:
            time.sleep(0.2)
        time.sleep(1.2)  # more runs of the watch: nothing is announced twice
        events = [json.loads(r.body) for r in receiver.requests]
        behind = [e["data"] for e in events if e["type"] == "production.behind_plan"]
        assert [(e["operation"], e["behind_minutes"], e["done_pct"]) for e in behind] == [
            (f"{assembly['production_order']}/10", 223, 0)]
        late = [e["data"] for e in events if e["type"] == "sales_order.late" and e["data"]["sales_order"] == order]
        # Once per risk is test_sales_tracking's to prove: here an announcement made between the subscription and
        # the forgetting above may come a second time.
        assert {(e["sales_order"], e["risk"], e["risk_reason_key"]) for e in late} == {(order, "at_risk", "risk.scheduled_late")}
        tracked = sales.get(f"/api/sales-orders/{order}/tracking").json()
        line = tracked["lines"][0]
        assert line["risk"] == "at_risk" and line["risk_reason_params"] == {"finish": finish.isoformat(),
                                                                           "promise": promise.isoformat()}
    finally:
        receiver.close()
        for client in (planner, admin, sales):
            client.close()


def _on_line(run: dict) -> list[tuple[datetime, datetime, bool]]:
    """The assembly line's and packing's operations of a proposed schedule: plant-local start and end, frozen."""
    return [(datetime.fromisoformat(op["start_at"]).astimezone(SHANGHAI),
             datetime.fromisoformat(op["end_at"]).astimezone(SHANGHAI), op["frozen"])
            for op in run["scheduled"] if op["work_centre"] in ("ASM", "PACK")]


def _running(spans: list[tuple[datetime, datetime, bool]], moment: datetime) -> int:
    return sum(1 for start, end, _ in spans if start <= moment < end)


def test_assembly_and_packing_sharing_a_crew_run_two_operations_at_once_early_and_one_after(factory):
    """The assembly line (4 stations; Early 06:00-14:00, Late 14:00-22:00) and packing (2 stations; Day
    08:00-17:00) could run six operations at once; made to share crew NB1-LINE through the API (2 operators on the
    Early shift, 1 on any other), a schedule proposed then starts an operation of theirs only where it finds an
    operator: at most 2 at once before 14:00, 1 after (the server's validator checks the crew too, or nothing would
    be offered). Set back afterwards."""
    planner = office(factory.url, "planner")
    try:
        crew = planner.post("/api/crews", json={"code": "NB1-LINE", "name": "Assembly and packing", "site": "NB1",
                                                "operators": [{"shift": "Early", "operators": 2}]})
        assert crew.status_code == 201, crew.text
        for centre in ("ASM", "PACK"):
            assert planner.patch(f"/api/work_centres/{centre}", json={"crew": "NB1-LINE"}).status_code == 200
        shared = _on_line(proposed(planner))
        assert len(shared) > 6
        for start, end, frozen in shared:
            if not frozen:
                assert _running(shared, start) <= (2 if 6 <= start.hour < 14 else 1), (start, end)
    finally:
        for centre in ("ASM", "PACK"):
            planner.patch(f"/api/work_centres/{centre}", json={"crew": None})
        planner.post("/api/crews/NB1-LINE/archive")
        planner.close()
