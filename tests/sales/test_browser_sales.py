"""A sales order's life in a real browser (Debian Chromium through Playwright), on a server of its own with the demo
factory: a sales clerk enters an order by hand (the customer's address comes in by itself, a 15 % discount is over
the policy's 10 %), presses Save & submit and is told it waits for an approver and why; the sales manager finds it
on the approvals page with the reason and approves it; its tracking page shows it approved with its line. The same
walk in English and in Chinese, with no script error or CSP violation on the way. Each step's screenshot is the
office guides' picture (docs/guide/img/clerk-*.png, approver-*.png), written only when it changed, times and dates
masked."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.clients import office
from tests.browsers import GUIDE_IMAGES as IMAGES
from tests.browsers import office_guide_picture
from tests.servers import make_server

TIMEOUT_MS = 20_000
VIEWPORT = {"width": 1440, "height": 900}
# The pictures each guide shows, per language (tests/sales/test_browser_sales.py takes them all).
STEPS = {"clerk": ("list", "entry", "submitted", "tracking"), "approver": ("queue", "order", "approved")}
WORDS = {
    "en": {"save_submit": "Save & submit", "waits": "waits for an approver", "approved": "Approved",
           "tracking": "Tracking", "done_approve": "approved", "changed_line": "line 10 · Quantity",
           "discount_check": "Discount above 10"},
    "zh": {"save_submit": "保存并提交", "waits": "等待审批", "approved": "已批准", "tracking": "订单跟踪",
           "done_approve": "已批准", "changed_line": "第 10 行 · 数量",
           "discount_check": "折扣超过 10"},
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """The demo factory on a database of its own: the order codes and figures in the pictures are stable."""
    srv = make_server(tmp_path_factory.mktemp("sales-browser"), demo=True)
    yield srv
    srv.stop()
    srv.database.drop()


def signed_in(browser: Browser, base: str, username: str, lang: str, problems: list[str]) -> Page:
    """A browser of the user's own, logged in, in the language asked for, every script problem noted."""
    context = browser.new_context(locale="zh-CN" if lang == "zh" else "en-GB", viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning") or "Content Security Policy" in message.text:
            problems.append(f"{username} console {message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"{username} page error: {error}"))
    page.goto(f"{base}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("floorsync-demo")
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    page.locator(f".language-switch button[value={lang}]").click()
    expect(page.locator(f".language-switch button[value={lang}]")).to_have_attribute("aria-pressed", "true")
    return page


def shot(page: Page, guide: str, step: str, lang: str) -> None:
    """The page as its reader sees it, times and dates masked so a picture changes only when the page does."""
    assert step in STEPS[guide], f"{guide}-{step} is not a picture of the guides"
    office_guide_picture(page, f"{guide}-{step}-{lang}", VIEWPORT,
                         [page.locator("time"), page.locator("input[type=date]")])


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_clerk_enters_an_order_the_manager_approves_it_and_tracking_shows_it(demo_server, browser, lang):
    base, words, problems = demo_server.url, WORDS[lang], []
    clerk = signed_in(browser, base, "sales", lang, problems)

    clerk.goto(f"{base}/sales-orders")
    expect(clerk.locator("#sales-orders tbody tr").first).to_be_visible()
    shot(clerk, "clerk", "list", lang)
    clerk.locator("a[href='/sales-orders/new']").click()
    clerk.wait_for_load_state("load")  # htmx is a deferred script: the customer's defaults come through it
    clerk.locator("#so-customer").select_option("C-BJYB")
    expect(clerk.locator("#so-address")).not_to_have_value("")  # the customer's address, filled by htmx
    expect(clerk.locator("#so-terms-days")).not_to_have_value("")
    clerk.locator("#so-reference").fill("BJYB-2231")
    clerk.locator("#so-line-0-item").fill("CH-TASK")
    clerk.locator("#so-line-0-quantity").fill("4")
    clerk.locator("#so-line-0-unit_price").fill("320")
    clerk.locator("#so-line-0-discount_pct").fill("15")
    clerk.locator("#so-notes").fill("Meeting room refit" if lang == "en" else "会议室翻新")
    shot(clerk, "clerk", "entry", lang)
    clerk.get_by_role("button", name=words["save_submit"]).click()
    outcome = clerk.locator("#so-outcome")
    expect(outcome).to_contain_text(words["waits"])
    expect(outcome).to_contain_text(words["discount_check"])
    code = clerk.locator("h1").inner_text().split("·")[1].split()[0].strip()
    assert re.fullmatch(r"SO-\d{4}-\d{4}", code), code
    expect(clerk.locator("#so-approve")).to_have_count(0)  # a clerk cannot approve
    expect(clerk.locator("#so-review .check-failed")).to_have_count(1)
    shot(clerk, "clerk", "submitted", lang)

    manager = signed_in(browser, base, "manager", lang, problems)
    manager.goto(f"{base}/sales-orders")
    manager.locator("a[href='/sales-orders/approvals']").click()
    row = manager.locator(f"#approval-{code}")
    expect(row).to_contain_text(words["discount_check"])
    expect(row).to_contain_text("C-BJYB")
    shot(manager, "approver", "queue", lang)
    row.locator("a", has_text=code).click()
    expect(manager.locator("#so-review")).to_contain_text(words["discount_check"])
    expect(manager.locator("#so-approve")).to_be_visible()
    shot(manager, "approver", "order", lang)
    manager.go_back()
    manager.locator(f"#approve-{code}").click()
    expect(manager.locator(".alert.ok")).to_contain_text(code)
    expect(manager.locator(f"#approval-{code}")).to_have_count(0)
    shot(manager, "approver", "approved", lang)

    clerk.goto(f"{base}/sales-orders/{code}")
    clerk.wait_for_load_state("load")
    clerk.locator("#so-chg-10-quantity").fill("5")
    clerk.locator("#so-change-preview").click()  # no reason given: the refusal shows in place
    expect(clerk.locator("#so-impact-refused")).to_be_visible()
    expected = [p for p in problems if "status of 422" in p]  # the browser logs the refusal's status; it was asked for
    assert len(expected) == 1, problems
    problems.remove(expected[0])
    clerk.locator("#so-chg-reason").fill("One more chair")
    clerk.locator("#so-change-preview").click()
    expect(clerk.locator("#so-impact")).to_contain_text(words["changed_line"])  # previewed, not made (see below)
    clerk.locator("#so-tracking-link").click()
    expect(clerk.locator("h1")).to_contain_text(words["tracking"])
    expect(clerk.locator("#track-status")).to_contain_text(words["approved"])
    expect(clerk.locator("#track-approved-by")).to_contain_text("manager")
    line = clerk.locator("#track-line-10")
    expect(line).to_contain_text("CH-TASK")
    expect(line.locator("td").nth(2)).to_have_text("4")
    shot(clerk, "clerk", "tracking", lang)

    viewer = office(base, "viewer")
    order = viewer.get(f"/api/sales-orders/{code}").json()
    viewer.close()
    assert order["status"] == "approved" and order["approved_by"] == "manager"
    assert order["customer_reference"] == "BJYB-2231" and order["delivery_address"]
    assert [(line["item"], Decimal(line["quantity"]), Decimal(line["discount_pct"])) for line in order["lines"]] == [
        ("CH-TASK", 4, 15)]
    clerk.context.close()
    manager.context.close()
    assert problems == [], "\n".join(problems)


def test_each_office_guide_shows_exactly_the_pictures_this_test_takes_in_its_own_language():
    guides = {"clerk": "sales-clerk", "approver": "approver"}
    index = (IMAGES.parent / "README.md").read_text(encoding="utf-8")
    for guide, name in guides.items():
        for lang in ("en", "zh"):
            text = (IMAGES.parent / f"{name}.{lang}.md").read_text(encoding="utf-8")
            links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
            assert sorted(links) == sorted(f"img/{guide}-{step}-{lang}.png" for step in STEPS[guide]), (name, lang)
            assert all((IMAGES.parent / link).exists() for link in links), (name, lang)
            assert f"({name}.{lang}.md)" in index, f"README.md does not link {name}.{lang}.md"
