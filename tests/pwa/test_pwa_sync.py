"""The floor app's sync core in real Chromium against the real server: work done offline survives a reload (the
outbox and the optimistic on-hand), drains when the network returns and lands exactly once; a refused mutation
waits in needs-attention with its reason and is corrected as a new one; two tabs of one device never double-send."""

from __future__ import annotations

import json
import random
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.clients import office
from tests.factory import available_by_location, make_item
from tests.pwa_browser import (
    count, enrol, go, gtin13, meta, move, new_context, open_app, outbox, overlay, pending, scan_into, wait_synced,
    watch_errors, wedge,
)
from tests.sync_fixtures import enrolment_code

pytestmark = pytest.mark.browser


def test_offline_work_survives_a_reload_and_lands_exactly_once(server, login, admin, unique, browser):
    clerk = login("warehouse")
    item = make_item(login("planner"), unique("PWA"), stock={"RM-A-01-01": "10"}, clerk=clerk)
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, clerk, by_link=False)  # the code typed on the enrolment screen
    assert overlay(page, item, "RM-A-01-01") == 10, "the first sync brought the item's stock"

    context.set_offline(True)
    count(page, item, "RM-A-01-02", "4", reason="found on the shelf")
    move(page, item, "RM-A-01-01", "RM-A-01-02", "3")
    move(page, item, "RM-A-01-02", "RM-A-02-01", "2")
    expect(page.locator("#sync-status")).to_have_attribute("data-pending", "3")
    expect(page.locator("#sync-status")).to_have_attribute("data-state", "offline")

    page.reload()  # still offline: the service worker serves the app, IndexedDB still holds the outbox
    page.wait_for_selector("body[data-ready='1']")
    assert pending(page) == 3
    assert [m["name"] for m in outbox(page)] == ["stock.count", "stock.move", "stock.move"]
    assert [m["seq"] for m in outbox(page)] == [1, 2, 3]
    assert (overlay(page, item, "RM-A-01-01"), overlay(page, item, "RM-A-01-02"), overlay(page, item, "RM-A-02-01")) == (7, 5, 2)
    go(page, "count")  # the screen shows the overlay too
    page.locator("#count-form input[name=item]").fill(item)
    page.locator("#count-form input[name=item]").press("Enter")
    page.locator("#count-form input[name=location]").fill("RM-A-01-02")
    page.locator("#count-form input[name=location]").press("Enter")
    expect(page.locator("#on-hand")).to_have_attribute("data-on-hand", "5")
    queued = outbox(page)
    assert available_by_location(admin, item) == {"RM-A-01-01": 10}, "nothing reached the server while offline"

    context.set_offline(False)
    wait_synced(page)
    expect(page.locator("#on-hand")).to_have_attribute("data-on-hand", "5")  # now from the replica alone
    assert available_by_location(admin, item) == {"RM-A-01-01": Decimal(7), "RM-A-01-02": Decimal(5), "RM-A-02-01": Decimal(2)}

    # Exactly once: the server holds each of the three under its seq; sending them again changes nothing.
    again = httpx.post(f"{server.url}/api/sync/push", headers={"Authorization": f"Bearer {meta(page, 'token')}"}, json={
        "protocol": 1,
        "mutations": [{k: m[k] for k in ("seq", "id", "name", "args", "client_time")} for m in queued],
    })
    assert again.status_code == 200, again.text
    body = again.json()
    assert [(r["id"], r["status"], r["outcome"]) for r in body["results"]] == [(m["id"], "duplicate", "applied") for m in queued]
    assert body["last_seq"] == 3
    assert available_by_location(admin, item) == {"RM-A-01-01": Decimal(7), "RM-A-01-02": Decimal(5), "RM-A-02-01": Decimal(2)}
    assert errors == []
    context.close()


