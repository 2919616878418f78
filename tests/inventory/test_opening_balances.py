"""Opening stock balances loaded from a spreadsheet through HTTP: real ledger entries (reason opening_balance) that a
freshly enrolled device receives as its on hand, with their lots and serials; the ledger equals the projection; the
same file loaded twice changes nothing; a file with problems in many rows is refused with every one of them and
writes nothing; Chinese headers and an XLSX work as for the other imports."""

from __future__ import annotations

import io
from contextlib import closing

import httpx
from openpyxl import Workbook

from tests.factory import count_in, make_item
from tests.faults import Oracle
from tests.sync_fixtures import enrolled_device

HEADER = "item,location,lot,expiry,serials,quantity,status,unit_cost"


def load(client: httpx.Client, content: bytes | str, name: str = "opening.csv", dry_run: bool = False) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return client.post("/api/stock/opening-balances", params={"dry_run": "true"} if dry_run else None,
                       files={"file": (name, body, "application/octet-stream")}, timeout=300)


def a_factory_to_open(login, unique) -> tuple[str, str, str]:
    planner = login("planner")
    plain = make_item(planner, unique("OPEN-BOLT"))
    dated = make_item(planner, unique("OPEN-GLUE"), lot_tracked=True, shelf_life_days=365)
    serial = make_item(planner, unique("OPEN-MOTOR"), serial_tracked=True)
    return plain, dated, serial


def stock_rows(client: httpx.Client, item: str) -> set[tuple]:
    rows = client.get("/api/stock", params={"item": item, "limit": 500}).json()["items"]
    return {(row["location"], row["lot"], row["status"], row["quantity"]) for row in rows}


def test_opening_balances_reach_a_fresh_device_and_the_ledger_equals_on_hand(login, admin, unique, server, tmp_path):
    plain, dated, serial = a_factory_to_open(login, unique)
    lot = unique("L")
    clerk = login("warehouse")
    text = "\n".join([
        HEADER,
        f"{plain},RM-A-01-01,,,,120,,2.5",
        f"{plain},RM-A-01-02,,,,7,available,2.5",
        f"{dated},RM-A-01-01,{lot},2027-03-31,,40,,18",
        f"{dated},RM-A-01-02,{lot},2027/3/31,,5,hold,18",
        f"{serial},RM-A-01-02,,,{serial}-1; {serial}-2 {serial}-3,3,,950",
    ]) + "\n"
    checked = load(clerk, text, dry_run=True)
    assert checked.status_code == 200, checked.text
    assert checked.json()["to_post"] == 5 and checked.json()["posted"] == 0
    assert stock_rows(clerk, plain) == set(), "a dry run writes nothing"

    loaded = load(clerk, text)
    assert loaded.status_code == 200, loaded.text
    result = loaded.json()
    assert (result["posted"], result["skipped"], result["lots_created"], result["serials"]) == (5, 0, 1, 3)
    assert {row["item"]: row["quantity"] for row in result["by_item"]} == {plain: "127", dated: "45", serial: "3"}
    assert stock_rows(clerk, plain) == {("RM-A-01-01", None, "available", "120"), ("RM-A-01-02", None, "available", "7")}
    assert stock_rows(clerk, dated) == {("RM-A-01-01", lot, "available", "40"), ("RM-A-01-02", lot, "hold", "5")}
    assert stock_rows(clerk, serial) == {("RM-A-01-02", None, "available", "3")}

    oracle = Oracle(server.database)
    assert oracle.ledger_against_projection() == []
    moves = oracle.query("SELECT item, reason, quantity_micro FROM stock_move WHERE item IN ($1, $2, $3)", plain, dated, serial)
    assert sorted(moves) == sorted([(plain, "opening_balance", 120_000_000), (plain, "opening_balance", 7_000_000),
                                    (dated, "opening_balance", 40_000_000), (dated, "opening_balance", 5_000_000),
                                    (serial, "opening_balance", 3_000_000)])
    assert sorted(oracle.query("SELECT serial, location, status FROM serial_number WHERE item = $1", serial)) == [
        (f"{serial}-{n}", "RM-A-01-02", "in_stock") for n in (1, 2, 3)]
    audit = admin.get("/api/audit", params={"entity": "stock", "entity_key": dated}).json()["items"]
    assert {(entry["action"], entry["after"]["quantity"], entry["after"]["unit_cost"]) for entry in audit} == {
        ("opening_balance", "40", "18"), ("opening_balance", "5", "18")}

    with closing(enrolled_device(server.url, clerk, tmp_path)) as device:
        device.pull_all()
        on_hand = {(data["item"], data["location"], data["lot"], data["status"]): data["quantity"]
                   for data in device.replica("stock").values() if data["item"] in (plain, dated, serial)}
        assert on_hand == {
            (plain, "RM-A-01-01", None, "available"): "120", (plain, "RM-A-01-02", None, "available"): "7",
            (dated, "RM-A-01-01", lot, "available"): "40", (dated, "RM-A-01-02", lot, "hold"): "5",
            (serial, "RM-A-01-02", None, "available"): "3",
        }
        assert device.replica("lot")[f"{dated}|{lot}"]["expiry"] == "2027-03-31"

    again = load(clerk, text)
    assert again.status_code == 200, again.text
    assert (again.json()["posted"], again.json()["skipped"]) == (0, 5), "the same file twice changes nothing"
    assert len(oracle.query("SELECT id FROM stock_move WHERE item IN ($1, $2, $3)", plain, dated, serial)) == 5

    changed = text.replace(f"{plain},RM-A-01-01,,,,120,", f"{plain},RM-A-01-01,,,,125,")
    refused = load(clerk, changed + f"{plain},RM-A-02-01,,,,1,,\n")
    assert refused.status_code == 422 and refused.json()["code"] == "import_invalid", refused.text
    [problem] = refused.json()["details"]["errors"]
    assert (problem["row"], problem["column"], problem["code"]) == (2, "quantity", "opening_balance_exists")
    assert problem["params"]["quantity"] == "120"
    assert stock_rows(clerk, plain) == {("RM-A-01-01", None, "available", "120"), ("RM-A-01-02", None, "available", "7")}


