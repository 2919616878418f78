"""The illustrated floor guides (docs/guide/) and their screenshots: each role's everyday flow walked in the real
floor app against a server of its own with the demo factory, in Chinese and in English, asserting that the server
holds what the operator did, with a screenshot of every step saved as docs/guide/img/<role>-<step>-<lang>.png (only
when its bytes changed, so a run does not dirty git for nothing). A last check keeps the guides and the images in
step: every image a guide links is one these tests produce, and every role has its guide in both languages.

Run the whole module to refresh the images: the roles share one server (in file order), so sequence numbers and the
board's figures are what the guides show."""

from __future__ import annotations

import re
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Page, expect

from server.labels.gs1 import check_digit
from tests.clients import office
from tests.browsers import GUIDE_IMAGES as IMAGES
from tests.browsers import save_if_changed
from tests.factory import confirmed_order, plan_shipment, pushed
from tests.pwa_browser import TIMEOUT_MS, go, open_app, scan_into, wait_synced, watch_errors
from tests.servers import REPO, make_server
from tests.sync_fixtures import enrolled_device, enrolment_code

pytestmark = pytest.mark.browser

GUIDE = REPO / "docs" / "guide"
ROLES = ("operator", "warehouse", "driver", "supervisor")
LANGUAGES = ("zh", "en")
VIEWPORT = {"width": 800, "height": 1000}
POSITION = {"latitude": 29.86833, "longitude": 121.54399, "accuracy": 8}

# The steps each role's test photographs, in order: the guides link exactly these (checked below).
STEPS = {
    "warehouse": ("home", "receive-scanned", "receive-done", "move", "count", "pack", "pack-done", "load-offline",
                  "load-synced"),
    "operator": ("home", "quality", "quality-done", "issue", "issue-done", "report", "report-done", "downtime",
                 "downtime-stopped", "dispatch"),  # dispatch: taken by tests/pwa/test_pwa_dispatch.py
    "driver": ("home", "route", "deliver", "deliver-done"),
    "supervisor": ("home", "board", "board-live", "issue-refused", "attention", "attention-fix", "attention-cleared"),
}

GAS_LIFT, GAS_LIFT_GTIN = "GAS-C4", "4006381005012"
TASK_CHAIR, TASK_CHAIR_GTIN = "CH-TASK", "6923456000032"
CHAIR_BIN, DOCK = "FG-02-01", "RCV-01"


def sscc(serial: int) -> str:
    """A pre-printed SSCC label's number under GS1's example prefix (extension 0), fixed so the pictures are."""
    body = f"00614141{serial:09d}"
    return body + str(check_digit(body))


@pytest.fixture(scope="module")
def guide_server(tmp_path_factory):
    """A server of the guides' own, on a new database with the demo factory: the codes in the pictures are stable."""
    srv = make_server(tmp_path_factory.mktemp("guide"), demo=True)
    yield srv
    srv.stop()
    srv.database.drop()


@pytest.fixture(scope="module")
def user(guide_server):
    clients: dict[str, httpx.Client] = {}

    def as_user(name: str) -> httpx.Client:
        if name not in clients:
            clients[name] = office(guide_server.url, name)
        return clients[name]

    yield as_user
    for client in clients.values():
        client.close()


def shot(page: Page, role: str, step: str, lang: str, synced: bool = True) -> None:
    """The screen as the operator sees it, once the device is idle (unless offline on purpose); the sync bar's clock,
    the board ticker's times and needs-attention's timestamps masked, the scan flash hidden."""
    assert step in STEPS[role], f"{role}-{step} is not a step of the guide"
    if synced:
        wait_synced(page)
    page.evaluate("document.getElementById('feedback').className = ''")
    page.evaluate("document.activeElement && document.activeElement.blur && document.activeElement.blur()")
    page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)  # no hover state left on what was last tapped
    data = page.screenshot(mask=[page.locator("#sync-status .last"), page.locator("#ticker time"),
                                 page.locator("#attention-list .when")], animations="disabled", caret="hide", mask_color="#5b7a96")
    IMAGES.mkdir(parents=True, exist_ok=True)
    save_if_changed(IMAGES / f"{role}-{step}-{lang}.png", data)


