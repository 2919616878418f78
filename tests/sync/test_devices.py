"""The office's side of devices, through real HTTP and the `floorsync` command: enrolment codes and their QR,
provisioning from a script, the device list with its sync health, renaming, and who may do what."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timedelta, timezone

import httpx
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from sync.client import DeviceClient
from tests.sync_fixtures import enrolled_device

RECT = re.compile(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)H([\d.]+)z")


def render_qr_svg(svg: str, scale: int = 8) -> Image.Image:
    """Draw the SVG the office screen shows (qrcode's path image: one unit square per dark module) onto pixels,
    so that a real decoder can read it back. Fails if the SVG holds anything this drawing does not understand."""
    width, height = (float(v) for v in re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg).groups())
    (path,) = re.findall(r'<path d="([^"]+)"', svg)
    rects = RECT.findall(path)
    assert RECT.sub("", path) == "", "the path holds only module squares"
    image = Image.new("L", (int(width * scale), int(height * scale)), 255)
    draw = ImageDraw.Draw(image)
    for x1, y1, x2, y2, _ in rects:
        draw.rectangle([float(x1) * scale, float(y1) * scale, float(x2) * scale - 1, float(y2) * scale - 1], fill=0)
    return image


def device_in_list(office: httpx.Client, device_id: str) -> dict:
    response = office.get("/api/devices")
    assert response.status_code == 200, response.text
    return next(d for d in response.json() if d["device_id"] == device_id)


def enrol(server_url: str, code: str, name: str = "Tablet") -> httpx.Response:
    return httpx.post(f"{server_url}/api/sync/enroll", json={"code": code, "device_name": name, "platform": "android"})


def test_an_enrolment_shows_a_qr_that_scans_to_the_enrol_url_with_its_code(server, login):
    response = login("warehouse").post("/api/devices/enrolments", json={"scope": {"site": "NB1", "warehouses": ["RM"]}})
    assert response.status_code == 201, response.text
    body = response.json()
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", body["code"])
    assert body["enrol_url"] == f"{server.url}/app/#enrol={body['code']}"
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert timedelta(minutes=14) < expires_at - datetime.now(timezone.utc) <= timedelta(minutes=15)

    (decoded,) = zxingcpp.read_barcodes(render_qr_svg(body["qr_svg"]))
    assert decoded.format == zxingcpp.BarcodeFormat.QRCode
    assert decoded.text == body["enrol_url"]

    scanned_code = decoded.text.rsplit("enrol=", 1)[1]
    enrolled = enrol(server.url, scanned_code)
    assert enrolled.status_code == 200, enrolled.text
    assert enrolled.json()["scope"]["warehouses"] == ["RM"] and enrolled.json()["protocol"] == 1


def test_a_code_from_the_command_line_enrols_a_device_with_that_scope(server, admin, tmp_path):
    printed = server.cli("enrol-code", "--site", "NB1", "--warehouse", "FG", "--ttl-minutes", "30")
    body = json.loads(printed.stdout)
    assert set(body) == {"code", "expires_at"}
    assert timedelta(minutes=29) < datetime.fromisoformat(body["expires_at"]) - datetime.now(timezone.utc) <= timedelta(minutes=30)

    tablet = DeviceClient(server.url, tmp_path / "scripted.sqlite")
    enrolled = tablet.enroll(body["code"], "Provisioned by script")
    assert enrolled["scope"] == {"site": "NB1", "warehouses": ["FG"], "work_centres": [], "route": None}
    tablet.pull_all()
    assert {loc["warehouse"] for loc in tablet.replica("location").values()} == {"FG"}
    listed = device_in_list(admin, tablet.device_id)
    assert listed["name"] == "Provisioned by script" and listed["scope"]["warehouses"] == ["FG"]
    assert listed["enrolled_by"] == "system"
    tablet.close()


def test_the_command_line_refuses_a_scope_that_does_not_exist(server):
    refused = server.cli("enrol-code", "--site", "NOWHERE", check=False)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "unknown_reference"


@pytest.mark.parametrize("ttl_minutes", ["0", "-5", "1441"])
def test_the_command_line_refuses_a_lifetime_the_office_screen_would_refuse(server, ttl_minutes):
    refused = server.cli("enrol-code", "--site", "NB1", "--ttl-minutes", ttl_minutes, check=False)
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["error"]["code"] == "invalid_enrolment"


def test_an_enrolment_for_a_warehouse_of_no_such_site_is_refused(login):
    response = login("warehouse").post("/api/devices/enrolments", json={"scope": {"site": "NB1", "warehouses": ["NOPE"]}})
    assert response.status_code == 422 and response.json()["code"] == "unknown_reference"


def test_a_scope_names_only_warehouses_and_work_centres_of_its_own_site(server, login, admin, browse, unique, tmp_path):
    other = unique("PLANT")
    admin.post("/api/sites", json={"code": other, "name": "Other plant", "timezone": "Asia/Shanghai"}).raise_for_status()
    centre, store = unique("WC"), unique("WH")
    admin.post("/api/work_centres", json={"code": centre, "name": "Press of the other plant", "site": other}).raise_for_status()
    admin.post("/api/warehouses", json={"code": store, "name": "Store of the other plant", "site": other}).raise_for_status()
    warehouse = login("warehouse")
    for field, scope in (("scope.work_centres", {"site": "NB1", "work_centres": ["CUT", centre]}),
                         ("scope.warehouses", {"site": "NB1", "warehouses": ["RM", store]})):
        refused = warehouse.post("/api/devices/enrolments", json={"scope": scope})
        assert refused.status_code == 422 and refused.json()["code"] == "wrong_site", refused.text
        assert refused.json()["details"]["field"] == field
    tablet = enrolled_device(server.url, warehouse, tmp_path, work_centres=["CUT"])
    moved = warehouse.patch(f"/api/devices/{tablet.device_id}", json={"scope": {"site": "NB1", "work_centres": [centre]}})
    assert moved.status_code == 422 and moved.json()["code"] == "wrong_site", moved.text
    assert device_in_list(warehouse, tablet.device_id)["scope"]["work_centres"] == ["CUT"]
    office = browse("warehouse")
    page = office.post("/devices/enrolments", {"site": "NB1", "warehouses": store, "ttl_minutes": "15"})
    assert page.status_code == 422 and store in page.text and 'role="alert"' in page.text
    # The page edits site and warehouses only: moving the tablet to the other plant leaves NB1's work centre behind.
    moved_on_page = office.post(f"/devices/{tablet.device_id}", {"name": "Moved tablet", "site": other}, follow_redirects=False)
    assert moved_on_page.status_code == 303, moved_on_page.text
    assert device_in_list(warehouse, tablet.device_id)["scope"] == {"site": other, "warehouses": [], "work_centres": [],
                                                                   "route": None}
    tablet.close()


def test_the_device_list_shows_name_scope_last_seen_queue_and_sync_lag(server, login, unique, tmp_path):
    warehouse = login("warehouse")
    tablet = enrolled_device(server.url, warehouse, tmp_path, warehouses=["RM"])
    fresh = device_in_list(warehouse, tablet.device_id)
    assert fresh["last_seq"] == 0 and fresh["pending"] == 0 and fresh["revoked"] is False
    assert fresh["enrolled_by"] == "warehouse" and fresh["platform"] == "python"
    assert fresh["scope"] == {"site": "NB1", "warehouses": ["RM"], "work_centres": [], "route": None}

    item = unique("LISTED")
    login("planner").post("/api/items", json={"code": item, "name": "Listed part", "type": "raw", "unit": "PCS"}).raise_for_status()
    mutations = [{"seq": seq, "id": str(uuid.uuid4()), "name": "stock.count",
                  "args": {"item": item, "location": "RM-A-01-01", "counted_quantity": str(seq)}} for seq in (1, 2)]
    pushed = httpx.post(f"{server.url}/api/sync/push", json={"protocol": 1, "mutations": mutations, "pending": 5,
                                                             "app_version": "2.3.0"},
                        headers={"Authorization": f"Bearer {tablet.token}"})
    assert pushed.status_code == 200, pushed.text
    tablet.pull_all()
    synced = device_in_list(warehouse, tablet.device_id)
    assert synced["last_seq"] == 2 and synced["pending"] == 5 and synced["app_version"] == "2.3.0"
    assert synced["sync_lag"] == 0
    seen = datetime.fromisoformat(synced["last_seen_at"])
    assert abs(datetime.now(timezone.utc) - seen) < timedelta(minutes=1)

    # One change the tablet has not pulled yet: it is one behind.
    login("planner").post("/api/items", json={"code": unique("LAG"), "name": "Lag part", "type": "raw", "unit": "PCS"}).raise_for_status()
    assert device_in_list(warehouse, tablet.device_id)["sync_lag"] == 1
    tablet.pull_all()
    assert device_in_list(warehouse, tablet.device_id)["sync_lag"] == 0
    tablet.close()


def test_a_device_can_be_renamed_and_keeps_syncing(server, login, tmp_path):
    warehouse = login("warehouse")
    tablet = enrolled_device(server.url, warehouse, tmp_path)
    tablet.pull_all()
    renamed = warehouse.patch(f"/api/devices/{tablet.device_id}", json={"name": "Receiving dock tablet"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Receiving dock tablet"
    assert device_in_list(warehouse, tablet.device_id)["name"] == "Receiving dock tablet"
    assert tablet.pull_once()["reset"] is False
    tablet.close()


def test_a_rescope_to_an_unknown_warehouse_is_refused_and_the_scope_stays(server, login, tmp_path):
    warehouse = login("warehouse")
    tablet = enrolled_device(server.url, warehouse, tmp_path, warehouses=["RM"])
    response = warehouse.patch(f"/api/devices/{tablet.device_id}", json={"scope": {"site": "NB1", "warehouses": ["NOPE"]}})
    assert response.status_code == 422 and response.json()["code"] == "unknown_reference"
    assert device_in_list(warehouse, tablet.device_id)["scope"]["warehouses"] == ["RM"]
    tablet.pull_all()
    assert tablet.pull_once()["reset"] is False
    tablet.close()


def test_an_unknown_device_is_404(login):
    response = login("warehouse").post(f"/api/devices/{uuid.uuid4()}/revoke")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_revoked_device_shows_as_revoked(server, login, tmp_path):
    warehouse = login("warehouse")
    tablet = enrolled_device(server.url, warehouse, tmp_path)
    revoked = warehouse.post(f"/api/devices/{tablet.device_id}/revoke")
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert device_in_list(warehouse, tablet.device_id)["revoked"] is True
    tablet.close()


def test_a_viewer_can_list_devices_but_not_enrol_rename_or_revoke_them(server, login, tmp_path):
    tablet = enrolled_device(server.url, login("warehouse"), tmp_path)
    viewer = login("viewer")
    assert viewer.get("/api/devices").status_code == 200
    for response in (
        viewer.post("/api/devices/enrolments", json={"scope": {"site": "NB1"}}),
        viewer.patch(f"/api/devices/{tablet.device_id}", json={"name": "Mine now"}),
        viewer.post(f"/api/devices/{tablet.device_id}/revoke"),
    ):
        assert response.status_code == 403 and response.json()["code"] == "forbidden", response.text
    listed = device_in_list(login("warehouse"), tablet.device_id)
    assert listed["revoked"] is False and listed["name"] != "Mine now"
    tablet.close()


@pytest.mark.parametrize("username", ["sales", "buyer", "quality"])
def test_roles_without_floor_duties_cannot_see_devices(login, username):
    response = login(username).get("/api/devices")
    assert response.status_code == 403 and response.json()["code"] == "forbidden"


def test_an_office_session_cannot_call_the_device_endpoints(login):
    response = login("admin").get("/api/sync/pull", params={"protocol": 1})
    assert response.status_code == 401 and response.json()["code"] == "missing_token"
