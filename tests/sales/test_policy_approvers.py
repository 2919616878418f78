"""The sales policy's approvers may be custom roles: a role an admin made that grants sales.approve is offered on the
policy form, chosen there or through the API, and its holders approve past the check it is named for. A role that may
not approve orders (built-in or custom) or no role at all is refused (422), said in the reader's language."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from tests.clients import office
from tests.english import english_on_screen

CUSTOMER = {"prefix": "C-APPR", "name": "Approver test customer", "credit_limit": "1000000"}
STRONG = "forklift-pallet-dock-7"
DUE = "2099-01-15"
POLICY_FIELDS = ("credit_check", "discount_check", "max_discount_pct", "auto_approve", "approvers",
                 "other_approver_above_value", "other_approver_above_discount_pct")


@pytest.fixture
def policy_kept(admin) -> Iterator[dict]:
    """The policy as it was, put back after the test (the session's server is shared)."""
    before = admin.get("/api/sales-policy").json()
    yield before
    admin.put("/api/sales-policy", json={k: before[k] for k in POLICY_FIELDS}).raise_for_status()


def make_role(admin: httpx.Client, unique, name: str, permissions: list[str], prefix: str = "lead") -> str:
    code = unique(prefix).lower().replace("-", "_")
    made = admin.post("/api/roles", json={"code": code, "name": name, "permissions": permissions})
    assert made.status_code == 201, made.text
    return code


def user_with(server, admin: httpx.Client, unique, role: str, **fields) -> tuple[str, httpx.Client]:
    username = unique("lead").lower()
    made = admin.post("/api/users", json={"username": username, "display_name": "Regional lead", "password": STRONG,
                                          "roles": [role], **fields})
    assert made.status_code == 201, made.text
    return username, office(server.url, username, STRONG)


def policy_with(before: dict, **approvers: list[str]) -> dict:
    return {**{k: before[k] for k in POLICY_FIELDS}, "other_approver_above_discount_pct": None,
            "approvers": approvers}


def test_a_custom_role_that_may_approve_is_an_approver_and_its_holders_approve_past_the_check(
        server, admin, login, unique, customer, policy_kept):
    role = make_role(admin, unique, "Regional sales lead", ["sales.read", "sales.approve"])
    _, lead = user_with(server, admin, unique, role)
    set_to = admin.put("/api/sales-policy", json=policy_with(policy_kept, discount=[role]))
    assert set_to.status_code == 200, set_to.text
    assert set_to.json()["approvers"] == {"discount": [role]}

    sales, manager = login("sales"), login("manager")
    created = sales.post("/api/sales-orders", json={"customer": customer, "site": "NB1", "lines": [
        {"item": "CH-EXEC", "quantity": "1", "unit_price": "1280", "discount_pct": str(Decimal(policy_kept["max_discount_pct"]) + 5),
         "due_date": DUE}]})
    assert created.status_code == 201, created.text
    code = created.json()["code"]
    waiting = sales.post(f"/api/sales-orders/{code}/submit").json()
    assert waiting["awaiting_approval"] is True, waiting
    refused = manager.post(f"/api/sales-orders/{code}/approve")
    assert refused.status_code == 403 and refused.json()["code"] == "approver_role_required", refused.text
    assert refused.json()["details"]["roles"] == [role]
    approved = lead.post(f"/api/sales-orders/{code}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    audit = admin.get("/api/audit", params={"entity": "sales_policy", "entity_key": "default"}).json()["items"]
    assert audit[0]["after"]["approvers"] == {"discount": [role]}


def test_a_role_that_may_not_approve_or_does_not_exist_is_refused_and_the_policy_stays(admin, unique, policy_kept):
    clerk_role = make_role(admin, unique, "Sales clerk, night", ["sales.read", "sales.write"], "clerk")
    for approvers, code, roles in (({"discount": [clerk_role]}, "role_cannot_approve", [clerk_role]),
                                   ({"credit": ["sales_manager", "sales"]}, "role_cannot_approve", ["sales"]),
                                   ({"contract": ["no_such_role"]}, "unknown_role", ["no_such_role"])):
        refused = admin.put("/api/sales-policy", json=policy_with(policy_kept, **approvers))
        assert refused.status_code == 422 and refused.json()["code"] == code, refused.text
        assert refused.json()["details"]["roles"] == roles
    assert admin.get("/api/sales-policy").json() == policy_kept


def test_the_policy_form_offers_custom_approver_roles_and_refuses_one_that_may_not_approve_in_chinese(
        server, admin, browse, unique, policy_kept):
    approver = make_role(admin, unique, "区域销售主管", ["sales.read", "sales.approve"])
    clerk_role = make_role(admin, unique, "夜班销售文员", ["sales.read", "sales.write"], "clerk")
    page = browse("admin").get("/sales-policy")
    assert f'name="approvers-discount" value="{approver}"' in page.text and "区域销售主管" in page.text
    assert f'value="{clerk_role}"' not in page.text, "a role that may not approve is not offered"
    assert 'value="planner"' not in page.text and 'name="approvers-discount" value="sales_manager"' in page.text

    username = unique("zhadmin").lower()
    assert admin.post("/api/users", json={"username": username, "display_name": "管理员", "password": STRONG,
                                          "roles": ["admin"], "language": "zh"}).status_code == 201
    reader = browse()
    assert reader.log_in(username, STRONG).status_code in (302, 303)
    form = [("credit_check", "true"), ("discount_check", "true"), ("auto_approve", "true"),
            ("max_discount_pct", policy_kept["max_discount_pct"]), ("approvers-discount", approver)]
    refused = reader.post("/sales-policy", [*form, ("approvers-discount", clerk_role)])
    assert refused.status_code == 422, refused.text
    alert = refused.text.split('id="pol-approvers-contract"')[1].split('class="field-error"')[1].split("</p>")[0]
    assert f"这些角色无权审批销售订单：{clerk_role}" in alert, alert
    assert english_on_screen(f"<p {alert}</p>", [clerk_role]) == [], alert
    assert f'value="{clerk_role}" checked> 夜班销售文员' in refused.text, "as typed, under its name, to be taken off"
    assert admin.get("/api/sales-policy").json() == policy_kept

    saved = reader.post("/sales-policy", form)
    assert saved.status_code == 303, saved.text
    assert admin.get("/api/sales-policy").json()["approvers"]["discount"] == [approver]
    again = reader.get("/sales-policy")
    assert f'name="approvers-discount" value="{approver}" checked' in again.text
