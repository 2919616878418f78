"""A large CSV import is one transaction with one feed change per record: it must fit the database driver's limits
(PostgreSQL takes at most 32,767 parameters in one statement)."""

from __future__ import annotations

from tests.sync_fixtures import enrolled_device


def test_an_import_of_3000_items_reaches_the_api_and_the_device_feed(server, login, admin, unique, tmp_path):
    planner = login("planner")
    prefix = unique("BULK")
    rows = "\n".join(f"{prefix}-{i:04d},Bulk part {i},raw,PCS" for i in range(3000))
    response = planner.post("/api/csv/items", files={"data": ("items.csv", f"code,name,type,unit\n{rows}\n", "text/csv")},
                            timeout=300)
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 3000, "updated": 0, "rows": 3000}
    assert admin.get("/api/items", params={"q": prefix, "limit": 1}).json()["total"] == 3000
    device = enrolled_device(server.url, login("warehouse"), tmp_path, page_size=1000)
    device.pull_all()
    assert sum(1 for code in device.replica("item") if code.startswith(prefix)) == 3000
    device.close()
