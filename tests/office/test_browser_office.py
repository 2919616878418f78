"""The office UI in a real browser (Debian Chromium through Playwright): a planner logs in, creates a unit and an
item through the forms, finds and edits the item, and switches to Chinese, which survives logout and login.
Any Content-Security-Policy violation or script error on the way fails the test."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browsers import chromium, console_problems, log_in

@pytest.mark.browser
def test_planner_maintains_items_in_the_browser_in_english_and_chinese(fresh_server, unique, tmp_path):
    srv = fresh_server(demo=True)
    base = srv.url
    unit, code = unique("PCS"), unique("CHAIR")
    with chromium() as browser:
        page = browser.new_page(locale="en-GB", viewport={"width": 1280, "height": 800})
        problems = console_problems(page)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        log_in(page, base, "planner")
        expect(page.locator("h1")).to_contain_text("Welcome")

        page.goto(f"{base}/md/units/new")
        page.locator("#f-code").fill(unit)
        page.locator("#f-name").fill("Piece")
        page.get_by_role("button", name="Save").click()
        expect(page.locator(".alert.ok")).to_contain_text(unit)

        page.goto(f"{base}/md/items")
        page.get_by_role("link", name="New", exact=True).click()
        page.locator("#f-code").fill(code)
        page.locator("#f-name").fill("Office chair")
        page.locator("#f-type").select_option("finished")
        page.locator("#f-unit").select_option(unit)
        page.locator("#f-lead_time_days").fill("5")
        page.locator("#f-lot_tracked").check()
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#records")).to_contain_text(code)

        # The search box filters through htmx while typing: the table changes, the page does not reload.
        page.wait_for_load_state("load")  # htmx is a deferred script; a person cannot type before it runs either
        page.locator("input[name=q]").fill("no-such-item-anywhere")
        expect(page.locator("#records")).to_contain_text("Nothing found")
        page.locator("input[name=q]").fill(code)
        expect(page.locator("#records")).to_contain_text("Office chair")
        assert f"q={code}" in page.url

        page.get_by_role("link", name=code).click()
        expect(page.locator("#f-name")).to_have_value("Office chair")
        page.locator("#f-name").fill("Office chair, black")
        page.get_by_role("button", name="Save").click()
        expect(page.locator("#records")).to_contain_text("Office chair, black")
        page.wait_for_load_state("load")
        page.locator("input[name=q]").fill(code)
        expect(page.locator("#records tbody tr")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "items-en.png"), full_page=True)

        page.get_by_role("button", name="中文").click()
        expect(page.locator("h1")).to_have_text("物料")
        expect(page.locator("#records thead")).to_contain_text("名称")
        expect(page.locator("#records")).to_contain_text("成品")
        page.wait_for_load_state("load")
        page.locator("input[name=q]").fill(code)
        expect(page.locator("#records tbody tr")).to_have_count(1)
        page.screenshot(path=str(tmp_path / "items-zh.png"), full_page=True)

        page.get_by_role("button", name="退出登录").click()
        page.wait_for_url(re.compile(r"/login$"))
        expect(page.locator("form[action='/login'] button")).to_have_text("登录")
        page.context.clear_cookies()  # a browser that never saw the choice: the user's stored language decides
        log_in(page, base, "planner")
        page.goto(f"{base}/md/items/new")
        expect(page.locator("label[for=f-name]")).to_contain_text("名称")
        expect(page.get_by_role("button", name="保存")).to_be_visible()

    assert problems == [], "\n".join(problems)
    assert (tmp_path / "items-en.png").stat().st_size > 10_000
    print(f"screenshots: {tmp_path}")
