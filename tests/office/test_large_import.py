"""A large CSV import is one transaction with one feed change per record: it must fit the database driver's limits
(PostgreSQL takes at most 32,767 parameters in one statement)."""

from __future__ import annotations

from contextlib import closing

from tests.clients import office
from tests.sync_fixtures import enrolled_device


def test_an_import_of_3000_items_reaches_the_api_and_the_device_feed(fresh_server, unique, tmp_path):
    """On a demo server of its own: 3000 items in the shared server's feed would be pulled again by every device
    enrolled there by the tests after this one (the floor app's first sync takes seconds longer with them)."""
    server = fresh_server(demo=True)
    prefix = unique("BULK")
    rows = "\n".join(f"{prefix}-{i:04d},Bulk part {i},raw,PCS" for i in range(3000))
    with closing(office(server.url, "planner")) as planner, closing(office(server.url, "warehouse")) as clerk:
        response = planner.post("/api/csv/items", timeout=300,
                                files={"data": ("items.csv", f"code,name,type,unit\n{rows}\n", "text/csv")})
        assert response.status_code == 200, response.text
        assert response.json() == {"created": 3000, "updated": 0, "rows": 3000}
        assert planner.get("/api/items", params={"q": prefix, "limit": 1}).json()["total"] == 3000
        device = enrolled_device(server.url, clerk, tmp_path, page_size=1000)
    device.pull_all()
    assert sum(1 for code in device.replica("item") if code.startswith(prefix)) == 3000
    device.close()
