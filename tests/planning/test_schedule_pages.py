"""The schedule pages over plain HTTP, on the shared demo server: a reader without planning.write sees the schedule
but may not propose, pin, accept or discard (403); a schedule that does not exist is the 404 page; a proposal's page
in Chinese has no English and no inline script; a pin that says nothing, or names an operation the schedule does not
have, is shown again with the reason in the reader's language; a pin to another work centre lands there."""

from __future__ import annotations

import re

from tests.english import english_on_screen


def test_a_reader_without_planning_write_sees_the_schedule_but_may_not_change_it(browse):
    sales = browse("sales")
    assert sales.get("/planning/schedule").status_code == 200
    assert sales.post("/planning/schedule/propose", {"site": "NB1"}).status_code == 403
    for action in ("accept", "discard", "pin"):
        assert sales.post(f"/planning/schedule/1/{action}", {"operation": "PRD-2026-0001/10"}).status_code == 403, action
    planner = browse("planner")
    missing = planner.get("/planning/schedule/999999")
    assert missing.status_code == 404 and "<html" in missing.text
    assert planner.post("/planning/schedule/999999/accept").status_code == 404
    assert planner.get("/planning/schedule", params={"view": "nonsense"}).status_code == 400


def test_a_proposal_in_chinese_explains_pins_it_cannot_take_and_lands_one_on_another_work_centre(browse, unique):
    username = unique("zhplan").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "李计划"), ("password", "long-enough-pw"),
                                              ("roles", "planner"), ("language", "zh")])
    assert created.status_code == 303, created.text
    planner = browse()
    planner.log_in(username, "long-enough-pw")
    proposed = planner.post("/planning/schedule/propose", {"site": "NB1", "seconds": "1"})
    assert proposed.status_code == 303, proposed.text
    run = proposed.headers["location"].split("?")[0]
    page = planner.get(run)
    assert page.status_code == 200 and 'id="accept-schedule"' in page.text
    assert english_on_screen(page.text, [username]) == []
    assert re.search(r"<script(?![^>]*\bsrc=)", page.text) is None and re.search(r"\s(style|on[a-z]+)=", page.text) is None

    empty = planner.post(f"{run}/pin", {"operation": "PRD-2026-0001/10", "not_before": "", "work_centre": ""})
    assert empty.status_code == 422 and "请填写时间、工作中心或两者。" in empty.text
    unknown = planner.post(f"{run}/pin", {"operation": "PRD-NOPE/10", "not_before": "2030-01-07T08:00", "work_centre": ""})
    assert unknown.status_code == 422 and "生产订单没有工序 PRD-NOPE/10" in unknown.text, unknown.text[-3000:]

    # The latest operation not packed and not kept in place, pinned to the packing centre: it lands there.
    scheduled = planner.get(f"/api/schedules/{run.rsplit('/', 1)[1]}").json()["scheduled"]
    free = sorted((op for op in scheduled if op["work_centre"] != "PACK" and not op["frozen"]),
                  key=lambda op: op["start_at"], reverse=True)
    moved = planner.post(f"{run}/pin", {"operation": free[0]["operation"], "not_before": "", "work_centre": "PACK",
                                        "seconds": "1"})
    assert moved.status_code == 303, moved.text[-3000:]
    landed = planner.get(moved.headers["location"])
    row = re.search(rf'<tr data-operation="{free[0]["operation"]}">(.*?)</tr>', landed.text, re.S).group(1)
    assert 'data-column="work_centre">PACK<' in row
    assert "PACK" in re.search(r'id="pin-landed">(.*?)</p>', landed.text, re.S).group(1)
    for proposal in (run, moved.headers["location"].split("?")[0]):
        assert planner.post(f"{proposal}/discard").status_code == 303
