"""Scanning: the shared vectors through the pure reader, then `POST /api/scan/resolve` through the real server as
the office and the floor use it (a session or a device token), a real GS1 DataMatrix read back by zxing-cpp, and
`floorsync scan`."""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest
import zxingcpp

from server.scan.gs1 import ScanError, read_scan
from tests.servers import FLOORSYNC, REPO
from tests.sync_fixtures import enrolled_device

VECTORS = json.loads((REPO / "schemas" / "scan_vectors.json").read_text())["vectors"]
GS = "\x1d"
GAS_LIFT_GTIN = "04006381005012"  # demo item GAS-C4, a lot-tracked raw material
UNKNOWN_GTIN = "09506000134352"  # GS1's example GTIN: a valid check digit, no item of ours


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_scan_vector(vector):
    if "error" in vector:
        with pytest.raises(ScanError) as refused:
            read_scan(vector["input"], vector.get("gs_standin"))
        assert refused.value.code == vector["error"]
    else:
        assert read_scan(vector["input"], vector.get("gs_standin")).to_json() == vector["expect"]


def test_vectors_cover_every_understood_ai_prefix_and_refusal():
    assert len(VECTORS) >= 40
    ais = {ai for v in VECTORS for ai in v.get("expect", {}).get("elements", {})}
    assert ais >= {"00", "01", "02", "10", "11", "15", "17", "21", "30", "3100", "3101", "3102", "3103", "3104", "3105",
                   "37", "400", "414", "254"}
    prefixes = {v["expect"].get("symbology") for v in VECTORS if "expect" in v}
    assert prefixes >= {"]C1", "]d2", "]Q3", "]e0", "]C0", "]Q1", "]E0", "]E4", "]I1", None}
    errors = {v["error"] for v in VECTORS if "error" in v}
    assert errors >= {"empty_scan", "bad_check_digit", "invalid_gs1", "too_long", "control_character"}


def test_bare_digits_that_are_a_valid_gtin_win_over_an_element_string():
    # 96385074 is also AI 96 (company internal) followed by "385074": the GTIN reading is the one kept.
    assert read_scan("96385074").to_json() == {"kind": "gs1", "gtin": "00000096385074"}
    # 16 digits are no GTIN length: AI 01 and its GTIN.
    assert read_scan("01" + GAS_LIFT_GTIN).gtin == GAS_LIFT_GTIN


def resolve(client: httpx.Client, code: str, **headers: str) -> httpx.Response:
    return client.post("/api/scan/resolve", json={"code": code}, headers=headers)


def test_warehouse_scans_a_supplier_gs1_128_label_to_the_item_with_lot_expiry_and_count(login):
    response = resolve(login("warehouse"), f"]C101{GAS_LIFT_GTIN}17281231" f"10LOT-2024-7{GS}30250\r\n")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "item"
    assert body["item"] == {"code": "GAS-C4", "name": "Gas lift, class 4, 100 mm stroke", "unit": "PCS",
                            "lot_tracked": True, "serial_tracked": False}
    assert (body["gtin"], body["lot"], body["expiry"], body["quantity"]) == (GAS_LIFT_GTIN, "LOT-2024-7", "2028-12-31", "250")
    assert body["elements"] == {"01": GAS_LIFT_GTIN, "17": "281231", "10": "LOT-2024-7", "30": "250"}


def test_a_bare_ean13_from_the_retail_box_resolves_to_the_item(login):
    body = resolve(login("viewer"), "6921103001012").json()
    assert body["kind"] == "item" and body["item"]["code"] == "CST-50" and body["gtin"] == "06921103001012"


def test_a_location_label_resolves_to_the_location(login):
    response = resolve(login("warehouse"), "]C0RM-A-01-01\r\n")
    assert response.status_code == 200, response.text
    assert response.json() == {"kind": "location", "location": {"code": "RM-A-01-01", "name": "Aisle A, rack 1, level 1",
                                                               "warehouse": "RM", "kind": "storage"}}


def test_an_item_code_label_resolves_to_the_item(login):
    body = resolve(login("warehouse"), "]Q1CH-ERGO").json()
    assert body["kind"] == "item" and body["item"]["code"] == "CH-ERGO" and body["lot"] is None


def test_an_sscc_label_says_which_handling_unit_and_what_it_holds(login):
    body = resolve(login("logistics"), "(00)106141412345678908(02)06923456000018(37)12").json()
    assert body["kind"] == "sscc"
    assert (body["sscc"], body["content_gtin"], body["quantity"]) == ("106141412345678908", "06923456000018", "12")


@pytest.mark.parametrize(("code", "status", "error"), [
    (f"]C101{UNKNOWN_GTIN}10A1", 404, "unknown_gtin"),
    ("NO-SUCH-BIN-42", 404, "unknown_code"),
    ("(10)LOT-ONLY", 404, "unknown_code"),
    ("]C10106921103001013", 422, "bad_check_digit"),
    ("]C100106141412345678907", 422, "bad_check_digit"),
    (f"]C101{GAS_LIFT_GTIN}17281301", 422, "invalid_gs1"),
    ("]d2GARBAGE", 422, "invalid_gs1"),
    ("\r\n", 422, "empty_scan"),
    ("RM-A\x07-01", 422, "control_character"),
    ("A" * 513, 400, "too_long"),
])
def test_a_scan_that_identifies_nothing_is_refused_with_its_code(login, code, status, error):
    response = resolve(login("warehouse"), code)
    assert response.status_code == status, response.text
    assert response.json()["code"] == error