def device(browser, base_url: str, code: str, lang: str, **options):
    """A tablet enrolled by its QR link, switched to `lang` with the language button on home."""
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, **options)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = watch_errors(page)
    open_app(page, base_url)
    page.goto(f"{base_url}/app/#enrol={code}")
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)
    if lang == "en":
        page.locator("#language").click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    return context, page, errors


def fill(page: Page, form: str, values: dict[str, str], submit: bool = False) -> None:
    """Field by field, each ended with Enter as a keyboard-wedge scanner ends a scan (the last Enter submits)."""
    names = list(values)
    for name in names:
        field = page.locator(f"#{form} [name={name}]")
        field.fill(values[name])
        if name != names[-1] or submit:
            field.press("Enter")


# --- warehouse -----------------------------------------------------------------------------------------------------

def test_warehouse_receives_moves_counts_packs_and_loads(guide_server, user, browser):
    clerk = user("warehouse")
    po = next(p for p in user("buyer").get("/api/purchase-orders", params={"limit": 50}).json()["items"]
              if p["supplier"] == "S-LIFTTEC")["code"]
    counted = clerk.post("/api/stock/counts", json={"item": TASK_CHAIR, "location": CHAIR_BIN, "counted_quantity": "40"})
    assert counted.status_code == 201, counted.text
    shipments = {lang: plan_shipment(user, confirmed_order(user, [(TASK_CHAIR, "6")]), route="NB-EAST")["code"]
                 for lang in LANGUAGES}
    lots = {"zh": "LT2406A", "en": "LT2406B"}
    counts = {"zh": "27", "en": "8"}
    units = {"zh": sscc(1), "en": sscc(2)}

    for lang in LANGUAGES:
        context, page, errors = device(browser, guide_server.url, enrolment_code(clerk, "NB1", ["RM", "FG"]), lang)
        shot(page, "warehouse", "home", lang)

        go(page, "receive")  # the PO's label, then the supplier's GS1 label: item, lot and expiry; the dock
        form = page.locator("#receive-form")
        fill(page, "receive-form", {"purchase_order": po}, submit=True)
        scan_into(page, form.locator("input[name=item]"), f"]C101{GAS_LIFT_GTIN.zfill(14)}17300630" + f"10{lots[lang]}",
                  GAS_LIFT)
        expect(form.locator("input[name=lot]")).to_have_value(lots[lang])
        expect(form.locator("input[name=expiry]")).to_have_value("2030-06-30")
        fill(page, "receive-form", {"location": DOCK, "quantity": "100"})
        shot(page, "warehouse", "receive-scanned", lang)
        form.locator("input[name=quantity]").press("Enter")
        page.wait_for_selector("#screen .notice.ok")
        shot(page, "warehouse", "receive-done", lang)

        go(page, "move")
        fill(page, "move-form", {"item": TASK_CHAIR, "from_location": CHAIR_BIN, "to_location": "SHP-01", "quantity": "12"},
             submit=True)
        page.wait_for_selector("#screen .notice.ok")
        shot(page, "warehouse", "move", lang)

        go(page, "count")
        fill(page, "count-form", {"item": TASK_CHAIR, "location": CHAIR_BIN, "counted_quantity": counts[lang],
                                  "reason": "carton damaged" if lang == "en" else "纸箱破损"}, submit=True)
        page.wait_for_selector("#screen .notice.ok")
        shot(page, "warehouse", "count", lang)

        go(page, "pack")  # the shipment's label, the pre-printed SSCC, the chairs' GS1 label with their count, the bin
        form = page.locator("#pack-form")
        fill(page, "pack-form", {"shipment": shipments[lang]}, submit=True)
        expect(page.locator("#pick-list li")).to_contain_text(CHAIR_BIN)
        scan_into(page, form.locator("input[name=sscc]"), f"]C100{units[lang]}", units[lang])
        scan_into(page, form.locator("input[name=item]"), f"]C101{TASK_CHAIR_GTIN.zfill(14)}306", TASK_CHAIR)
        expect(form.locator("input[name=quantity]")).to_have_value("6")
        form.locator("input[name=location]").fill(CHAIR_BIN)
        form.locator("input[name=quantity]").press("Enter")
        expect(page.locator(f"#unit-contents li[data-item='{TASK_CHAIR}']")).to_have_count(1)
        shot(page, "warehouse", "pack", lang)
        page.locator("#pack-unit").click()
        expect(page.locator(f"#shipment-lines li[data-item='{TASK_CHAIR}']")).to_have_attribute("data-packed", "6")
        shot(page, "warehouse", "pack-done", lang)

        context.set_offline(True)  # the dock's Wi-Fi drops: loading goes on, the bar counts what waits
        go(page, "load")
        form = page.locator("#load-form")
        fill(page, "load-form", {"vehicle": "TRUCK-07"}, submit=True)
        scan_into(page, form.locator("input[name=sscc]"), f"]C100{units[lang]}", "")
        expect(form.locator("input[name=shipment]")).to_have_value(shipments[lang])
        expect(page.locator("#load-summary")).to_have_attribute("data-left", "0")
        expect(page.locator("#sync-status")).to_have_attribute("data-pending", "1")
        shot(page, "warehouse", "load-offline", lang, synced=False)
        context.set_offline(False)
        wait_synced(page)
        shot(page, "warehouse", "load-synced", lang)
        assert errors == []
        context.close()

    viewer = user("viewer")
    line = next(l for l in viewer.get(f"/api/purchase-orders/{po}").json()["lines"] if l["item"] == GAS_LIFT)
    assert Decimal(line["received_quantity"]) == 200
    lifts = {(r["location"], r["lot"], r["status"], r["quantity"])
             for r in viewer.get("/api/stock", params={"item": GAS_LIFT}).json()["items"]}
    assert lifts == {(DOCK, "LT2406A", "hold", "100"), (DOCK, "LT2406B", "hold", "100")}  # safety parts wait for QC
    chairs = {r["location"]: r["quantity"] for r in viewer.get("/api/stock", params={"item": TASK_CHAIR}).json()["items"]}
    assert chairs == {CHAIR_BIN: "2", "SHP-01": "24"}  # 40, 12 moved (28), counted 27, 6 packed; 12 moved (9), counted 8, 6 packed
    for lang in LANGUAGES:
        shipment = viewer.get(f"/api/shipments/{shipments[lang]}").json()
        assert (shipment["status"], shipment["vehicle"]) == ("loaded", "TRUCK-07")
        assert [(u["sscc"], u["status"]) for u in shipment["handling_units"]] == [(units[lang], "loaded")]


