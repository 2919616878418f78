"""A master-data import checks and writes a whole file in bulk, and still leaves, per record, the audit row and the
feed entries a single write leaves: the same factory made once record by record through the API and once by files
must read the same, audit the same and reach a device the same."""

from __future__ import annotations

import csv
import io
from contextlib import closing

from tests.office.test_csv import DEPENDENCY_ORDER, build_a_small_factory, own_rows, upload
from tests.sync_fixtures import enrolled_device

ENTITIES = {"units": "unit", "sites": "site", "warehouses": "warehouse", "locations": "location",
            "work_centres": "work_centre", "items": "item", "boms": "bom", "routings": "routing",
            "customers": "customer", "suppliers": "supplier"}
STAMPS = ("created_at", "updated_at")


def _codes(text: str) -> list[str]:
    return list(dict.fromkeys(row["code"] for row in csv.DictReader(io.StringIO(text))))


def _audit(admin, entity: str, code: str) -> list[dict]:
    response = admin.get("/api/audit", params={"entity": entity, "entity_key": code})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _swapped(value, old: str, new: str):
    """A JSON value with one factory's code suffix put for another's."""
    if isinstance(value, dict):
        return {name: _swapped(part, old, new) for name, part in value.items()}
    if isinstance(value, list):
        return [_swapped(part, old, new) for part in value]
    return value.replace(old, new) if isinstance(value, str) and old else value


def _unstamped(record: dict, old: str = "", new: str = "") -> dict:
    return {name: _swapped(value, old, new) for name, value in record.items() if name not in STAMPS}


def test_a_factory_imported_by_files_reads_and_audits_as_one_made_record_by_record(admin, unique, server, tmp_path):
    made_suffix = unique("").split("-", 1)[1]
    build_a_small_factory(admin, lambda prefix: f"{prefix}-{made_suffix}")
    imported_suffix = unique("").split("-", 1)[1] + "I"
    files = {}
    for path in DEPENDENCY_ORDER:
        exported = own_rows(admin.get(f"/api/csv/{path}").text, made_suffix)
        files[path] = exported.replace(made_suffix, imported_suffix)
        result = upload(admin, path, files[path])
        assert result.status_code == 200, (path, result.text)
        assert result.json()["created"] == len(_codes(files[path])), path

    for path in DEPENDENCY_ORDER:
        entity = ENTITIES[path]
        for code in _codes(files[path]):
            stored = admin.get(f"/api/{path}/{code}").json()
            made_code = code.replace(imported_suffix, made_suffix)
            made = admin.get(f"/api/{path}/{made_code}").json()
            assert _unstamped(stored) == _unstamped(made, made_suffix, imported_suffix), (path, code)
            [entry] = _audit(admin, entity, code)
            assert entry["action"] == "import" and entry["before"] is None
            assert entry["after"] == stored, "the audit row holds the record as stored, as a single write's does"
            [created] = _audit(admin, entity, made_code)
            assert _unstamped(entry["after"]) == _unstamped(created["after"], made_suffix, imported_suffix)

    # A second file changes one item and repeats another unchanged: one update, audited with before and after.
    chair, seat = f"CHAIR-{imported_suffix}", f"SEAT-{imported_suffix}"
    before = admin.get(f"/api/items/{chair}").json()
    rows = files["items"].splitlines()
    changed = [rows[0]] + [line.replace("Office chair", "Office chair (mesh)") if line.startswith(chair) else line
                           for line in rows[1:] if line.startswith((chair, seat))]
    result = upload(admin, "items", "\n".join(changed) + "\n")
    assert result.json() == {"created": 0, "updated": 1, "rows": 2}, result.text
    after = admin.get(f"/api/items/{chair}").json()
    assert after["name"] == "Office chair (mesh)" and after["created_at"] == before["created_at"]
    update = _audit(admin, "item", chair)[0]
    assert update["action"] == "import" and update["before"] == before and update["after"] == after
    assert len(_audit(admin, "item", seat)) == 1, "an unchanged record is not written again"

    # What devices see: a tablet of the imported site gets its bins and the items, as the API reads them.
    with closing(enrolled_device(server.url, admin, tmp_path, site=f"SZ-{imported_suffix}")) as device:
        device.pull_all()
        bins = {code: data for code, data in device.replica("location").items() if code.endswith(imported_suffix)}
        assert set(bins) == set(_codes(files["locations"]))
        for code, data in bins.items():
            stored = admin.get(f"/api/locations/{code}").json()
            assert data == {name: stored[name] for name in data}
        items = device.replica("item")
        assert items[chair]["name"] == "Office chair (mesh)"
        assert set(_codes(files["items"])) <= set(items)


def test_a_bom_file_closing_a_loop_through_stored_boms_is_refused_on_its_row(admin, unique):
    """The BOMs of a file are checked against the stored ones read once for the whole file: each row still names its
    own loop, and a BOM replacing its own lines is not counted against itself."""
    code = unique
    build_a_small_factory(admin, code)
    header = "code,item,version,component_line_no,component_component,component_quantity\n"
    text = header + (f"{code('BOM-SEAT')},{code('SEAT')},1,10,{code('CHAIR')},1\n"
                     f"{code('BOM-CHAIR')},{code('CHAIR')},1,10,{code('SEAT')},1\n"
                     f"{code('BOM-CHAIR')},{code('CHAIR')},1,20,{code('STEEL')},3\n")
    refused = upload(admin, "boms", text)
    assert refused.status_code == 422, refused.text
    [problem] = refused.json()["details"]["errors"]
    assert (problem["row"], problem["field"], problem["code"]) == (2, "component_component", "bom_cycle")

    fixed = upload(admin, "boms", header + "\n".join(text.splitlines()[2:]) + "\n")
    assert fixed.json() == {"created": 0, "updated": 1, "rows": 1}, fixed.text
    assert [line["quantity"] for line in admin.get(f"/api/boms/{code('BOM-CHAIR')}").json()["components"]] == ["1", "3"]
