"""Forecasts through HTTP: a planner saves them as a list (a quantity of 0 deletes), reads them by site, item and
period, deletes one; what is refused is refused whole with each problem's code; a CSV or XLSX of forecasts imports
all or nothing; the office page lists, changes and imports them in Chinese."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest
from playwright.sync_api import expect

from server.accounts.permissions import Role
from tests.browsers import console_problems
from tests.clients import office
from tests.factory import make_item

SITE = "NB1"  # the demo factory's site
MONDAY = date(2027, 1, 4)


def weeks(n: int) -> date:
    return MONDAY + timedelta(weeks=n)


def put(client: httpx.Client, *forecasts: tuple[str, str, date, str]) -> httpx.Response:
    return client.put("/api/forecasts", json=[
        {"site": site, "item": item, "period_start": period.isoformat(), "quantity": quantity}
        for site, item, period, quantity in forecasts])


def stored(client: httpx.Client, item: str, **params) -> list[tuple[str, str, str]]:
    page = client.get("/api/forecasts", params={"item": item, **params})
    assert page.status_code == 200, page.text
    return [(f["site"], f["period_start"], f["quantity"]) for f in page.json()["items"]]


def upload(client: httpx.Client, text: str, name: str = "forecasts.csv", **params) -> httpx.Response:
    return client.post("/api/forecasts/import", params=params,
                       files={"file": (name, text.encode("utf-8"), "text/csv")})


def test_a_planner_saves_changes_lists_and_consumes_forecasts_to_zero(login, unique):
    planner = login("planner")
    chair = make_item(planner, unique("FC-FOAM"), type="semi_finished", unit="KG")
    saved = put(planner, (SITE, chair, weeks(0), "120"), (SITE, chair, weeks(1), "80.5"), (SITE, chair, weeks(2), "60"))
    assert saved.status_code == 200, saved.text
    assert {k: saved.json()[k] for k in ("saved", "deleted", "unchanged")} == {"saved": 3, "deleted": 0, "unchanged": 0}
    first = saved.json()["forecasts"][0]
    assert first["site"] == SITE and first["item"] == chair and first["quantity"] == "120"
    assert first["updated_by"] == "planner" and first["id"] > 0
    assert stored(planner, chair) == [(SITE, weeks(0).isoformat(), "120"), (SITE, weeks(1).isoformat(), "80.5"),
                                      (SITE, weeks(2).isoformat(), "60")]

    # One list changes one, keeps one as it was, deletes one (0) and says which it did.
    again = put(planner, (SITE, chair, weeks(0), "150"), (SITE, chair, weeks(1), "80.50"), (SITE, chair, weeks(2), "0"),
                (SITE, chair, weeks(3), "0"))
    assert again.status_code == 200, again.text
    assert {k: again.json()[k] for k in ("saved", "deleted", "unchanged")} == {"saved": 1, "deleted": 1, "unchanged": 2}
    assert [f["period_start"] for f in again.json()["forecasts"]] == [weeks(0).isoformat(), weeks(1).isoformat()]
    assert stored(planner, chair) == [(SITE, weeks(0).isoformat(), "150"), (SITE, weeks(1).isoformat(), "80.5")]

    assert stored(planner, chair, **{"from": weeks(1).isoformat()}) == [(SITE, weeks(1).isoformat(), "80.5")]
    assert stored(planner, chair, to=weeks(0).isoformat(), site=SITE) == [(SITE, weeks(0).isoformat(), "150")]
    assert stored(planner, chair, site="NO-SUCH-SITE") == []
    # Everyone reads the forecasts.
    assert stored(login("viewer"), chair) == stored(planner, chair)

    audit = login("admin").get("/api/audit", params={"entity": "forecast"}).json()["items"]
    trail = [(e["action"], e["before"] and e["before"]["quantity"], e["after"] and e["after"]["quantity"])
             for e in audit if e["entity_key"] == f"{SITE}/{chair}/{weeks(0).isoformat()}"]
    assert trail == [("update", "120", "150"), ("create", None, "120")]
    assert any(e["action"] == "delete" and e["entity_key"].endswith(weeks(2).isoformat()) for e in audit)


def test_one_forecast_is_deleted_by_its_id(login, unique):
    planner = login("planner")
    item = make_item(planner, unique("FC-DEL"), type="finished")
    forecast_id = put(planner, (SITE, item, weeks(5), "7")).json()["forecasts"][0]["id"]
    assert planner.delete(f"/api/forecasts/{forecast_id}").status_code == 204
    assert stored(planner, item) == []
    gone = planner.delete(f"/api/forecasts/{forecast_id}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


@pytest.mark.parametrize(("forecast", "field", "code"), [
    ((SITE, "{item}", MONDAY + timedelta(days=1), "5"), "period_start", "invalid_period_start"),
    (("NO-SUCH-SITE", "{item}", MONDAY, "5"), "site", "unknown_site"),
    ((SITE, "NO-SUCH-ITEM", MONDAY, "5"), "item", "unknown_item"),
    ((SITE, "{item}", MONDAY, "5.5"), "quantity", "too_many_decimals"),
])
def test_a_list_with_a_bad_forecast_is_refused_whole(login, unique, forecast, field, code):
    planner = login("planner")
    item = make_item(planner, unique("FC-BAD"), type="finished")  # in pieces: whole units only
    site, bad_item, period, quantity = forecast
    refused = put(planner, (SITE, item, weeks(8), "10"), (site, bad_item.format(item=item), period, quantity))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == code
    assert refused.json()["details"]["errors"] == [
        {"field": f"[1].{field}", "code": code, "message": refused.json()["details"]["errors"][0]["message"]}]
    assert stored(planner, item) == [], "nothing of the list was written"


def test_the_same_forecast_twice_in_a_list_archived_records_and_malformed_lists_are_refused(login, unique):
    planner = login("planner")
    item = make_item(planner, unique("FC-TWICE"), type="finished")
    twice = put(planner, (SITE, item, MONDAY, "1"), (SITE, item, MONDAY, "2"))
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_forecast"
    gone = make_item(planner, unique("FC-ARCH"), type="finished")
    planner.post(f"/api/items/{gone}/archive").raise_for_status()
    archived = put(planner, (SITE, gone, MONDAY, "1"))
    assert archived.status_code == 422 and archived.json()["code"] == "archived_item"
    assert planner.put("/api/forecasts", json=[]).status_code == 400
    negative = put(planner, (SITE, item, MONDAY, "-1"))
    assert negative.status_code == 400 and negative.json()["code"] == "out_of_range"
    assert planner.put("/api/forecasts", json={"site": SITE}).status_code == 400
    assert stored(planner, item) == []


def test_only_a_planner_writes_forecasts(login, unique):
    planner = login("planner")
    item = make_item(planner, unique("FC-ROLE"), type="finished")
    forecast_id = put(planner, (SITE, item, MONDAY, "3")).json()["forecasts"][0]["id"]
    clerk = login("sales")
    assert clerk.get("/api/forecasts", params={"item": item}).status_code == 200
    for refused in (put(clerk, (SITE, item, MONDAY, "9")), clerk.delete(f"/api/forecasts/{forecast_id}"),
                    upload(clerk, f"site,item,period_start,quantity\n{SITE},{item},{MONDAY},9\n")):
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert stored(planner, item) == [(SITE, MONDAY.isoformat(), "3")]


def test_a_forecast_file_imports_all_or_nothing(login, unique):
    planner = login("planner")
    chair, desk = (make_item(planner, unique(p), type="finished") for p in ("FC-IMP-C", "FC-IMP-D"))
    put(planner, (SITE, chair, weeks(0), "10"), (SITE, desk, weeks(0), "4")).raise_for_status()
    good = ("site,item,period_start,quantity\n"
            f"{SITE},{chair},{weeks(0)},12\n{SITE},{chair},{weeks(1)},\"1,500\"\n{SITE},{desk},{weeks(0)},0\n")
    checked = upload(planner, good, dry_run="true")
    assert checked.status_code == 200 and checked.json() == {"dry_run": True, "rows": 3, "saved": 0, "deleted": 0,
                                                             "unchanged": 0}
    assert stored(planner, chair) == [(SITE, weeks(0).isoformat(), "10")]

    bad = ("site,item,period_start,quantity\n"
           f"{SITE},{chair},{weeks(0)},99\n"
           f"{SITE},{chair},{weeks(1) + timedelta(days=2)},5\n"
           f"NO-SUCH-SITE,{desk},{weeks(1)},5\n"
           f"{SITE},{desk},2027-02-30,5\n"
           f"{SITE},NO-SUCH-ITEM,{weeks(1)},abc\n")
    refused = upload(planner, bad)
    assert refused.status_code == 422 and refused.json()["code"] == "import_invalid", refused.text
    problems = [(p["row"], p["column"], p["code"]) for p in refused.json()["details"]["errors"]]
    assert problems == [(3, "period_start", "invalid_period_start"), (4, "site", "unknown_site"),
                        (5, "period_start", "invalid_date"), (6, "item", "unknown_item"),
                        (6, "quantity", "invalid_type")]
    assert stored(planner, chair) == [(SITE, weeks(0).isoformat(), "10")], "the good rows changed nothing either"
    assert stored(planner, desk) == [(SITE, weeks(0).isoformat(), "4")]

    done = upload(planner, good)
    assert done.status_code == 200 and done.json() == {"dry_run": False, "rows": 3, "saved": 2, "deleted": 1,
                                                       "unchanged": 0}
    assert stored(planner, chair) == [(SITE, weeks(0).isoformat(), "12"), (SITE, weeks(1).isoformat(), "1500")]
    assert stored(planner, desk) == []

    chinese = f"工厂,物料,期间开始,数量\n{SITE},{desk},{weeks(2).isoformat().replace('-', '/')},8\n"
    # Chinese headers, slashed dates, and the GB18030 a Chinese Excel saves.
    imported = planner.post("/api/forecasts/import", files={"file": ("f.csv", chinese.encode("gb18030"), "text/csv")})
    assert imported.status_code == 200 and imported.json()["saved"] == 1, imported.text
    assert stored(planner, desk) == [(SITE, weeks(2).isoformat(), "8")]

    missing = upload(planner, "site,item,quantity\n")
    assert missing.status_code == 422 and [p["code"] for p in missing.json()["details"]["errors"]] == ["missing_column"]


def test_a_daily_bucket_takes_forecasts_starting_on_any_day(fresh_server, unique):
    srv = fresh_server(demo=True)
    planner = office(srv.url, "planner")
    try:
        item = make_item(planner, unique("FC-DAY"), type="finished")
        wednesday = MONDAY + timedelta(days=2)
        refused = put(planner, (SITE, item, wednesday, "4"))
        assert refused.status_code == 422 and refused.json()["code"] == "invalid_period_start"
        planner.put("/api/planning/settings", json={"bucket": "day", "horizon": 30}).raise_for_status()
        assert put(planner, (SITE, item, wednesday, "4"), (SITE, item, wednesday + timedelta(days=1), "5")).status_code == 200
        assert [p for _, p, _ in stored(planner, item)] == [wednesday.isoformat(), (wednesday + timedelta(days=1)).isoformat()]
    finally:
        planner.close()


def test_the_forecast_page_in_chinese_lists_changes_and_imports(browse, unique, login):
    planner_api = login("planner")
    item = make_item(planner_api, unique("FC-PAGE"), type="finished")
    put(planner_api, (SITE, item, weeks(0), "30")).raise_for_status()
    username = unique("zhfc").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "预测员"),
                                              ("password", "long-enough-pw"), ("language", "zh"),
                                              ("roles", Role.planner.value)])
    assert created.status_code == 303, created.text
    planner = browse(accept_language="zh-CN")
    planner.log_in(username, "long-enough-pw")

    home = planner.get("/")
    assert 'href="/planning"' in home.text and ">计划<" in home.text
    assert 'href="/planning/forecasts"' in planner.get("/planning").text
    page = planner.get("/planning/forecasts", params={"item": item})
    assert page.status_code == 200
    for words in ("需求预测", "期间开始", "导入预测", "数量填 0 即删除该预测。", weeks(0).isoformat()):
        assert words in page.text, words

    changed = planner.post("/planning/forecasts", {"site": SITE, "item": item, "period_start": weeks(0).isoformat(),
                                                   "quantity": "45", "back_item": item})
    assert changed.status_code == 303
    assert stored(planner_api, item) == [(SITE, weeks(0).isoformat(), "45")]
    refused = planner.post("/planning/forecasts", {"site": SITE, "item": item,
                                                   "period_start": (weeks(0) + timedelta(days=1)).isoformat(),
                                                   "quantity": "5"})
    assert refused.status_code == 422 and "期间开始日不是期间的第一天" in refused.text

    bad = f"site,item,period_start,quantity\n{SITE},{item},{weeks(1)},5\n{SITE},{item},{weeks(1) + timedelta(days=3)},5\n"
    rejected = planner.http.post("/planning/forecasts/import",
                                 data={"_csrf_token": planner.http.cookies.get("floorsync_csrf")},
                                 files={"file": ("预测.csv", bad.encode("utf-8"), "text/csv")})
    assert rejected.status_code == 422 and 'data-code="invalid_period_start"' in rejected.text
    assert f"{weeks(1) + timedelta(days=3)} 不是所在期间的第一天：按周预测须从该周的星期一（{weeks(1)}）开始" in rejected.text
    assert stored(planner_api, item) == [(SITE, weeks(0).isoformat(), "45")]

    viewer = browse("viewer")
    read_only = viewer.get("/planning/forecasts", params={"item": item})
    assert read_only.status_code == 200 and item in read_only.text and 'id="import-form"' not in read_only.text
    assert viewer.post("/planning/forecasts", {"site": SITE, "item": item, "period_start": weeks(0).isoformat(),
                                               "quantity": "1"}).status_code == 403


@pytest.mark.browser
def test_a_chinese_planner_imports_a_forecast_file_on_the_page(server, login, unique, browser, tmp_path):
    """In Chromium, in Chinese: a file with a bad row is refused with the row and the reason, and nothing changes;
    the corrected file imports, and the list shows its forecasts."""
    admin = login("admin")
    item = make_item(admin, unique("FC-WEB"), type="finished")
    username = unique("zhweb").lower()
    admin.post("/api/users", json={"username": username, "display_name": "计划员", "password": "long-enough-pw",
                                   "roles": ["planner"], "language": "zh"}).raise_for_status()
    page = browser.new_page(locale="zh-CN", viewport={"width": 1280, "height": 900})
    problems = console_problems(page)
    page.goto(f"{server.url}/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill("long-enough-pw")
    page.locator("form[action='/login'] button[type=submit]").click()
    page.wait_for_url(f"{server.url}/")

    page.get_by_role("link", name="计划", exact=True).click()
    page.locator("#to-forecasts").click()
    expect(page.locator("h1")).to_have_text("需求预测")
    header = "工厂,物料,期间开始,数量\n"
    bad = header + f"{SITE},{item},{weeks(0)},25\n{SITE},{item},{weeks(1) + timedelta(days=1)},30\n"
    page.locator("#import-form input[type=file]").set_input_files(
        files=[{"name": "预测.csv", "mimeType": "text/csv", "buffer": bad.encode("utf-8")}])
    page.get_by_role("button", name="导入").click()
    refusal = page.locator("#import-problems")
    expect(refusal).to_contain_text(f"{weeks(1) + timedelta(days=1)} 不是所在期间的第一天：按周预测须从该周的星期一（{weeks(1)}）开始")
    expect(refusal.locator("tbody tr")).to_have_count(1)
    expect(refusal.locator("tbody tr td").first).to_have_text("3")
    assert stored(login("planner"), item) == []

    good = header + f"{SITE},{item},{weeks(0)},25\n{SITE},{item},{weeks(1)},30\n"
    page.locator("#import-form input[type=file]").set_input_files(
        files=[{"name": "预测.csv", "mimeType": "text/csv", "buffer": good.encode("utf-8")}])
    page.get_by_role("button", name="导入").click()
    expect(page.locator("#import-result")).to_contain_text("已导入 2 行：保存 2 条")
    page.goto(f"{server.url}/planning/forecasts")
    page.locator("form.filters input[name=item]").fill(item)
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("#forecasts tbody tr")).to_have_count(2)
    expect(page.locator(f"#forecasts tr[data-forecast='{SITE}/{item}/{weeks(1)}'] input[name=quantity]")).to_have_value("30")
    page.screenshot(path=str(tmp_path / "forecasts-zh.png"), full_page=True)
    assert stored(login("planner"), item) == [(SITE, weeks(0).isoformat(), "25"), (SITE, weeks(1).isoformat(), "30")]
    # The refused file's page is a 422, as every refused form is; nothing else may go wrong on the way.
    unexpected = [p for p in problems if "status of 422" not in p]
    assert unexpected == [], "\n".join(unexpected)


def test_a_list_is_one_to_five_thousand_forecasts_of_known_fields_only(login):
    planner = login("planner")
    one = {"site": SITE, "item": "X", "period_start": MONDAY.isoformat(), "quantity": "1"}
    too_many = planner.put("/api/forecasts", json=[one] * 5001)
    assert too_many.status_code == 400 and too_many.json()["code"] == "too_long", too_many.text
    unknown = planner.put("/api/forecasts", json=[{**one, "week": 1}])
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_field", unknown.text
    empty = planner.put("/api/forecasts", json=[])
    assert empty.status_code == 400 and empty.json()["code"] == "too_short", empty.text
