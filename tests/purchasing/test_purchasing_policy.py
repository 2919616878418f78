"""Segregation of duties on purchase orders, as the admin shapes it: the purchasing policy's default limit above which
the buyer who wrote a PO may not approve it, and limits per role (built-in or custom) that let a role's holders
approve their own POs up to more, or less; the refusal says which limit applied. A role that does not exist or may
not approve POs is refused, only an admin sets the policy, and its page speaks Chinese and saves through a form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from tests.clients import office
from tests.english import english_on_screen

SITE = "NB1"
SOON = (date.today() + timedelta(days=14)).isoformat()
STRONG = "forklift-pallet-dock-7"
POLICY_FIELDS = ("other_approver_above", "self_approval_limits")


def po_of(client: httpx.Client, quantity: str) -> dict:
    """A draft PO of GAS-C4 at 2.80 a piece: 5000 pieces make 14000 EUR."""
    response = client.post("/api/purchase-orders", json={"supplier": "S-LIFTTEC", "site": SITE, "lines": [
        {"item": "GAS-C4", "quantity": quantity, "unit_price": "2.80", "due_date": SOON}]})
    assert response.status_code == 201, response.text
    return response.json()


def approve(client: httpx.Client, po: dict) -> httpx.Response:
    return client.post(f"/api/purchase-orders/{po['code']}/approve", json={"version": po["version"]})


def refused(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.json()["code"] == code, response.text
    return response.json()


@pytest.fixture
def policy_kept(admin) -> Iterator[dict]:
    """The policy as it was, put back after the test (the session's server is shared)."""
    before = admin.get("/api/purchasing-policy").json()
    yield before
    admin.put("/api/purchasing-policy", json={k: before[k] for k in POLICY_FIELDS}).raise_for_status()


def set_policy(admin: httpx.Client, default: str, **limits: str) -> dict:
    response = admin.put("/api/purchasing-policy", json={"other_approver_above": default,
                                                         "self_approval_limits": limits})
    assert response.status_code == 200, response.text
    return response.json()


def user_with(server, admin: httpx.Client, unique, roles: list[str], prefix: str = "po") -> tuple[str, httpx.Client]:
    username = unique(prefix).lower()
    made = admin.post("/api/users", json={"username": username, "display_name": "Purchasing lead", "password": STRONG,
                                          "roles": roles})
    assert made.status_code == 201, made.text
    return username, office(server.url, username, STRONG)


def make_role(admin: httpx.Client, unique, name: str, permissions: list[str], prefix: str = "lead") -> str:
    code = unique(prefix).lower().replace("-", "_")
    made = admin.post("/api/roles", json={"code": code, "name": name, "permissions": permissions})
    assert made.status_code == 201, made.text
    return code


def test_a_buyers_own_po_above_the_default_is_refused_until_the_buyer_role_is_given_a_higher_limit(
        server, login, admin, unique, policy_kept):
    buyer = login("buyer")
    set_policy(admin, "10000")
    big = po_of(buyer, "5000")  # 14000 EUR
    own = refused(approve(buyer, big), 409, "self_approval")
    assert own["details"]["limit"] == "10000" and own["details"]["limit_role"] is None
    assert "14000.00 EUR, more than the default limit of 10000" in own["message"], own["message"]

    saved = set_policy(admin, "10000", buyer="20000")
    assert saved["self_approval_limits"] == {"buyer": "20000"} and saved["updated_by"] == "admin"
    assert buyer.get("/api/purchasing-policy").json()["self_approval_limits"] == {"buyer": "20000"}
    approved = approve(buyer, big)
    assert approved.status_code == 200 and approved.json()["approved_by"] == "buyer", approved.text

    bigger = po_of(buyer, "7500")  # 21000 EUR: above the buyer role's own limit
    above = refused(approve(buyer, bigger), 409, "self_approval")
    assert above["details"]["limit"] == "20000" and above["details"]["limit_role"] == "buyer"
    assert "21000.00 EUR, more than 20000, the limit of the role Buyer" in above["message"], above["message"]
    assert buyer.get(f"/api/purchase-orders/{bigger['code']}").json()["status"] == "draft"

    colleague_name, colleague = user_with(server, admin, unique, ["buyer"])
    by_another = approve(colleague, bigger)
    assert by_another.status_code == 200 and by_another.json()["approved_by"] == colleague_name, by_another.text

    audit = admin.get("/api/audit", params={"entity": "purchasing_policy", "entity_key": "default"}).json()["items"]
    assert audit[0]["before"]["self_approval_limits"] == {} and audit[0]["after"]["self_approval_limits"] == {
        "buyer": "20000"}


def test_a_custom_role_with_a_limit_of_its_own_and_the_highest_of_a_users_roles_applies(
        server, admin, unique, policy_kept):
    lead_role = make_role(admin, unique, "Lead buyer", ["purchasing.read", "purchasing.write", "purchasing.approve"])
    set_policy(admin, "10000", buyer="20000", **{lead_role: "50000"})
    lead, lead_client = user_with(server, admin, unique, ["buyer", lead_role])

    within = po_of(lead_client, "17000")  # 47600 EUR: above the buyer role's limit, within the lead's
    approved = approve(lead_client, within)
    assert approved.status_code == 200 and approved.json()["approved_by"] == lead, approved.text

    above = refused(approve(lead_client, po_of(lead_client, "20000")), 409, "self_approval")  # 56000 EUR
    assert above["details"]["limit"] == "50000" and above["details"]["limit_role"] == lead_role
    assert "the limit of the role Lead buyer" in above["message"], above["message"]

    # A role named with a lower limit than the default is a decision about that role: its holders approve less.
    set_policy(admin, "10000", **{lead_role: "1000"})
    _, tight = user_with(server, admin, unique, [lead_role], "tight")
    small = refused(approve(tight, po_of(tight, "500")), 409, "self_approval")  # 1400 EUR
    assert small["details"]["limit"] == "1000" and small["details"]["limit_role"] == lead_role


def test_an_unknown_role_or_one_that_may_not_approve_purchase_orders_is_refused_and_the_policy_stays(
        admin, unique, policy_kept):
    clerk = make_role(admin, unique, "Purchasing clerk", ["purchasing.read", "purchasing.write"], "clerk")
    for limits, code, roles in (({"no_such_role": "5000"}, "unknown_role", ["no_such_role"]),
                                ({"buyer": "5000", "viewer": "5000"}, "role_cannot_approve", ["viewer"]),
                                ({clerk: "5000"}, "role_cannot_approve", [clerk])):
        body = refused(admin.put("/api/purchasing-policy", json={"other_approver_above": "10000",
                                                                 "self_approval_limits": limits}), 422, code)
        assert body["details"]["roles"] == roles and body["details"]["field"] == "self_approval_limits"
    for negative, field in (({"other_approver_above": "-1"}, "other_approver_above"),
                            ({"other_approver_above": "10000", "self_approval_limits": {"buyer": "-5"}},
                             "self_approval_limits.buyer")):
        body = refused(admin.put("/api/purchasing-policy", json=negative), 400, "out_of_range")
        assert [e["field"] for e in body["details"]["errors"]] == [field]
    assert admin.get("/api/purchasing-policy").json() == policy_kept


def test_only_an_admin_sets_the_policy_and_everyone_who_reads_purchase_orders_reads_it(login, browse, policy_kept):
    for username in ("buyer", "viewer"):
        client = login(username)
        assert client.get("/api/purchasing-policy").json() == policy_kept
        body = refused(client.put("/api/purchasing-policy", json={k: policy_kept[k] for k in POLICY_FIELDS}),
                       403, "forbidden")
        assert body["details"]["permission"] == "purchasing.policy"
    assert browse("buyer").get("/purchasing-policy").status_code == 403
    assert 'href="/purchasing-policy"' not in browse("buyer").get("/").text
    assert 'href="/purchasing-policy"' in browse("admin").get("/").text


def test_the_policy_page_speaks_chinese_and_saves_through_the_form(server, admin, browse, unique, policy_kept):
    username = unique("zhadmin").lower()
    made = admin.post("/api/users", json={"username": username, "display_name": "管理员", "password": STRONG,
                                          "roles": ["admin"], "language": "zh"})
    assert made.status_code == 201, made.text
    reader = browse()
    assert reader.log_in(username, STRONG).status_code in (302, 303)
    custom_names = [r["name"] for r in admin.get("/api/roles").json() if not r["built_in"]]
    data = sorted({*custom_names, "admin", "system", username}, key=len, reverse=True)

    page = reader.get("/purchasing-policy")
    assert page.status_code == 200 and "采购审批规则" in page.text and 'name="limit-buyer"' in page.text
    assert english_on_screen(page.text, data) == []
    assert english_on_screen(reader.get("/").text, data) == [] and 'href="/purchasing-policy"' in reader.get("/").text

    wrong = reader.post("/purchasing-policy", [("other_approver_above", "12000"), ("limit-buyer", "-5"),
                                               ("limit-viewer", "3000")])
    assert wrong.status_code == 422, wrong.text
    assert english_on_screen(wrong.text, data) == [], "the refusal is said in Chinese"
    assert admin.get("/api/purchasing-policy").json() == policy_kept
    not_an_approver = reader.post("/purchasing-policy", [("other_approver_above", "12000"), ("limit-viewer", "3000")])
    assert not_an_approver.status_code == 422 and "这些角色无权审批采购订单：viewer" in not_an_approver.text
    assert 'name="limit-viewer" value="3000"' in not_an_approver.text, "kept as typed, to be taken off"
    assert english_on_screen(not_an_approver.text, [*data, "viewer"]) == []

    saved = reader.post("/purchasing-policy", [("other_approver_above", "12000"), ("limit-buyer", "30000"),
                                               ("limit-warehouse", "")])
    assert saved.status_code == 303, saved.text
    policy = admin.get("/api/purchasing-policy").json()
    assert policy["other_approver_above"] == "12000" and policy["self_approval_limits"] == {"buyer": "30000"}
    assert policy["updated_by"] == username
    again = reader.get("/purchasing-policy?done=save")
    assert 'name="limit-buyer" value="30000"' in again.text and "采购审批规则已保存" in again.text
    assert english_on_screen(again.text, data) == []
