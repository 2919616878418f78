"""Site scoping of office users: an admin limits a user to a site (through the API and the users page, audited); the
user then sees that site's sales, production and purchase orders, shipments and stock, and nothing of another site,
which answers 404 like an unknown code, refuses writes the same way, and refuses new records for it
(`site_not_allowed`). A user of no limit still sees every site. Through HTTP against the real server."""

from __future__ import annotations

import html
import uuid
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import httpx
import pytest

from server.demo import DEMO_PASSWORD
from tests.clients import Browser, office
from tests.english import english_runs
from tests.factory import make_item
from tests.office.test_office_chinese import _Text, _typed_by_people

STRONG = "forklift-pallet-dock-7"
DUE = (date.today() + timedelta(days=10)).isoformat()
LIMITED_ROLES = ["sales", "planner", "buyer", "logistics", "warehouse"]


def _created(response: httpx.Response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def _sales_order(client: httpx.Client, site: str, item: str, quantity: str = "2") -> dict:
    return _created(client.post("/api/sales-orders", json={"customer": "C-BJYB", "site": site,
                                                           "lines": [{"item": item, "quantity": quantity, "due_date": DUE}]}))


def _approved(client: httpx.Client, order: dict) -> dict:
    submitted = client.post(f"/api/sales-orders/{order['code']}/submit")
    assert submitted.status_code == 200 and submitted.json()["status"] == "approved", submitted.text
    return submitted.json()


@pytest.fixture(scope="module")
def sites(server):
    """A second site (its warehouse and bin) beside the demo's NB1, and on each site a sales order (with a shipment),
    a production order, a purchase order and stock of one item, all made by admin; a user limited to NB1."""
    tag = uuid.uuid4().hex[:6].upper()
    admin = office(server.url, "admin", DEMO_PASSWORD)
    other, warehouse, bin_ = f"ZS-{tag}", f"ZW-{tag}", f"ZL-{tag}"
    _created(admin.post("/api/sites", json={"code": other, "name": f"Second plant {tag}", "timezone": "Asia/Shanghai"}))
    _created(admin.post("/api/warehouses", json={"code": warehouse, "name": "Second plant stores", "site": other}))
    _created(admin.post("/api/locations", json={"code": bin_, "name": "Rack 1", "warehouse": warehouse, "kind": "storage"}))
    item = make_item(admin, f"SCP-{tag}", type="finished", lot_tracked=False, gtin=None,
                     stock={"FG-01-01": "5", bin_: "7"})

    orders = {site: _approved(admin, _sales_order(admin, site, item)) for site in ("NB1", other)}
    shipments = {site: _created(admin.post("/api/shipments", json={
        "sales_order": orders[site]["code"], "ship_from": ship_from,
        "lines": [{"line_no": orders[site]["lines"][0]["line_no"], "quantity": "1"}]}))
        for site, ship_from in (("NB1", "FG"), (other, warehouse))}
    production = {site: _created(admin.post("/api/production-orders", json={
        "item": "CH-ERGO", "quantity": "3", "site": site, "due_date": DUE})) for site in ("NB1", other)}
    purchases = {site: _created(admin.post("/api/purchase-orders", json={
        "supplier": "S-NBCASTOR", "site": site, "allow_unlisted_item": True,
        "lines": [{"item": item, "quantity": "4", "due_date": DUE}]})) for site in ("NB1", other)}

    username = f"nb1-{tag.lower()}"
    made = _created(admin.post("/api/users", json={"username": username, "display_name": "Ningbo only",
                                                    "password": STRONG, "roles": LIMITED_ROLES, "sites": ["NB1"]}))
    assert made["sites"] == ["NB1"]
    limited = office(server.url, username, STRONG)
    yield SimpleNamespace(admin=admin, limited=limited, username=username, other=other, warehouse=warehouse,
                          bin=bin_, item=item, orders=orders, shipments=shipments, production=production,
                          purchases=purchases)
    limited.close()
    admin.close()


def _codes(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    return {row["code"] for row in response.json()["items"]}


def test_a_limited_user_lists_only_their_sites_orders_and_shipments(sites):
    own, other = "NB1", sites.other
    for path, records in (("/api/sales-orders", sites.orders), ("/api/shipments", sites.shipments),
                          ("/api/production-orders", sites.production), ("/api/purchase-orders", sites.purchases)):
        listed = _codes(sites.limited.get(path, params={"limit": 500}))
        assert records[own]["code"] in listed and records[other]["code"] not in listed, path
        # The admin, whom nothing limits, still sees both.
        everything = _codes(sites.admin.get(path, params={"limit": 500}))
        assert {records[own]["code"], records[other]["code"]} <= everything, path
    me = sites.limited.get("/api/auth/me").json()
    assert me["sites"] == ["NB1"]
    late = sites.limited.get("/api/sales-orders/late", params={"limit": 500})
    assert late.status_code == 200 and all(line["sales_order"] != sites.orders[other]["code"] for line in late.json())


def test_another_sites_records_are_not_found_like_unknown_codes(sites):
    other = sites.other
    paths = [
        f"/api/sales-orders/{sites.orders[other]['code']}",
        f"/api/sales-orders/{sites.orders[other]['code']}/history",
        f"/api/sales-orders/{sites.orders[other]['code']}/tracking",
        f"/api/shipments/{sites.shipments[other]['code']}",
        f"/api/shipments/{sites.shipments[other]['code']}/delivery-note.pdf",
        f"/api/production-orders/{sites.production[other]['code']}",
        f"/api/production-orders/{sites.production[other]['code']}/traveller.pdf",
        f"/api/purchase-orders/{sites.purchases[other]['code']}",
        f"/api/purchase-orders/{sites.purchases[other]['code']}/label.png",
    ]
    for path in paths:
        refused = sites.limited.get(path)
        assert refused.status_code == 404 and refused.json()["code"] == "not_found", (path, refused.text)
        assert sites.admin.get(path).status_code == 200, path
    # Their own site's records open as before.
    for path in (f"/api/sales-orders/{sites.orders['NB1']['code']}", f"/api/sales-orders/{sites.orders['NB1']['code']}/tracking",
                 f"/api/shipments/{sites.shipments['NB1']['code']}", f"/api/production-orders/{sites.production['NB1']['code']}",
                 f"/api/purchase-orders/{sites.purchases['NB1']['code']}"):
        assert sites.limited.get(path).status_code == 200, path
    # The office pages answer the same.
    for page in (f"/sales-orders/{sites.orders[other]['code']}", f"/shipments/{sites.shipments[other]['code']}",
                 f"/production-orders/{sites.production[other]['code']}", f"/purchase-orders/{sites.purchases[other]['code']}"):
        assert sites.limited.get(page).status_code == 404, page
    listing = sites.limited.get("/sales-orders")
    assert listing.status_code == 200 and sites.orders[other]["code"] not in listing.text
    assert sites.orders["NB1"]["code"] in listing.text


def test_writes_on_another_sites_records_are_refused_as_not_found_and_change_nothing(sites):
    other = sites.other
    production = sites.production[other]
    writes = [
        sites.limited.post(f"/api/sales-orders/{sites.orders[other]['code']}/hold", json={"reason": "stop"}),
        sites.limited.post(f"/api/shipments/{sites.shipments[other]['code']}/cancel"),
        sites.limited.patch(f"/api/production-orders/{production['code']}",
                            json={"quantity": "9", "version": production["version"]}),
        sites.limited.post(f"/api/purchase-orders/{sites.purchases[other]['code']}/cancel", json={}),
        sites.limited.post("/api/stock/counts", json={"item": sites.item, "location": sites.bin, "counted_quantity": "1"}),
    ]
    for response in writes:
        assert response.status_code in (404, 422) and response.json()["code"] in ("not_found", "unknown_location"), response.text
    assert sites.admin.get(f"/api/sales-orders/{sites.orders[other]['code']}").json()["status"] == "approved"
    assert sites.admin.get(f"/api/production-orders/{production['code']}").json()["quantity"] == "3"
    stock = sites.admin.get("/api/stock", params={"item": sites.item, "location": sites.bin}).json()["items"]
    assert [row["quantity"] for row in stock] == ["7"]


def test_a_new_record_for_another_site_is_refused_with_site_not_allowed(sites):
    other = sites.other
    attempts = [
        sites.limited.post("/api/sales-orders", json={"customer": "C-BJYB", "site": other,
                                                      "lines": [{"item": sites.item, "quantity": "1", "due_date": DUE}]}),
        sites.limited.post("/api/production-orders", json={"item": "CH-ERGO", "quantity": "1", "site": other, "due_date": DUE}),
        sites.limited.post("/api/purchase-orders", json={"supplier": "S-NBCASTOR", "site": other, "allow_unlisted_item": True,
                                                         "lines": [{"item": sites.item, "quantity": "1", "due_date": DUE}]}),
        sites.limited.post("/api/mrp/runs", json={"site": other}),
    ]
    for response in attempts:
        assert response.status_code == 403, response.text
        assert response.json()["code"] == "site_not_allowed" and response.json()["details"]["site"] == other
    # Their own site is fine; the refusal is documented in the API's description.
    assert _sales_order(sites.limited, "NB1", sites.item, "1")["site"] == "NB1"
    spec = sites.admin.get("/schema/openapi.json").json()
    described = spec["paths"]["/api/sales-orders"]["post"]["responses"]["403"]["description"]
    assert "site_not_allowed" in described


def test_stock_and_available_to_promise_count_only_the_users_sites(sites):
    own = sites.limited.get("/api/stock", params={"item": sites.item})
    assert {row["location"] for row in own.json()["items"]} == {"FG-01-01"}
    everywhere = sites.admin.get("/api/stock", params={"item": sites.item})
    assert {row["location"] for row in everywhere.json()["items"]} == {"FG-01-01", sites.bin}

    # 5 at NB1 (one reserved for its shipment), 7 at the other site (one reserved likewise).
    limited_atp = sites.limited.get(f"/api/stock/available/{sites.item}").json()
    admin_atp = sites.admin.get(f"/api/stock/available/{sites.item}").json()
    assert (Decimal(limited_atp["on_hand"]), Decimal(limited_atp["reserved"]), Decimal(limited_atp["available_to_promise"])) \
        == (5, 1, 4)
    assert (Decimal(admin_atp["on_hand"]), Decimal(admin_atp["reserved"]), Decimal(admin_atp["available_to_promise"])) \
        == (12, 2, 10)
    fefo = sites.limited.get("/api/stock/fefo", params={"item": sites.item, "quantity": "20"}).json()
    assert {pick["location"] for pick in fefo["picks"]} == {"FG-01-01"}
    page = sites.limited.get("/stock", params={"item": sites.item})
    assert page.status_code == 200 and sites.bin not in page.text and "FG-01-01" in page.text


def test_an_admin_sets_and_lifts_a_users_sites_audited_and_an_unknown_site_is_refused(sites, server):
    refused = sites.admin.patch(f"/api/users/{sites.username}", json={"sites": ["NOWHERE"]})
    assert refused.status_code == 422 and refused.json()["code"] == "unknown_site", refused.text
    assert refused.json()["details"]["sites"] == ["NOWHERE"]
    username = f"both-{uuid.uuid4().hex[:6]}"
    _created(sites.admin.post("/api/users", json={"username": username, "display_name": "Both", "password": STRONG,
                                                  "roles": ["viewer"], "sites": [sites.other]}))
    viewer = office(server.url, username, STRONG)
    try:
        assert _codes(viewer.get("/api/sales-orders", params={"limit": 500})) & {
            sites.orders["NB1"]["code"]} == set()
        # Lifting the limit applies to the open session at once.
        lifted = sites.admin.patch(f"/api/users/{username}", json={"sites": []})
        assert lifted.status_code == 200 and lifted.json()["sites"] == []
        assert sites.orders["NB1"]["code"] in _codes(viewer.get("/api/sales-orders", params={"limit": 500}))
    finally:
        viewer.close()
    audit = sites.admin.get("/api/audit", params={"entity": "user", "entity_key": username}).json()["items"]
    assert audit[0]["before"]["sites"] == [sites.other] and audit[0]["after"]["sites"] == []


def _english_on(page: httpx.Response, server) -> list[str]:
    parser = _Text()
    parser.feed(page.text)
    data = _typed_by_people(server)
    return sorted({run for piece in parser.pieces for run in english_runs(html.unescape(piece), data)})


def _chinese_browser(server, roles: list[str], sites_: list[str], admin: httpx.Client) -> Browser:
    username = f"zh-{uuid.uuid4().hex[:6]}"
    _created(admin.post("/api/users", json={"username": username, "display_name": "张工", "password": STRONG,
                                            "roles": roles, "sites": sites_, "language": "zh"}))
    browser = Browser(server.url, "zh-CN,zh;q=0.9")
    assert browser.log_in(username, STRONG).status_code in (302, 303)
    return browser


def test_the_users_page_sets_a_users_site_by_form_and_says_it_in_chinese(sites, server):
    username = f"form-{uuid.uuid4().hex[:6]}"
    _created(sites.admin.post("/api/users", json={"username": username, "display_name": "Form", "password": STRONG,
                                                  "roles": ["viewer"]}))
    page = _chinese_browser(server, ["admin"], [], sites.admin)
    try:
        shown = page.get("/users")
        assert shown.status_code == 200 and "工厂" in shown.text and 'name="sites"' in shown.text
        assert _english_on(shown, server) == []
        saved = page.post("/users/update", {"username": username, "display_name": "Form", "roles": "viewer",
                                            "active": "true", "sites_shown": "1", "sites": sites.other})
        assert saved.status_code in (302, 303), saved.text
        listed = {u["username"]: u for u in sites.admin.get("/api/users").json()}
        assert listed[username]["sites"] == [sites.other]
        # A row that offered the sites and had none ticked lifts the limit.
        page.post("/users/update", {"username": username, "display_name": "Form", "roles": "viewer", "active": "true",
                                    "sites_shown": "1"})
        assert {u["username"]: u for u in sites.admin.get("/api/users").json()}[username]["sites"] == []
        # A new user made on the page with a site.
        made = page.post("/users", [("username", f"{username}-b"), ("display_name", "Form B"), ("password", STRONG),
                                    ("language", "zh"), ("roles", "viewer"), ("sites", "NB1")])
        assert made.status_code in (302, 303), made.text
        assert {u["username"]: u for u in sites.admin.get("/api/users").json()}[f"{username}-b"]["sites"] == ["NB1"]
    finally:
        page.http.close()


def test_a_limited_users_refusal_on_a_page_is_said_in_chinese(sites, server):
    page = _chinese_browser(server, ["planner"], ["NB1"], sites.admin)
    try:
        shown = page.get("/planning", params={"site": sites.other})
        assert shown.status_code == 200 and '<option value="NB1"' in shown.text
        assert f'<option value="{sites.other}"' not in shown.text  # the site selector offers NB1 only
        refused = page.post("/planning/run", {"site": sites.other})
        assert refused.status_code == 403, refused.text
        assert "您无权处理工厂" in refused.text and _english_on(refused, server) == []
    finally:
        page.http.close()
