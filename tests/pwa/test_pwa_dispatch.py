"""The operator's dispatch list in the floor app, in real Chromium against a server of the module's own (the demo
factory and one more released order of ergonomic chairs): with a schedule accepted, the assembly tablet's home shows
assembly's next operations in the schedule's order; offline, after a reload, it still shows them (the local
replica); back online after a new schedule with one more order was accepted, the new sequence appears without a
touch. The operator guide's pictures of the list (docs/guide/img/operator-dispatch-<lang>.png) are taken here, their
times masked, written only when they changed."""

from __future__ import annotations

from contextlib import closing
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from tests.browsers import GUIDE_IMAGES, save_if_changed
from tests.clients import office
from tests.factory import released_production_order
from tests.pwa_browser import new_context, open_app, wait_synced, watch_errors
from tests.servers import make_server
from tests.sync_fixtures import enrolment_code

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    srv = make_server(tmp_path_factory.mktemp("dispatch_pwa"))
    with closing(office(srv.url, "planner")) as planner:
        released_production_order(planner, "CH-ERGO", "10", 3)
    yield srv
    srv.stop()
    srv.database.drop()


def accepted_sequence(planner, centre: str = "ASM") -> list[str]:
    """A new schedule proposed and accepted: the centre's operations that end from now, in start order."""
    proposal = planner.post("/api/schedules", json={"site": "NB1", "seconds": 2})
    assert proposal.status_code == 201, proposal.text
    assert planner.post(f"/api/schedules/{proposal.json()['id']}/accept").status_code == 200
    now = datetime.fromisoformat(proposal.json()["created_at"])
    placed = sorted((op for op in proposal.json()["scheduled"] if op["work_centre"] == centre
                     and datetime.fromisoformat(op["end_at"]) > now), key=lambda op: (op["start_at"], op["machine"]))
    return [f"{op['production_order']}/{op['sequence']}" for op in placed]


def shown(page: Page) -> list[str]:
    rows = page.locator("#dispatch section[data-centre='ASM'] li.dispatch-op")
    return [f"{row.get_attribute('data-order')}/{row.get_attribute('data-sequence')}" for row in rows.all()]


def picture(page: Page, lang: str) -> None:
    page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")
    page.mouse.move(799, 999)
    data = page.screenshot(mask=[page.locator("#sync-status .last"), page.locator("#dispatch .times")],
                           animations="disabled", caret="hide", mask_color="#5b7a96")
    save_if_changed(GUIDE_IMAGES / f"operator-dispatch-{lang}.png", data)


def test_the_operator_sees_the_dispatch_list_offline_and_the_new_one_when_back_online(factory, browser):
    planner, supervisor = office(factory.url, "planner"), office(factory.url, "supervisor")
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    try:
        first = accepted_sequence(planner)
        code = enrolment_code(supervisor, "NB1", work_centres=["ASM"])
        open_app(page, factory.url)
        page.goto(f"{factory.url}/app/#enrol={code}")
        page.wait_for_selector("body[data-screen='home']")
        wait_synced(page)
        expect(page.locator("#dispatch section[data-centre='ASM'] li.dispatch-op")).to_have_count(len(first))
        assert shown(page) == first
        expect(page.locator("#dispatch h2")).to_have_text("派工单 · ASM")
        picture(page, "zh")
        page.locator("#language").click()
        expect(page.locator("#dispatch h2")).to_have_text("Dispatch list · ASM")
        picture(page, "en")

        context.set_offline(True)
        page.reload()  # the service worker serves the app, the replica holds the list
        page.wait_for_selector("body[data-ready='1']")
        expect(page.locator("#sync-status")).to_have_attribute("data-state", "offline")
        assert shown(page) == first

        added = released_production_order(planner, "CH-ERGO", "5", 2)
        second = accepted_sequence(planner)
        assert f"{added}/10" in second and second != first
        context.set_offline(False)
        expect(page.locator(f"#dispatch li.dispatch-op[data-order='{added}']")).to_be_visible()
        assert shown(page) == second
        assert errors == []
    finally:
        context.close()
        planner.close()
        supervisor.close()