def test_a_refused_move_waits_in_needs_attention_and_is_corrected_as_a_new_mutation(server, login, admin, unique, browser):
    clerk = login("warehouse")
    item = make_item(login("planner"), unique("PWR"), stock={"RM-A-01-01": "2"}, clerk=clerk)
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, clerk)  # the QR code's link, /app/#enrol=CODE

    move(page, item, "RM-A-01-01", "RM-A-01-02", "5")  # more than the 2 on hand: only the server can tell for sure
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "1")
    wait_synced(page)
    go(page, "attention")
    entry = page.locator("#attention-list .entry[data-code='insufficient_stock']")
    expect(entry.locator(".reason")).to_have_text(f"RM-A-01-01 的 {item} 仅有 2")  # Chinese by default

    go(page, "home")
    page.locator("#language").click()  # English, remembered on the device
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    go(page, "attention")
    expect(entry.locator(".reason")).to_have_text(f"Only 2 of {item} at RM-A-01-01")
    refused_id = entry.get_attribute("data-id")

    entry.locator("button.correct").click()
    page.wait_for_selector("body[data-screen='move']")
    assert page.locator("#move-form input[name=item]").input_value() == item
    assert page.locator("#move-form input[name=quantity]").input_value() == "5"
    page.locator("#move-form input[name=quantity]").fill("2")
    page.locator("#move-form input[name=quantity]").press("Enter")
    page.wait_for_selector("body[data-screen='attention']")
    wait_synced(page)
    expect(page.locator("#attention-list .empty")).to_be_visible()
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")
    assert available_by_location(admin, item) == {"RM-A-01-02": Decimal(2)}
    assert meta(page, "last_seq") == 2, "the correction went as a new mutation (seq 2), the refusal kept seq 1"
    assert refused_id and refused_id not in {m["id"] for m in outbox(page)}
    assert errors == []
    context.close()


def test_two_tabs_of_one_device_never_send_the_same_mutation_twice(server, login, admin, unique, browser):
    clerk = login("warehouse")
    item = make_item(login("planner"), unique("PWT"), stock={"RM-A-01-01": "10"}, clerk=clerk)
    context = new_context(browser)
    first = context.new_page()
    errors = watch_errors(first)
    enrol(first, server.url, clerk)
    second = context.new_page()
    errors += watch_errors(second)
    open_app(second, server.url)
    wait_synced(second)
    pushes = []
    context.on("response", lambda r: pushes.append(r) if r.url.endswith("/api/sync/push") else None)

    context.set_offline(True)
    move(first, item, "RM-A-01-01", "RM-A-01-02", "1")
    move(second, item, "RM-A-01-01", "RM-A-02-01", "2")
    move(first, item, "RM-A-01-01", "RM-A-01-02", "3")
    count(second, item, "RM-B-01-01", "1")
    for page in (first, second):  # each tab sees the other's work (IndexedDB + BroadcastChannel)
        expect(page.locator("#sync-status")).to_have_attribute("data-pending", "4")
    assert [m["seq"] for m in outbox(first)] == [1, 2, 3, 4]

    context.set_offline(False)
    wait_synced(first)
    wait_synced(second)
    assert available_by_location(admin, item) == {"RM-A-01-01": Decimal(4), "RM-A-01-02": Decimal(4), "RM-A-02-01": Decimal(2),
                                    "RM-B-01-01": Decimal(1)}
    results = [r for response in pushes if response.status == 200 for r in response.json()["results"]]
    assert sorted(r["seq"] for r in results) == [1, 2, 3, 4], "each mutation was sent once, by one tab"
    assert {r["status"] for r in results} == {"applied"}
    assert meta(first, "last_seq") == 4
    assert errors == []
    context.close()


def test_a_device_away_past_feed_compaction_re_snapshots_and_still_sends_its_work_once(fresh_server, browser):
    srv = fresh_server(demo=True)
    clerk = office(srv.url, "warehouse")
    item = make_item(office(srv.url, "planner"), "PWA-RESET", stock={"RM-A-01-01": "10", "RM-A-02-01": "3"}, clerk=clerk)
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, srv.url, clerk)
    assert overlay(page, item, "RM-A-02-01") == 3

    context.set_offline(True)
    move(page, item, "RM-A-01-01", "RM-A-01-02", "4")
    # Meanwhile at the desk: the stock at RM-A-02-01 is counted away (a delete in the feed), more changes follow,
    # and the feed is compacted past the device's cursor: the device can only catch up by a new snapshot.
    for location, quantity in (("RM-A-02-01", "0"), ("RM-B-01-01", "1"), ("RM-B-01-01", "2")):
        assert clerk.post("/api/stock/counts", json={"item": item, "location": location, "counted_quantity": quantity}).status_code == 201
    result = json.loads(srv.cli("compact-feed", "--keep", "1").stdout)
    assert result["compacted_through"] > meta(page, "cursor")
    pulls: list[str] = []
    context.on("response", lambda r: pulls.append(r.url) if "/api/sync/pull" in r.url else None)

    context.set_offline(False)
    wait_synced(page)
    assert sum("cursor=0&" in url for url in pulls) == 1, "one re-snapshot after the reset"
    stock = page.evaluate("import('/app/db.js').then(db => db.replica('stock'))")
    assert {(s["data"]["location"], s["data"]["quantity"]) for s in stock if s["data"]["item"] == item} == {
        ("RM-A-01-01", "6"), ("RM-A-01-02", "4"), ("RM-B-01-01", "2")}, "the missed delete is gone from the replica"
    assert available_by_location(clerk, item) == {"RM-A-01-01": Decimal(6), "RM-A-01-02": Decimal(4), "RM-B-01-01": Decimal(2)}
    assert meta(page, "last_seq") == 1
    assert errors == []
    context.close()