# --- operator ------------------------------------------------------------------------------------------------------

def chair_order(user) -> str:
    """The demo's released order for 20 ergo chairs (assembly at ASM, then PACK)."""
    orders = user("planner").get("/api/production-orders", params={"limit": 50}).json()["items"]
    return next(o for o in orders if o["item"] == "CH-ERGO")["code"]


def test_operator_inspects_held_stock_issues_reports_and_records_downtime(guide_server, user, browser):
    order = chair_order(user)
    mechanism = "MECH-SYN"
    held_at = {"zh": "RM-A-01-01", "en": "RM-A-01-02"}
    for location in held_at.values():  # the synchro mechanisms, 10 a bin, wait for their function check
        counted = user("warehouse").post("/api/stock/counts", json={"item": mechanism, "location": location,
                                                                    "counted_quantity": "10"})
        assert counted.status_code == 201, counted.text
        held = user("quality").post("/api/quality/holds", json={"item": mechanism, "location": location, "quantity": "10"})
        assert held.status_code == 201, held.text
    reports = {"zh": ("5", ""), "en": ("4", "1")}
    supervisor = user("supervisor")

    for lang in LANGUAGES:
        code = enrolment_code(supervisor, "NB1", ["RM"], work_centres=["ASM", "PACK"])
        context, page, errors = device(browser, guide_server.url, code, lang)
        shot(page, "operator", "home", lang)

        go(page, "quality")  # tap the held stock, check against the plan
        page.locator(f"#held button[data-item='{mechanism}'][data-location='{held_at[lang]}']").click()
        form = page.locator("#quality-form")
        expect(page.locator("#plan")).to_have_attribute("data-plan", "1")
        form.locator("#f-result_0").select_option("pass")  # tilt lock
        form.locator("#f-result_1").fill("225")  # tension force, N
        form.locator("#f-result_1").press("Tab")
        shot(page, "operator", "quality", lang)
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#screen .notice.ok")
        shot(page, "operator", "quality-done", lang)

        go(page, "issue")  # the traveller's order code, then the material, where it is, how many
        fill(page, "issue-form", {"production_order": order}, submit=True)
        expect(page.locator(f"#materials li[data-item='{mechanism}']")).to_be_visible()
        fill(page, "issue-form", {"item": mechanism, "location": held_at[lang], "quantity": "10"})
        shot(page, "operator", "issue", lang)
        page.locator("#issue-form input[name=quantity]").press("Enter")
        page.wait_for_selector("#screen .notice.ok")
        shot(page, "operator", "issue-done", lang)

        go(page, "report")  # the order's code picks this device's next operation
        fill(page, "report-form", {"production_order": order}, submit=True)
        expect(page.locator("#report-form select[name=operation]")).to_have_value("10")
        good, scrap = reports[lang]
        values = {"good_quantity": good, "scrap_quantity": scrap}
        if scrap:
            values["scrap_reason"] = "scratched base" if lang == "en" else "底座划伤"
        fill(page, "report-form", values)
        shot(page, "operator", "report", lang)
        page.locator("#report-form button[type=submit]").click()
        page.wait_for_selector("#screen .notice.ok")
        shot(page, "operator", "report-done", lang)

        go(page, "downtime")  # tap the line, tap a reason, start; when it runs again, tap it and stop
        page.locator("#centres button[data-centre='ASM']").click()
        page.locator("#reasons button[data-reason='changeover']").click()
        shot(page, "operator", "downtime", lang)
        page.locator("#start").click()
        expect(page.locator("#centres button[data-centre='ASM']")).to_have_attribute("data-down", "1")
        page.locator("#centres button[data-centre='ASM']").click()
        page.locator("#stop").click()
        page.wait_for_selector("#screen .notice.ok")
        expect(page.locator("#centres button[data-centre='ASM']")).to_have_attribute("data-down", "0")
        shot(page, "operator", "downtime-stopped", lang)
        assert errors == []
        context.close()

    viewer = user("admin")
    after = viewer.get(f"/api/production-orders/{order}").json()
    assert {m["item"]: m["issued_quantity"] for m in after["materials"]}[mechanism] == "20"
    assert [(op["sequence"], op["good_quantity"], op["scrap_quantity"]) for op in after["operations"]][0] == (10, "9", "1")
    left = viewer.get("/api/stock", params={"item": mechanism}).json()["items"]
    assert all(Decimal(r["quantity"]) == 0 for r in left), left  # released by the inspection, then all issued
    stops = viewer.get("/api/downtime", params={"work_centre": "ASM"}).json()["items"]
    assert sorted((d["reason"], d["ended_at"] is not None) for d in stops) == [("Changeover", True), ("换型", True)]


