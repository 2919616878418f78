"""Master data through the REST API: every table created, read, listed, changed, archived and restored, with the
references between them, BOM components, capacity calendars and who may change what."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest


@dataclass
class Factory:
    """Builds the records a test needs, each with a code of the test's own, as the admin would at a desk."""

    client: httpx.Client
    unique_code: Callable[[str], str]
    made: itertools.count = field(default_factory=itertools.count)

    def unique(self, prefix: str) -> str:
        return self.unique_code(f"{prefix}{next(self.made)}")

    def make(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(f"/api/{path}", json=body)
        assert response.status_code == 201, response.text
        return response.json()

    def site(self, prefix: str = "SITE") -> str:
        return self.make("sites", {"code": self.unique(prefix), "name": "Plant", "timezone": "Asia/Shanghai"})["code"]

    def warehouse(self, prefix: str = "WH") -> str:
        return self.make("warehouses", {"code": self.unique(prefix), "name": "Main store", "site": self.site()})["code"]

    def unit(self) -> str:
        return self.make("units", {"code": self.unique("PCS"), "name": "Piece"})["code"]

    def item(self, prefix: str, unit: str | None = None, type: str = "raw") -> str:
        body = {"code": self.unique(prefix), "name": prefix.title(), "type": type, "unit": unit or self.unit()}
        return self.make("items", body)["code"]

    def work_centre(self, prefix: str = "WC") -> str:
        return self.make("work_centres", {"code": self.unique(prefix), "name": "Assembly"})["code"]


@pytest.fixture
def factory(admin, unique) -> Factory:
    return Factory(admin, unique)


@dataclass
class Case:
    """One master table: how to build a record (given the factory and a code), a change, a filter to list by, and what
    a second record sharing that filter value must change to be allowed (a BOM's version)."""

    path: str
    build: Callable[[Factory, str], dict[str, Any]]
    change: dict[str, Any]
    filter_field: str
    second: dict[str, Any] = field(default_factory=dict)


def _bom(f: Factory, code: str) -> dict[str, Any]:
    unit = f.unit()
    return {
        "code": code, "item": f.item("CHAIR", unit, "finished"), "version": 1, "description": "Office chair",
        "valid_from": "2026-01-01",
        "components": [
            {"line_no": 10, "component": f.item("SEAT", unit), "quantity": "1", "scrap_pct": "2.5"},
            {"line_no": 20, "component": f.item("CASTOR", unit), "quantity": "5"},
        ],
    }


CASES = [
    Case("sites", lambda f, code: {"code": code, "name": "Suzhou plant", "address": "8 Xinghu St", "timezone": "Asia/Shanghai"},
         {"timezone": "Europe/Berlin", "name": "Berlin plant"}, "timezone"),
    Case("warehouses", lambda f, code: {"code": code, "name": "Main store", "site": f.site()}, {"name": "Raw store"}, "site"),
    Case("locations", lambda f, code: {"code": code, "name": "Bin A-01", "warehouse": f.warehouse(), "kind": "receiving"},
         {"kind": "quarantine"}, "warehouse"),
    Case("work_centres",
         lambda f, code: {"code": code, "name": "Assembly line", "site": f.site(), "parallel_capacity": 2,
                          "efficiency_pct": "92.5", "working_days": [1, 2, 3, 4, 5, 6],
                          "shifts": [{"name": "early", "start": "06:00", "end": "14:00"},
                                     {"name": "night", "start": "22:00", "end": "06:00"}],
                          "holidays": ["2026-10-01", "2026-10-02"]},
         {"parallel_capacity": 3, "holidays": []}, "site"),
    Case("boms", _bom, {"description": "Office chair, grey", "version": 3, "components": []}, "item", {"version": 2}),
    Case("routings",
         lambda f, code: {"code": code, "item": f.item("CHAIR", type="finished"), "version": 1,
                          "operations": [{"sequence": 10, "work_centre": f.work_centre(), "setup_minutes": "15",
                                          "run_minutes_per_unit": "2.75", "description": "Assemble"}]},
         {"description": "Assembly only"}, "item", {"version": 2}),
    Case("customers",
         lambda f, code: {"code": code, "name": "Acme Offices", "grade": "A", "credit_limit": "50000", "currency": "EUR",
                          "payment_terms_days": 45, "address": "1 Main St, Springfield",
                          "contacts": [{"name": "Li Na", "role": "buyer", "phone": "+86 512 6666 0000", "email": "li.na@example.com"}]},
         {"grade": "B", "credit_limit": "75000.5"}, "grade"),
    Case("suppliers",
         lambda f, code: {"code": code, "name": "Castor Co", "currency": "CNY", "payment_terms_days": 60,
                          "contacts": [{"name": "Wang Wei"}],
                          "items": [{"item": f.item("CASTOR"), "supplier_item_code": "C-50", "price": "1.2",
                                     "lead_time_days": 14, "min_order_quantity": "500"}]},
         {"payment_terms_days": 30, "contacts": []}, "currency"),
]


def assert_holds(sent: Any, got: Any) -> None:
    """Everything the client sent came back as sent (fields it left out may have defaults)."""
    if isinstance(sent, dict):
        for key, value in sent.items():
            assert key in got, key
            assert_holds(value, got[key])
    elif isinstance(sent, list):
        assert len(sent) == len(got), (sent, got)
        for a, b in zip(sent, got):
            assert_holds(a, b)
    else:
        assert sent == got, (sent, got)


@pytest.mark.parametrize("case", CASES, ids=[c.path for c in CASES])
def test_admin_creates_reads_lists_changes_archives_and_restores(admin, factory, unique, case: Case):
    first, second = unique("A"), unique("B")
    suffix = first.split("-", 1)[1]
    body = case.build(factory, first)
    created = factory.make(case.path, body)
    assert created["archived"] is False
    assert_holds(body, created)
    factory.make(case.path, {**case.build(factory, second), case.filter_field: body[case.filter_field], **case.second})

    got = admin.get(f"/api/{case.path}/{first}")
    assert got.status_code == 200 and got.json() == created

    params = {"q": suffix, case.filter_field: body[case.filter_field], "sort": "-code"}
    listed = admin.get(f"/api/{case.path}", params=params)
    assert listed.status_code == 200, listed.text
    assert [r["code"] for r in listed.json()["items"]] == [second, first] and listed.json()["total"] == 2
    ascending = admin.get(f"/api/{case.path}", params={**params, "sort": "code"}).json()
    assert [r["code"] for r in ascending["items"]] == [first, second]

    changed = admin.patch(f"/api/{case.path}/{first}", json=case.change)
    assert changed.status_code == 200, changed.text
    assert_holds(case.change, changed.json())
    unchanged = {k: v for k, v in created.items() if k not in case.change and k != "updated_at"}
    assert_holds(unchanged, changed.json())
    assert admin.get(f"/api/{case.path}/{first}").json() == changed.json()

    archived = admin.post(f"/api/{case.path}/{first}/archive")
    assert archived.status_code == 200 and archived.json()["archived"] is True
    assert [r["code"] for r in admin.get(f"/api/{case.path}", params={"q": suffix}).json()["items"]] == [second]
    assert [r["code"] for r in admin.get(f"/api/{case.path}", params={"q": suffix, "archived": True}).json()["items"]] == [first]
    restored = admin.post(f"/api/{case.path}/{first}/restore")
    assert restored.status_code == 200 and restored.json()["archived"] is False
    assert admin.get(f"/api/{case.path}", params={"q": suffix}).json()["total"] == 2


REFERENCES = [
    # (resource, body builder given the factory and the code to refer to, field named in the refusal, entity referred to)
    ("warehouses", lambda f, ref: {"code": f.unique("WH"), "name": "W", "site": ref}, "site", "sites"),
    ("locations", lambda f, ref: {"code": f.unique("BIN"), "name": "B", "warehouse": ref}, "warehouse", "warehouses"),
    ("work_centres", lambda f, ref: {"code": f.unique("WC"), "name": "W", "site": ref}, "site", "sites"),
    ("boms", lambda f, ref: {"code": f.unique("BOM"), "item": ref}, "item", "items"),
    ("boms", lambda f, ref: {"code": f.unique("BOM"), "item": f.item("TABLE"),
                             "components": [{"line_no": 1, "component": ref, "quantity": 2}]}, "components[0].component", "items"),
    ("routings", lambda f, ref: {"code": f.unique("RT"), "item": f.item("TABLE"),
                                 "operations": [{"sequence": 10, "work_centre": ref}]}, "operations[0].work_centre", "work_centres"),
    ("suppliers", lambda f, ref: {"code": f.unique("SUP"), "name": "S", "currency": "USD", "items": [{"item": ref}]},
     "items[0].item", "items"),
]


def _referable(f: Factory, path: str) -> str:
    return {"sites": f.site, "warehouses": f.warehouse, "items": lambda: f.item("LEG"), "work_centres": f.work_centre}[path]()


@pytest.mark.parametrize(("path", "build", "field", "target"), REFERENCES, ids=[f"{r[0]}.{r[2]}" for r in REFERENCES])
def test_a_reference_must_name_an_existing_active_record(admin, factory, path, build, field, target):
    unknown = admin.post(f"/api/{path}", json=build(factory, "NO-SUCH-CODE"))
    assert unknown.status_code == 422, unknown.text
    assert unknown.json()["code"] == "unknown_reference" and unknown.json()["details"]["field"] == field

    archived = _referable(factory, target)
    admin.post(f"/api/{target}/{archived}/archive").raise_for_status()
    refused = admin.post(f"/api/{path}", json=build(factory, archived))
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "archived_reference" and refused.json()["details"]["field"] == field

    admin.post(f"/api/{target}/{archived}/restore").raise_for_status()
    assert admin.post(f"/api/{path}", json=build(factory, archived)).status_code == 201


def test_a_bom_with_components_round_trips_and_its_lines_can_be_replaced(admin, factory, unique):
    body = _bom(factory, unique("BOM"))
    created = factory.make("boms", body)
    assert [(c["line_no"], c["component"], c["quantity"], c["scrap_pct"]) for c in created["components"]] == [
        (10, body["components"][0]["component"], "1", "2.5"),
        (20, body["components"][1]["component"], "5", "0"),
    ]
    assert admin.get(f"/api/boms/{body['code']}").json()["components"] == created["components"]

    frame = factory.item("FRAME")
    replaced = admin.patch(f"/api/boms/{body['code']}", json={"components": [{"line_no": 5, "component": frame, "quantity": "0.25"}]})
    assert replaced.status_code == 200, replaced.text
    assert admin.get(f"/api/boms/{body['code']}").json()["components"] == [
        {"line_no": 5, "component": frame, "quantity": "0.25", "scrap_pct": "0", "issue_method": "manual", "operation": None}
    ]
    renamed = admin.patch(f"/api/boms/{body['code']}", json={"description": "Frame only"})
    assert renamed.json()["components"] == replaced.json()["components"], "a change that leaves out the lines keeps them"


def test_an_item_cannot_be_a_component_of_itself(admin, factory, unique):
    chair = factory.item("CHAIR", type="finished")
    refused = admin.post("/api/boms", json={"code": unique("BOM"), "item": chair,
                                            "components": [{"line_no": 1, "component": chair, "quantity": 1}]})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "bom_cycle"
    assert refused.json()["details"]["errors"][0]["field"] == "components[0].component"
    assert admin.get("/api/boms", params={"item": chair}).json()["total"] == 0


def test_a_bom_cannot_close_a_loop_through_other_boms(admin, factory, unique):
    chair, seat, foam = factory.item("CHAIR", type="finished"), factory.item("SEAT"), factory.item("FOAM")
    factory.make("boms", {"code": unique("BOM-CHAIR"), "item": chair, "components": [{"line_no": 1, "component": seat, "quantity": 1}]})
    factory.make("boms", {"code": unique("BOM-SEAT"), "item": seat, "components": [{"line_no": 1, "component": foam, "quantity": 2}]})
    loop = admin.post("/api/boms", json={"code": unique("BOM-FOAM"), "item": foam, "components": [
        {"line_no": 1, "component": factory.item("GLUE"), "quantity": 1}, {"line_no": 2, "component": chair, "quantity": 1}]})
    assert loop.status_code == 422, loop.text
    assert loop.json()["code"] == "bom_cycle"
    assert [e["field"] for e in loop.json()["details"]["errors"]] == ["components[1].component"]
    assert admin.get("/api/boms", params={"item": foam}).json()["total"] == 0


def test_bom_lines_numbers_and_quantities_are_checked(admin, factory, unique):
    chair, seat = factory.item("CHAIR", type="finished"), factory.item("SEAT")
    twice = admin.post("/api/boms", json={"code": unique("BOM"), "item": chair, "components": [
        {"line_no": 1, "component": seat, "quantity": 1}, {"line_no": 1, "component": seat, "quantity": 2}]})
    assert twice.status_code == 422 and twice.json()["code"] == "duplicate_line"
    nothing = admin.post("/api/boms", json={"code": unique("BOM"), "item": chair, "components": [
        {"line_no": 1, "component": seat, "quantity": 0}]})
    assert nothing.status_code == 400 and nothing.json()["code"] == "out_of_range"
    assert nothing.json()["details"]["errors"][0]["field"] == "components.0.quantity"


def test_an_item_has_one_bom_per_version(admin, factory, unique):
    chair = factory.item("CHAIR", type="finished")
    factory.make("boms", {"code": unique("BOM1"), "item": chair, "version": 1})
    again = admin.post("/api/boms", json={"code": unique("BOM2"), "item": chair, "version": 1})
    assert again.status_code == 409 and again.json()["code"] == "duplicate"
    assert again.json()["details"]["fields"] == ["item", "version"]
    second = factory.make("boms", {"code": unique("BOM2"), "item": chair, "version": 2})
    clash = admin.patch(f"/api/boms/{second['code']}", json={"version": 1})
    assert clash.status_code == 409 and clash.json()["code"] == "duplicate"


def test_routing_sequences_are_unique(admin, factory, unique):
    wc = factory.work_centre()
    refused = admin.post("/api/routings", json={"code": unique("RT"), "item": factory.item("CHAIR"), "operations": [
        {"sequence": 10, "work_centre": wc}, {"sequence": 10, "work_centre": wc}]})
    assert refused.status_code == 422 and refused.json()["code"] == "duplicate_sequence"


def test_a_supplier_lists_each_item_once(admin, factory, unique):
    castor = factory.item("CASTOR")
    refused = admin.post("/api/suppliers", json={"code": unique("SUP"), "name": "S", "currency": "CNY",
                                                 "items": [{"item": castor, "price": 1}, {"item": castor, "price": 2}]})
    assert refused.status_code == 422 and refused.json()["code"] == "duplicate_line"


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"shifts": [{"name": "a", "start": "06:00", "end": "14:00"}, {"name": "b", "start": "13:00", "end": "21:00"}]},
         "shifts_overlap", 422),
        ({"shifts": [{"name": "a", "start": "06:00", "end": "06:00"}]}, "invalid_shift", 422),
        ({"shifts": [{"name": "a", "start": "24:00", "end": "06:00"}]}, "invalid_format", 400),
        ({"working_days": [1, 2, 2]}, "invalid_value", 400),
        ({"working_days": [0]}, "out_of_range", 400),
        ({"holidays": ["2026-02-30"]}, "invalid_type", 400),
        ({"parallel_capacity": 0}, "out_of_range", 400),
    ],
    ids=["overlapping_shifts", "empty_shift", "bad_time", "weekday_twice", "weekday_zero", "no_such_date", "no_machines"],
)
def test_a_work_centre_calendar_that_makes_no_sense_is_refused(admin, unique, change, code, status):
    refused = admin.post("/api/work_centres", json={"code": unique("WC"), "name": "Press", **change})
    assert refused.status_code == status, refused.text
    assert refused.json()["code"] == code


