"""CSV export and import of master data: a full round trip into an empty database, and files with bad rows that
must write nothing at all."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from tests.clients import office

# The order an import of everything must follow: what a record refers to is imported before it.
DEPENDENCY_ORDER = ["units", "sites", "warehouses", "locations", "work_centres", "items", "boms", "routings", "customers", "suppliers"]


def upload(client: httpx.Client, path: str, text: str) -> httpx.Response:
    return client.post(f"/api/csv/{path}", files={"data": (f"{path}.csv", text.encode("utf-8"), "text/csv")})


def own_rows(text: str, suffix: str) -> str:
    """The header and the rows of records this test made (the session server holds other tests' records too)."""
    rows = list(csv.reader(io.StringIO(text)))
    code = rows[0].index("code")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    writer.writerows(r for r in rows[1:] if r[code].endswith(suffix))
    return out.getvalue()


def build_a_small_factory(admin: httpx.Client, code) -> dict[str, int]:
    """One of everything, with the awkward cases a spreadsheet meets: commas, quotes, line breaks, Chinese, JSON cells."""
    records = {
        "units": [{"code": code("PCS"), "name": "Piece"}, {"code": code("KG"), "name": "Kilogram", "decimals": 3}],
        "sites": [{"code": code("SZ"), "name": "苏州工厂", "address": '8 Xinghu St, "Building 2"\nSuzhou', "timezone": "Asia/Shanghai"}],
        "warehouses": [{"code": code("WH"), "name": "Main store", "site": code("SZ")}],
        "locations": [
            {"code": code("A-01"), "name": "Bin A-01", "warehouse": code("WH"), "kind": "storage"},
            {"code": code("DOCK"), "name": "Receiving dock", "warehouse": code("WH"), "kind": "receiving"},
        ],
        "work_centres": [
            {"code": code("ASSY"), "name": "Assembly", "site": code("SZ"), "parallel_capacity": 4, "efficiency_pct": "87.5",
             "shifts": [{"name": "早班", "start": "06:00", "end": "14:00"}, {"name": "night", "start": "22:00", "end": "06:00"}],
             "working_days": [1, 2, 3, 4, 5, 6], "holidays": ["2026-10-01", "2026-10-02"]},
            {"code": code("PAINT"), "name": "Paint shop"},
        ],
        "items": [
            {"code": code("CHAIR"), "name": "Office chair", "type": "finished", "unit": code("PCS"), "price": "129.90"},
            {"code": code("SEAT"), "name": "Seat, grey", "type": "semi_finished", "unit": code("PCS")},
            {"code": code("STEEL"), "name": "Steel tube", "type": "raw", "unit": code("KG"), "lot_tracked": True,
             "shelf_life_days": 365, "safety_stock": "12.5"},
        ],
        "boms": [
            {"code": code("BOM-CHAIR"), "item": code("CHAIR"), "version": 1, "valid_from": "2026-01-01", "description": "Chair, v1",
             "components": [{"line_no": 10, "component": code("SEAT"), "quantity": "1"},
                            {"line_no": 20, "component": code("STEEL"), "quantity": "2.35", "scrap_pct": "3"}]},
            {"code": code("BOM-CHAIR2"), "item": code("CHAIR"), "version": 2},
        ],
        "routings": [
            {"code": code("RT-CHAIR"), "item": code("CHAIR"), "operations": [
                {"sequence": 10, "work_centre": code("PAINT"), "setup_minutes": "30", "run_minutes_per_unit": "1.5"},
                {"sequence": 20, "work_centre": code("ASSY"), "description": "Assemble, test", "run_minutes_per_unit": "12"}]},
        ],
        "customers": [
            {"code": code("ACME"), "name": "Acme Offices, Ltd.", "grade": "A", "credit_limit": "50000", "currency": "EUR",
             "payment_terms_days": 45, "contacts": [{"name": "Li Na", "role": "buyer", "phone": "+86 512 1234", "email": "li@acme.example"}]},
        ],
        "suppliers": [
            {"code": code("TUBES"), "name": "Tubes & Co", "currency": "CNY", "contacts": [{"name": "王伟"}],
             "items": [{"item": code("STEEL"), "supplier_item_code": "ST-25", "price": "6.8", "lead_time_days": 10,
                        "min_order_quantity": "250"}]},
        ],
    }
    for path in DEPENDENCY_ORDER:
        for body in records[path]:
            response = admin.post(f"/api/{path}", json=body)
            assert response.status_code == 201, (path, response.text)
    return {path: len(bodies) for path, bodies in records.items()}


def test_every_master_table_exported_and_imported_into_an_empty_database_gives_the_same_rows(admin, unique, fresh_server):
    code = lambda prefix: unique(prefix)  # noqa: E731
    suffix = unique("").split("-", 1)[1]
    counts = build_a_small_factory(admin, code)

    exported = {}
    for path in DEPENDENCY_ORDER:
        response = admin.get(f"/api/csv/{path}")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
        exported[path] = own_rows(response.text, suffix)
    assert exported["boms"].count(code("BOM-CHAIR")) == 2, "one row per component"

    empty = fresh_server(demo=True)
    other = office(empty.url, "admin")
    try:
        for path in DEPENDENCY_ORDER:
            imported = upload(other, path, exported[path])
            assert imported.status_code == 200, (path, imported.text)
            assert imported.json()["created"] == counts[path], path
        for path in DEPENDENCY_ORDER:
            assert own_rows(other.get(f"/api/csv/{path}").text, suffix) == exported[path], path
        chair = other.get(f"/api/boms/{code('BOM-CHAIR')}").json()
        assert chair["components"] == admin.get(f"/api/boms/{code('BOM-CHAIR')}").json()["components"]

        again = upload(other, "suppliers", exported["suppliers"])
        assert again.json() == {"created": 0, "updated": 0, "rows": 1}, "importing the same file twice changes nothing"
    finally:
        other.close()


def test_an_import_updates_existing_records_and_replaces_their_lines(admin, unique):
    code = lambda prefix: unique(prefix)  # noqa: E731
    build_a_small_factory(admin, code)
    header = "code,item,version,description,valid_from,component_line_no,component_component,component_quantity,component_scrap_pct\n"
    text = header + f"{code('BOM-CHAIR')},{code('CHAIR')},1,Chair v1 (revised),2026-03-01,10,{code('STEEL')},4,0\n"
    result = upload(admin, "boms", text)
    assert result.status_code == 200, result.text
    assert result.json() == {"created": 0, "updated": 1, "rows": 1}
    bom = admin.get(f"/api/boms/{code('BOM-CHAIR')}").json()
    assert bom["description"] == "Chair v1 (revised)" and bom["valid_from"] == "2026-03-01"
    assert bom["components"] == [{"line_no": 10, "component": code("STEEL"), "quantity": "4", "scrap_pct": "0",
                                  "issue_method": "manual", "operation": None}]


def test_an_items_file_with_bad_rows_is_refused_whole_with_each_bad_row_and_field(login, unique):
    planner = login("planner")
    unit = unique("PCS")
    planner.post("/api/units", json={"code": unit, "name": "Piece"}).raise_for_status()
    rows = [
        "code,name,type,unit,lead_time_days",
        f"{unique('GOOD1')},Leg,raw,{unit},3",
        f"{unique('BAD1')},Arm,gizmo,{unit},3",
        f"{unique('GOOD2')},Back,raw,{unit},",
        f"{unique('BAD2')},Wheel,raw,NO-SUCH-UNIT-X,1",
        f"{unique('BAD3')},{'x' * 201},raw,{unit},1",
        f"{unique('BAD4')},Spring,raw,{unit},soon",
        f"{unique('GOOD3')},Seat,semi_finished,{unit},0",
    ]
    refused = upload(planner, "items", "\n".join(rows) + "\n")
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "csv_invalid"
    problems = [(e["row"], e["field"], e["code"]) for e in refused.json()["details"]["errors"]]
    assert problems == [(3, "type", "invalid_value"), (5, "unit", "unknown_reference"), (6, "name", "too_long"),
                        (7, "lead_time_days", "invalid_type")]
    assert planner.get("/api/items", params={"unit": unit}).json()["total"] == 0, "not even the good rows were written"


def test_a_bom_file_with_bad_components_names_their_own_rows_and_writes_no_bom(admin, unique):
    code = lambda prefix: unique(prefix)  # noqa: E731
    build_a_small_factory(admin, code)
    header = "code,item,version,component_line_no,component_component,component_quantity\n"
    text = header + "".join([
        f"{code('NEW1')},{code('SEAT')},7,1,{code('STEEL')},1\n",
        f"{code('NEW1')},{code('SEAT')},7,2,{code('STEEL')},2\n",
        f"{code('LOOP')},{code('SEAT')},8,1,{code('SEAT')},1\n",
        f"{code('GHOST')},{code('SEAT')},9,1,NO-SUCH-ITEM,1\n",
        f"{code('ZERO')},{code('SEAT')},10,1,{code('STEEL')},0\n",
        f"{code('TWO')},{code('SEAT')},11,1,{code('STEEL')},1\n",
        f"{code('TWO')},{code('SEAT')},11,2,{code('STEEL')},lots\n",
    ])
    refused = upload(admin, "boms", text)
    assert refused.status_code == 422 and refused.json()["code"] == "csv_invalid", refused.text
    problems = [(e["row"], e["field"], e["code"]) for e in refused.json()["details"]["errors"]]
    assert problems == [(4, "component_component", "bom_cycle"), (5, "component_component", "unknown_reference"),
                        (6, "component_quantity", "out_of_range"), (8, "component_quantity", "invalid_type")]
    assert admin.get("/api/boms", params={"item": code("SEAT")}).json()["total"] == 0


@pytest.mark.parametrize(
    ("path", "text", "code"),
    [
        ("sites", "code,name,colour\nS1,Plant,red\n", "invalid_header"),
        ("sites", "name,timezone\nPlant,UTC\n", "invalid_header"),
        ("work_centres", "code,name,shifts\nWC1,Press,[{not json\n", "invalid_json"),
        ("customers", "code,name,currency\nC1,Acme,EUR\nC1,Acme again,EUR\n", "duplicate_in_file"),
        ("boms", "code,item,version,component_line_no,component_component,component_quantity\nB1,X,1,1,Y,1\nB1,X,2,2,Y,1\n",
         "inconsistent_rows"),
        ("boms", "code,item,version\nB1,CHAIR-X,1\nB2,CHAIR-X,1\n", "duplicate_in_file"),
    ],
    ids=["unknown_column", "no_code_column", "bad_json_cell", "same_code_twice", "lines_disagree", "same_version_twice"],
)
def test_a_malformed_file_is_refused_with_a_reason(admin, path, text, code):
    refused = upload(admin, path, text)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "csv_invalid"
    assert code in [e["code"] for e in refused.json()["details"]["errors"]]
