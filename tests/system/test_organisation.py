"""Organisation an admin shapes without code: custom roles made from the permission list (the built-in roles as
templates), departments, and what a role grants applying at once to open sessions; every change audited; the
refusals, through HTTP."""

from __future__ import annotations

import httpx

from tests.clients import Browser, office

STRONG = "forklift-pallet-dock-7"


def _user(admin: httpx.Client, username: str, roles: list[str], **fields) -> httpx.Response:
    return admin.post("/api/users", json={"username": username, "display_name": username.title(), "password": STRONG,
                                          "roles": roles, **fields})


def test_an_admin_makes_a_role_grants_it_and_changes_what_it_grants_for_a_session_already_open(server, admin, unique):
    code = unique("stores_clerk").lower().replace("-", "_")
    permissions = ["items.read", "stock.read", "locations.read"]
    made = admin.post("/api/roles", json={"code": code, "name": "Stores clerk", "permissions": permissions})
    assert made.status_code == 201, made.text
    assert made.json() == {"code": code, "name": "Stores clerk", "built_in": False, "permissions": sorted(permissions),
                           "users": 0}

    username = unique("clerk").lower()
    assert _user(admin, username, [code]).status_code == 201
    clerk = office(server.url, username, STRONG)
    me = clerk.get("/api/auth/me").json()
    assert me["roles"] == [code] and me["permissions"] == sorted(permissions)
    assert clerk.get("/api/stock").status_code == 200
    refused = clerk.get("/api/sales-orders")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    # The office shows the clerk stock, and no sales.
    home = clerk.get("/")
    assert 'href="/stock"' in home.text and 'href="/sales-orders"' not in home.text

    # Granting sales.read applies to the clerk's open session at once; taking stock.read away too.
    changed = admin.patch(f"/api/roles/{code}", json={"permissions": ["items.read", "sales.read"]})
    assert changed.status_code == 200 and changed.json()["users"] == 1
    assert clerk.get("/api/sales-orders").status_code == 200
    assert clerk.get("/api/stock").status_code == 403

    listed = {role["code"]: role for role in admin.get("/api/roles").json()}
    assert listed[code]["permissions"] == ["items.read", "sales.read"] and listed[code]["users"] == 1
    assert listed["planner"]["built_in"] is True and "items.write" in listed["planner"]["permissions"]

    audit = admin.get("/api/audit", params={"entity": "role", "entity_key": code}).json()["items"]
    assert [(e["action"], e["username"]) for e in audit] == [("update", "admin"), ("create", "admin")]
    assert audit[0]["before"]["permissions"] == sorted(permissions)
    assert audit[0]["after"]["permissions"] == ["items.read", "sales.read"]
    clerk.close()


def test_a_role_copied_from_a_built_in_template_grants_what_it_grants(admin, unique):
    code = unique("planner_b").lower().replace("-", "_")
    made = admin.post("/api/roles", json={"code": code, "name": "Planner, second shift", "template": "planner"})
    assert made.status_code == 201, made.text
    planner = next(role for role in admin.get("/api/roles").json() if role["code"] == "planner")
    assert made.json()["permissions"] == planner["permissions"]


def test_role_refusals_each_with_their_code_and_nothing_written(admin, unique):
    code = unique("bad_role").lower().replace("-", "_")

    def refused(response: httpx.Response, status: int, error: str) -> None:
        assert response.status_code == status and response.json()["code"] == error, response.text

    refused(admin.post("/api/roles", json={"code": code, "name": "X", "permissions": ["stock.fly"]}), 422,
            "unknown_permission")
    # User administration stays with the built-in admin role: no custom role grants it.
    refused(admin.post("/api/roles", json={"code": code, "name": "X", "permissions": ["users.write"]}), 422,
            "permission_reserved")
    refused(admin.post("/api/roles", json={"code": code, "name": "X"}), 422, "permissions_required")
    refused(admin.post("/api/roles", json={"code": code, "name": "X", "template": "nobody"}), 422, "unknown_role")
    refused(admin.post("/api/roles", json={"code": "planner", "name": "X", "permissions": []}), 409, "duplicate")
    refused(admin.patch("/api/roles/planner", json={"name": "Mine now"}), 409, "built_in_role")
    refused(admin.delete("/api/roles/planner"), 409, "built_in_role")
    refused(admin.patch(f"/api/roles/{code}", json={"name": "X"}), 404, "not_found")
    assert code not in {role["code"] for role in admin.get("/api/roles").json()}

    refused(_user(admin, unique("ghost").lower(), ["no_such_role"]), 422, "unknown_role")

    # A role somebody holds is not deleted; once nobody does, it is.
    assert admin.post("/api/roles", json={"code": code, "name": "Held", "permissions": ["items.read"]}).status_code == 201
    holder = unique("holder").lower()
    assert _user(admin, holder, [code]).status_code == 201
    refused(admin.delete(f"/api/roles/{code}"), 409, "role_in_use")
    assert admin.patch(f"/api/users/{holder}", json={"roles": ["viewer"]}).status_code == 200
    assert admin.delete(f"/api/roles/{code}").status_code == 204
    assert code not in {role["code"] for role in admin.get("/api/roles").json()}
    assert [e["action"] for e in admin.get("/api/audit", params={"entity": "role", "entity_key": code}).json()["items"]][0] == "delete"


