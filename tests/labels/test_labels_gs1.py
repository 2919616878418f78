"""Every kind of label Floorsync prints scans back (zxing-cpp) to exactly what it encodes, GS1 structure included:
the symbology identifier (]C1 GS1-128, ]d2 GS1 DataMatrix, ]C0 Code 128, ]Q1 QR), the bracketed text and the
transmitted bytes with GS between variable-length elements. biip, the scanning side's parser, reads the same
elements back, so a label and a scan agree on what a code means."""

from __future__ import annotations

import base64
import io
import math
import random
import re
import zlib
from contextlib import closing
from datetime import date

import biip
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from server.labels import gs1, kinds
from server.labels.gs1 import GS, Gs1Error, element_string, make_sscc
from server.labels.sheets import labels_pdf
from server.labels.zpl import label_zpl
from server.settings import SettingsError, load_settings
from tests.clients import anonymous
from tests.factory import pdf_text

ERGO_GTIN = "06923456000018"  # demo CH-ERGO (serial-tracked)
GLUE_GTIN = "06922204001017"  # demo GLUE-PU (lot-tracked, 180 days shelf life)


def scan_png(png: bytes) -> list[tuple[str, str, str, bytes]]:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    return [(b.format.name, b.symbology_identifier, b.text, b.bytes) for b in found]


