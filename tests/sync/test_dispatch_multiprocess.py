"""A breakdown reported on one server process reschedules the site, and the changed dispatch list reaches a tablet
held by another process: two `floorsync serve` processes on one PostgreSQL database, live events through Redis.
The assembly line's tablet on process A reports the line down; the site's schedule is made again around the
downtime by itself and accepted, and the assembly tablet on process B is poked and pulls assembly's new list, in
which nothing starts while the line is down. PostgreSQL + Redis only (conftest.py deselects it on SQLite)."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import closing
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.clients import office
from tests.factory import count_in, pushed, released_production_order
from tests.live_sockets import drain, next_message, open_live
from tests.servers import Server, free_port, make_server, server_env
from tests.sync_fixtures import enrolled_device

NEW_LIST_WITHIN_SECONDS = 30  # the reschedule's solve is given 5 s; the rest is a push, a poke and a pull


def materials_in_stock(planner, clerk) -> None:
    """Every material of the released orders counted in, so their operations may start now (not when a purchase
    brings what they consume)."""
    needed: dict[str, Decimal] = defaultdict(Decimal)
    for order in planner.get("/api/production-orders", params={"limit": 200}).json()["items"]:
        if order["status"] == "released":
            for material in planner.get(f"/api/production-orders/{order['code']}").json()["materials"]:
                needed[material["item"]] += Decimal(material["required_quantity"])
    for item, quantity in needed.items():
        lot = "DISPATCH-1" if planner.get(f"/api/items/{item}").json()["lot_tracked"] else None
        count_in(clerk, item, "RM-A-01-01", str(quantity), lot)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """Process A with the demo factory, two more released orders and their materials in stock, nothing frozen (every
    operation may move), and an accepted schedule; process B on the same database (migrated by A's start)."""
    a = make_server(tmp_path_factory.mktemp("process_a"))
    b = Server(database=a.database, port=free_port(), env=server_env(a.database, tmp_path_factory.mktemp("process_b"))).start()
    with closing(office(a.url, "planner")) as planner:
        settings = {k: v for k, v in planner.get("/api/planning/settings").json().items() if k != "updated_by"}
        assert planner.put("/api/planning/settings", json={**settings, "frozen_hours": 0}).status_code == 200
        for quantity, due_in_days in (("10", 3), ("15", 5)):
            released_production_order(planner, "CH-ERGO", quantity, due_in_days)
        with closing(office(a.url, "warehouse")) as clerk:
            materials_in_stock(planner, clerk)
        proposal = planner.post("/api/schedules", json={"site": "NB1", "seconds": 2})
        assert proposal.status_code == 201, proposal.text
        assert planner.post(f"/api/schedules/{proposal.json()['id']}/accept").status_code == 200
    yield a, b
    b.stop()
    a.stop()
    a.database.drop()


def test_a_breakdown_reported_on_process_a_sends_the_new_dispatch_list_to_a_tablet_on_process_b(two_processes, tmp_path):
    a, b = two_processes
    with closing(office(a.url, "supervisor")) as supervisor:
        reporter = enrolled_device(a.url, supervisor, tmp_path, work_centres=["ASM"])
        listener = enrolled_device(b.url, supervisor, tmp_path, work_centres=["ASM"])
    socket = open_live(b.url, listener.token)
    try:
        listener.pull_all()
        before = listener.replica("dispatch")["ASM"]
        drain(socket)
        down = pushed(reporter, "production.downtime", {"work_centre": "ASM", "action": "start", "reason": "Press jam"})
        assert down["status"] == "applied", down
        reported, reported_at = time.monotonic(), datetime.now(timezone.utc)
        deadline = reported + NEW_LIST_WITHIN_SECONDS
        after = before
        while after["run"] == before["run"]:  # the downtime itself pokes first; the new list follows the reschedule
            poke = next_message(socket, "poke", deadline - time.monotonic())
            assert poke is not None, f"no new dispatch list on process B within {NEW_LIST_WITHIN_SECONDS} s"
            listener.pull_all()
            assert listener.cursor >= poke["cursor"]
            after = listener.replica("dispatch")["ASM"]
        print(f"new dispatch list on process B {time.monotonic() - reported:.1f} s after the breakdown")
    finally:
        socket.close()
        reporter.close()
        listener.close()
    with closing(office(b.url, "planner")) as planner:
        accepted = planner.get("/api/schedules/accepted", params={"site": "NB1"}).json()
    assert accepted["id"] == after["run"] and accepted["reason"] == "downtime"
    assert {op["production_order"] for op in after["operations"]} == {op["production_order"] for op in before["operations"]}
    for op in after["operations"]:  # closed for the settings' 120 minutes from when it went down
        start = datetime.fromisoformat(op["start_at"])
        assert not (reported_at - timedelta(minutes=1) <= start < reported_at + timedelta(minutes=119)), op
