"""The OpenAPI document tells the truth about the server (the fuzzer files prove it at large; these name the rules)."""

from __future__ import annotations

import httpx


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