def test_a_move_is_filled_by_scanning_alone_while_offline(server, login, admin, unique, browser):
    clerk, planner = login("warehouse"), login("planner")
    item, gtin = unique("PWS"), gtin13(random.Random())
    planner.post("/api/items", json={"code": item, "name": "Scanned part", "type": "raw", "unit": "PCS", "gtin": gtin}).raise_for_status()
    assert clerk.post("/api/stock/counts", json={"item": item, "location": "RM-A-01-01", "counted_quantity": "8"}).status_code == 201
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, clerk)

    context.set_offline(True)
    go(page, "move")
    form = page.locator("#move-form")
    # GS1-128: the item's GTIN and a count of 5, scanned again if a stall on the busy machine split the burst
    scan_into(page, form.locator("input[name=item]"), f"]C101{gtin.zfill(14)}3705", item)
    expect(form.locator("input[name=quantity]")).to_have_value("5")
    expect(form.locator("input[name=from_location]")).to_be_focused()  # the lot stays empty: not lot-tracked
    wedge(page, "RM-A-01-01")
    expect(page.locator("#on-hand")).to_have_attribute("data-on-hand", "8")
    expect(form.locator("input[name=to_location]")).to_be_focused()
    wedge(page, "RM-A-02-01")
    expect(form.locator("button[type=submit]")).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_selector("#screen .notice.ok")
    assert overlay(page, item, "RM-A-01-01") == 3 and pending(page) == 1

    context.set_offline(False)
    wait_synced(page)
    assert available_by_location(admin, item) == {"RM-A-01-01": Decimal(3), "RM-A-02-01": Decimal(5)}
    assert errors == []
    context.close()


def test_a_revoked_device_saves_its_unsent_work_before_it_may_enrol_again(server, login, admin, unique, browser):
    clerk = login("warehouse")
    item = make_item(login("planner"), unique("RVK"), stock={"RM-A-01-01": "5"}, clerk=clerk)
    context = new_context(browser)
    page = context.new_page()
    enrol(page, server.url, clerk)
    device_id = meta(page, "device_id")
    context.set_offline(True)
    move(page, item, "RM-A-01-01", "RM-A-01-02", "2")
    admin.post(f"/api/devices/{device_id}/revoke").raise_for_status()
    context.set_offline(False)
    expect(page.locator("#sync-status")).to_have_attribute("data-pending", "1")

    go(page, "enrol")
    page.locator("input[name=code]").fill(enrolment_code(clerk, "NB1", None))
    page.locator("#enrol-form button[type=submit]").click()
    expect(page.locator("#unsent")).to_be_visible()
    expect(page.locator("#discard-unsent")).to_be_disabled()  # not before the work is saved
    with page.expect_download() as download:
        page.locator("#save-unsent").click()
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["device"]["id"] == device_id
    assert [(m["name"], m["args"]["item"], m["args"]["quantity"]) for m in saved["mutations"]] == [("stock.move", item, "2")]
    page.locator("#discard-unsent").click()
    assert page.locator("body").get_attribute("data-screen") == "enrol", "the first tap only asks to confirm"
    page.locator("#discard-unsent").click()
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)
    assert meta(page, "device_id") != device_id
    assert available_by_location(admin, item) == {"RM-A-01-01": 5}, "the revoked device's move never reached the server"
    context.close()