def test_departments_hold_users_and_are_audited(admin, unique, login):
    code = unique("ASSY")
    assert admin.post("/api/departments", json={"code": code, "name": "Assembly"}).status_code == 201
    username = unique("fitter").lower()
    created = _user(admin, username, ["production_supervisor"], department=code)
    assert created.status_code == 201 and created.json()["department"] == code
    refused = _user(admin, unique("lost").lower(), ["viewer"], department="NO-SUCH-DEPT")
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_department"

    listed = {d["code"]: d for d in admin.get("/api/departments").json()}
    assert listed[code] == {"code": code, "name": "Assembly", "users": 1}
    in_use = admin.delete(f"/api/departments/{code}")
    assert in_use.status_code == 409 and in_use.json()["code"] == "department_in_use"
    assert admin.patch(f"/api/departments/{code}", json={"name": "Final assembly"}).json()["name"] == "Final assembly"
    moved = admin.patch(f"/api/users/{username}", json={"department": None})
    assert moved.status_code == 200 and moved.json()["department"] is None
    assert admin.delete(f"/api/departments/{code}").status_code == 204

    audit = admin.get("/api/audit", params={"entity": "department", "entity_key": code}).json()["items"]
    assert [e["action"] for e in audit] == ["delete", "update", "create"]
    # Only an admin shapes the organisation; every office role may not.
    planner = login("planner")
    assert planner.post("/api/departments", json={"code": unique("X"), "name": "X"}).status_code == 403
    assert planner.post("/api/roles", json={"code": "x_role", "name": "X", "permissions": []}).status_code == 403


def test_an_admin_shapes_roles_and_departments_on_the_organisation_page_in_chinese(server, admin, unique):
    chief = unique("chief").lower()  # an admin of the test's own who reads Chinese (a user's language is theirs)
    assert _user(admin, chief, ["admin"], language="zh").status_code == 201
    page = Browser(server.url)
    assert page.log_in(chief, STRONG).status_code in (302, 303)
    shown = page.get("/organisation")
    assert shown.status_code == 200 and "组织" in shown.text and "新建角色" in shown.text
    code = unique("qc_lead").lower().replace("-", "_")
    made = page.post("/organisation", {"action": "create_role", "code": code, "name": "质检组长", "template": "quality"})
    assert made.status_code == 303, made.text
    department = unique("QC")
    assert page.post("/organisation", {"action": "create_department", "code": department, "name": "质量部"}).status_code == 303
    listed = page.get("/organisation").text
    assert f'data-role="{code}"' in listed and "质检组长" in listed and f'data-department="{department}"' in listed

    # The users page offers the new role and department; a user made there holds both.
    users = page.get("/users").text
    assert f'value="{code}"' in users and "质量部" in users
    username = unique("inspector").lower()
    created = page.post("/users", [("username", username), ("display_name", "Inspector"), ("password", STRONG),
                                   ("roles", code), ("language", "zh"), ("department", department)])
    assert created.status_code == 303, created.text
    held = next(u for u in admin.get("/api/users").json() if u["username"] == username)
    assert held["roles"] == [code] and held["department"] == department

    # A refusal is shown on the page, in Chinese, and changes nothing.
    refused = page.post("/organisation", {"action": "delete_role", "code": code})
    assert refused.status_code == 422 and f"{code}: 仍有 1 位用户持有角色 {code}：请先移除" in refused.text
    assert code in {role["code"] for role in admin.get("/api/roles").json()}
    saved = page.post("/organisation", [("action", "update_role"), ("code", code), ("name", "质检组长"),
                                        ("permissions", "quality.read"), ("permissions", "stock.read")])
    assert saved.status_code == 303
    assert next(r for r in admin.get("/api/roles").json() if r["code"] == code)["permissions"] == ["quality.read", "stock.read"]
    assert page.post("/organisation", {"action": "drop_everything", "code": code}).status_code == 400
    page.http.close()
