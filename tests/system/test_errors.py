"""Every refusal, through HTTP: its status and its own `code`, always in the {"code", "message", "details"} shape,
and never a 500 — not for NUL bytes that PostgreSQL would choke on, nor for integers beyond any column."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from tests.clients import anonymous


def refusal(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message", "details"}, body
    assert body["code"] == code, body
    assert body["message"], body
    return body


def field_refusal(response: httpx.Response, code: str, field: str) -> dict:
    body = refusal(response, 400, code)
    assert field in [error["field"] for error in body["details"]["errors"]], body
    return body


@pytest.fixture
def planner(login):
    return login("planner")


@pytest.fixture
def unit(planner, unique):
    code = unique("EA")
    planner.post("/api/units", json={"code": code, "name": "Each"}).raise_for_status()
    return code


def item(code: str, unit: str, **fields) -> dict:
    return {"code": code, "name": "Caster wheel", "type": "raw", "unit": unit, **fields}


def test_an_unknown_route_is_route_not_found(planner):
    refusal(planner.get("/api/no-such-thing"), 404, "route_not_found")


def test_a_wrong_method_is_method_not_allowed(planner):
    refusal(planner.delete("/api/items"), 405, "method_not_allowed")


def test_a_body_that_is_not_json_is_invalid_json(planner):
    refused = planner.post("/api/units", content=b'{"code": "X", "name": ', headers={"content-type": "application/json"})
    refusal(refused, 400, "invalid_json")


def test_a_string_where_a_number_belongs_is_invalid_type(planner, unique):
    refused = planner.post("/api/units", json={"code": unique("U"), "name": "Unit", "decimals": "two"})
    field_refusal(refused, "invalid_type", "decimals")


def test_a_missing_field_is_missing_field(planner):
    field_refusal(planner.post("/api/units", json={"name": "No code"}), "missing_field", "code")


def test_a_string_beyond_its_length_is_too_long(planner, unique):
    field_refusal(planner.post("/api/units", json={"code": unique("U"), "name": "n" * 201}), "too_long", "name")


def test_a_display_name_longer_than_its_column_is_too_long(admin, unique):
    # PostgreSQL's varchar(128) used to be the one refusing it, as a 500.
    refused = admin.post(
        "/api/users",
        json={"username": unique("long").lower(), "display_name": "n" * 129, "password": "long-enough-pw", "roles": ["viewer"]},
    )
    field_refusal(refused, "too_long", "display_name")
    field_refusal(admin.patch("/api/users/viewer", json={"display_name": "n" * 129}), "too_long", "display_name")


def test_a_field_the_contract_does_not_know_is_unknown_field(planner, unique):
    refused = planner.post("/api/units", json={"code": unique("U"), "name": "Unit", "colour": "red"})
    field_refusal(refused, "unknown_field", "colour")


def test_a_number_beyond_its_range_is_out_of_range(planner, unique):
    field_refusal(planner.post("/api/units", json={"code": unique("U"), "name": "Unit", "decimals": 7}), "out_of_range", "decimals")
    field_refusal(planner.post("/api/units", json={"code": unique("U"), "name": "Unit", "decimals": -1}), "out_of_range", "decimals")


def test_huge_integers_are_refused_by_the_contract(planner, unit, unique):
    for huge in (2**63, 10**40, -(10**40)):
        refused = planner.post("/api/items", json=item(unique("BIG"), unit, lead_time_days=huge))
        field_refusal(refused, "out_of_range", "lead_time_days")
    refused = planner.post("/api/items", json=item(unique("BIG"), unit, safety_stock="1" * 40))
    assert refused.status_code == 400 and refused.json()["details"]["errors"][0]["field"] == "safety_stock"
    raw = b'{"code": "BIG-RAW", "name": "Unit", "decimals": 1' + b"0" * 5000 + b"}"
    assert planner.post("/api/units", content=raw, headers={"content-type": "application/json"}).status_code == 400
    refusal(planner.get("/api/items", params={"offset": str(10**30)}), 400, "out_of_range")


def test_a_sort_field_that_does_not_exist_is_refused(planner):
    body = refusal(planner.get("/api/items", params={"sort": "password"}), 400, "invalid_value")
    assert body["details"]["errors"][0]["field"] == "sort" and body["details"]["errors"][0]["source"] == "query"


def test_bad_paging_and_filter_values_are_refused(planner):
    refusal(planner.get("/api/items", params={"limit": 0}), 400, "out_of_range")
    refusal(planner.get("/api/items", params={"limit": "ten"}), 400, "invalid_type")
    refusal(planner.get("/api/items", params={"type": "gaseous"}), 400, "invalid_value")
    refusal(planner.get("/api/items", params={"lot_tracked": "perhaps"}), 400, "invalid_type")
    refusal(planner.get("/api/items", params={"q": "x" * 101}), 400, "too_long")


def test_a_second_record_with_the_same_code_is_a_duplicate(planner, unit):
    body = refusal(planner.post("/api/units", json={"code": unit, "name": "Again"}), 409, "duplicate")
    assert body["details"]["field"] == "code"


def test_a_reference_to_nothing_is_unknown_reference(planner, unique):
    body = refusal(planner.post("/api/items", json=item(unique("REF"), "NO-SUCH-UNIT")), 422, "unknown_reference")
    assert body["details"] == {"field": "unit", "entity": "unit", "value": "NO-SUCH-UNIT"}


def test_a_record_that_does_not_exist_is_not_found(planner):
    refusal(planner.get("/api/items/NO-SUCH-ITEM"), 404, "not_found")
    refusal(planner.patch("/api/items/NO-SUCH-ITEM", json={"name": "X"}), 404, "not_found")


def test_without_a_session_the_api_answers_not_authenticated(guest):
    refusal(guest.get("/api/items"), 401, "not_authenticated")
    refusal(guest.post("/api/units", json={"code": "X", "name": "X"}), 401, "not_authenticated")


def test_a_role_without_the_permission_is_forbidden(login):
    body = refusal(login("viewer").post("/api/units", json={"code": "NOPE", "name": "X"}), 403, "forbidden")
    assert body["details"]["permission"] == "units.write"


def test_a_write_without_the_csrf_token_is_csrf_failed(server, planner):
    session_only = httpx.Client(base_url=server.url, cookies=planner.cookies)
    refusal(session_only.post("/api/units", json={"code": "NO-CSRF", "name": "X"}), 403, "csrf_failed")
    wrong_token = session_only.post("/api/units", json={"code": "NO-CSRF", "name": "X"}, headers={"x-csrftoken": "forged"})
    refusal(wrong_token, 403, "csrf_failed")
    assert planner.get("/api/units/NO-CSRF").status_code == 404


def test_a_body_beyond_the_limit_is_too_large(planner):
    refused = planner.post(
        "/api/units", content=b'{"code": "' + b"x" * (21 * 1024 * 1024) + b'"}', headers={"content-type": "application/json"}
    )
    refusal(refused, 413, "too_large")


@pytest.mark.parametrize("text", ["Caster\x00wheel", "Caster\x1bwheel", "\x7f", "bell\x07"])
def test_control_characters_in_a_string_are_refused_before_the_database(planner, unit, unique, text):
    field_refusal(planner.post("/api/items", json=item(unique("CTL"), unit, name=text)), "control_character", "name")
    field_refusal(planner.post("/api/items", json=item(unique("CTL"), unit, description=text)), "control_character", "description")
    refusal(planner.post("/api/units", json={"code": f"A{text}B", "name": "Unit"}), 400, "invalid_format")
    refusal(planner.patch(f"/api/units/{unit}", json={"name": text}), 400, "control_character")


@pytest.mark.parametrize("text", ["a\x00b", "\x00", "tab\x1b"])
def test_control_characters_in_query_and_path_parameters_are_refused(admin, text):
    refusal(admin.get("/api/items", params={"q": text}), 400, "invalid_format")
    refusal(admin.get("/api/items", params={"unit": text}), 400, "invalid_format")
    refusal(admin.get("/api/audit", params={"entity_key": text}), 400, "invalid_format")
    in_path = quote(text)  # httpx refuses raw control characters in a URL; the server decodes them from the path
    refusal(admin.get(f"/api/items/{in_path}"), 400, "invalid_format")
    refusal(admin.patch(f"/api/users/{in_path}", json={"display_name": "X"}), 400, "invalid_format")


def test_a_login_with_a_nul_byte_is_refused_not_crashed(server):
    client = anonymous(server.url)
    field_refusal(client.post("/api/auth/login", json={"username": "ad\x00min", "password": "x"}), "control_character", "username")
    wrong = client.post("/api/auth/login", json={"username": "admin", "password": "floorsync\x00demo"})
    refusal(wrong, 401, "invalid_credentials")


def test_a_csv_that_is_neither_utf8_nor_gb18030_is_refused(admin, unique):
    code = unique("ENC")
    latin1 = f"code,name\n{code},Stückgut \xff\n".encode("latin-1")
    refused = admin.post("/api/csv/units", files={"data": ("units.csv", latin1, "text/csv")})
    refusal(refused, 422, "invalid_encoding")
    assert admin.get(f"/api/units/{code}").status_code == 404


def test_a_csv_with_a_nul_byte_lists_the_row_and_writes_nothing(admin, unique):
    code = unique("NUL")
    text = f"code,name\n{code},Bad\x00name\n".encode()
    body = refusal(admin.post("/api/csv/units", files={"data": ("units.csv", text, "text/csv")}), 422, "csv_invalid")
    assert body["details"]["errors"][0]["row"] == 2 and body["details"]["errors"][0]["field"] == "name"
    assert admin.get(f"/api/units/{code}").status_code == 404


def test_an_import_without_its_file_is_refused(admin):
    refused = admin.post("/api/csv/units", files={"something_else": ("units.csv", b"code,name\n", "text/csv")})
    field_refusal(refused, "missing_field", "data")