def test_a_bad_check_digit_says_which_ai_and_value(login):
    body = resolve(login("warehouse"), "]C10106921103001013").json()
    assert body["details"] == {"ai": "01", "value": "06921103001013"}
    assert resolve(login("warehouse"), f"]C101{UNKNOWN_GTIN}").json()["details"] == {"gtin": UNKNOWN_GTIN}


def test_resolving_needs_a_session_or_a_device_token(guest, server):
    response = resolve(guest, "RM-A-01-01")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    forged = httpx.post(f"{server.url}/api/scan/resolve", json={"code": "RM-A-01-01"},
                        headers={"Authorization": "Bearer not-a-device-token"})
    assert forged.status_code == 401 and forged.json()["code"] == "invalid_token"


def test_a_device_scans_with_its_token_only_locations_in_its_scope_and_a_revoked_one_cannot(server, admin, tmp_path):
    tablet = enrolled_device(server.url, admin, tmp_path, warehouses=["RM"])
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {tablet.token}"}) as floor:
        response = resolve(floor, f"]d201{GAS_LIFT_GTIN}10L9{GS}17280600")
        assert response.status_code == 200, response.text
        assert response.json()["item"]["code"] == "GAS-C4" and response.json()["expiry"] == "2028-06-30"
        assert resolve(floor, "RM-A-01-02").json()["location"]["warehouse"] == "RM"
        elsewhere = resolve(floor, "FG-01-02")
        assert elsewhere.status_code == 409, elsewhere.text
        assert (elsewhere.json()["code"], elsewhere.json()["details"]) == ("out_of_scope", {"location": "FG-01-02"})
        assert resolve(admin, "FG-01-02").json()["location"]["warehouse"] == "FG", "a desk has no device scope"

        own = resolve(floor, tablet.device_id).json()
        assert own["kind"] == "device" and own["device"] == {"device_id": tablet.device_id, "name": own["device"]["name"],
                                                             "revoked": False}
        assert admin.post(f"/api/devices/{tablet.device_id}/revoke").status_code == 200
        refused = resolve(floor, "RM-A-01-01")
        assert refused.status_code == 401 and refused.json()["code"] == "device_revoked"
    tablet.close()


def test_an_enrolment_qr_scanned_by_the_office_gives_its_code(admin):
    body = resolve(admin, "https://floor.example/app/#enrol=ABCD-EFGH-JKMN").json()
    assert body == {"kind": "device", "device": None, "enrolment_code": "ABCD-EFGH-JKMN"}


def test_a_real_gs1_datamatrix_read_by_a_decoder_resolves_to_the_item_and_lot(login):
    symbol = zxingcpp.create_barcode(f"(01){GAS_LIFT_GTIN}(17)281231(10)LOT-DM-1(21)SN-77",
                                     zxingcpp.BarcodeFormat.DataMatrix, gs1=True)
    (decoded,) = zxingcpp.read_barcodes(zxingcpp.write_barcode_to_image(symbol, scale=4), text_mode=zxingcpp.TextMode.Plain)
    assert decoded.content_type == zxingcpp.ContentType.GS1 and decoded.symbology_identifier.startswith("]d")
    assert GS in decoded.text  # the FNC1 that ends the lot, as a scanner sends it
    # What a keyboard-wedge scanner types: the symbology identifier, the data, Enter.
    body = resolve(login("warehouse"), f"{decoded.symbology_identifier}{decoded.text}\r\n").json()
    assert body["kind"] == "item" and body["item"]["code"] == "GAS-C4"
    assert (body["lot"], body["serial"], body["expiry"]) == ("LOT-DM-1", "SN-77", "2028-12-31")


def floorsync_scan(server, *args: str, **env: str) -> tuple[int, dict]:
    result = subprocess.run([FLOORSYNC, "scan", *args], env={**server.env, **env}, capture_output=True, text=True, cwd=REPO)
    return result.returncode, json.loads(result.stdout)


def test_floorsync_scan_prints_the_reading_and_what_it_resolves_to(server):
    status, output = floorsync_scan(server, f"]C101{GAS_LIFT_GTIN}10L1~17281231", FLOORSYNC_SCAN_GS_STANDIN="~")
    assert status == 0
    assert (output["gtin"], output["lot"], output["expiry"]) == (GAS_LIFT_GTIN, "L1", "2028-12-31")
    assert output["resolved"]["kind"] == "item" and output["resolved"]["item"]["code"] == "GAS-C4"

    status, output = floorsync_scan(server, "--offline", "RM-A-01-01")
    assert (status, output) == (0, {"kind": "code", "code": "RM-A-01-01"})
    status, output = floorsync_scan(server, "]E05901234123458")
    assert status == 1 and output["error"]["code"] == "bad_check_digit"