# --- driver --------------------------------------------------------------------------------------------------------

def test_driver_opens_the_route_and_gets_the_delivery_signed(guide_server, user, browser, tmp_path):
    counted = user("warehouse").post("/api/stock/counts", json={"item": TASK_CHAIR, "location": "FG-01-02",
                                                                "counted_quantity": "10"})
    assert counted.status_code == 201, counted.text
    packer = enrolled_device(guide_server.url, user("warehouse"), tmp_path, warehouses=["FG"])
    shipments = {}
    for lang, customer in (("zh", "C-BJYB"), ("en", "C-BUEROWELT")):
        planned = plan_shipment(user, confirmed_order(user, [(TASK_CHAIR, "3")], customer=customer), route="NB-WEST")
        contents = [{"item": p["item"], "lot": p["lot"], "location": p["location"], "quantity": p["quantity"]}
                    for p in planned["pick_list"]]
        packed = pushed(packer, "shipment.pack", {"shipment": planned["code"], "contents": contents})
        assert packed["status"] == "applied", packed
        loaded = pushed(packer, "shipment.load", {"shipment": planned["code"], "sscc": packed["effect"]["sscc"],
                                                  "vehicle": "VAN-3"})
        assert loaded["status"] == "applied", loaded
        shipments[lang] = planned["code"]
    packer.close()
    signers = {"zh": "王芳", "en": "Anna Schmidt"}

    for lang in LANGUAGES:
        code = enrolment_code(user("logistics"), "NB1", route="NB-WEST")
        context, page, errors = device(browser, guide_server.url, code, lang, geolocation=POSITION,
                                       permissions=["geolocation"])
        shot(page, "driver", "home", lang)
        page.locator("nav.tiles [data-route='route']").click()
        stop = page.locator(f"#shipments li[data-code='{shipments[lang]}']")
        expect(stop).to_have_attribute("data-status", "loaded")
        shot(page, "driver", "route", lang)
        stop.locator("button.open").click()
        page.wait_for_selector("body[data-screen='deliver']")
        expect(page.locator("#position")).to_have_attribute("data-state", "ok")
        page.locator("#deliver-form input[name=signer_name]").fill(signers[lang])
        # The pad draws a stroke thinner the faster it goes and takes a point at most every 16 ms, both by the clock:
        # a fixed clock and unhurried strokes draw it the same way on every run (the picture stays).
        page.clock.set_fixed_time(page.evaluate("Date.now()") / 1000)  # seconds
        sign_unhurried(page)
        page.clock.resume()
        shot(page, "driver", "deliver", lang)
        page.locator("#deliver-form button[type=submit]").click()
        expect(page.locator("#screen .notice.ok")).to_be_visible()
        shot(page, "driver", "deliver-done", lang)
        assert errors == []
        context.close()

    viewer = user("viewer")
    for lang in LANGUAGES:
        shipment = viewer.get(f"/api/shipments/{shipments[lang]}").json()
        assert shipment["status"] == "delivered"
        assert [l["delivered_quantity"] for l in shipment["lines"]] == ["3"]
        assert viewer.get(f"/api/shipments/{shipments[lang]}/proof").json()["signer_name"] == signers[lang]
    assert viewer.get("/api/proofs/verify").json()["ok"] is True


