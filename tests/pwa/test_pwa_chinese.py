"""Every screen of the floor app in Chinese (its default language) in real Chromium: a tablet enrolled for the
warehouses and the assembly and packing lines opens each screen its home offers, and a driver's phone opens its
route; no screen shows English prose. The dispatch lists on home and on the live board, which show only once a
schedule is accepted, are looked at on a server of their own (the session's has none, and keeps none: a work centre
reported down there by other tests would reschedule its site each time). What the factory's own data says (item, location, work-centre and customer
names typed in English by the office) is data, not the app's words, and is taken out before looking."""

from __future__ import annotations

import re

import pytest

from tests.clients import office
from tests.english import english_runs
from tests.pwa_browser import go, new_context, open_app, wait_synced, watch_errors
from tests.sync_fixtures import enrolment_code

pytestmark = pytest.mark.browser

TABLET_SCREENS = ("home", "move", "count", "receive", "issue", "report", "pack", "load", "downtime", "quality",
                  "board", "attention")


def data_names(admin) -> list[str]:
    """The names and codes the office gave things, longest first (as english_runs takes them out)."""
    names: set[str] = set()
    for path, keys in (("/api/items", ("code", "name")), ("/api/locations", ("code", "name")),
                       ("/api/work_centres", ("code", "name")), ("/api/customers", ("code", "name")),
                       ("/api/warehouses", ("code", "name"))):
        response = admin.get(path, params={"limit": 500})
        assert response.status_code == 200, response.text
        body = response.json()
        for row in body["items"] if isinstance(body, dict) else body:
            names.update(str(row[key]) for key in keys if row.get(key))
    return sorted(names, key=len, reverse=True)


def screen_text(page) -> str:
    text = page.locator("body").inner_text()
    assert re.search(r"[\u4e00-\u9fff]{2}", text), f"no Chinese on {page.url}: {text[:200]!r}"
    return text


def test_every_floor_screen_speaks_chinese(server, admin, login, browser):
    data = data_names(admin)
    supervisor = login("supervisor")
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    code = enrolment_code(supervisor, "NB1", ["RM", "FG"], work_centres=["ASM", "PACK"])
    open_app(page, server.url)
    page.goto(f"{server.url}/app/#enrol={code}")
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)
    found = {}
    for screen in TABLET_SCREENS:
        go(page, screen)
        page.wait_for_timeout(200)  # a screen fills its lists from the local store right after it shows
        english = english_runs(screen_text(page), data)
        if english:
            found[screen] = english
    phone = new_context(browser).new_page()
    code = enrolment_code(login("logistics"), "NB1", route="ZH-ROUTE")
    open_app(phone, server.url)
    phone.goto(f"{server.url}/app/#enrol={code}")
    phone.wait_for_selector("body[data-screen='home']")
    wait_synced(phone)
    for screen in ("home", "route"):
        go(phone, screen)
        phone.wait_for_timeout(200)
        english = english_runs(screen_text(phone), data)
        if english:
            found[f"driver {screen}"] = english
    assert found == {}, found
    assert errors == []


def test_the_dispatch_lists_on_home_and_the_board_speak_chinese(fresh_server, browser):
    srv = fresh_server(demo=True)
    planner, supervisor, admin = (office(srv.url, name) for name in ("planner", "supervisor", "admin"))
    proposal = planner.post("/api/schedules", json={"site": "NB1", "seconds": 2})
    assert proposal.status_code == 201, proposal.text
    assert planner.post(f"/api/schedules/{proposal.json()['id']}/accept").status_code == 200
    data = data_names(admin)
    page = new_context(browser).new_page()
    errors = watch_errors(page)
    code = enrolment_code(supervisor, "NB1", work_centres=["ASM", "PACK"])
    open_app(page, srv.url)
    page.goto(f"{srv.url}/app/#enrol={code}")
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)
    found = {}
    for screen in ("home", "board"):
        go(page, screen)
        page.wait_for_selector("#dispatch section[data-centre='ASM'] li.dispatch-op")
        english = english_runs(screen_text(page), data + [op["description"] for op in operations(admin)])
        if english:
            found[screen] = english
    for client in (planner, supervisor, admin):
        client.close()
    assert found == {}, found
    assert errors == []


def operations(admin) -> list[dict]:
    """The routing operations' descriptions of the production orders (data the office typed, not the app's words)."""
    orders = admin.get("/api/production-orders", params={"limit": 200}).json()["items"]
    return [op for order in orders for op in admin.get(f"/api/production-orders/{order['code']}").json()["operations"]]