# A value the contract's schema excludes is malformed (400); a time zone shaped like one but unknown to the tz
# database is a rule (422).
@pytest.mark.parametrize(
    ("path", "body", "field", "status"),
    [
        ("sites", {"name": "S", "timezone": "Mars/Olympus_Mons"}, "timezone", 422),
        ("sites", {"name": "S", "timezone": "../../etc/passwd"}, "timezone", 400),
        ("customers", {"name": "C", "currency": "euro"}, "currency", 400),
        ("customers", {"name": "C", "currency": "EUR", "grade": "D"}, "grade", 400),
        ("customers", {"name": "C", "currency": "EUR", "contacts": [{"name": "X", "email": "not-an-address"}]}, "contacts.0.email", 400),
        ("locations", {"name": "L", "warehouse": "W", "kind": "roof"}, "kind", 400),
    ],
)
def test_values_outside_their_domain_are_refused(admin, unique, path, body, field, status):
    refused = admin.post(f"/api/{path}", json={"code": unique("X"), **body})
    assert refused.status_code == status, refused.text
    assert refused.json()["details"]["errors"][0]["field"] == field


def test_sales_maintains_customers_but_not_boms(login, factory, unique):
    sales = login("sales")
    created = sales.post("/api/customers", json={"code": unique("CUS"), "name": "Acme", "currency": "USD"})
    assert created.status_code == 201, created.text
    refused = sales.post("/api/boms", json={"code": unique("BOM"), "item": factory.item("CHAIR")})
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    assert sales.get("/api/boms").status_code == 200


def test_warehouse_keeps_locations_but_not_sites_or_suppliers(login, factory, unique):
    warehouse = login("warehouse")
    wh = factory.warehouse()
    assert warehouse.post("/api/locations", json={"code": unique("BIN"), "name": "B", "warehouse": wh}).status_code == 201
    for path, body in (("sites", {"name": "S", "timezone": "UTC"}), ("suppliers", {"name": "S", "currency": "USD"})):
        refused = warehouse.post(f"/api/{path}", json={"code": unique("X"), **body})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    archive = warehouse.post(f"/api/sites/{factory.site()}/archive")
    assert archive.status_code == 403


def test_a_viewer_reads_every_table_and_writes_none(login, unique):
    viewer = login("viewer")
    for case in CASES:
        assert viewer.get(f"/api/{case.path}", params={"limit": 1}).status_code == 200
        refused = viewer.post(f"/api/{case.path}", json={"code": unique("V"), "name": "V"})
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden", case.path