def sign_unhurried(page: Page) -> None:
    """The customer signs with a finger: three strokes, a point every 40 ms so the pad's throttle takes each one."""
    box = page.locator("#signature").bounding_box()
    for stroke in ([(0.1, 0.6), (0.2, 0.3), (0.3, 0.7), (0.4, 0.35)], [(0.45, 0.5), (0.6, 0.45), (0.7, 0.6)],
                   [(0.75, 0.3), (0.8, 0.7), (0.9, 0.4)]):
        points = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in stroke]
        page.mouse.move(*points[0])
        page.mouse.down()
        page.wait_for_timeout(40)
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 5):
                page.mouse.move(x0 + (x1 - x0) * step / 4, y0 + (y1 - y0) * step / 4)
                page.wait_for_timeout(40)
        page.mouse.up()
        page.wait_for_timeout(40)


# --- supervisor ----------------------------------------------------------------------------------------------------

def test_supervisor_follows_the_live_board_and_clears_needs_attention(guide_server, user, browser, tmp_path):
    order = chair_order(user)
    armrests, shelf = "ARM-2D", "RM-A-02-01"
    counted = user("warehouse").post("/api/stock/counts", json={"item": armrests, "location": shelf,
                                                                "counted_quantity": "8"})
    assert counted.status_code == 201, counted.text
    supervisor = user("supervisor")
    line = enrolled_device(guide_server.url, supervisor, tmp_path, work_centres=["ASM"])  # the assembly line's tablet

    for lang in LANGUAGES:
        code = enrolment_code(supervisor, "NB1", ["RM"], work_centres=["ASM", "PACK"])
        context, page, errors = device(browser, guide_server.url, code, lang)
        shot(page, "supervisor", "home", lang)
        go(page, "board")
        expect(page.locator("#board-live")).to_have_attribute("data-watching", "board:workcentre:ASM board:workcentre:PACK")
        row = page.locator(f"#orders section[data-order='{order}'] tr[data-sequence='10']")
        before = Decimal(row.get_attribute("data-good"))
        shot(page, "supervisor", "board", lang)
        reported = pushed(line, "production.report", {"production_order": order, "operation": 10, "good_quantity": "2",
                                                     "scrap_quantity": "0"})
        assert reported["status"] == "applied", reported
        expect(row).to_have_attribute("data-good", str(before + 2))  # live, no reload
        expect(page.locator("#ticker li").first).to_contain_text(order)
        shot(page, "supervisor", "board-live", lang)

        # An issue of more than the shelf holds: the tablet cannot know, the server refuses it.
        go(page, "issue")
        fill(page, "issue-form", {"production_order": order, "item": armrests, "location": shelf, "quantity": "10"},
             submit=True)
        page.wait_for_selector("#screen .notice.ok")
        expect(page.locator("#sync-status")).to_have_attribute("data-attention", "1")
        shot(page, "supervisor", "issue-refused", lang)
        go(page, "attention")
        entry = page.locator("#attention-list .entry[data-code='insufficient_stock']")
        expect(entry).to_be_visible()
        shot(page, "supervisor", "attention", lang)
        entry.locator("button.correct").click()
        page.wait_for_selector("body[data-screen='issue']")
        expect(page.locator("#issue-form input[name=quantity]")).to_have_value("10")
        page.locator("#issue-form input[name=quantity]").fill("4")
        shot(page, "supervisor", "attention-fix", lang)
        page.locator("#issue-form input[name=quantity]").press("Enter")
        page.wait_for_selector("body[data-screen='attention']")
        expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")
        expect(page.locator("#attention-list li.empty")).to_be_visible()
        shot(page, "supervisor", "attention-cleared", lang)
        assert errors == []
        context.close()
    line.close()

    after = user("admin").get(f"/api/production-orders/{order}").json()
    assert {m["item"]: m["issued_quantity"] for m in after["materials"]}[armrests] == "8"  # 4 and 4, the refusals none
    rows = user("viewer").get("/api/stock", params={"item": armrests}).json()["items"]
    assert all(Decimal(r["quantity"]) == 0 for r in rows), rows


