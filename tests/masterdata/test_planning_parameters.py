"""The planning parameters MRP reads from an item (make or buy, the lot rule and its quantities, the order bounds, the
time fence) and the yield of a routing: through the REST API, CSV files, the office form in Chinese and the migration
that gives items made before them their make-or-buy."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from server.accounts.permissions import Role
from tests.factory import make_item, run_sql
from tests.faults import Oracle
from tests.office.test_csv import own_rows, upload
from tests.servers import FLOORSYNC, REPO, Database, Server, server_env

PLANNING_FIELDS = ("make_or_buy", "lot_rule", "lot_quantity", "lot_periods", "order_minimum", "order_multiple",
                   "order_maximum", "planning_time_fence_days")


def planning_of(item: dict) -> dict:
    return {name: item[name] for name in PLANNING_FIELDS}


def test_a_new_item_is_made_or_bought_as_its_type_says_unless_it_says_otherwise(login, unique):
    planner = login("planner")
    raw, seat, chair = (make_item(planner, unique(p), type=t) for p, t in
                        (("STEEL", "raw"), ("SEAT", "semi_finished"), ("CHAIR", "finished")))
    assert [planner.get(f"/api/items/{c}").json()["make_or_buy"] for c in (raw, seat, chair)] == ["buy", "make", "make"]
    bought_seat = make_item(planner, unique("SEAT-B"), type="semi_finished", make_or_buy="buy")
    item = planner.get(f"/api/items/{bought_seat}").json()
    assert planning_of(item) == {"make_or_buy": "buy", "lot_rule": "lot_for_lot", "lot_quantity": "0", "lot_periods": 1,
                                 "order_minimum": "0", "order_multiple": "0", "order_maximum": "0",
                                 "planning_time_fence_days": 0}
    # A change of type alone keeps what the item says; clearing it goes back to the type's.
    assert planner.patch(f"/api/items/{raw}", json={"type": "semi_finished"}).json()["make_or_buy"] == "buy"
    assert planner.patch(f"/api/items/{raw}", json={"make_or_buy": None}).json()["make_or_buy"] == "make"
    listed = planner.get("/api/items", params={"make_or_buy": "buy", "q": bought_seat}).json()
    assert [i["code"] for i in listed["items"]] == [bought_seat]


@pytest.mark.parametrize(("rule", "fields"), [
    ("lot_for_lot", {"order_minimum": "10", "order_multiple": "5", "order_maximum": "500"}),
    ("fixed", {"lot_quantity": "250", "order_maximum": "1000"}),
    ("period", {"lot_periods": 4, "order_multiple": "0.5", "planning_time_fence_days": 10}),
])
def test_each_lot_rule_is_created_read_and_changed_over_http(login, unique, rule, fields):
    planner = login("planner")
    code = unique("PP")
    created = planner.post("/api/items", json={"code": code, "name": "Planned part", "type": "semi_finished",
                                               "unit": "PCS", "lot_rule": rule, **fields})
    assert created.status_code == 201, created.text
    read = planner.get(f"/api/items/{code}").json()
    assert read["lot_rule"] == rule and {k: read[k] for k in fields} == fields
    changed = planner.patch(f"/api/items/{code}", json={"order_minimum": "2.25", "planning_time_fence_days": 7})
    assert changed.status_code == 200, changed.text
    assert changed.json()["order_minimum"] == "2.25" and changed.json()["planning_time_fence_days"] == 7
    assert changed.json()["lot_rule"] == rule, "a change leaves the rest of the parameters as they were"
    audit = login("admin").get("/api/audit", params={"entity": "item", "entity_key": code}).json()["items"]
    update = next(entry for entry in audit if entry["action"] == "update")
    assert update["before"]["order_minimum"] == fields.get("order_minimum", "0")
    assert update["after"]["order_minimum"] == "2.25" and update["after"]["planning_time_fence_days"] == 7


def test_a_fixed_lot_needs_its_quantity(login, unique):
    planner = login("planner")
    body = {"code": unique("FX"), "name": "Fixed", "type": "raw", "unit": "PCS", "lot_rule": "fixed"}
    refused = planner.post("/api/items", json=body)
    assert refused.status_code == 422 and refused.json()["code"] == "lot_quantity_required"
    assert refused.json()["details"]["errors"][0]["field"] == "lot_quantity"
    assert planner.get(f"/api/items/{body['code']}").status_code == 404

    code = make_item(planner, unique("FX2"))
    refused = planner.patch(f"/api/items/{code}", json={"lot_rule": "fixed"})
    assert refused.status_code == 422 and refused.json()["code"] == "lot_quantity_required"
    assert planner.patch(f"/api/items/{code}", json={"lot_rule": "fixed", "lot_quantity": "48"}).status_code == 200
    refused = planner.patch(f"/api/items/{code}", json={"lot_quantity": "0"})
    assert refused.status_code == 422 and refused.json()["code"] == "lot_quantity_required"
    assert planner.get(f"/api/items/{code}").json()["lot_quantity"] == "48"


def test_a_maximum_order_below_the_minimum_is_refused_and_zero_means_none(login, unique):
    planner = login("planner")
    body = {"code": unique("MX"), "name": "Bounded", "type": "raw", "unit": "PCS", "order_minimum": "100",
            "order_maximum": "99.5"}
    refused = planner.post("/api/items", json=body)
    assert refused.status_code == 422 and refused.json()["code"] == "order_maximum_below_minimum"
    assert refused.json()["details"]["errors"][0]["field"] == "order_maximum"
    code = make_item(planner, unique("MX2"), order_minimum="100", order_maximum="0")
    refused = planner.patch(f"/api/items/{code}", json={"order_maximum": "50"})
    assert refused.status_code == 422 and refused.json()["code"] == "order_maximum_below_minimum"
    assert planner.patch(f"/api/items/{code}", json={"order_maximum": "100"}).status_code == 200


@pytest.mark.parametrize(("fields", "code"), [
    ({"lot_rule": "economic"}, "invalid_value"),
    ({"make_or_buy": "rent"}, "invalid_value"),
    ({"lot_periods": 0}, "out_of_range"),
    ({"lot_periods": 53}, "out_of_range"),
    ({"lot_quantity": "-1"}, "out_of_range"),
    ({"planning_time_fence_days": -1}, "out_of_range"),
])
def test_what_the_contract_excludes_is_a_bad_request(login, unique, fields, code):
    refused = login("planner").post("/api/items", json={"code": unique("BAD"), "name": "Bad", "type": "raw",
                                                        "unit": "PCS", **fields})
    assert refused.status_code == 400 and refused.json()["code"] == code, refused.text


def test_a_routing_keeps_its_yield_above_0_and_at_most_100(login, unique):
    planner = login("planner")
    item = make_item(planner, unique("YLD"), type="finished")
    code = unique("RT")
    created = planner.post("/api/routings", json={"code": code, "item": item})
    assert created.status_code == 201 and created.json()["yield_pct"] == "100"
    changed = planner.patch(f"/api/routings/{code}", json={"yield_pct": "92.5"})
    assert changed.status_code == 200 and changed.json()["yield_pct"] == "92.5"
    for bad in ("0", "100.01", "-5"):
        refused = planner.patch(f"/api/routings/{code}", json={"yield_pct": bad})
        assert refused.status_code == 400 and refused.json()["code"] == "out_of_range", (bad, refused.text)
    assert planner.get(f"/api/routings/{code}").json()["yield_pct"] == "92.5"
    refused = planner.post("/api/routings", json={"code": unique("RT0"), "item": item, "version": 2, "yield_pct": 0})
    assert refused.status_code == 400 and refused.json()["code"] == "out_of_range"


def test_items_and_routings_round_trip_through_csv_with_their_planning_parameters(login, unique):
    planner = login("planner")
    suffix = unique("")
    fixed = make_item(planner, "FIX" + suffix, type="semi_finished", lot_rule="fixed", lot_quantity="250",
                      order_maximum="1000", planning_time_fence_days=5)
    period = make_item(planner, "POQ" + suffix, lot_rule="period", lot_periods=3, order_minimum="12",
                       order_multiple="6", make_or_buy="make")
    planner.post("/api/routings", json={"code": "RT" + suffix, "item": fixed, "yield_pct": "97.5"}).raise_for_status()
    items = own_rows(planner.get("/api/csv/items").text, suffix)
    rows = list(csv.DictReader(io.StringIO(items)))
    assert set(PLANNING_FIELDS) <= set(rows[0])
    by_code = {row["code"]: row for row in rows}
    assert {k: by_code[fixed][k] for k in ("make_or_buy", "lot_rule", "lot_quantity", "order_maximum")} == {
        "make_or_buy": "make", "lot_rule": "fixed", "lot_quantity": "250", "order_maximum": "1000"}
    assert by_code[period]["make_or_buy"] == "make" and by_code[period]["lot_periods"] == "3"
    assert upload(planner, "items", items).json() == {"created": 0, "updated": 0, "rows": 2}
    routings = own_rows(planner.get("/api/csv/routings").text, suffix)
    assert "97.5" in routings and upload(planner, "routings", routings).json()["updated"] == 0

    # The same file under new codes makes the same items; a change in one cell changes that field only.
    renamed = items.replace(suffix, suffix + "N")
    assert upload(planner, "items", renamed).json()["created"] == 2
    copy = planner.get(f"/api/items/FIX{suffix}N").json()
    assert planning_of(copy) == planning_of(planner.get(f"/api/items/{fixed}").json())
    changed = items.replace(",fixed,250,", ",fixed,300,")
    assert upload(planner, "items", changed).json()["updated"] == 1
    assert planner.get(f"/api/items/{fixed}").json()["lot_quantity"] == "300"


def test_an_items_file_without_the_planning_columns_still_imports_and_leaves_them_as_they_were(login, unique):
    planner = login("planner")
    kept = make_item(planner, unique("OLD"), type="semi_finished", make_or_buy="buy", lot_rule="fixed",
                     lot_quantity="40", order_minimum="5")
    before = planning_of(planner.get(f"/api/items/{kept}").json())
    new_raw, new_finished = unique("NEWR"), unique("NEWF")
    old_file = ("code,name,type,unit,safety_stock,lead_time_days\n"
                f"{kept},Renamed in an old file,finished,PCS,3,2\n"
                f"{new_raw},New raw,raw,PCS,0,0\n{new_finished},New finished,finished,PCS,0,0\n")
    result = upload(planner, "items", old_file)
    assert result.status_code == 200 and result.json() == {"created": 2, "updated": 1, "rows": 3}, result.text
    after = planner.get(f"/api/items/{kept}").json()
    assert after["name"] == "Renamed in an old file" and after["type"] == "finished"
    assert planning_of(after) == before
    assert planner.get(f"/api/items/{new_raw}").json()["make_or_buy"] == "buy"
    assert planner.get(f"/api/items/{new_finished}").json()["make_or_buy"] == "make"


def test_an_items_file_breaking_a_planning_rule_names_its_row_and_writes_nothing(login, unique):
    planner = login("planner")
    existing = make_item(planner, unique("EXI"), lot_rule="fixed", lot_quantity="10")
    good, no_lot, bounds = unique("OK"), unique("NOLOT"), unique("BOUNDS")
    text = ("code,name,type,unit,lot_rule,lot_quantity,order_minimum,order_maximum\n"
            f"{good},Good,raw,PCS,lot_for_lot,0,0,0\n"
            f"{no_lot},No lot,raw,PCS,fixed,,0,0\n"
            f"{bounds},Bounds,raw,PCS,lot_for_lot,0,10,5\n"
            f"{good}X,Bad rule,raw,PCS,economic,0,0,0\n")
    refused = upload(planner, "items", text)
    assert refused.status_code == 422 and refused.json()["code"] == "csv_invalid"
    problems = {(e["row"], e["field"], e["code"]) for e in refused.json()["details"]["errors"]}
    assert {(3, "lot_quantity", "lot_quantity_required"), (4, "order_maximum", "order_maximum_below_minimum")} <= problems
    assert any(row == 5 and field == "lot_rule" for row, field, _ in problems)
    # A file stating only a quantity of 0 breaks the fixed rule the stored item keeps.
    refused = upload(planner, "items", f"code,name,type,unit,lot_quantity\n{existing},Existing,raw,PCS,0\n")
    assert refused.status_code == 422
    assert [(e["row"], e["field"], e["code"]) for e in refused.json()["details"]["errors"]] == [
        (2, "lot_quantity", "lot_quantity_required")]
    assert planner.get(f"/api/items/{good}").status_code == 404
    assert planner.get(f"/api/items/{existing}").json()["lot_quantity"] == "10"


def test_the_item_and_routing_forms_in_chinese_show_the_planning_parameters_and_their_refusals(browse, unique, login):
    username = unique("zhplan").lower()
    created = browse("admin").post("/users", [("username", username), ("display_name", "计划员"),
                                              ("password", "long-enough-pw"), ("language", "zh"),
                                              ("roles", Role.planner.value)])
    assert created.status_code == 303, created.text
    planner = browse(accept_language="zh-CN")
    planner.log_in(username, "long-enough-pw")

    form = planner.get("/md/items/new")
    assert form.status_code == 200
    for label in ("计划参数", "自制或外购", "批量规则", "固定批量", "每单覆盖期数", "最小订货量", "订货倍数", "最大订货量",
                  "计划时界（天）", "按需定量", "按期定量", "自制", "外购"):
        assert label in form.text, label

    code = unique("ZHFX")
    refused = planner.post("/md/items/new", {"code": code, "name": "固定批量件", "type": "raw", "unit": "PCS",
                                             "lot_rule": "fixed", "lot_quantity": "", "lot_periods": "1"})
    assert refused.status_code == 422 and "固定批量规则须填写大于 0 的批量" in refused.text
    saved = planner.post("/md/items/new", {"code": code, "name": "固定批量件", "type": "raw", "unit": "PCS",
                                           "make_or_buy": "", "lot_rule": "fixed", "lot_quantity": "120",
                                           "lot_periods": "1", "order_maximum": "480", "planning_time_fence_days": "3"})
    assert saved.status_code == 303, saved.text
    item = login("planner").get(f"/api/items/{code}").json()
    assert planning_of(item) == {"make_or_buy": "buy", "lot_rule": "fixed", "lot_quantity": "120", "lot_periods": 1,
                                 "order_minimum": "0", "order_multiple": "0", "order_maximum": "480",
                                 "planning_time_fence_days": 3}
    detail = planner.get("/md/items/edit", params={"code": code})
    assert detail.status_code == 200 and 'value="120"' in detail.text and "固定批量（整批倍数）" in detail.text
    edited = planner.post(f"/md/items/edit?code={code}", {"name": "固定批量件", "type": "raw", "unit": "PCS",
                                                           "make_or_buy": "make", "lot_rule": "fixed",
                                                           "lot_quantity": "120", "lot_periods": "1",
                                                           "order_minimum": "500", "order_maximum": "480"})
    assert edited.status_code == 422 and "最大订货量小于最小订货量" in edited.text

    routing = planner.get("/md/routings/new")
    assert routing.status_code == 200 and "成品率（%）" in routing.text
    refused = planner.post("/md/routings/new", {"code": unique("ZHRT"), "item": code, "version": "1", "yield_pct": "0"})
    assert refused.status_code == 422 and "成品率" in refused.text


def test_the_migration_makes_items_of_before_made_or_bought_by_type(tmp_path):
    """Rows written before the planning parameters existed: raw materials are bought, the rest made."""
    database = Database.create(tmp_path)
    env = server_env(database, tmp_path / "data") | {"PICCOLO_CONF": "server.piccolo_conf"}
    try:
        piccolo = str(Path(FLOORSYNC).with_name("piccolo"))
        subprocess.run([piccolo, "migrations", "forwards", "masterdata", "--migration_id=2026-12-07T04:19:45:452129"],
                       env=env, cwd=REPO, check=True, capture_output=True)
        oracle, behind_its_back = Oracle(database), SimpleNamespace(database=database)
        run_sql(behind_its_back, "INSERT INTO unit (code, name, decimals, archived, created_at, updated_at) "
                       "VALUES ('PCS', 'Piece', 0, false, '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
        for code, kind in (("STEEL", "raw"), ("SEAT", "semi_finished"), ("CHAIR", "finished")):
            run_sql(
                behind_its_back,
                "INSERT INTO item (code, name, type, unit, lot_tracked, serial_tracked, inspection_required, safety_stock,"
                " lead_time_days, standard_cost, price, description, archived, created_at, updated_at) VALUES "
                f"('{code}', '{code}', '{kind}', 'PCS', false, false, false, 0, 0, 0, 0, '', false,"
                " '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')")
        Server(database=database, port=0, env=env).cli("migrate")
        rows = dict(oracle.query("SELECT code, make_or_buy FROM item"))
        assert rows == {"STEEL": "buy", "SEAT": "make", "CHAIR": "make"}
        assert {tuple(r) for r in oracle.query("SELECT lot_rule, lot_periods FROM item")} == {("lot_for_lot", 1)}
    finally:
        database.drop()
