"""Location labels through the API: every label scans back (zxing-cpp) to exactly the location code it was printed for."""

from __future__ import annotations

import io
from contextlib import closing

import zxingcpp
from PIL import Image

from tests.clients import anonymous


def _scan(png: bytes) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))


def test_a_location_png_label_scans_back_to_exactly_its_code(login, unique):
    warehouse = login("warehouse")
    code = unique("Bin.a_7-x")
    created = warehouse.post("/api/locations", json={"code": code, "name": "收货区 1 号 / Receiving 1", "warehouse": "RM",
                                                     "kind": "receiving"})
    assert created.status_code == 201, created.text
    label = warehouse.get(f"/api/locations/{code}/label.png")
    assert label.status_code == 200 and label.headers["content-type"] == "image/png"
    found = _scan(label.content)
    assert [(b.format, b.text) for b in found] == [(zxingcpp.BarcodeFormat.Code128, code)]


def test_every_demo_location_label_scans_back(login):
    viewer = login("viewer")
    locations = viewer.get("/api/locations", params={"warehouse": "RM", "limit": 500}).json()["items"]
    locations += viewer.get("/api/locations", params={"warehouse": "FG", "limit": 500}).json()["items"]
    assert len(locations) >= 10
    for location in locations:
        found = _scan(viewer.get(f"/api/locations/{location['code']}/label.png").content)
        assert [b.text for b in found] == [location["code"]]


def test_the_svg_label_has_the_bars_the_code_and_the_name(login, unique):
    warehouse = login("warehouse")
    code, name = unique("QC"), "隔离区 <B&C>"
    warehouse.post("/api/locations", json={"code": code, "name": name, "warehouse": "RM", "kind": "quarantine"}).raise_for_status()
    label = warehouse.get(f"/api/locations/{code}/label.svg")
    assert label.status_code == 200 and label.headers["content-type"].startswith("image/svg+xml")
    svg = label.text
    assert "<svg" in svg and svg.count("<rect") > 20
    assert f">{code}</text>" in svg and ">隔离区 &lt;B&amp;C&gt;</text>" in svg, "the name is escaped, never markup"


def test_labels_need_a_login_and_an_existing_location(server, login):
    with closing(anonymous(server.url)) as stranger:
        assert stranger.get("/api/locations/RCV-01/label.png").status_code == 401
    missing = login("viewer").get("/api/locations/NO-SUCH-BIN/label.svg")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