# --- the guides and their pictures ---------------------------------------------------------------------------------

def test_every_role_has_a_guide_in_both_languages_and_every_picture_it_shows_is_one_the_tests_take():
    produced = {f"img/{role}-{step}-{lang}.png" for role, steps in STEPS.items() for step in steps for lang in LANGUAGES}
    linked_anywhere: set[str] = set()
    for role in ROLES:
        for lang in LANGUAGES:
            guide = GUIDE / f"{role}.{lang}.md"
            assert guide.exists(), f"{guide.name} is missing"
            links = set(re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", guide.read_text(encoding="utf-8")))
            assert links, f"{guide.name} shows no pictures"
            for link in links:
                assert link in produced, f"{guide.name} shows {link}, which no test takes"
                assert (GUIDE / link).exists(), f"{guide.name} shows {link}, which is not there"
                assert link.endswith(f"-{lang}.png"), f"{guide.name} shows {link}, a picture in the other language"
                assert link.startswith(f"img/{role}-"), f"{guide.name} shows {link}, another role's picture"
            linked_anywhere |= links
    assert linked_anywhere == produced, f"pictures taken but in no guide: {sorted(produced - linked_anywhere)}"
    index = (GUIDE / "README.md").read_text(encoding="utf-8")
    for role in ROLES:
        for lang in LANGUAGES:
            assert f"({role}.{lang}.md)" in index, f"README.md does not link {role}.{lang}.md"
