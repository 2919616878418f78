"""Logging in and out, roles and their refusals, CSRF, and the audit trail — through HTTP."""

from __future__ import annotations

from tests.clients import anonymous


def test_login_shows_roles_and_logout_ends_the_session(server, guest):
    response = guest.post("/api/auth/login", json={"username": "planner", "password": "floorsync-demo"})
    assert response.status_code == 200
    me = response.json()
    assert me["roles"] == ["planner"] and "items.write" in me["permissions"] and "users.write" not in me["permissions"]
    assert guest.get("/api/auth/me").json()["username"] == "planner"

    assert guest.post("/api/auth/logout").status_code == 200
    after = guest.get("/api/auth/me")
    assert after.status_code == 401 and after.json()["code"] == "not_authenticated"


def test_wrong_password_and_unknown_user_get_the_same_refusal(guest):
    wrong = guest.post("/api/auth/login", json={"username": "planner", "password": "nope"})
    unknown = guest.post("/api/auth/login", json={"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"


def test_session_cookie_is_http_only_and_same_site(guest):
    response = guest.post("/api/auth/login", json={"username": "viewer", "password": "floorsync-demo"})
    cookie = response.headers["set-cookie"].lower()
    assert "floorsync_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_every_api_call_needs_a_session(guest):
    for path in ("/api/items", "/api/units", "/api/users", "/api/audit"):
        response = guest.get(path)
        assert response.status_code == 401, path
        assert response.json()["code"] == "not_authenticated"


def test_a_viewer_may_read_items_but_not_create_them(login):
    viewer = login("viewer")
    assert viewer.get("/api/items").status_code == 200
    refused = viewer.post("/api/units", json={"code": "VIEWER-U", "name": "Should not exist"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"
    assert refused.json()["details"]["permission"] == "units.write"
    assert viewer.get("/api/units/VIEWER-U").status_code == 404


def test_only_admin_manages_users(login, unique):
    sales = login("sales")
    refused = sales.post(
        "/api/users", json={"username": unique("u"), "display_name": "X", "password": "long-enough-pw", "roles": ["viewer"]}
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"


def test_admin_creates_a_user_who_can_then_log_in(server, admin, unique):
    username = unique("clerk").lower()
    created = admin.post(
        "/api/users",
        json={"username": username, "display_name": "Li Wei", "password": "a-good-password", "roles": ["sales"], "language": "zh"},
    )
    assert created.status_code == 201, created.text
    assert "password" not in created.text and "hash" not in created.text
    client = anonymous(server.url)
    me = client.post("/api/auth/login", json={"username": username, "password": "a-good-password"}).json()
    assert me["roles"] == ["sales"] and me["language"] == "zh"

    admin.patch(f"/api/users/{username}", json={"active": False}).raise_for_status()
    assert client.get("/api/auth/me").status_code == 401, "a deactivated user's session ends at once"
    again = anonymous(server.url).post("/api/auth/login", json={"username": username, "password": "a-good-password"})
    assert again.status_code == 401


def test_a_write_without_the_csrf_token_is_refused(server, login):
    client = login("planner")
    client.event_hooks["request"] = []  # stop sending X-CSRFToken
    refused = client.post("/api/units", json={"code": "NOCSRF", "name": "No token"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "csrf_failed"
    forged = client.post("/api/units", json={"code": "NOCSRF", "name": "x"}, headers={"x-csrftoken": "forged"})
    assert forged.json()["code"] == "csrf_failed"


def test_language_is_remembered_per_user(login):
    quality = login("quality")
    assert quality.patch("/api/auth/me", json={"language": "zh"}).json()["language"] == "zh"
    assert quality.get("/api/auth/me").json()["language"] == "zh"
    quality.patch("/api/auth/me", json={"language": "en"}).raise_for_status()


def test_audit_trail_records_an_update_with_before_and_after(admin, login, unique):
    planner = login("planner")
    code = unique("KG")
    planner.post("/api/units", json={"code": code, "name": "Kilogram", "decimals": 3}).raise_for_status()
    planner.patch(f"/api/units/{code}", json={"name": "Kilogramme"}).raise_for_status()

    entries = admin.get("/api/audit", params={"entity": "unit", "entity_key": code}).json()["items"]
    assert [e["action"] for e in entries] == ["update", "create"]
    update = entries[0]
    assert update["username"] == "planner"
    assert update["before"]["name"] == "Kilogram" and update["after"]["name"] == "Kilogramme"
    assert entries[1]["before"] is None and entries[1]["after"]["decimals"] == 3


def test_only_admin_reads_the_audit_trail(login):
    assert login("planner").get("/api/audit").json()["code"] == "forbidden"