def scan_svg(svg: str) -> list[tuple[str, str, str, bytes]]:
    """Our SVGs are rectangles in printer dots: paint them and scan the picture."""
    width, height = (int(v) for v in re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in re.findall(r'<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)"/>', svg):
        x, y, w, h = int(x), int(y), int(w), int(h)
        draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return scan_png(out.getvalue())


def gs1_scan(identifier: str, elements: gs1.ElementString, fmt: str = "Code128") -> tuple[str, str, str, bytes]:
    return (fmt, identifier, elements.bracketed, elements.data().encode())


def biip_elements(identifier: str, data: bytes) -> list[tuple[str, str]]:
    message = biip.parse(identifier + data.decode()).gs1_message
    return [(e.ai.ai, e.value) for e in message.element_strings]


def random_gtin13() -> str:
    """An in-house GTIN (prefix 2: restricted circulation), so tests never collide with demo or other tests."""
    body = "2" + "".join(random.choice("0123456789") for _ in range(11))
    return body + str(gs1.check_digit(body))


# --- GS1 rules ------------------------------------------------------------------------------------------------


def test_sscc_check_digits_match_published_examples_and_biip():
    assert make_sscc(1, "0614141", 123456789) == "106141411234567897"  # GS1 General Specifications' example
    assert make_sscc(0, "0614141", "000000001") == "006141410000000012"
    assert make_sscc(3, "952123456789", 4) == "395212345678900048"
    for sscc in ("106141411234567897", "006141410000000012", "395212345678900048"):
        element = biip.parse(f"]C100{sscc}").gs1_message.element_strings.get(ai="00")
        assert element.sscc_error is None and element.sscc.value == sscc


@pytest.mark.parametrize(("args", "code"), [
    ((10, "0614141", 1), "invalid_sscc"),
    ((1, "06141", 1), "invalid_company_prefix"),
    ((1, "0614141234567", 1), "invalid_company_prefix"),
    ((1, "0614141", 1234567890), "invalid_sscc"),  # 7 + 10 digits is one too many
])
def test_an_sscc_that_cannot_exist_is_refused(args, code):
    with pytest.raises(Gs1Error) as refused:
        make_sscc(*args)
    assert refused.value.code == code


def test_a_gtin_or_sscc_with_a_wrong_check_digit_is_refused():
    assert gs1.gtin14("9506000134352") == "09506000134352"
    for bad in (lambda: gs1.gtin14("9506000134353"), lambda: gs1.validate_sscc("106141411234567898")):
        with pytest.raises(Gs1Error) as refused:
            bad()
        assert refused.value.code == "bad_check_digit"


def test_fixed_length_ais_go_first_and_fnc1_only_ends_a_variable_element_that_is_not_last():
    elements = element_string({"21": "SN1", "10": "LOT7", "17": "270331", "01": ERGO_GTIN})
    assert [ai for ai, _ in elements.elements] == ["01", "17", "10", "21"]
    assert elements.data() == f"01{ERGO_GTIN}17270331" + "10LOT7" + GS + "21SN1"
    assert elements.bracketed == f"(01){ERGO_GTIN}(17)270331(10)LOT7(21)SN1"
    assert element_string({"00": "106141411234567897"}).data() == "00106141411234567897"


@pytest.mark.parametrize(("values", "code"), [
    ({"01": ERGO_GTIN, "10": "LOT 1"}, "invalid_lot"),  # a space is not in GS1's character set
    ({"01": ERGO_GTIN, "10": "A" * 21}, "invalid_lot"),
    ({"01": ERGO_GTIN, "21": "S(1)"}, "invalid_serial"),  # parentheses would break the bracketed form
    ({"01": "06923456000019"}, "bad_check_digit"),
    ({"99": "X"}, "unknown_ai"),
])
def test_element_strings_refuse_what_a_scanner_could_not_read_back(values, code):
    with pytest.raises(Gs1Error) as refused:
        element_string(values)
    assert refused.value.code == code


def test_the_company_prefix_setting_is_validated(monkeypatch, tmp_path):
    monkeypatch.setenv("FLOORSYNC_SECRET", "x" * 40)
    monkeypatch.setenv("FLOORSYNC_DATA_DIR", str(tmp_path))
    assert (load_settings().gs1_company_prefix, load_settings().sscc_extension_digit) == ("0614141", 0)
    monkeypatch.setenv("FLOORSYNC_GS1_COMPANY_PREFIX", "952123456789")
    monkeypatch.setenv("FLOORSYNC_SSCC_EXTENSION_DIGIT", "3")
    settings = load_settings()
    assert make_sscc(settings.sscc_extension_digit, settings.gs1_company_prefix, 4) == "395212345678900048"
    for bad in ("12345", "1234567890123", "06141x1"):
        monkeypatch.setenv("FLOORSYNC_GS1_COMPANY_PREFIX", bad)
        with pytest.raises(SettingsError):
            load_settings()


# --- through the API ------------------------------------------------------------------------------------------


def test_an_item_label_scans_back_to_its_gtin_as_gs1_128(login, unique):
    planner = login("planner")
    code, gtin = unique("LBL"), random_gtin13()
    planner.post("/api/items", json={"code": code, "name": "椅子 <Chair> & arm", "type": "finished", "unit": "PCS",
                                     "gtin": gtin}).raise_for_status()
    expected = gs1_scan("]C1", element_string({"01": gtin.zfill(14)}))
    png = planner.get(f"/api/labels/items/{code}.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert scan_png(png.content) == [expected]
    svg = planner.get(f"/api/labels/items/{code}.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert scan_svg(svg.text) == [expected]
    assert ">椅子 &lt;Chair&gt; &amp; arm</text>" in svg.text and f">{code}</text>" in svg.text
    assert biip_elements("]C1", expected[3]) == [("01", gtin.zfill(14))]


@pytest.mark.parametrize("symbology", ["gs1-128", "datamatrix"])
def test_a_lot_label_carries_gtin_expiry_and_lot(login, symbology):
    viewer = login("viewer")
    params = {"item": "GLUE-PU", "lot": "B-2026.11/04", "expiry": "2027-05-31", "symbology": symbology}
    elements = element_string({"01": GLUE_GTIN, "17": "270531", "10": "B-2026.11/04"})
    expected = (gs1_scan("]d2", elements, "DataMatrix") if symbology == "datamatrix" else gs1_scan("]C1", elements))
    png = viewer.get("/api/labels/lots.png", params=params)
    assert png.status_code == 200, png.text
    assert scan_png(png.content) == [expected]
    assert scan_svg(viewer.get("/api/labels/lots.svg", params=params).text) == [expected]
    assert biip_elements(expected[1], expected[3]) == [("01", GLUE_GTIN), ("17", "270531"), ("10", "B-2026.11/04")]


@pytest.mark.parametrize("symbology", ["gs1-128", "datamatrix"])
def test_a_serial_label_puts_fnc1_between_lot_and_serial(login, symbology):
    params = {"item": "CH-ERGO", "lot": "W47", "serial": "ERGO-000123", "expiry": "2031-12-31", "symbology": symbology}
    elements = element_string({"01": ERGO_GTIN, "17": "311231", "10": "W47", "21": "ERGO-000123"})
    assert elements.data() == f"01{ERGO_GTIN}17311231" + "10W47" + GS + "21ERGO-000123"
    identifier, fmt = ("]d2", "DataMatrix") if symbology == "datamatrix" else ("]C1", "Code128")
    found = scan_png(login("warehouse").get("/api/labels/lots.png", params=params).content)
    assert found == [gs1_scan(identifier, elements, fmt)]
    assert biip_elements(identifier, found[0][3])[-2:] == [("10", "W47"), ("21", "ERGO-000123")]


def test_an_sscc_label_scans_back_with_its_contents(login):
    logistics = login("logistics")
    sscc = make_sscc(1, "0614141", 123456789)
    alone = logistics.get(f"/api/labels/sscc/{sscc}.png")
    assert alone.status_code == 200
    assert scan_png(alone.content) == [gs1_scan("]C1", element_string({"00": sscc}))]
    full = logistics.get(f"/api/labels/sscc/{sscc}.svg", params={"item": "CH-ERGO", "count": 12})
    expected = [gs1_scan("]C1", element_string({"02": ERGO_GTIN, "37": "12"})),
                gs1_scan("]C1", element_string({"00": sscc}))]
    assert scan_svg(full.text) == expected
    assert f">SSCC {sscc}</text>" in full.text


@pytest.mark.parametrize(("url", "params", "status", "code"), [
    ("/api/labels/items/NO-SUCH-ITEM.png", {}, 404, "unknown_item"),
    ("/api/labels/items/CH-ERGO.gif", {}, 404, "unknown_format"),
    ("/api/labels/items/CH-ERGO", {}, 404, "unknown_format"),
    ("/api/labels/lots.png", {"item": "NO-SUCH-ITEM", "lot": "1"}, 404, "unknown_item"),
    ("/api/labels/lots.png", {"item": "GLUE-PU", "lot": "B 1"}, 422, "invalid_lot"),
    ("/api/labels/lots.png", {"item": "GLUE-PU", "lot": "B1", "expiry": "2027-02-30"}, 400, "invalid_expiry"),
    ("/api/labels/lots.svg", {"item": "GLUE-PU", "lot": "B1", "expiry": "2150-01-01"}, 422, "invalid_expiry"),
    ("/api/labels/lots.zpl", {"item": "GLUE-PU"}, 422, "missing_lot"),
    ("/api/labels/lots.png", {"item": "CH-ERGO", "lot": "W1"}, 422, "missing_serial"),
    ("/api/labels/lots.png", {"item": "GLUE-PU", "lot": "B1", "symbology": "ean13"}, 400, "invalid_value"),
    ("/api/labels/sscc/106141411234567898.png", {}, 422, "bad_check_digit"),
    ("/api/labels/sscc/10614141123456789.png", {}, 422, "invalid_sscc"),
    ("/api/labels/sscc/1061414112345678AB.zpl", {}, 422, "invalid_sscc"),
    ("/api/labels/sscc/106141411234567897.pdf", {}, 404, "unknown_format"),
    ("/api/labels/sheet.pdf", {"kind": "locations", "warehouse": "NO-SUCH-WH"}, 422, "no_labels"),
    ("/api/labels/sheet.pdf", {"kind": "items", "codes": "CH-ERGO,NO-SUCH-ITEM"}, 404, "unknown_item"),
])
def test_bad_label_requests_are_refused_with_their_code(login, url, params, status, code):
    refused = login("viewer").get(url, params=params)
    assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text


def test_an_item_without_gtin_has_no_gs1_label(login, unique):
    planner = login("planner")
    code = unique("NOGTIN")
    planner.post("/api/items", json={"code": code, "name": "Spacer", "type": "raw", "unit": "PCS",
                                     "lot_tracked": True}).raise_for_status()
    for url, params in ((f"/api/labels/items/{code}.png", {}), ("/api/labels/lots.png", {"item": code, "lot": "L1"}),
                        ("/api/labels/sscc/106141411234567897.png", {"item": code})):
        refused = planner.get(url, params=params)
        assert (refused.status_code, refused.json()["code"]) == (422, "no_gtin")


def test_labels_need_a_login(server):
    with closing(anonymous(server.url)) as stranger:
        for url in ("/api/labels/items/CH-ERGO.png", "/api/labels/lots.png?item=GLUE-PU&lot=1",
                    "/api/labels/sscc/106141411234567897.svg", "/api/labels/sheet.pdf?kind=items"):
            assert stranger.get(url).status_code == 401


# --- PDF sheets -----------------------------------------------------------------------------------------------


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox \[ 0 0 ([\d.]+) ([\d.]+) \]", pdf)]


def pdf_images(pdf: bytes) -> list[Image.Image]:
    """The images reportlab embedded: gray pixels, Flate-compressed, then ASCII85."""
    images = []
    pattern = rb"<<\s*/BitsPerComponent 8 /ColorSpace /DeviceGray /Filter \[ /ASCII85Decode /FlateDecode \] " \
              rb"/Height (\d+) /Length (\d+) /Subtype /Image\s*/Type /XObject /Width (\d+)\s*>>\s*stream\r?\n"
    for match in re.finditer(pattern, pdf):
        height, length, width = (int(g) for g in match.groups())
        encoded = pdf[match.end():match.end() + length].strip().removesuffix(b"~>")
        pixels = zlib.decompress(base64.a85decode(encoded))
        images.append(Image.frombytes("L", (width, height), pixels))
    return images


def scan_image(image: Image.Image) -> list[tuple[str, str, str, bytes]]:
    # Sheets draw the symbols alone: a white border gives the scanner the quiet zone a page around them gives.
    framed = Image.new("L", (image.width + 40, image.height + 40), 255)
    framed.paste(image, (20, 20))
    return [(b.format.name, b.symbology_identifier, b.text, b.bytes) for b in zxingcpp.read_barcodes(framed)]


def test_an_a4_sheet_of_a_warehouses_locations_holds_every_label_and_each_scans_back(login):
    viewer = login("viewer")
    listed = viewer.get("/api/locations", params={"warehouse": "RM", "limit": 500}).json()["items"]
    codes = {location["code"] for location in listed}
    sheet = viewer.get("/api/labels/sheet.pdf", params={"kind": "locations", "warehouse": "RM"})
    assert sheet.status_code == 200 and sheet.headers["content-type"] == "application/pdf"
    pdf = sheet.content
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    pages = pdf_pages(pdf)
    assert len(pages) == math.ceil(len(codes) / 24)
    assert all(round(w) == 595 and round(h) == 842 for w, h in pages)
    scanned = [scan_image(image) for image in pdf_images(pdf)]
    assert sorted(found[0][2] for found in scanned) == sorted(codes)
    assert all(found[0][:2] == ("Code128", "]C0") and len(found) == 1 for found in scanned)
    text = pdf_text(pdf)
    assert all(location["name"] in text for location in listed), "the names (Chinese too) are PDF text in an embedded font"


def test_a_4x6_sheet_has_one_item_label_per_page(login):
    sheet = login("planner").get("/api/labels/sheet.pdf", params={"kind": "items", "codes": "CH-ERGO,GLUE-PU",
                                                                  "layout": "4x6"})
    assert sheet.status_code == 200, sheet.text
    assert pdf_pages(sheet.content) == [(288.0, 432.0), (288.0, 432.0)]
    scanned = [scan_image(image) for image in pdf_images(sheet.content)]
    assert scanned == [[gs1_scan("]C1", element_string({"01": ERGO_GTIN}))],
                       [gs1_scan("]C1", element_string({"01": GLUE_GTIN}))]]


def test_a_sheet_of_lot_labels_keeps_the_datamatrix_readable():
    labels = [kinds.lot_label("GLUE-PU", "胶水", GLUE_GTIN, f"B{i}", date(2027, 1, 31), symbology="datamatrix")
              for i in range(30)]
    pdf = labels_pdf(labels, "a4")
    assert len(pdf_pages(pdf)) == 2
    decoded = sorted(scan_image(image)[0][2] for image in pdf_images(pdf))
    assert decoded == sorted(f"(01){GLUE_GTIN}(17)270131(10)B{i}" for i in range(30))


# --- the kinds whose documents come later: the pure renderers ----------------------------------------------------


DOCUMENT_LABELS = [
    (kinds.document_label("purchase_order", "PO-2026-0042", ("Shenzhen Casters Co.",)), "PO-2026-0042"),
    (kinds.document_label("shipment", "SH-2026-0007"), "SH-2026-0007"),
    (kinds.document_label("delivery_note", "DN-2026-0007", ("客户: 北京办公家具",)), "DN-2026-0007"),
    (kinds.location_label("A-01-02", "货架 A-01-02"), "A-01-02"),
]


@pytest.mark.parametrize(("label", "code"), DOCUMENT_LABELS)
def test_document_and_location_labels_are_code_128_of_the_code(label, code):
    expected = [("Code128", "]C0", code, code.encode())]
    assert scan_png(label.png()) == expected
    assert scan_svg(label.svg()) == expected


def test_a_traveller_has_the_order_and_one_code_per_operation_in_sequence():
    operations = [kinds.Operation(20, "Weld frame"), kinds.Operation(10, "Cut tubes"), kinds.Operation(30, "Paint")]
    label = kinds.traveller_label("PO-123", "Ergo mesh task chair", operations)
    expected = ["PO-123", "PO-123/OP10", "PO-123/OP20", "PO-123/OP30"]
    for found in (scan_png(label.png()), scan_svg(label.svg())):
        assert [text for _, _, text, _ in found] == expected
        assert {(fmt, identifier) for fmt, identifier, _, _ in found} == {("Code128", "]C0")}


def test_an_enrolment_label_is_a_qr_of_the_enrolment_url():
    url = "https://floor.example.com/app/#enrol=K7QX-2M9P"
    label = kinds.enrolment_label(url, "K7QX-2M9P")
    assert scan_png(label.png()) == [("QRCode", "]Q1", url, url.encode())]
    assert scan_svg(label.svg()) == [("QRCode", "]Q1", url, url.encode())]


# --- ZPL ------------------------------------------------------------------------------------------------------


def bc_data_as_scanned(field: str) -> str:
    """What a ^BC field transmits: subset and start codes vanish, >8 (FNC1) is GS except in first position."""
    tokens = re.findall(r">[0-9:;<]|.", field)
    assert tokens[:2] == [">;", ">8"], "GS1-128 starts in subset C with FNC1"
    mapping = {">8": GS, "><": ">"}
    return "".join(mapping.get(t, "" if t.startswith(">") and len(t) == 2 else t) for t in tokens[2:])


def zpl_fields(zpl: str, command: str) -> list[str]:
    return re.findall(rf"\^{command}[^\^]*\^FD([^\^]*)\^FS", zpl)


def test_zpl_labels_are_whole_and_gs1_128_carries_fnc1_structure(login):
    zpl = login("viewer").get("/api/labels/lots.zpl", params={"item": "CH-ERGO", "lot": "W47", "serial": "S-9",
                                                            "expiry": "2031-12-31"}).text
    assert zpl.startswith("^XA\n^CI28\n") and zpl.rstrip().endswith("^XZ") and zpl.count("^XA") == 1
    elements = element_string({"01": ERGO_GTIN, "17": "311231", "10": "W47", "21": "S-9"})
    [field] = re.findall(r"\^BCN,\d+,N,N,N\^FD([^\^]*)\^FS", zpl)
    assert field.startswith(">;>80106923456000018") and ">8" in field[3:]
    assert bc_data_as_scanned(field) == elements.data()
    assert f"^FD{elements.bracketed}^FS" in zpl


def test_zpl_datamatrix_uses_fnc1_escapes_and_chinese_names_a_cjk_font():
    label = kinds.lot_label("GLUE-PU", "聚氨酯胶 ^1", GLUE_GTIN, "B-1", date(2027, 5, 31), "S1", "datamatrix")
    zpl = label_zpl(label)
    [field] = re.findall(r"\^BXN,6,200,\d+,\d+,6,_\^FD([^\^]*)\^FS", zpl)
    elements = element_string({"01": GLUE_GTIN, "17": "270531", "10": "B-1", "21": "S1"})
    assert field == "_1" + elements.data(separator="_1")
    assert "^A@N,30,30,E:ANMDS.TTF^FH^FD聚氨酯胶 _5E1^FS" in zpl, "UTF-8 name in a CJK font, ^ hex-escaped"
    assert "^A0N,30,30^FH^FDGLUE-PU^FS" in zpl


@pytest.mark.parametrize("label", [
    kinds.traveller_label("PO-123", "Chair", [kinds.Operation(10, "Cut"), kinds.Operation(20, "Weld")]),
    kinds.document_label("shipment", "SH->1"),
    kinds.sscc_label("106141411234567897", ERGO_GTIN, 4),
    kinds.enrolment_label("https://floor.example.com/app/#enrol=K7QX", "K7QX"),
])
def test_every_kind_prints_as_one_zpl_label_with_a_field_per_symbol(label):
    zpl = label_zpl(label)
    assert zpl.startswith("^XA") and zpl.rstrip().endswith("^XZ")
    length = int(re.search(r"\^LL(\d+)", zpl).group(1))
    assert all(int(y) < length for y in re.findall(r"\^FO\d+,(\d+)", zpl)), "every field lies on the label"
    symbols = re.findall(r"\^(BC|BQ|BX)", zpl)
    assert len(symbols) == len(label.symbols)
    for symbol, command in zip(label.symbols, symbols):
        if symbol.symbology == "code128":
            assert f"^FD>:{symbol.text.replace('>', '><')}^FS" in zpl and command == "BC"
        elif symbol.symbology == "qr":
            assert f"^BQN,2,5^FDMA,{symbol.text}^FS" in zpl
        else:
            assert any(bc_data_as_scanned(f) == symbol.gs1.data() for f in zpl_fields(zpl, "BC") if f.startswith(">;"))