def test_a_file_with_problems_in_many_rows_is_refused_with_each_and_writes_nothing(login, unique, server):
    plain, dated, serial = a_factory_to_open(login, unique)
    clerk = login("warehouse")
    rows = [
        "物料,库位,批号,有效期,序列号,数量,状态,单位成本",
        f"{plain},RM-A-01-01,,,,10,可用,1",           # 2: fine
        f"{unique('NOPE')},RM-A-01-01,,,,1,,",       # 3: unknown item
        f"{dated},RM-A-01-01,,,,4,,",                # 4: lot required
        f"{serial},RM-A-01-01,,,{serial}-9,2,,",     # 5: one serial for two units
        f"{plain},NO-SUCH-BIN,,,,1,,",               # 6: unknown location
        f"{plain},RM-A-01-02,,2027-01-01,,1,,",      # 7: an expiry without a lot
        f"{plain},RM-A-01-01,,,,3,,",                # 8: the place of row 2 again
        f"{plain},RM-A-01-02,,,,-4,lost,",           # 9: a negative quantity and an unknown status
    ]
    refused = load(clerk, "\n".join(rows) + "\n")
    assert refused.status_code == 422, refused.text
    found = {(p["row"], p["column"], p["code"]) for p in refused.json()["details"]["errors"]}
    assert {(3, "item", "unknown_item"), (4, "lot", "lot_required"), (5, "serials", "serials_required"),
            (6, "location", "unknown_location"), (7, "expiry", "expiry_needs_lot"), (8, "location", "duplicate_in_file"),
            (9, "status", "invalid_value")} <= found
    assert any(row == 9 and column == "quantity" for row, column, _ in found)
    assert stock_rows(clerk, plain) == set()
    assert Oracle(server.database).query("SELECT COUNT(*) FROM opening_balance WHERE item = $1", plain) == [(0,)]

    assert load(login("planner"), "\n".join(rows[:2]) + "\n").status_code == 403, "opening stock is a warehouse's"

    book = Workbook()
    sheet = book.active
    sheet.append(["物料", "库位", "批号", "有效期", "数量"])
    sheet.append([dated, "RM-A-01-01", unique("X"), "2027-06-30", 12])
    out = io.BytesIO()
    book.save(out)
    loaded = load(clerk, out.getvalue(), name="期初库存.xlsx")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["posted"] == 1 and loaded.json()["lots_created"] == 1
    assert {row[3] for row in stock_rows(clerk, dated)} == {"12"}


def test_a_lot_known_without_an_expiry_takes_its_opening_balances_and_keeps_it(login, unique, server, tmp_path):
    _, dated, _ = a_factory_to_open(login, unique)
    clerk = login("warehouse")
    lot = unique("C")
    count_in(clerk, dated, "RM-A-01-01", "2", lot=lot)  # a count found the lot: it has no expiry yet
    loaded = load(clerk, f"{HEADER}\n{dated},RM-A-01-02,{lot},2027-05-31,,3,,\n")
    assert loaded.status_code == 200, loaded.text
    assert (loaded.json()["posted"], loaded.json()["lots_created"]) == (1, 0)
    with closing(enrolled_device(server.url, clerk, tmp_path)) as device:
        device.pull_all()
        assert device.replica("lot")[f"{dated}|{lot}"]["expiry"] == "2027-05-31"

    refused = load(clerk, f"{HEADER}\n{dated},RM-A-02-01,{lot},2027-06-30,,1,,\n")
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["details"]["errors"]
    assert (problem["row"], problem["column"], problem["code"]) == (2, "expiry", "lot_expiry_mismatch")
    assert problem["params"] == {"item": dated, "lot": lot, "expiry": "2027-05-31", "stated": "2027-06-30"}
