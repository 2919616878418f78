"""Dispatch lists through the sync protocol, on a server of the module's own with the demo factory and two more
released orders of ergonomic chairs (assembly, then packing): a planner accepts a schedule and a tablet scoped to
assembly pulls assembly's list, its operations in start order; a packing tablet gets packing's and never assembly's;
a tablet of the whole site gets both, and no list for a work centre with nothing scheduled. A new schedule with
one more order reaches the assembly tablet as a new list, and after the feed is compacted a tablet that
starts over gets the current lists in its snapshot."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

import pytest

from tests.clients import office
from tests.factory import released_production_order
from tests.servers import make_server
from tests.sync_fixtures import enrolled_device

@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    srv = make_server(tmp_path_factory.mktemp("dispatch"))
    with closing(office(srv.url, "planner")) as planner:
        for quantity, due_in_days in (("10", 3), ("15", 5)):
            released_production_order(planner, "CH-ERGO", quantity, due_in_days)
    yield srv
    srv.stop()
    srv.database.drop()


def accept_new_schedule(planner, **body) -> dict:
    proposal = planner.post("/api/schedules", json={"site": "NB1", "seconds": 2, **body})
    assert proposal.status_code == 201, proposal.text
    accepted = planner.post(f"/api/schedules/{proposal.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    return proposal.json()


def in_start_order(schedule: dict, centre: str) -> list[tuple[str, int]]:
    now = datetime.fromisoformat(schedule["created_at"])
    placed = sorted((op for op in schedule["scheduled"] if op["work_centre"] == centre
                     and datetime.fromisoformat(op["end_at"]) > now), key=lambda op: (op["start_at"], op["machine"]))
    return [(op["production_order"], op["sequence"]) for op in placed]


def test_each_tablet_pulls_the_dispatch_lists_of_its_work_centres_in_start_order(factory, tmp_path):
    planner, supervisor = office(factory.url, "planner"), office(factory.url, "supervisor")
    assembly = enrolled_device(factory.url, supervisor, tmp_path, work_centres=["ASM"])
    packing = enrolled_device(factory.url, supervisor, tmp_path, work_centres=["PACK"])
    try:
        schedule = accept_new_schedule(planner)
        assembly.pull_all()
        packing.pull_all()
        lists = assembly.replica("dispatch")
        assert set(lists) == {"ASM"}
        listed = lists["ASM"]
        assert listed["run"] == schedule["id"] and listed["site"] == "NB1" and listed["work_centre"] == "ASM"
        assert [(op["production_order"], op["sequence"]) for op in listed["operations"]] == in_start_order(schedule, "ASM")
        assert len(listed["operations"]) >= 3  # the demo's released order and this module's two
        first = listed["operations"][0]
        assert [op["position"] for op in listed["operations"]] == list(range(1, len(listed["operations"]) + 1))
        assert first["item"] == "CH-ERGO" and first["item_name"] and first["operation"] and first["unit"]
        assert set(first) >= {"quantity", "start_at", "end_at", "machine", "late", "frozen"}
        starts = [op["start_at"] for op in listed["operations"]]
        assert starts == sorted(starts)
        assert set(packing.replica("dispatch")) == {"PACK"}
        assert packing.replica("dispatch")["PACK"]["operations"]

        site_wide = enrolled_device(factory.url, supervisor, tmp_path)
        site_wide.pull_all()
        assert set(site_wide.replica("dispatch")) == {"ASM", "PACK"}  # nothing scheduled at cutting: no list
        site_wide.close()

        # A new order released and a new schedule accepted: a new list for assembly, with the new order in it.
        added = released_production_order(planner, "CH-ERGO", "5", 2)
        rescheduled = accept_new_schedule(planner)
        assembly.pull_all()
        relisted = assembly.replica("dispatch")["ASM"]
        assert relisted["run"] == rescheduled["id"]
        assert [(op["production_order"], op["sequence"]) for op in relisted["operations"]] == in_start_order(
            rescheduled, "ASM")
        assert added in {op["production_order"] for op in relisted["operations"]}

        factory.cli("compact-feed", "--keep", "0")
        fresh = enrolled_device(factory.url, supervisor, tmp_path, work_centres=["ASM"])
        fresh.pull_all()
        assert fresh.replica("dispatch") == {"ASM": relisted}
        fresh.close()
    finally:
        assembly.close()
        packing.close()
        planner.close()
        supervisor.close()
