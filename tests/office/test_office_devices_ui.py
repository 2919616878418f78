"""The devices and stock pages over HTTP, as a browser without script would use them: a warehouse clerk enrols a
tablet from the page and the code works, revokes it and its token stops working; a viewer only looks; stock counted
and moved through the desk forms changes on-hand, and a move of too much is refused next to the form, in English or
Chinese, changing nothing. One test in a real browser checks the QR image shows with no CSP error."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import httpx
import pytest

from tests.clients import Browser

CODE = re.compile(r'<output class="enrol-code" id="enrol-code"[^>]*>([A-Z0-9-]+)</output>')


def _enrol_through_the_page(clerk: Browser, warehouses: list[str] | None = None) -> httpx.Response:
    return clerk.post("/devices/enrolments", [("site", "NB1"), ("ttl_minutes", "15"),
                                              *[("warehouses", w) for w in warehouses or []]])


def _shown_code(page: httpx.Response) -> str:
    found = CODE.search(page.text)
    assert found, page.text
    return found.group(1)


def _enroll(base_url: str, code: str, name: str) -> dict:
    response = httpx.post(f"{base_url}/api/sync/enroll", json={"code": code, "device_name": name, "platform": "test"})
    assert response.status_code == 200, response.text
    return response.json()


def _pull(base_url: str, token: str) -> httpx.Response:
    return httpx.get(f"{base_url}/api/sync/pull", params={"protocol": 1, "limit": 1},
                     headers={"Authorization": f"Bearer {token}"})


def _device_row(page: str, name: str) -> str:
    rows = [row for row in re.findall(r"<tr[^>]*data-device=.*?</tr>", page, re.S) if f">{html.escape(name)}</a>" in row]
    assert len(rows) == 1, f"{name} not listed once"
    return rows[0]


def test_warehouse_enrols_a_device_on_the_page_the_code_works_and_revoking_stops_its_token(server, browse, unique):
    clerk = browse("warehouse")
    page = _enrol_through_the_page(clerk, ["RM"])
    assert page.status_code == 200
    code = _shown_code(page)
    assert 'src="data:image/svg+xml;base64,' in page.text and 'id="enrol-qr"' in page.text
    assert code not in str(page.url), "the code is never put in a URL"

    name = unique("Tablet")
    device = _enroll(server.url, code, name)
    assert device["scope"] == {"site": "NB1", "warehouses": ["RM"], "work_centres": [], "route": None}
    assert _pull(server.url, device["token"]).status_code == 200

    listed = clerk.get("/devices")
    row = _device_row(listed.text, name)
    assert "NB1" in row and "RM" in row and "warehouse" in row and "Active" in row
    assert "just now" in row or "min ago" in row

    confirm = clerk.get(f"/devices/{device['device_id']}/revoke")
    assert confirm.status_code == 200 and "Yes, revoke this device" in confirm.text
    assert _pull(server.url, device["token"]).status_code == 200, "asking for confirmation revokes nothing"
    revoked = clerk.post(f"/devices/{device['device_id']}/revoke")
    assert revoked.status_code == 303 and revoked.headers["location"].startswith("/devices?revoked=")
    refused = _pull(server.url, device["token"])
    assert refused.status_code == 401 and refused.json()["code"] == "device_revoked"
    assert "Revoked" in _device_row(clerk.get("/devices").text, name)


def test_a_device_is_renamed_and_rescoped_on_its_page(server, browse, unique):
    clerk = browse("warehouse")
    device = _enroll(server.url, _shown_code(_enrol_through_the_page(clerk)), unique("Scanner"))
    new_name = unique("Scanner FG")
    saved = clerk.post(f"/devices/{device['device_id']}", [("name", new_name), ("site", "NB1"), ("warehouses", "FG")])
    assert saved.status_code == 303, saved.text
    row = _device_row(clerk.get("/devices").text, new_name)
    assert "FG" in row and "all warehouses" not in row
    refused = clerk.post(f"/devices/{device['device_id']}", [("name", new_name), ("site", "NB1"), ("warehouses", "NOPE")])
    assert refused.status_code == 422 and "NOPE" in refused.text and 'role="alert"' in refused.text


def _chinese_clerk(browse, unique) -> Browser:
    """A warehouse user of the test's own whose language is Chinese (the demo users' choice stays untouched)."""
    username = unique("cangku").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "仓库员"), ("password", "long-enough-pw"),
                                              ("roles", "warehouse"), ("language", "zh")])
    assert created.status_code == 303, created.text
    clerk = browse()
    assert clerk.log_in(username, "long-enough-pw").status_code in (302, 303)
    return clerk


def test_a_bad_scope_is_explained_next_to_the_enrol_form_in_chinese(browse, unique):
    clerk = _chinese_clerk(browse, unique)
    refused = clerk.post("/devices/enrolments", [("site", "NO-SUCH-SITE"), ("ttl_minutes", "15")])
    assert refused.status_code == 422
    assert "未生成注册码" in refused.text and "NO-SUCH-SITE" in refused.text and 'id="enrol-code"' not in refused.text
    assert "注册设备" in clerk.get("/devices").text


def test_a_viewer_sees_devices_but_no_enrol_or_revoke_forms_and_may_not_post(server, browse, unique):
    clerk = browse("warehouse")
    name = unique("Viewer sees")
    device = _enroll(server.url, _shown_code(_enrol_through_the_page(clerk)), name)

    viewer = browse("viewer")
    listed = viewer.get("/devices")
    assert listed.status_code == 200 and name in listed.text
    assert 'action="/devices/enrolments"' not in listed.text and "/revoke" not in listed.text
    assert 'action="/devices/' not in viewer.get(f"/devices/{device['device_id']}").text
    assert viewer.post("/devices/enrolments", [("site", "NB1")]).status_code == 403
    assert viewer.get(f"/devices/{device['device_id']}/revoke").status_code == 403
    assert viewer.post(f"/devices/{device['device_id']}/revoke").status_code == 403
    assert _pull(server.url, device["token"]).status_code == 200
    assert browse("sales").get("/devices").status_code == 403, "sales has no device permission"
    assert "/devices" not in browse("sales").get("/").text.split("<main")[0]


def _on_hand(office: httpx.Client, item: str) -> dict[str, str]:
    rows = office.get("/api/stock", params={"item": item}).json()["items"]
    return {row["location"]: row["quantity"] for row in rows}


@pytest.fixture
def part(admin, unique) -> str:
    code = unique("DESK")
    admin.post("/api/items", json={"code": code, "name": "Desk stock part", "type": "raw", "unit": "PCS"}).raise_for_status()
    return code


def test_stock_count_and_move_through_the_forms_change_on_hand(browse, admin, part):
    clerk = browse("warehouse")
    counted = clerk.post("/stock/counts", {"item": part, "location": "RM-A-01-01", "counted_quantity": "12", "reason": "desk"})
    assert counted.status_code == 303, counted.text
    assert _on_hand(admin, part) == {"RM-A-01-01": "12"}
    moved = clerk.post("/stock/moves", {"item": part, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02",
                                        "quantity": "5"})
    assert moved.status_code == 303, moved.text
    assert _on_hand(admin, part) == {"RM-A-01-01": "7", "RM-A-01-02": "5"}
    shown = clerk.get(moved.headers["location"])
    assert "Move booked" in shown.text and shown.text.count(f">{part}</a>") == 2

    viewer = browse("viewer")
    listed = viewer.get("/stock", params={"item": part, "location": "RM-A-01-02"})
    assert listed.status_code == 200 and f">{part}</a>" in listed.text and ">5</td>" in listed.text
    assert 'action="/stock/moves"' not in listed.text and 'action="/stock/counts"' not in listed.text
    assert viewer.post("/stock/moves", {"item": part, "from_location": "RM-A-01-02", "to_location": "RM-A-01-01",
                                        "quantity": "1"}).status_code == 403
    assert _on_hand(admin, part) == {"RM-A-01-01": "7", "RM-A-01-02": "5"}


def test_a_move_of_too_much_is_refused_next_to_the_form_and_changes_nothing(browse, admin, part, unique):
    clerk = browse("warehouse")
    assert clerk.post("/stock/counts", {"item": part, "location": "RM-A-01-01", "counted_quantity": "3"}).status_code == 303
    too_much = {"item": part, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": "4"}
    refused = clerk.post("/stock/moves", too_much)
    assert refused.status_code == 422
    move_panel = refused.text.split('id="move"')[1].split("</section>")[0]
    assert "Not enough stock" not in move_panel  # English readers get the contract's own message
    assert "Only 3 of" in move_panel and 'value="4"' in move_panel, "the refusal and what was typed stay on the form"
    assert _on_hand(admin, part) == {"RM-A-01-01": "3"}

    chinese = _chinese_clerk(browse, unique).post("/stock/moves", too_much)
    assert chinese.status_code == 422 and "库存不足" in chinese.text.split('id="move"')[1] and "未能过账" in chinese.text
    assert _on_hand(admin, part) == {"RM-A-01-01": "3"}


def test_stock_list_pages_and_filters(browse, admin, part):
    clerk = browse("warehouse")
    for location in ("RM-A-01-01", "RM-A-01-02"):
        clerk.post("/stock/counts", {"item": part, "location": location, "counted_quantity": "2"})
    page = clerk.get("/stock", params={"item": part})
    assert page.status_code == 200 and "Records: 2" in page.text
    only_one = clerk.get("/stock", params={"item": part, "location": "RM-A-01-02"})
    assert only_one.text.count(f">{part}</a>") == 1
    beyond = clerk.get("/stock", params={"item": part, "page": 2})
    assert beyond.status_code == 200 and f">{part}</a>" not in beyond.text and "Page 2 of 1" not in beyond.text


def test_device_and_stock_pages_have_no_inline_script_or_style(browse):
    clerk = browse("warehouse")
    page = _enrol_through_the_page(clerk)
    device_id = re.search(r'data-device="([0-9a-f-]{36})"', page.text).group(1)
    for response in (page, clerk.get("/devices"), clerk.get("/stock"), clerk.get(f"/devices/{device_id}"),
                     clerk.get(f"/devices/{device_id}/revoke")):
        assert response.status_code == 200
        text = response.text
        assert re.search(r"<script(?![^>]*\bsrc=)", text) is None
        assert re.search(r"\sstyle=", text) is None and re.search(r"\son[a-z]+=", text) is None
        assert "<svg" not in text, "the QR is an image, never inline markup"
    # A language switch on a page shown after a POST comes back through GET at the form's address.
    for path, home in (("/devices/enrolments", "/devices"), ("/stock/moves", "/stock"), ("/stock/counts", "/stock")):
        back = clerk.get(path, follow_redirects=False)
        assert back.status_code == 303 and back.headers["location"] == home, path


@pytest.mark.browser
def test_enrolling_a_device_in_the_browser_shows_the_qr_code(fresh_server, tmp_path):
    from playwright.sync_api import expect

    from tests.browsers import chromium, console_problems, log_in

    srv = fresh_server(demo=True)
    with chromium() as browser:
        page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 900})
        problems = console_problems(page)
        log_in(page, srv.url, "warehouse")
        page.get_by_role("link", name="Devices", exact=True).click()
        expect(page.locator("h1")).to_have_text("Devices")
        page.locator("#enrol-site").select_option("NB1")
        page.locator("#enrol-form input[name=warehouses][value=RM]").check()
        page.get_by_role("button", name="Create one-time code").click()
        code = page.locator("#enrol-code")
        expect(code).to_have_text(re.compile(r"^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$"))
        qr = page.locator("#enrol-qr")
        expect(qr).to_be_visible()
        assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR image decoded"
        box = qr.bounding_box()
        assert box and box["width"] >= 200 and box["height"] >= 200
        page.screenshot(path=str(tmp_path / "devices-enrol-en.png"), full_page=True)

        enrolled = httpx.post(f"{srv.url}/api/sync/enroll", json={"code": code.inner_text(), "device_name": "Tablet 1"})
        assert enrolled.status_code == 200, enrolled.text
        page.goto(f"{srv.url}/devices")
        expect(page.locator("table.devices")).to_contain_text("Tablet 1")
        page.get_by_role("button", name="中文").click()
        expect(page.locator("h1")).to_have_text("设备")
        page.screenshot(path=str(tmp_path / "devices-zh.png"), full_page=True)
        page.get_by_role("link", name="Tablet 1").click()
        expect(page.locator("#device-warehouses")).to_have_values(["RM"])
        page.screenshot(path=str(tmp_path / "device-edit-zh.png"), full_page=True)
        page.goto(f"{srv.url}/devices")
        page.get_by_role("link", name="吊销").first.click()
        page.screenshot(path=str(tmp_path / "devices-revoke-zh.png"), full_page=True)
        page.get_by_role("button", name="确认吊销此设备").click()
        expect(page.locator(".alert.ok")).to_contain_text("Tablet 1")

        page.get_by_role("link", name="库存", exact=True).click()
        page.locator("#count-item").fill("NOPE-ITEM")
        page.locator("#count-location").fill("RM-A-01-01")
        page.locator("#count-quantity").fill("1")
        page.get_by_role("button", name="提交盘点").click()
        expect(page.locator("#count .alert.error")).to_contain_text("物料 NOPE-ITEM 不存在")
        page.locator("#count-item").fill("SA-MESH")
        page.locator("#count-quantity").fill("20")
        page.get_by_role("button", name="提交盘点").click()
        expect(page.locator(".alert.ok")).to_be_visible()
        page.locator("#move-item").fill("SA-MESH")
        page.locator("#move-from").fill("RM-A-01-01")
        page.locator("#move-to").fill("RM-A-01-02")
        page.locator("#move-quantity").fill("5")
        page.get_by_role("button", name="提交移动").click()
        expect(page.locator(".alert.ok")).to_contain_text("移动已过账")
        page.locator("#move-item").fill("SA-MESH")
        page.locator("#move-from").fill("RM-A-01-02")
        page.locator("#move-to").fill("RM-A-01-01")
        page.locator("#move-quantity").fill("6")
        page.get_by_role("button", name="提交移动").click()
        expect(page.locator("#move .alert.error")).to_contain_text("库存不足")
        expect(page.locator("#on-hand tbody tr")).to_have_count(2)
        page.screenshot(path=str(tmp_path / "stock-zh.png"), full_page=True)
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Stock")
        page.goto(f"{srv.url}/stock?item=SA-MESH")
        expect(page.locator("#on-hand")).to_contain_text("RM-A-01-02")
        page.screenshot(path=str(tmp_path / "stock-en.png"), full_page=True)

    # The refused count above is a 422 page the reader asked for; only script and CSP problems count here.
    problems = [p for p in problems if "422" not in p]
    assert problems == [], "\n".join(problems)
    print(f"screenshots: {tmp_path}")


def test_a_receipt_booked_at_the_desk_puts_the_lot_in_stock_and_a_bad_one_stays_on_the_form(browse, login, admin, unique):
    part = unique("DESKLOT")
    admin.post("/api/items", json={"code": part, "name": "Desk lot part", "type": "raw", "unit": "PCS",
                                   "lot_tracked": True}).raise_for_status()
    buyer = login("buyer")
    due = (date.today() + timedelta(days=7)).isoformat()
    po = buyer.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": "NB1", "allow_unlisted_item": True, "lines": [
        {"item": part, "quantity": "20", "unit_price": "1", "due_date": due}]}).json()["code"]
    buyer.post(f"/api/purchase-orders/{po}/approve").raise_for_status()
    clerk = browse("warehouse")
    form = {"purchase_order": po, "line_no": "10", "item": part, "lot": "", "expiry": "", "location": "RM-A-01-01", "quantity": "8"}
    refused = clerk.post("/stock/receipts", form)
    assert refused.status_code == 422
    panel = refused.text.split('id="receive"')[1].split("</section>")[0]
    assert "lot-tracked" in panel and f'value="{po}"' in panel
    booked = clerk.post("/stock/receipts", {**form, "lot": "DL-1", "expiry": (date.today() + timedelta(days=90)).isoformat()})
    assert booked.status_code == 303, booked.text
    assert "Receipt booked" in clerk.get(booked.headers["location"]).text
    rows = admin.get("/api/stock", params={"item": part}).json()["items"]
    assert [(r["location"], r["lot"], r["quantity"]) for r in rows] == [("RM-A-01-01", "DL-1", "8")]
    assert browse("viewer").post("/stock/receipts", form).status_code == 403


def test_the_alerts_page_lists_items_below_safety_stock(browse, admin, unique):
    part = unique("SAFE")
    admin.post("/api/items", json={"code": part, "name": "Safety part", "type": "raw", "unit": "PCS",
                                   "safety_stock": "50"}).raise_for_status()
    admin.post("/api/stock/counts", json={"item": part, "location": "RM-A-01-01", "counted_quantity": "20"}).raise_for_status()
    page = browse("viewer").get("/stock/alerts", params={"days": 10})
    assert page.status_code == 200
    below = page.text.split('id="below-safety"')[1].split("</section>")[0]
    assert f">{part}</a>" in below and ">50</td>" in below and ">20</td>" in below
    assert browse("viewer").get("/stock/alerts", params={"days": -1}).status_code == 400
