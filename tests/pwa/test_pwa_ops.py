"""The floor app's downtime, quality and live-board screens in real Chromium against the real server: downtime started
and stopped and inspections recorded offline (a pass releases the hold, a fail quarantines it) land exactly once when
the network returns; the board follows another device's reports live, without a reload; and a report queued offline
shows in the operation's figures (the overlay) until the server's own figures replace it."""

from __future__ import annotations


import httpx
import pytest
from playwright.sync_api import expect

from tests.english import english_runs
from tests.factory import released_production_order
from tests.pwa_browser import go, meta, new_context, open_app, outbox, until, wait_synced, watch_errors
from tests.quality.test_quality import GAUGE_PLAN
from tests.sync_fixtures import enrolled_device, enrolment_code

pytestmark = pytest.mark.browser

HELD_AT = "RM-A-01-01"


def ops_setup(admin: httpx.Client, login, unique) -> dict[str, str]:
    """Two work centres of the test's own at NB1 (a press then a lathe), a released order for 10 brackets made on them,
    and two inspected gauges with a plan, 10 and 8 of them on hold at the dock."""
    codes = {"press": unique("PRESS"), "lathe": unique("LATHE"), "item": unique("BRACKET"), "steel": unique("STEEL"),
             "good_gauge": unique("GAUGE-A"), "bad_gauge": unique("GAUGE-B")}
    for centre in ("press", "lathe"):
        created = admin.post("/api/work_centres", json={"code": codes[centre], "name": f"Ops {centre}", "site": "NB1"})
        assert created.status_code == 201, created.text
    for key, kind in (("steel", "raw"), ("item", "finished")):
        created = admin.post("/api/items", json={"code": codes[key], "name": f"Ops {key}", "type": kind, "unit": "PCS"})
        assert created.status_code == 201, created.text
    assert admin.post("/api/boms", json={"code": f"BOM-{codes['item']}", "item": codes["item"], "components": [
        {"line_no": 10, "component": codes["steel"], "quantity": "1"}]}).status_code == 201
    assert admin.post("/api/routings", json={"code": f"RTG-{codes['item']}", "item": codes["item"], "operations": [
        {"sequence": 10, "work_centre": codes["press"], "description": "Press", "setup_minutes": "5",
         "run_minutes_per_unit": "1"},
        {"sequence": 20, "work_centre": codes["lathe"], "description": "Turn", "setup_minutes": "5",
         "run_minutes_per_unit": "2"}]}).status_code == 201
    planner = login("planner")
    codes["order"] = released_production_order(planner, codes["item"], "10", due_in_days=7)

    inspector = login("quality")
    for key, quantity in (("good_gauge", "10"), ("bad_gauge", "8")):
        created = planner.post("/api/items", json={"code": codes[key], "name": "Ops gauge", "type": "raw", "unit": "PCS",
                                                   "inspection_required": True})
        assert created.status_code == 201, created.text
        plan = inspector.post("/api/inspection-plans", json={"item": codes[key], "characteristics": GAUGE_PLAN})
        assert plan.status_code == 201, plan.text
        counted = login("warehouse").post("/api/stock/counts", json={"item": codes[key], "location": HELD_AT,
                                                                      "counted_quantity": quantity})
        assert counted.status_code == 201, counted.text
        held = inspector.post("/api/quality/holds", json={"item": codes[key], "location": HELD_AT, "quantity": quantity})
        assert held.status_code == 201, held.text
    return codes


def enrol_supervisor_tablet(page, base_url: str, office: httpx.Client, codes: dict[str, str]) -> None:
    """A tablet for the dock's warehouse and the two work centres, enrolled by its QR link; first sync done."""
    code = enrolment_code(office, "NB1", ["RM"], work_centres=[codes["press"], codes["lathe"]])
    open_app(page, base_url)
    page.goto(f"{base_url}/app/#enrol={code}")
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)


def stock(office: httpx.Client, item: str) -> set[tuple[str, str, str]]:
    rows = office.get("/api/stock", params={"item": item}).json()["items"]
    return {(r["location"], r["status"], r["quantity"]) for r in rows}


def downtimes(office: httpx.Client, centre: str) -> list[tuple[str, bool]]:
    rows = office.get("/api/downtime", params={"work_centre": centre}).json()["items"]
    return sorted((row["reason"], row["ended_at"] is not None) for row in rows)


