"""The demo factory, as a new user meets it after `make run`: read through the API of a server loaded by the real CLI."""

from __future__ import annotations

from contextlib import closing

import pytest

from schemas.masterdata import gtin_is_valid
from server.demo import DEMO_LOGINS, DEMO_PASSWORD
from tests.clients import office


def _all(client, path: str, **params) -> list[dict]:
    page = client.get(f"/api/{path}", params={"limit": 500, **params})
    assert page.status_code == 200, page.text
    return page.json()["items"]


@pytest.fixture(scope="module")
def demo_factory(tmp_path_factory):
    """A server of this module's own, so other tests' records don't mix in, on a copy of the database that
    `floorsync migrate` and `floorsync demo --if-empty` loaded for this run (tests/servers.py: demo_template): the
    same rows the real CLI wrote, without loading the demo a second time."""
    from tests.servers import make_server

    server = make_server(tmp_path_factory.mktemp("demo"), demo=True)
    yield server
    server.stop()
    server.database.drop()


def _codes(records: list[dict]) -> set[str]:
    return {r["code"] for r in records}


def test_the_demo_factory_has_items_of_every_kind_with_valid_gtins(demo_factory):
    with closing(office(demo_factory.url, "planner")) as planner:
        items = _all(planner, "items")
    assert len(items) >= 20
    kinds = {item["type"] for item in items}
    assert kinds == {"raw", "semi_finished", "finished"}
    finished = [item for item in items if item["type"] == "finished"]
    assert len(finished) == 3 and all(item["gtin"] for item in finished)
    assert all(gtin_is_valid(item["gtin"]) for item in items if item["gtin"])


def test_demo_boms_are_two_levels_deep_and_their_components_exist(demo_factory):
    with closing(office(demo_factory.url, "planner")) as planner:
        items = _codes(_all(planner, "items"))
        boms = _all(planner, "boms")
        routings = _all(planner, "routings")
        work_centres = _all(planner, "work_centres")
    assert boms
    made_here = {bom["item"] for bom in boms}
    for bom in boms:
        assert bom["components"], bom["code"]
        assert {line["component"] for line in bom["components"]} <= items, bom["code"]
    # A chair's BOM lists assemblies that have BOMs of their own.
    chair_boms = [bom for bom in boms if bom["item"].startswith("CH-")]
    assert len(chair_boms) == 3
    assert all({line["component"] for line in bom["components"]} & made_here for bom in chair_boms)

    assert 3 <= len(work_centres) <= 4
    assert all(wc["shifts"] and wc["working_days"] for wc in work_centres)
    assert {routing["item"] for routing in routings} == made_here
    used = {op["work_centre"] for routing in routings for op in routing["operations"]}
    assert used == _codes(work_centres)


def test_demo_site_has_barcoded_locations_of_every_kind(demo_factory):
    with closing(office(demo_factory.url, "warehouse")) as warehouse:
        sites = _all(warehouse, "sites")
        warehouses = _all(warehouse, "warehouses")
        locations = _all(warehouse, "locations")
    assert len(sites) == 1 and {w["site"] for w in warehouses} == {sites[0]["code"]}
    assert 12 <= len(locations) <= 20
    assert {loc["kind"] for loc in locations} == {"receiving", "storage", "production", "shipping", "quarantine"}
    assert {loc["warehouse"] for loc in locations} <= _codes(warehouses)


def test_demo_customers_and_suppliers(demo_factory):
    with closing(office(demo_factory.url, "buyer")) as buyer:
        items = {item["code"]: item for item in _all(buyer, "items")}
        suppliers = _all(buyer, "suppliers")
    with closing(office(demo_factory.url, "sales")) as sales:
        customers = _all(sales, "customers")
    assert len(customers) == 5
    assert {c["grade"] for c in customers} == {"A", "B", "C"}
    assert all(c["contacts"] and c["credit_limit"] for c in customers)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in c["name"]) for c in customers), "a Chinese customer name"
    assert any(c["currency"] != "CNY" for c in customers), "an international customer"

    assert len(suppliers) == 4
    supplied = {line["item"] for s in suppliers for line in s["items"]}
    assert supplied <= items.keys()
    raw = {code for code, item in items.items() if item["type"] == "raw"}
    assert raw <= supplied, f"raw items nobody supplies: {raw - supplied}"


@pytest.mark.parametrize("username", [login[0] for login in DEMO_LOGINS])
def test_every_demo_user_can_log_in(demo_factory, username):
    with closing(office(demo_factory.url, username, DEMO_PASSWORD)) as client:
        me = client.get("/api/auth/me").json()
    assert me["username"] == username and me["roles"]


def test_loading_the_demo_again_when_not_empty_duplicates_nothing(demo_factory):
    with closing(office(demo_factory.url, "admin")) as admin:
        def counts() -> dict[str, int]:
            totals = {
                path: admin.get(f"/api/{path}", params={"limit": 1}).json()["total"]
                for path in ("items", "boms", "routings", "locations", "customers", "suppliers", "audit")
            }
            return totals | {"users": len(admin.get("/api/users").json())}

        before = counts()
        again = demo_factory.cli("demo", "--if-empty")
        assert "already has data" in again.stdout
        assert counts() == before


def test_the_demo_is_written_by_the_system_in_its_documents_history_and_audit_trail(demo_factory):
    """The demo loader acts on no one's account: what it made says "system" wherever a person's name would be."""
    with closing(office(demo_factory.url, "admin")) as admin:
        purchase_orders = _all(admin, "purchase-orders")
        production_orders = _all(admin, "production-orders")
        sales_orders = _all(admin, "sales-orders")
        history = admin.get(f"/api/sales-orders/{sales_orders[0]['code']}/history").json()["revisions"]
        audit = _all(admin, "audit", entity="sales_order", entity_key=sales_orders[0]["code"])
    assert purchase_orders and {o["created_by"] for o in purchase_orders} == {"system"}
    assert {o["approved_by"] for o in purchase_orders} <= {"system", None}
    assert production_orders and {(o["created_by"], o["released_by"]) for o in production_orders} == {("system", "system")}
    assert sales_orders and {(o["created_by"], o["submitted_by"]) for o in sales_orders} == {("system", "system")}
    assert [(r["action"], r["actor"]) for r in history][:2] == [("create", "system"), ("submit", "system")]
    assert {(a["action"], a["username"]) for a in audit} >= {("create", "system"), ("submit", "system")}
