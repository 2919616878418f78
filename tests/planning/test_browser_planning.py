"""MRP in a real browser (Debian Chromium through Playwright), on the demo factory of a server of its own: the
planner runs MRP, reads an item's record and why a planned order exists (its pegging), and firms planned
production into draft production orders; the buyer turns planned purchases into draft purchase orders, one per
supplier. In English and in Chinese, with no script error on the way; each step's screenshot is the planner's or
the buyer's guide picture (docs/guide/img/planner-*.png, buyer-*.png), written only when it changed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browsers import GUIDE_IMAGES as IMAGES
from tests.browsers import office_guide_picture
from tests.planning.test_browser_schedule import STEPS as SCHEDULE_STEPS
from tests.sales.test_browser_sales import VIEWPORT, signed_in
from tests.servers import make_server

STEPS = {"planner": ("plan", "record", "pegging", "firmed"), "buyer": ("purchases", "ordered")}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    srv = make_server(tmp_path_factory.mktemp("planning-browser"), demo=True)
    yield srv
    srv.stop()
    srv.database.drop()


def shot(page: Page, guide: str, step: str, lang: str) -> None:
    """The page for the guide, the run's time and figures masked (they change from run to run)."""
    assert step in STEPS[guide], f"{guide}-{step} is not a picture of the guides"
    office_guide_picture(page, f"{guide}-{step}-{lang}", VIEWPORT, [page.locator("time"), page.locator("#run-summary")])


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_planner_runs_mrp_reads_why_and_firms_and_the_buyer_orders_by_supplier(demo_server, browser: Browser, lang):
    base, problems = demo_server.url, []
    planner = signed_in(browser, base, "planner", lang, problems)
    planner.goto(f"{base}/planning")
    planner.locator("#run-mrp").click()
    expect(planner.locator("p.alert.ok")).to_be_visible()
    rows = planner.locator("#planned-orders tbody tr[data-key]")
    expect(rows.first).to_be_visible()
    expect(planner.locator("#plan-exceptions tbody tr").first).to_be_visible()
    shot(planner, "planner", "plan", lang)

    made = planner.locator("#planned-orders tbody tr[data-key]:has(input[name=keys])").filter(
        has_text=re.compile("Make|自制")).first
    key = made.get_attribute("data-key")
    made.locator("td a").first.click()
    expect(planner.locator("#mrp-record")).to_be_visible()
    expect(planner.locator("#row-planned_order_releases td.filled").first).to_be_visible()
    shot(planner, "planner", "record", lang)
    planner.go_back()
    planner.locator(f"#planned-orders tr[data-key='{key}'] td a[href*='/planning/pegging']").first.click()
    expect(planner.locator(".pegging-tree li").first).to_be_visible()
    shot(planner, "planner", "pegging", lang)
    planner.go_back()
    planner.locator(f"#planned-orders tr[data-key='{key}'] input[name=keys]").check()
    planner.locator("#firm-production").click()
    expect(planner.locator("#firmed a").first).to_have_text(re.compile(r"^PRD-"))
    expect(planner.locator(f"#planned-orders tr[data-key='{key}'] a[href^='/production-orders/']")).to_be_visible()
    shot(planner, "planner", "firmed", lang)

    buyer = signed_in(browser, base, "buyer", lang, problems)
    buyer.goto(f"{base}/planning?kind=purchase")
    ticks = buyer.locator("#planned-orders input[name=keys]")
    expect(ticks.first).to_be_visible()
    expect(buyer.locator("#firm-production")).to_have_count(0)  # a buyer firms purchases, not production
    shot(buyer, "buyer", "purchases", lang)
    for n in range(min(3, ticks.count())):
        ticks.nth(n).check()
    buyer.locator("#firm-purchases").click()
    expect(buyer.locator("#firmed a").first).to_have_text(re.compile(r"^PO-"))
    shot(buyer, "buyer", "ordered", lang)
    planner.context.close()
    buyer.context.close()
    assert problems == [], "\n".join(problems)


def test_the_planner_and_buyer_guides_show_exactly_the_pictures_this_test_and_the_schedule_test_take():
    index = (IMAGES.parent / "README.md").read_text(encoding="utf-8")
    for guide in STEPS:
        for lang in ("en", "zh"):
            text = (IMAGES.parent / f"{guide}.{lang}.md").read_text(encoding="utf-8")
            links = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", text)
            steps = [*STEPS[guide], *(SCHEDULE_STEPS if guide == "planner" else ())]
            assert sorted(links) == sorted(f"img/{guide}-{step}-{lang}.png" for step in steps), (guide, lang)
            assert all((IMAGES.parent / link).exists() for link in links), (guide, lang)
            assert f"({guide}.{lang}.md)" in index, f"README.md does not link {guide}.{lang}.md"