def test_downtime_and_inspections_recorded_offline_land_exactly_once(server, login, admin, unique, browser):
    codes = ops_setup(admin, login, unique)
    press, lathe, good_gauge, bad_gauge = codes["press"], codes["lathe"], codes["good_gauge"], codes["bad_gauge"]
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol_supervisor_tablet(page, server.url, login("supervisor"), codes)
    for route in ("downtime", "quality", "board"):
        expect(page.locator(f"nav.tiles [data-route='{route}']")).to_be_visible()

    context.set_offline(True)
    go(page, "downtime")
    centre = page.locator(f"#centres button[data-centre='{press}']")
    expect(centre).to_have_attribute("data-down", "0")
    centre.click()
    expect(page.locator("#stop")).to_be_hidden()
    page.locator("#start").click()
    expect(page.locator("#p-reason")).not_to_be_empty()  # no reason, no start
    page.locator("#reasons button[data-reason='breakdown']").click()
    page.locator("#start").click()
    page.wait_for_selector("#screen .notice.ok")
    expect(centre).to_have_attribute("data-down", "1")
    expect(centre).to_have_attribute("data-queued", "1")
    centre.click()
    expect(page.locator("#start")).to_be_disabled()
    page.locator("#stop").click()
    expect(centre).to_have_attribute("data-down", "0")
    # The lathe: scanned and a reason typed; it stays down.
    form = page.locator("#downtime-form")
    form.locator("input[name=work_centre]").fill(lathe)
    form.locator("input[name=work_centre]").press("Enter")
    form.locator("input[name=reason]").fill("Tool broke")
    form.locator("input[name=reason]").press("Enter")
    expect(page.locator(f"#centres button[data-centre='{lathe}']")).to_have_attribute("data-down", "1")

    go(page, "quality")
    expect(page.locator(f"#held button[data-item='{good_gauge}']")).to_contain_text("10")
    page.locator(f"#held button[data-item='{good_gauge}']").click()
    form = page.locator("#quality-form")
    expect(form.locator("input[name=location]")).to_have_value(HELD_AT)
    expect(page.locator("#plan")).to_have_attribute("data-plan", "1")
    expect(form.locator("#f-result_0")).to_be_focused()
    form.locator("#f-result_0").fill("100.2")
    form.locator("button[type=submit]").click()
    expect(page.locator("#p-result_1")).not_to_be_empty()  # the leak test is required
    form.locator("#f-result_1").select_option("pass")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#screen .notice.ok")
    expect(page.locator(f"#held button[data-item='{good_gauge}']")).to_have_count(0)  # inspected: queued

    page.locator(f"#held button[data-item='{bad_gauge}']").click()
    form.locator("#f-result_0").fill("101")
    form.locator("#f-result_0").press("Tab")
    expect(page.locator("#p-result_0")).not_to_be_empty()  # outside the limits: shown as failing
    form.locator("#f-result_1").select_option("pass")
    form.locator("input[name=note]").fill("stroke long")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#screen .notice.warn")

    page.reload()  # still offline: the outbox survives in IndexedDB
    page.wait_for_selector("body[data-ready='1']")
    queued = outbox(page)
    assert [(m["name"], m["args"].get("action") or m["args"].get("item")) for m in queued] == [
        ("production.downtime", "start"), ("production.downtime", "stop"), ("production.downtime", "start"),
        ("quality.record", good_gauge), ("quality.record", bad_gauge)]
    assert queued[0]["args"]["reason"] == "设备故障"  # the common reason, in the operator's language
    assert queued[3]["args"] == {"subject": "receipt", "item": good_gauge, "lot": None, "location": HELD_AT,
                                 "quantity": None, "production_order": None, "operation": None, "verdict": None, "note": "",
                                 "results": [{"characteristic": "Stroke", "value": "100.2"},
                                             {"characteristic": "Leak test", "value": "pass"}]}
    assert downtimes(admin, press) == [] and stock(admin, good_gauge) == {(HELD_AT, "hold", "10")}

    context.set_offline(False)
    wait_synced(page)
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")

    def server_state():
        ncrs = admin.get("/api/nonconformances", params={"item": bad_gauge}).json()["items"]
        return (downtimes(admin, press), downtimes(admin, lathe), stock(admin, good_gauge), stock(admin, bad_gauge),
                [(n["status"], n["quantity"]) for n in ncrs])

    landed = server_state()
    assert landed == ([("设备故障", True)], [("Tool broke", False)], {(HELD_AT, "available", "10")},
                      {(HELD_AT, "quarantine", "8")}, [("open", "8")])
    go(page, "downtime")  # the lathe is down by the replica now, not by the outbox
    expect(page.locator(f"#centres button[data-centre='{lathe}']")).to_have_attribute("data-queued", "0")
    expect(page.locator(f"#centres button[data-centre='{lathe}']")).to_have_attribute("data-down", "1")

    again = httpx.post(f"{server.url}/api/sync/push", headers={"Authorization": f"Bearer {meta(page, 'token')}"}, json={
        "protocol": 1, "mutations": [{k: m[k] for k in ("seq", "id", "name", "args", "client_time")} for m in queued]})
    assert again.status_code == 200, again.text
    assert [(r["status"], r["outcome"]) for r in again.json()["results"]] == [("duplicate", "applied")] * 5
    assert server_state() == landed
    assert errors == []
    context.close()


