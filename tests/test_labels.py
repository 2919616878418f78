"""Location labels through the API: every label scans back (zxing-cpp) to exactly the location code it was printed for."""

from __future__ import annotations

import struct
import zlib
from contextlib import closing

import zxingcpp

from tests.clients import anonymous


def _png_to_grey(png: bytes) -> tuple[int, int, bytes]:
    """Decode an 8-bit greyscale PNG (what the server writes) into raw pixels, undoing any scanline filter."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", None
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind, data = png[position + 4 : position + 8], png[position + 8 : position + 8 + length]
        assert zlib.crc32(kind + data) == struct.unpack(">I", png[position + 8 + length : position + 12 + length])[0]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) == (8, 0, 0), "expected 8-bit greyscale, not interlaced"
    raw, pixels, previous = zlib.decompress(idat), bytearray(), bytearray(width)
    for y in range(height):
        line = raw[y * (width + 1) : (y + 1) * (width + 1)]
        kind, row = line[0], bytearray(line[1:])
        for x in range(width):
            left = row[x - 1] if x else 0
            up, up_left = previous[x], (previous[x - 1] if x else 0)
            if kind == 1:
                row[x] = (row[x] + left) & 0xFF
            elif kind == 2:
                row[x] = (row[x] + up) & 0xFF
            elif kind == 3:
                row[x] = (row[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - up_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
                row[x] = (row[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else up_left)) & 0xFF
        pixels += row
        previous = row
    return width, height, bytes(pixels)


def _scan(png: bytes) -> list[zxingcpp.Barcode]:
    width, height, pixels = _png_to_grey(png)
    return zxingcpp.read_barcodes(memoryview(pixels).cast("B", (height, width)))


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
    assert svg.startswith("<svg") and svg.count("<rect") > 20
    assert f">{code}</text>" in svg and ">隔离区 &lt;B&amp;C&gt;</text>" in svg


def test_labels_need_a_login_and_an_existing_location(server, login):
    with closing(anonymous(server.url)) as stranger:
        assert stranger.get("/api/locations/RCV-01/label.png").status_code == 401
    missing = login("viewer").get("/api/locations/NO-SUCH-BIN/label.svg")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
