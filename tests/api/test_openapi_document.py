"""The OpenAPI document tells the truth about the server (the fuzzer files prove it at large; these name the rules)."""

from __future__ import annotations

import uuid

import httpx

from schemas.masterdata import TIME_ZONE_PATTERN
from server.labels.gs1 import check_digit


def test_options_lists_every_method_a_path_has_even_when_two_controllers_share_it(server, admin):
    # /api/items: the list and the creation come from different controllers; /api/items/{code}: read and write.
    for path, methods in [("/api/items", {"GET", "POST"}), ("/api/items/ANY", {"GET", "PATCH"})]:
        response = admin.options(path)
        assert response.status_code == 204
        allowed = {m.strip() for m in response.headers["allow"].split(",")}
        assert methods <= allowed and allowed <= methods | {"OPTIONS", "HEAD"}, (path, allowed)


def test_a_list_filter_refuses_null_like_any_other_wrong_value(admin):
    for query in ("type=null", "lot_tracked=null", "type=nonsense"):
        response = admin.get(f"/api/items?{query}")
        assert response.status_code == 400, query
        assert response.json()["code"] in ("invalid_value", "invalid_type"), response.json()
    assert admin.get("/api/items?type=raw&lot_tracked=true").status_code == 200


def test_the_document_says_what_the_server_enforces(server):
    document = httpx.get(f"{server.url}/schema/openapi.json", timeout=30).json()
    schemas, paths = document["components"]["schemas"], document["paths"]
    # Unknown fields are refused, and constraints inside `X | None` survive.
    assert schemas["ItemIn"]["additionalProperties"] is False
    version = schemas["SalesOrderAction"]["properties"]["version"]["oneOf"][0]
    assert version["minimum"] == 1
    # An action's body is optional, and says what happens without it.
    body = paths["/api/sales-orders/{code}/submit"]["post"]["requestBody"]
    assert body["required"] is False and "current version" in body["description"]
    # Authentication the OpenAPI way: the office session, the device token, nothing on public operations.
    assert document["components"]["securitySchemes"]["sessionCookie"]["in"] == "cookie"
    assert document["components"]["securitySchemes"]["deviceToken"]["scheme"] == "bearer"
    assert document["security"] == [{"sessionCookie": []}]
    for path, method in [("/health", "get"), ("/api/auth/login", "post"), ("/api/auth/csrf", "get"),
                         ("/api/sync/enroll", "post")]:
        assert paths[path][method]["security"] == [], path
    for path, method in [("/api/sync/push", "post"), ("/api/sync/pull", "get")]:
        assert paths[path][method]["security"] == [{"deviceToken": []}]
        assert "426" in paths[path][method]["responses"]
    assert not any(p["in"] == "cookie" for op in paths["/api/items"].values() for p in op.get("parameters", []))


def _refused(response, status: int, code: str) -> None:
    assert response.status_code == status and response.json()["code"] == code, response.text


def test_a_json_body_is_read_strictly_a_boolean_a_date_or_an_integer_in_another_type_is_refused(admin, unique):
    # pydantic's lax mode took 1 for true, seconds since 1970 for a date and "3" for an integer.
    item = {"code": unique("STRICT"), "name": "Strict", "type": "raw", "unit": "PCS"}
    _refused(admin.post("/api/items", json={**item, "lot_tracked": 1}), 400, "invalid_type")
    _refused(admin.post("/api/items", json={**item, "lead_time_days": "3"}), 400, "invalid_type")
    price_list = {"code": unique("PL"), "name": "Strict", "currency": "CNY"}
    _refused(admin.post("/api/price-lists", json={**price_list, "valid_from": 1767225600}), 400, "invalid_type")
    # What JSON can only spell as text (a date, an enum) is still read from text, and 3.0 is the integer 3.
    assert admin.post("/api/items", json={**item, "lot_tracked": True, "lead_time_days": 3.0}).status_code == 201
    assert admin.post("/api/price-lists", json={**price_list, "valid_from": "2027-01-01"}).status_code == 201


