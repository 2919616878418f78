"""The demo factory's production orders read into the scheduling engine and scheduled, on a server of the test's
own: the released order of 20 CH-ERGO (assembly then packing) and the 10 draft orders MRP firms for 40 task chairs
(chairs fed by their seat and backrest assemblies). The read is `read_schedule_input` on the server's database, the
live read of a schedule; the schedule passes the validator, the child orders end before the chairs they feed start,
and every operation sits in its work centre's shifts. The demo holds no stock: the released chairs wait for their
armrests, and the cutter, with four setup families on two machines, changes over at least twice."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from itertools import pairwise
from zoneinfo import ZoneInfo

from server.planning.schedule_check import check_schedule
from server.planning.schedule_snapshot import read_schedule_input
from server.planning.scheduler import solve
from tests.clients import office
from tests.factory import approved_order
from tests.planning.driver import read_with_driver

NOW = datetime.now(timezone.utc)


def read(database_url: str, site: str = "NB1"):
    """`read_schedule_input` on the server's database, through the bare driver (the server reads through
    `server.db.read_snapshot`, one consistent view; a test's reads see a database nothing writes meanwhile)."""
    return read_with_driver(database_url, lambda fetch: read_schedule_input(fetch, site, NOW))


def test_the_demo_factory_released_and_firmed_orders_are_scheduled_in_shifts_and_levels(fresh_server):
    srv = fresh_server(demo=True)
    planner, sales = office(srv.url, "planner"), office(srv.url, "sales")
    try:
        today = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()
        approved_order(sales, "C-BJYB", [("CH-TASK", "40", "499.00")], today + timedelta(days=21))
        run = planner.post("/api/mrp/runs", json={"site": "NB1"})
        assert run.status_code == 201, run.text
        listed = planner.get(f"/api/mrp/runs/{run.json()['id']}/planned-orders", params={"limit": 5000}).json()
        made = [o["key"] for o in listed if o["kind"] == "production"]
        response = planner.post(f"/api/mrp/runs/{run.json()['id']}/firm-production", json={"keys": made})
        assert response.status_code == 200, response.text
        firmed = {row["firmed_as"] for row in response.json()}
        released = [o for o in planner.get("/api/production-orders", params={"limit": 200}).json()["items"]
                    if o["status"] == "released"]
    finally:
        planner.close()
        sales.close()
    assert len(firmed) == 10 and len(released) == 1

    schedule_input = read(srv.database.url)
    problem = schedule_input.problem
    ergo = released[0]["code"]
    assert sorted((op.sequence, op.work_centre, op.minutes) for op in problem.operations if op.order == ergo) == [
        (10, "ASM", 223),  # (20 + 9 x 20) minutes at 90 % efficiency = 222.2, rounded up
        (20, "PACK", 58),  # (5 + 2.5 x 20) minutes at 95 % = 57.9
    ]
    assert {o.id for o in problem.orders} == firmed | {ergo}
    feeding = [o for o in problem.orders if o.feeds]
    assert feeding and all(parent in firmed for o in feeding for parent in o.feeds)
    centres = {c.code: c for c in problem.work_centres}
    assert centres["ASM"].machines == 4 and centres["CUT"].machines == 2
    # The assembly line works 06:00-22:00 (two shifts, one stretch) from Monday to Saturday.
    first_day = [(a, b) for a, b in centres["ASM"].open_time if 0 <= a < 6 * 1440]
    assert all((a % 1440, b % 1440) == (360, 1320) for a, b in first_day)

    # Its assembly needs 20 armrests (ARM-2D): none on hand, none on order, and S-NBCASTOR takes 21 days.
    assert [schedule_input.at(op.release) for op in problem.operations if op.order == ergo and op.sequence == 10] == [
        datetime.combine(today + timedelta(days=21), time())]
    assert {op.family for op in problem.operations if op.work_centre == "CUT"} == {
        "MESH-SEAT", "MESH-BACK", "WOOL-SEAT", "WOOL-BACK"}
    assert centres["CUT"].setup_minutes[("WOOL-BACK", "MESH-BACK")] == 45 and centres["SEW"].setup_minutes == {}

    schedule = solve(problem, seconds=10, workers=2)
    assert schedule.status in ("optimal", "feasible")
    assert check_schedule(problem, schedule.placements) == []
    placed = {p.operation: p for p in schedule.placements}
    families = {op.id: op.family for op in problem.operations}
    changes = [centres[a.work_centre].setup_minutes.get((families[a.operation], families[b.operation]), 0)
               for a, b in pairwise(sorted(schedule.placements, key=lambda p: (p.work_centre, p.machine, p.start)))
               if (a.work_centre, a.machine) == (b.work_centre, b.machine)]
    assert schedule.objective.setup_minutes == sum(changes) >= 2 * 10
    assert all(p.start >= problem.now for p in placed.values())
    for order in feeding:
        child_end = max(p.end for p in placed.values() if p.operation.startswith(order.id + "/"))
        parent_start = min(p.start for p in placed.values() if p.operation.startswith(order.feeds[0] + "/"))
        assert child_end <= parent_start
    assert schedule_input.at(problem.now) <= NOW.astimezone(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
