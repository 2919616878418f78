"""Sequence-dependent setups and material release dates, from master data to the schedule, on a plant of each
test's own (a site with one always-open machine beside the demo's NB1, so no other test's orders share it): a work
centre's setup matrix written through the REST API and then through its office form is what the schedule pays
between two orders of different families; a bad matrix is refused with a code by both (and by a CSV import, which
carries matrices and items' families both ways); and a firmed order whose
bought component is neither in stock nor issued waits for the purchase line that brings it, and starts now once
stock covers it. The schedule read is `read_schedule_input` on the server's database (tests/planning/
test_schedule_demo.py `read`), solved and passed through the validator."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from server.accounts.permissions import Role
from server.planning.schedule_check import check_schedule
from server.planning.scheduler import solve
from tests.factory import count_in, make_item
from tests.office.test_csv import own_rows, upload
from tests.planning.test_schedule_demo import NOW, read

TODAY = NOW.astimezone(ZoneInfo("Asia/Shanghai")).date()  # the plant's day, as the schedule counts it
ROUND_THE_CLOCK = [{"name": "Early", "start": "00:00", "end": "08:00"}, {"name": "Day", "start": "08:00", "end": "16:00"},
                   {"name": "Night", "start": "16:00", "end": "00:00"}]
EVERY_DAY = [1, 2, 3, 4, 5, 6, 7]


def created(response):
    assert response.status_code in (200, 201), response.text
    return response.json()


def plant(login) -> SimpleNamespace:
    """A site of its own in Ningbo's time zone with a store and one machine M that never stops, so a schedule's
    minutes can be worked out by hand."""
    tag = uuid.uuid4().hex[:6].upper()
    admin, planner = login("admin"), login("planner")
    site, store, bin_, machine = f"SU-{tag}", f"SUW-{tag}", f"SUL-{tag}", f"SUM-{tag}"
    created(admin.post("/api/sites", json={"code": site, "name": f"Setup plant {tag}", "timezone": "Asia/Shanghai"}))
    created(admin.post("/api/warehouses", json={"code": store, "name": "Stores", "site": site}))
    created(admin.post("/api/locations", json={"code": bin_, "name": "Rack 1", "warehouse": store, "kind": "storage"}))
    created(planner.post("/api/work_centres", json={"code": machine, "name": "Press", "site": site,
                                                    "shifts": ROUND_THE_CLOCK, "working_days": EVERY_DAY}))
    return SimpleNamespace(tag=tag, site=site, bin=bin_, machine=machine, planner=planner)


def made_on(where: SimpleNamespace, code: str, family: str = "", components: list[dict] | None = None) -> str:
    """A finished item of that setup family, made from `components` in one operation of 1 minute a unit on M."""
    planner = where.planner
    make_item(planner, code, type="finished", setup_family=family)
    created(planner.post("/api/boms", json={"code": f"B-{code}", "item": code, "components": components or []}))
    created(planner.post("/api/routings", json={"code": f"R-{code}", "item": code, "operations": [
        {"sequence": 10, "work_centre": where.machine, "run_minutes_per_unit": "1"}]}))
    return code


def firmed(where: SimpleNamespace, item: str, quantity: str, due_in_days: int = 30) -> str:
    """A draft production order: what firming a planned order makes."""
    return created(where.planner.post("/api/production-orders", json={
        "item": item, "quantity": quantity, "site": where.site,
        "due_date": (TODAY + timedelta(days=due_in_days)).isoformat()}))["code"]


def scheduled(server, site: str):
    schedule_input = read(server.database.url, site)
    schedule = solve(schedule_input.problem, seconds=5, workers=2)
    assert check_schedule(schedule_input.problem, schedule.placements) == []
    return schedule_input, schedule, {p.operation.split("/")[0]: p for p in schedule.placements}


def matrix(*entries: tuple[str, str, int]) -> list[dict]:
    return [{"from_family": a, "to_family": b, "minutes": m} for a, b, m in entries]


def test_the_setup_matrix_set_through_the_api_and_then_the_form_is_what_the_schedule_pays(server, login, browse):
    where = plant(login)
    red, blue = made_on(where, f"RED-{where.tag}", "RED"), made_on(where, f"BLUE-{where.tag}", "BLUE")
    path = f"/api/work_centres/{where.machine}"
    saved = created(where.planner.patch(path, json={"setup_matrix": matrix(("RED", "BLUE", 25), ("BLUE", "RED", 40))}))
    assert saved["setup_matrix"] == matrix(("RED", "BLUE", 25), ("BLUE", "RED", 40))
    orders = {firmed(where, red, "10"): "RED", firmed(where, blue, "10"): "BLUE"}

    schedule_input, schedule, placed = scheduled(server, where.site)
    problem = schedule_input.problem
    assert {op.order: op.family for op in problem.operations} == orders
    assert dict(problem.work_centres[0].setup_minutes) == {("RED", "BLUE"): 25, ("BLUE", "RED"): 40}
    # Ten minutes each on one machine: red first, then the cheaper change (25) to blue.
    first, second = sorted(placed.values(), key=lambda p: p.start)
    assert [orders[p.operation.split("/")[0]] for p in (first, second)] == ["RED", "BLUE"]
    assert (first.start, first.end - first.start, second.start - first.end) == (problem.now, 10, 25)
    assert schedule.objective.setup_minutes == 25

    # The office form edits the matrix as JSON beside the calendar; the schedule turns round.
    form = browse("planner")
    page = form.get("/md/work_centres/edit", params={"code": where.machine})
    assert page.status_code == 200 and "Setup matrix" in page.text and "&#34;to_family&#34;: &#34;BLUE&#34;" in page.text
    fields = {"name": "Press", "site": where.site, "parallel_capacity": "1", "efficiency_pct": "100",
              "shifts": json.dumps(ROUND_THE_CLOCK), "working_days": json.dumps(EVERY_DAY), "holidays": "[]",
              "issue_location": ""}
    answer = form.post(f"/md/work_centres/edit?code={where.machine}",
                       {**fields, "setup_matrix": json.dumps(matrix(("RED", "BLUE", 50), ("BLUE", "RED", 15)))})
    assert answer.status_code == 303, answer.text
    schedule_input, schedule, placed = scheduled(server, where.site)
    first, second = sorted(placed.values(), key=lambda p: p.start)
    assert [orders[p.operation.split("/")[0]] for p in (first, second)] == ["BLUE", "RED"]
    assert second.start - first.end == 15 and schedule.objective.setup_minutes == 15

    # Refused, with a code, by the API and the form alike; the stored matrix stays as it was.
    for entries, status, code in (
            (matrix(("RED", "BLUE", -5)), 400, "out_of_range"),
            ([{"from_family": "RED", "to_family": "BLUE", "minutes": 2.5}], 400, "invalid_type"),
            (matrix(("", "BLUE", 5)), 400, "too_short"),
            (matrix(("RED", "BLUE", 5), ("BLUE", "RED", 5), ("RED", "BLUE", 7)), 422, "duplicate_setup_pair")):
        refused = where.planner.patch(path, json={"setup_matrix": entries})
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    refused = where.planner.patch(path, json={"setup_matrix": matrix(("RED", "RED", 5), ("RED", "RED", 6))})
    assert refused.json()["details"]["errors"][0]["field"] == "setup_matrix[1]"
    username = f"zhplan-{where.tag.lower()}"
    created(login("admin").post("/api/users", json={"username": username, "display_name": "计划员", "language": "zh",
                                                     "password": "long-enough-pw", "roles": [Role.planner.value]}))
    chinese = browse()
    chinese.log_in(username, "long-enough-pw")
    twice = json.dumps(matrix(("RED", "BLUE", 5), ("RED", "BLUE", 7)))
    for reader, entries, said in ((form, twice, "the setup from RED to BLUE is listed twice"),
                                  (chinese, twice, "换型组合重复列出"),
                                  (form, json.dumps(matrix(("RED", "BLUE", -5))), "greater than or equal to 0"),
                                  (form, "[{", "not valid JSON")):
        answer = reader.post(f"/md/work_centres/edit?code={where.machine}", {**fields, "setup_matrix": entries})
        assert answer.status_code == 422 and said in answer.text, answer.text
    assert where.planner.get(path).json()["setup_matrix"] == matrix(("RED", "BLUE", 50), ("BLUE", "RED", 15))


@pytest.fixture
def bought_part(server, login):
    """A chair made on M from 2 bought parts a unit (a supplier lead time of 20 days; none lists it, so the
    item's own counts), with nothing in stock."""
    where = plant(login)
    part = make_item(where.planner, f"PART-{where.tag}", lead_time_days=20)
    chair = made_on(where, f"CHAIR-{where.tag}", components=[{"line_no": 10, "component": part, "quantity": "2"}])
    return SimpleNamespace(**vars(where), part=part, chair=chair, buyer=login("buyer"), clerk=login("warehouse"))


def start_of(schedule_input, order: str) -> datetime:
    release = next(op.release for op in schedule_input.problem.operations if op.order == order)
    return schedule_input.at(release)


def test_a_firmed_order_waits_for_the_purchase_line_of_its_bought_part_and_starts_now_once_stock_covers_it(
        server, bought_part, browse):
    plant_, supervisor = bought_part, browse("supervisor")
    order = firmed(plant_, plant_.chair, "5")  # 10 parts
    purchase = created(plant_.buyer.post("/api/purchase-orders", json={
        "supplier": "S-NBCASTOR", "site": plant_.site, "allow_unlisted_item": True,
        "lines": [{"item": plant_.part, "quantity": "12", "due_date": (TODAY + timedelta(days=3)).isoformat()}]}))
    created(plant_.buyer.post(f"/api/purchase-orders/{purchase['code']}/approve"))

    # None in stock; the purchase line of 12 due in three days covers the 10: from 00:00 that day.
    schedule_input, _, placed = scheduled(server, plant_.site)
    assert start_of(schedule_input, order) == datetime.combine(TODAY + timedelta(days=3), time())
    assert schedule_input.at(placed[order].start) == datetime.combine(TODAY + timedelta(days=3), time())

    # A second order of 5 gets the rest of the line (2) and waits for the other 8 as long as buying them takes.
    later = firmed(plant_, plant_.chair, "5", due_in_days=40)
    schedule_input, _, placed = scheduled(server, plant_.site)
    assert start_of(schedule_input, order) == datetime.combine(TODAY + timedelta(days=3), time())
    assert start_of(schedule_input, later) == datetime.combine(TODAY + timedelta(days=20), time())

    # Counted at 10 on hand, the first order is covered by stock and starts now; the second gets the line.
    count_in(plant_.clerk, plant_.part, plant_.bin, "10")
    schedule_input, _, placed = scheduled(server, plant_.site)
    problem = schedule_input.problem
    assert [op.release for op in problem.operations if op.order == order] == [0]
    assert placed[order].start == problem.now
    assert start_of(schedule_input, later) == datetime.combine(TODAY + timedelta(days=3), time())

    # Released and its 10 parts issued at a desk: it needs nothing more, though no part is left on hand.
    version = plant_.planner.get(f"/api/production-orders/{order}").json()["version"]
    created(plant_.planner.post(f"/api/production-orders/{order}/release", json={"version": version}))
    issued = supervisor.post(f"/production-orders/{order}/issue", {"item": plant_.part, "location": plant_.bin,
                                                                    "quantity": "10"})
    assert issued.status_code == 303, issued.text
    schedule_input, _, placed = scheduled(server, plant_.site)
    assert [op.release for op in schedule_input.problem.operations if op.order == order] == [0]
    assert placed[order].start == schedule_input.problem.now
    assert start_of(schedule_input, later) == datetime.combine(TODAY + timedelta(days=3), time())


def test_items_and_work_centres_carry_their_setup_family_and_matrix_through_csv(login):
    planner, tag = login("planner"), uuid.uuid4().hex[:6].upper()
    item, centre = make_item(planner, f"FAM-{tag}", type="finished", setup_family="WOOL-SEAT"), f"WCM-{tag}"
    created(planner.post("/api/work_centres", json={"code": centre, "name": "Cutter",
                                                    "setup_matrix": matrix(("WOOL-SEAT", "MESH-SEAT", 45))}))
    items = own_rows(planner.get("/api/csv/items").text, tag)
    assert next(csv.DictReader(io.StringIO(items)))["setup_family"] == "WOOL-SEAT"
    assert upload(planner, "items", items.replace("WOOL-SEAT", "MESH-SEAT")).json()["updated"] == 1
    assert planner.get(f"/api/items/{item}").json()["setup_family"] == "MESH-SEAT"

    centres = own_rows(planner.get("/api/csv/work_centres").text, tag)
    cell = next(csv.DictReader(io.StringIO(centres)))["setup_matrix"]
    assert json.loads(cell) == matrix(("WOOL-SEAT", "MESH-SEAT", 45))
    assert upload(planner, "work_centres", centres).json() == {"created": 0, "updated": 0, "rows": 1}
    twice = centres.replace(cell.replace('"', '""'), json.dumps(matrix(("A", "B", 5), ("A", "B", 6))).replace('"', '""'))
    refused = upload(planner, "work_centres", twice)
    assert refused.status_code == 422 and [(e["row"], e["field"], e["code"]) for e in refused.json()["details"]["errors"]] == [
        (2, "setup_matrix[1]", "duplicate_setup_pair")], refused.text
