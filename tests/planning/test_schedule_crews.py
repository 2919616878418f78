"""Crews from master data to the schedule: a crew of a site and the work centres that name it, written through the
REST API, the office form and CSV; the schedule read from the database holds each crew with its member centres
and its operators shift by shift, and no more operations of its centres run at once than it has operators then;
on a plant of the test's own (two round-the-clock machines, so the minutes can be worked out by hand). Bad crews
are refused with codes by the API, the form (in English and Chinese) and CSV. The demo factory's assembly line and
packing sharing a crew, scheduled through `POST /api/schedules`, is in tests/planning/test_schedules_api.py."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

from server.accounts.permissions import Role
from tests.office.test_csv import own_rows, upload
from tests.planning.test_schedule_setups_material import (
    EVERY_DAY, ROUND_THE_CLOCK, created, firmed, made_on, plant, scheduled,
)


def test_two_machines_sharing_a_crew_of_one_take_turns_and_a_second_operator_lets_them_run_together(server, login):
    """Two round-the-clock machines of the plant, one 60-minute order on each (60 units at 1 minute): with one
    operator between them the second starts when the first ends; with two (the default raised) both start now."""
    where = plant(login)
    planner, other = where.planner, f"SUN-{where.tag}"
    created(planner.post("/api/work_centres", json={"code": other, "name": "Second press", "site": where.site,
                                                    "shifts": ROUND_THE_CLOCK, "working_days": EVERY_DAY}))
    crew = f"CRW-{where.tag}"
    saved = created(planner.post("/api/crews", json={"code": crew, "name": "Press operators", "site": where.site,
                                                     "operators": [{"shift": "Day", "operators": 1}],
                                                     "default_operators": 1}))
    assert (saved["operators"], saved["default_operators"]) == ([{"shift": "Day", "operators": 1}], 1)
    for machine in (where.machine, other):
        assert created(planner.patch(f"/api/work_centres/{machine}", json={"crew": crew}))["crew"] == crew
    beside = SimpleNamespace(**{**vars(where), "machine": other})
    orders = [firmed(where, made_on(where, f"ONE-{where.tag}"), "60"),
              firmed(where, made_on(beside, f"TWO-{where.tag}"), "60")]

    schedule_input, _, placed = scheduled(server, where.site)
    problem = schedule_input.problem
    assert [(c.code, c.work_centres) for c in problem.crews] == [(crew, tuple(sorted((where.machine, other))))]
    # Round the clock: one operator on every shift, from the day before this week's Monday on.
    assert {n for _, _, n in problem.crews[0].capacity} == {1} and problem.crews[0].capacity[0][0] == -1440
    first, second = sorted((placed[o] for o in orders), key=lambda p: p.start)
    assert {first.work_centre, second.work_centre} == {where.machine, other}
    assert (first.start, first.end, second.start, second.end) == (problem.now, problem.now + 60, problem.now + 60,
                                                                 problem.now + 120)

    created(planner.patch(f"/api/crews/{crew}", json={"operators": [], "default_operators": 2}))
    schedule_input, _, placed = scheduled(server, where.site)
    assert [(placed[o].start, placed[o].end) for o in orders] == [(schedule_input.problem.now,
                                                                   schedule_input.problem.now + 60)] * 2
    # Archived, the crew no longer binds its centres.
    created(planner.patch(f"/api/crews/{crew}", json={"default_operators": 1}))
    created(planner.post(f"/api/crews/{crew}/archive"))
    schedule_input, _, _ = scheduled(server, where.site)
    assert schedule_input.problem.crews == []


def test_bad_crews_are_refused_by_the_api_the_form_and_csv_and_crews_round_trip_through_csv(login, browse):
    where = plant(login)
    planner, crew = where.planner, f"CRX-{where.tag}"
    body = {"code": crew, "name": "Press operators", "site": where.site,
            "operators": [{"shift": "Early", "operators": 2}, {"shift": "Night", "operators": 1}]}
    for bad, status, code in (
            ({"operators": [{"shift": "Early", "operators": 2}, {"shift": "Early", "operators": 3}]}, 422,
             "duplicate_crew_shift"),
            ({"operators": [{"shift": "Early", "operators": -1}]}, 400, "out_of_range"),
            ({"default_operators": 1001}, 400, "out_of_range"),
            ({"site": "NO-SUCH-SITE"}, 422, "unknown_reference")):
        refused = planner.post("/api/crews", json={**body, **bad})
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    created(planner.post("/api/crews", json=body))
    # A centre of another site (the demo's packing at NB1) may not share it; the crew may not move to NB1 while
    # its press is at the plant; an unknown crew is an unknown reference.
    for path, change, code in (("/api/work_centres/PACK", {"crew": crew}, "crew_of_another_site"),
                               (f"/api/work_centres/{where.machine}", {"crew": "NO-SUCH-CREW"}, "unknown_reference")):
        refused = planner.patch(path, json=change)
        assert (refused.status_code, refused.json()["code"]) == (422, code), refused.text
    assert planner.get("/api/work_centres/PACK").json()["crew"] is None
    created(planner.patch(f"/api/work_centres/{where.machine}", json={"crew": crew}))
    refused = planner.patch(f"/api/crews/{crew}", json={"site": "NB1"})
    assert (refused.status_code, refused.json()["code"]) == (422, "crew_members_elsewhere"), refused.text
    assert refused.json()["details"]["errors"][0]["message"] == (
        f"work centre {where.machine!r} of crew {crew!r} is not at site 'NB1'")

    # The office form: a shift listed twice, in English and in Chinese; the centre's form names the crew.
    form = browse("planner")
    fields = {"name": "Press operators", "site": where.site, "default_operators": "1"}
    twice = json.dumps([{"shift": "Early", "operators": 2}, {"shift": "Early", "operators": 1}])
    username = f"zhcrew-{where.tag.lower()}"
    created(login("admin").post("/api/users", json={"username": username, "display_name": "计划员", "language": "zh",
                                                     "password": "long-enough-pw", "roles": [Role.planner.value]}))
    chinese = browse()
    chinese.log_in(username, "long-enough-pw")
    for reader, said in ((form, "shift &#39;Early&#39; is listed twice"), (chinese, "班次重复列出")):
        answer = reader.post(f"/md/crews/edit?code={crew}", {**fields, "operators": twice})
        assert answer.status_code == 422 and said in answer.text, answer.text
    answer = form.post(f"/md/crews/edit?code={crew}", {**fields, "operators": json.dumps(body["operators"][:1])})
    assert answer.status_code == 303, answer.text
    assert planner.get(f"/api/crews/{crew}").json()["operators"] == [{"shift": "Early", "operators": 2}]
    page = form.get("/md/work_centres/edit", params={"code": where.machine})
    assert page.status_code == 200 and "Crew (shared operators)" in page.text and crew in page.text
    centre = {"name": "Press", "site": "NB1", "parallel_capacity": "1", "efficiency_pct": "100",
              "shifts": json.dumps(ROUND_THE_CLOCK), "working_days": json.dumps(EVERY_DAY), "holidays": "[]",
              "setup_matrix": "[]", "issue_location": "", "crew": crew}
    answer = form.post(f"/md/work_centres/edit?code={where.machine}", centre)
    assert answer.status_code == 422 and f"crew &#39;{crew}&#39; works at site" in answer.text, answer.text

    # CSV both ways: the operators as JSON in one cell; a file naming a shift twice is refused by row.
    rows = own_rows(planner.get("/api/csv/crews").text, where.tag)
    cell = next(csv.DictReader(io.StringIO(rows)))["operators"]
    assert json.loads(cell) == [{"shift": "Early", "operators": 2}]
    assert upload(planner, "crews", rows).json() == {"created": 0, "updated": 0, "rows": 1}
    refused = upload(planner, "crews", rows.replace(cell.replace('"', '""'), twice.replace('"', '""')))
    assert refused.status_code == 422 and [(e["row"], e["code"]) for e in refused.json()["details"]["errors"]] == [
        (2, "duplicate_crew_shift")], refused.text