def test_a_decimal_is_taken_as_text_or_as_a_json_number_as_the_document_says(server, admin, unique):
    for n, sent in enumerate(("1.5", 1.5, 2)):
        code = f"{unique('DEC')}-{n}"
        created = admin.post("/api/items", json={"code": code, "name": "Decimal", "type": "raw", "unit": "PCS",
                                                 "safety_stock": sent})
        assert created.status_code == 201, created.text
        assert created.json()["safety_stock"] == str(sent)
    # A number keeps the places and digits of the text (7 places, 13 digits before the point are refused), and one
    # with a fraction the 15 digits a binary float holds exactly (larger ones are sent as text).
    for number in (1.1234567, 1e13, 1_000_000_000.5):
        refused = admin.post("/api/items", json={"code": unique("DEC7"), "name": "Decimal", "type": "raw",
                                                 "unit": "PCS", "safety_stock": number})
        assert refused.status_code == 400 and refused.json()["code"] in ("too_long", "out_of_range"), refused.text
    document = httpx.get(f"{server.url}/schema/openapi.json", timeout=30).json()
    text, whole, number = document["components"]["schemas"]["ItemIn"]["properties"]["safety_stock"]["anyOf"]
    assert (text["type"], text["format"]) == ("string", "decimal")
    assert whole == {"type": "integer", "minimum": 0, "exclusiveMaximum": 10**12}
    assert number == {"type": "number", "minimum": 0, "exclusiveMaximum": 10**9, "multipleOf": 1e-06}


def test_rules_no_schema_can_state_are_refused_with_422_and_their_code(admin, unique):
    period = {"code": unique("PL"), "name": "Backwards", "currency": "CNY", "valid_from": "2027-02-01",
              "valid_to": "2027-01-01"}
    _refused(admin.post("/api/price-lists", json=period), 422, "invalid_period")
    _refused(admin.post("/api/sites", json={"code": unique("S"), "name": "Mars", "timezone": "Mars/Olympus_Mons"}), 422,
             "unknown_timezone")
    shift = {"name": "Never", "start": "08:00", "end": "08:00"}
    _refused(admin.post("/api/work_centres", json={"code": unique("WC"), "name": "No shift", "shifts": [shift]}), 422,
             "invalid_shift")
    item = {"code": unique("GTIN"), "name": "Check digit", "type": "raw", "unit": "PCS"}
    # A GTIN of the test's own (the shared server's items hold the well-known ones): 12 random digits and their check.
    body = f"{uuid.uuid4().int % 10**12:012d}"
    good = body + str(check_digit(body))
    wrong = body + str((check_digit(body) + 1) % 10)
    _refused(admin.post("/api/items", json={**item, "gtin": wrong}), 422, "invalid_check_digit")
    assert admin.post("/api/items", json={**item, "gtin": good}).status_code == 201
    _refused(admin.post("/api/webhooks", json={"url": "https://user:pw@example.com/", "event_types": "*"}), 422,
             "url_credentials")
    # What the document's pattern states stays a malformed request.
    _refused(admin.post("/api/webhooks", json={"url": "gopher://example.com/", "event_types": "*"}), 400, "invalid_url")


def test_the_document_states_the_rules_it_can(server, admin):
    schemas = httpx.get(f"{server.url}/schema/openapi.json", timeout=30).json()["components"]["schemas"]
    assert schemas["SiteIn"]["properties"]["timezone"]["pattern"] == TIME_ZONE_PATTERN
    assert schemas["WorkCentreIn"]["properties"]["working_days"]["uniqueItems"] is True
    assert schemas["ItemIn"]["properties"]["gtin"]["oneOf"][0]["pattern"] == "^([0-9]{8}|[0-9]{12,14})$"
    assert schemas["WebhookSubscriptionIn"]["properties"]["url"]["pattern"].startswith("^\\s*[Hh][Tt][Tt][Pp][Ss]?://")
    assert schemas["ScanRequest"]["properties"]["code"]["minLength"] == 1
    grades = schemas["PriceListIn"]["properties"]["grade_discounts"]
    assert set(grades["properties"]) == {"A", "B", "C"} and grades["additionalProperties"] is False
    _refused(admin.post("/api/scan/resolve", json={"code": ""}), 400, "too_short")