def board_row(page, order: str, sequence: int):
    return page.locator(f"#orders section[data-order='{order}'] tr[data-sequence='{sequence}']")


def test_the_board_follows_another_devices_reports_live_and_shows_queued_reports_until_the_server_has_them(
        server, login, admin, unique, browser, tmp_path):
    codes = ops_setup(admin, login, unique)
    press, lathe, order = codes["press"], codes["lathe"], codes["order"]
    supervisor = login("supervisor")
    operator = enrolled_device(server.url, supervisor, tmp_path, work_centres=[press, lathe])
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol_supervisor_tablet(page, server.url, supervisor, codes)

    go(page, "board")
    watching = f"board:workcentre:{press} board:workcentre:{lathe}"
    expect(page.locator("#board-live")).to_have_attribute("data-watching", watching)
    expect(board_row(page, order, 10)).to_have_attribute("data-good", "0")
    expect(board_row(page, order, 10)).to_have_attribute("data-planned", "10")
    page.evaluate("window.sameBoard = true")

    def push(name: str, args: dict) -> None:
        mutation = operator.enqueue(name, args)
        operator.push_once()
        assert operator.result(mutation)["status"] == "applied", operator.result(mutation)

    push("production.report", {"production_order": order, "operation": 10, "good_quantity": "4", "scrap_quantity": "1",
                                "scrap_reason": "cracked"})
    expect(board_row(page, order, 10)).to_have_attribute("data-good", "4")
    expect(board_row(page, order, 10)).to_have_attribute("data-scrap", "1")
    expect(page.locator("#ticker li").first).to_contain_text(order)
    push("production.downtime", {"work_centre": lathe, "action": "start", "reason": "Coolant leak"})
    expect(page.locator(f"#down li[data-centre='{lathe}']")).to_contain_text("Coolant leak")
    expect(board_row(page, order, 20)).to_have_attribute("data-down", "1")
    # The report, the under-issue it raised (its materials were never issued), the downtime.
    expect(page.locator("#ticker li")).to_have_count(3)
    expect(page.locator(f"#orders section[data-order='{order}'] .under-issued")).to_be_visible()
    assert page.evaluate("window.sameBoard === true"), "the board updated in place, never reloaded"
    # In Chinese (the app's default) the board says nothing in English: the order under way is 生产中, not in_progress.
    expect(page.locator(f"#orders section[data-order='{order}'] h2")).to_contain_text("生产中")
    assert english_runs(page.locator("#screen").inner_text(), ["Coolant leak", "cracked"]) == []

    # Offline, a report of 3 more shows at once on the report screen and the board, marked as not yet sent.
    context.set_offline(True)
    go(page, "report")
    form = page.locator("#report-form")
    form.locator("input[name=production_order]").fill(order)
    form.locator("input[name=production_order]").press("Enter")
    expect(form.locator("select[name=operation]")).to_have_value("10")
    expect(page.locator("#op-progress")).to_have_attribute("data-good", "4")
    form.locator("input[name=good_quantity]").fill("3")
    form.locator("input[name=good_quantity]").press("Enter")
    form.locator("input[name=scrap_quantity]").press("Enter")
    form.locator("input[name=scrap_reason]").press("Enter")
    page.wait_for_selector("#screen .notice.ok")
    expect(page.locator("#op-progress")).to_have_attribute("data-good", "7")
    expect(page.locator("#op-progress")).to_have_attribute("data-queued", "1")
    go(page, "board")
    expect(board_row(page, order, 10)).to_have_attribute("data-good", "7")
    expect(board_row(page, order, 10)).to_have_attribute("data-queued", "1")

    # Meanwhile the other device reports 2; back online the board shows the server's 9, nothing of ours pending.
    push("production.report", {"production_order": order, "operation": 10, "good_quantity": "2", "scrap_quantity": "0"})
    context.set_offline(False)
    wait_synced(page)
    until(lambda: admin.get(f"/api/production-orders/{order}").json()["operations"][0]["good_quantity"] == "9")
    expect(board_row(page, order, 10)).to_have_attribute("data-good", "9")
    expect(board_row(page, order, 10)).to_have_attribute("data-queued", "0")
    expect(board_row(page, order, 10)).to_have_attribute("data-scrap", "1")
    go(page, "report")
    form.locator("input[name=production_order]").fill(order)
    form.locator("input[name=production_order]").press("Enter")
    expect(page.locator("#op-progress")).to_have_attribute("data-good", "9")
    expect(page.locator("#op-progress")).to_have_attribute("data-queued", "0")
    assert errors == []
    operator.close()
    context.close()
