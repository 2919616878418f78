"""The schedule pages' refusals over plain HTTP, on the shared demo server: a reader without planning.write sees the
schedule but may not propose, pin, accept or discard (403); a schedule that does not exist is the 404 page; a pin
that says nothing, or names an operation the schedule does not have, is shown again with the reason in the reader's
language."""

from __future__ import annotations

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


def test_a_pin_that_says_nothing_or_names_no_operation_of_the_schedule_is_explained_in_chinese(browse, unique):
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

    empty = planner.post(f"{run}/pin", {"operation": "PRD-2026-0001/10", "not_before": "", "work_centre": ""})
    assert empty.status_code == 422 and "请填写时间、工作中心或两者。" in empty.text
    unknown = planner.post(f"{run}/pin", {"operation": "PRD-NOPE/10", "not_before": "2030-01-07T08:00", "work_centre": ""})
    assert unknown.status_code == 422 and "生产订单没有工序 PRD-NOPE/10" in unknown.text, unknown.text[-3000:]
    assert planner.post(f"{run}/discard").status_code == 303
