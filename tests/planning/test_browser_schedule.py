"""The planner's Gantt in a real browser (Debian Chromium through Playwright), on the demo factory with an order of
40 task chairs planned by MRP and its production firmed, on a server of its own: the planner opens the schedule
page (no schedule yet), proposes one, reads its figures and accepts it; drags an operation some hours later on its
row, which proposes again around that pin, sees where it landed and what moved, sees it moved on the chart by
order too and accepts it; a rival proposal made against the schedule since replaced is refused with the way on. At each step of
the guide the page is shown in both languages through the language switch (both guides' pictures), and the test
goes on in the second. No script error and no CSP refusal on the way."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browsers import office_guide_picture
from tests.clients import office
from tests.factory import chairs_planned_and_firmed
from tests.sales.test_browser_sales import VIEWPORT, signed_in
from tests.servers import make_server

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The planner's guide pictures this test takes: docs/guide/img/planner-<step>-<lang>.png.
STEPS = ("schedule-proposal", "schedule-pinned", "schedule-accepted")


@pytest.fixture(scope="module")
def factory(tmp_path_factory):
    """The demo factory with an approved order of 40 task chairs planned by MRP and its production firmed."""
    srv = make_server(tmp_path_factory.mktemp("schedule-browser"))
    chairs_planned_and_firmed(srv)
    yield srv
    srv.stop()
    srv.database.drop()


def speaking(page: Page, lang: str) -> None:
    """The same page in `lang`, through the language switch, once its chart is drawn."""
    button = page.locator(f".language-switch button[value={lang}]")
    if button.get_attribute("aria-pressed") != "true":
        with page.expect_navigation():
            button.click()
    page.locator("#gantt .vis-item.operation").first.wait_for()


def shots(page: Page, step: str) -> None:
    """The page for the guide in the language it is in, then in the other (where the test goes on); its times
    masked (the chart itself is drawn from now on, so its pictures change from run to run)."""
    assert step in STEPS, f"planner-{step} is not a picture of the guide"
    first = "zh" if page.locator(".language-switch button[value=zh]").get_attribute("aria-pressed") == "true" else "en"
    for lang in (first, "en" if first == "zh" else "zh"):
        speaking(page, lang)
        office_guide_picture(page, f"planner-{step}-{lang}", VIEWPORT, [page.locator("time:visible")])


def site_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


def draggable(page: Page) -> str:
    """An operation of the chart a planner may pin: wholly on screen, starting after the frozen window (the planning
    settings' four hours; five, to be sure), the widest such bar."""
    expect(page.locator("#gantt .vis-item.operation").first).to_be_visible()
    operation = page.evaluate("""(later) => {
      const chart = document.querySelector("#gantt .vis-center").getBoundingClientRect();
      let best = null, widest = 0;
      for (const row of document.querySelectorAll("#schedule-operations tbody tr[data-operation]")) {
        const start = row.querySelector("time[data-column=start]").getAttribute("datetime");
        const bar = document.querySelector(`#gantt .vis-item.operation[data-id="${CSS.escape(row.dataset.operation)}"]`);
        if (!bar || new Date(start) <= new Date(later)) continue;
        const box = bar.getBoundingClientRect();
        if (box.left >= chart.left && box.right <= chart.right && box.width > widest) {
          best = row.dataset.operation;
          widest = box.width;
        }
      }
      return best;
    }""", (datetime.now(SHANGHAI) + timedelta(hours=5)).isoformat())
    assert operation, "no operation to pin on screen"
    return operation


def drag(page: Page, operation: str, pixels: int) -> None:
    """Click the bar (a bar is chosen before it moves), then drag it `pixels` to the right on its row."""
    bar = page.locator(f"#gantt .vis-item[data-id='{operation}']")
    bar.click()
    expect(page.locator("#pin-operation")).to_have_value(operation)
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 30, y, steps=3)
    page.mouse.move(x + pixels, y, steps=8)
    page.mouse.up()


@pytest.mark.browser
def test_the_planner_proposes_accepts_pins_an_operation_by_dragging_it_and_accepts_again(factory, browser: Browser):
    base, problems = factory.url, []
    page = signed_in(browser, base, "planner", "en", problems)
    page.goto(f"{base}/planning")
    page.locator("#to-schedule").click()
    expect(page.locator("#no-schedule")).to_be_visible()

    page.locator("#propose-form input[name=seconds]").fill("1")
    page.locator("#propose").click()
    status = page.locator("#schedule-figures [data-figure=status]")
    expect(status).to_have_attribute("data-status", "proposed")
    expect(page.locator("#gantt .vis-item.operation.late").first).to_be_visible()
    assert page.locator("#gantt .vis-item.closed").count() > 0, "the shifts' closed time is shaded"
    operations = int(page.locator("#schedule-figures [data-figure=operations]").inner_text())
    assert page.locator("#schedule-operations tbody tr").count() == operations
    shots(page, "schedule-proposal")
    page.locator("#accept-schedule").click()
    expect(page.locator("#schedule-done")).to_be_visible()
    expect(status).to_have_attribute("data-status", "accepted")

    # Pin an operation of the accepted schedule some hours later by dragging its bar: a new proposal around it.
    operation = draggable(page)
    page.locator("#pin-seconds").fill("1")
    drag(page, operation, 260)
    page.wait_for_url(re.compile(r"pinned="))
    expect(page.locator("#pin-landed")).to_contain_text(operation)
    pinned = page.locator("#schedule-pins li")
    expect(pinned).to_have_count(1)
    not_before = site_time(re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", pinned.inner_text()).group(0))
    landed = page.locator(f"#schedule-operations tr[data-operation='{operation}'] time[data-column=start]")
    assert datetime.fromisoformat(landed.get_attribute("datetime")) >= not_before
    assert int(page.locator("#schedule-figures [data-figure=moved]").inner_text()) >= 1
    expect(page.locator(f"#gantt .vis-item.moved[data-id='{operation}']")).to_be_visible()
    shots(page, "schedule-pinned")
    api = office(base, "planner")  # a rival proposal, made against the same accepted schedule
    rival = api.post("/api/schedules", json={"site": "NB1", "seconds": 1}).json()["id"]
    api.close()

    page.locator("#view-order").click()
    expect(page.locator("#gantt .vis-label").first).to_contain_text("PRD-")
    expect(page.locator(f"#gantt .vis-item.moved[data-id='{operation}']")).to_be_visible()
    page.locator("#accept-schedule").click()
    expect(page.locator("#schedule-done")).to_be_visible()
    expect(status).to_have_attribute("data-status", "accepted")
    expect(page.locator("#schedule-pins li")).to_contain_text(operation)
    shots(page, "schedule-accepted")
    assert problems == [], "\n".join(problems)

    # The rival started from a schedule since replaced: accepting it is refused (409), in words, with a way on.
    page.goto(f"{base}/planning/schedule/{rival}")
    page.locator("#accept-schedule").click()
    expect(page.locator("#schedule-errors")).to_contain_text(re.compile("propose again|重新生成方案"))
    expect(page.locator("#propose-again")).to_be_visible()
    page.context.close()
    assert [problem for problem in problems if "status of 409" not in problem] == []
