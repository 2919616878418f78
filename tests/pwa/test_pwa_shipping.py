"""The floor app's shipping screens in real Chromium against the real server: a warehouse tablet packs a shipment
into pre-labelled handling units and loads them onto a truck by keyboard-wedge scans while offline, and it lands
exactly once; a driver's device opens its route and signs a delivery off with a shortfall, a drawn signature, a photo
and its position while offline, and the server keeps a verifiable proof; a delivery the server refuses (signed on
two devices) shows in needs-attention with its reason."""

from __future__ import annotations

import io
import random

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from server.labels.gs1 import check_digit
from tests.factory import confirmed_order, count_in, make_item, plan_shipment, pushed
from tests.pwa_browser import (
    TIMEOUT_MS, enrol, go, gtin13, meta, new_context, open_app, outbox, pending, scan_into, until, wait_synced,
    watch_errors, wedge,
)
from tests.sync_fixtures import enrolled_device, enrolment_code

pytestmark = pytest.mark.browser

WAREHOUSE_BIN = "FG-01-01"
POSITION = {"latitude": 29.86833, "longitude": 121.54399, "accuracy": 8}


def sscc_label() -> str:
    """A pre-printed SSCC (extension 0, GS1's example prefix, a serial reference the server's counter never reaches)."""
    body = "00614141" + "9" + "".join(random.choice("0123456789") for _ in range(8))
    return body + str(check_digit(body))


def enrol_driver(page, base_url: str, office: httpx.Client, route: str) -> None:
    code = enrolment_code(office, "NB1", route=route)
    open_app(page, base_url)
    page.goto(f"{base_url}/app/#enrol={code}")
    page.wait_for_selector("body[data-screen='home']")
    wait_synced(page)


def loaded_shipment(server, login, admin, unique, tmp_path, lines: dict[str, str], route: str) -> str:
    """A shipment of `lines` (item -> quantity) planned on `route`, packed and loaded by a warehouse device through the
    reference client (the warehouse's part is proven by its own test)."""
    order = confirmed_order(login, list(lines.items()))
    code = plan_shipment(login, order, route=route)["code"]
    packer = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["FG"])
    packed = pushed(packer, "shipment.pack", {"shipment": code, "contents": [
        {"item": item, "location": WAREHOUSE_BIN, "quantity": quantity} for item, quantity in lines.items()]})
    assert packed["status"] == "applied", packed
    loaded = pushed(packer, "shipment.load", {"shipment": code, "sscc": packed["effect"]["sscc"], "vehicle": "VAN-3"})
    assert loaded["effect"]["status"] == "loaded", loaded
    packer.close()
    return code


def sign(page) -> None:
    """The customer signs with a finger: three strokes of pointer events over the pad."""
    pad = page.locator("#signature")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    x, y, w, hgt = box["x"], box["y"], box["width"], box["height"]
    for stroke in ([(0.1, 0.6), (0.2, 0.3), (0.3, 0.7), (0.4, 0.35)], [(0.45, 0.5), (0.6, 0.45), (0.7, 0.6)],
                   [(0.75, 0.3), (0.8, 0.7), (0.9, 0.4)]):
        page.mouse.move(x + stroke[0][0] * w, y + stroke[0][1] * hgt)
        page.mouse.down()
        for fx, fy in stroke[1:]:
            page.mouse.move(x + fx * w, y + fy * hgt, steps=8)
        page.mouse.up()


def photo_png() -> bytes:
    image = Image.new("RGB", (64, 48), (40, 120, 200))
    for px in range(64):
        image.putpixel((px, 24), (250, 200, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def test_packing_and_loading_by_scanning_offline_land_exactly_once(server, login, admin, unique, browser):
    gtin = gtin13(random.Random())
    item = make_item(admin, unique("CRATE"), type="finished", gtin=gtin, lot_tracked=True)
    lot, route = unique("L"), unique("R")
    count_in(login("warehouse"), item, WAREHOUSE_BIN, "10", lot)
    code = plan_shipment(login, confirmed_order(login, [(item, "6")]), route=route)["code"]
    first, second = sscc_label(), sscc_label()
    context = new_context(browser)
    page = context.new_page()
    errors = watch_errors(page)
    enrol(page, server.url, login("warehouse"), warehouses=["FG"])
    expect(page.locator("nav.tiles [data-route='pack']")).to_be_visible()
    expect(page.locator("nav.tiles [data-route='load']")).to_be_visible()
    expect(page.locator("nav.tiles [data-route='route']")).to_have_count(0)

    context.set_offline(True)
    go(page, "pack")
    form = page.locator("#pack-form")
    expect(form.locator("input[name=shipment]")).to_be_focused()
    wedge(page, code)
    expect(page.locator(f"#shipment-lines li[data-item='{item}']")).to_contain_text("0")
    expect(page.locator("#pick-list li")).to_contain_text(WAREHOUSE_BIN)
    expect(form.locator("input[name=sscc]")).to_be_focused()
    for sscc, quantity in ((first, "4"), (second, "2")):
        scan_into(page, form.locator("input[name=sscc]"), f"]C100{sscc}", sscc)  # the pre-printed label
        expect(form.locator("input[name=item]")).to_be_focused()
        # The goods' label: GTIN, lot (then GS) and the count, which fills the quantity.
        scan_into(page, form.locator("input[name=item]"), f"]C101{gtin.zfill(14)}10{lot}\x1d30{quantity}", item)
        expect(form.locator("input[name=lot]")).to_have_value(lot)
        expect(form.locator("input[name=quantity]")).to_have_value(quantity)
        if sscc == first:
            expect(form.locator("input[name=location]")).to_be_focused()
            wedge(page, WAREHOUSE_BIN)
        expect(form.locator("input[name=location]")).to_have_value(WAREHOUSE_BIN)  # the bin stays for the next pick
        form.locator("input[name=quantity]").press("Enter")
        expect(page.locator(f"#unit-contents li[data-item='{item}']")).to_have_count(1)
        page.locator("#pack-unit").click()
        expect(page.locator("#unit-contents li")).to_have_count(0)
    expect(page.locator(f"#shipment-lines li[data-item='{item}']")).to_have_attribute("data-packed", "6")
    # Nothing is left to pack: one more is refused on the device.
    form.locator("input[name=item]").fill(item)
    form.locator("input[name=lot]").fill(lot)
    form.locator("input[name=location]").fill(WAREHOUSE_BIN)
    form.locator("input[name=quantity]").fill("1")
    form.locator("input[name=quantity]").press("Enter")
    expect(page.locator("#p-quantity")).not_to_be_empty()

    go(page, "load")
    form = page.locator("#load-form")
    form.locator("input[name=vehicle]").focus()
    wedge(page, "TRUCK-9")
    expect(form.locator("input[name=vehicle]")).to_have_value("TRUCK-9")
    # The first unit's SSCC alone names the shipment (the units this device packed) and loads the unit.
    scan_into(page, form.locator("input[name=sscc]"), f"]C100{first}", "")
    expect(form.locator("input[name=shipment]")).to_have_value(code)
    expect(form.locator("input[name=route]")).to_have_value(route)
    expect(page.locator("#load-summary")).to_have_attribute("data-left", "1")
    expect(page.locator(f"#units li[data-sscc='{first}']")).to_have_attribute("data-status", "loaded")
    scan_into(page, form.locator("input[name=sscc]"), f"]C100{first}", first)  # again: already on the truck
    expect(page.locator("#p-sscc")).not_to_be_empty()
    scan_into(page, form.locator("input[name=sscc]"), f"]C100{second}", "")
    expect(page.locator("#load-summary")).to_have_attribute("data-left", "0")
    expect(page.locator("#sync-status")).to_have_attribute("data-pending", "4")

    queued = outbox(page)
    assert [m["name"] for m in queued] == ["shipment.pack", "shipment.pack", "shipment.load", "shipment.load"]
    assert queued[0]["args"] == {"shipment": code, "sscc": first, "contents": [
        {"item": item, "lot": lot, "location": WAREHOUSE_BIN, "quantity": "4"}]}
    assert queued[3]["args"] == {"shipment": code, "sscc": second, "vehicle": "TRUCK-9", "route": route}
    assert admin.get(f"/api/shipments/{code}").json()["status"] == "planned"

    context.set_offline(False)
    wait_synced(page)
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")

    def server_state():
        shipment = admin.get(f"/api/shipments/{code}").json()
        stock = admin.get("/api/stock", params={"item": item}).json()["items"]
        return (shipment["status"], shipment["vehicle"], shipment["route"], shipment["lines"][0]["packed_quantity"],
                sorted((u["sscc"], u["status"], u["vehicle"], tuple((c["lot"], c["quantity"]) for c in u["contents"]))
                       for u in shipment["handling_units"]),
                [(r["location"], r["quantity"]) for r in stock])

    landed = server_state()
    assert landed == ("loaded", "TRUCK-9", route, "6", sorted([(first, "loaded", "TRUCK-9", ((lot, "4"),)),
                                                               (second, "loaded", "TRUCK-9", ((lot, "2"),))]),
                      [(WAREHOUSE_BIN, "4")])
    again = httpx.post(f"{server.url}/api/sync/push", headers={"Authorization": f"Bearer {meta(page, 'token')}"}, json={
        "protocol": 1, "mutations": [{k: m[k] for k in ("seq", "id", "name", "args", "client_time")} for m in queued]})
    assert again.status_code == 200, again.text
    assert [(r["status"], r["outcome"]) for r in again.json()["results"]] == [("duplicate", "applied")] * 4
    assert server_state() == landed
    assert errors == []
    context.close()


def test_a_driver_signs_a_delivery_off_with_a_shortfall_signature_photo_and_position(server, login, admin, unique,
                                                                                   browser, tmp_path):
    chairs, desks, route = make_item(admin, unique("CHAIR"), type="finished", lot_tracked=False), make_item(admin, unique("DESK"), type="finished", lot_tracked=False), unique("R")
    count_in(login("warehouse"), chairs, WAREHOUSE_BIN, "5")
    count_in(login("warehouse"), desks, WAREHOUSE_BIN, "3")
    code = loaded_shipment(server, login, admin, unique, tmp_path, {chairs: "5", desks: "3"}, route)
    context = browser.new_context(locale="zh-CN", viewport={"width": 800, "height": 1000}, geolocation=POSITION,
                                  permissions=["geolocation"])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors = watch_errors(page)
    enrol_driver(page, server.url, login("logistics"), route)
    expect(page.locator("nav.tiles [data-route='pack']")).to_have_count(0)
    page.locator("nav.tiles [data-route='route']").click()
    shipment = page.locator(f"#shipments li[data-code='{code}']")
    expect(shipment).to_have_attribute("data-status", "loaded")
    expect(shipment).to_contain_text("C-BJYB")
    expect(shipment.locator(".ship-lines li")).to_have_count(2)

    context.set_offline(True)
    shipment.locator("button.open").click()
    page.wait_for_selector("body[data-screen='deliver']")
    form = page.locator("#deliver-form")
    expect(form.locator("input[name=delivered_10]")).to_have_value("5")  # what was shipped, unless the driver says less
    expect(form.locator("input[name=delivered_20]")).to_have_value("3")
    expect(page.locator("#position")).to_have_attribute("data-state", "ok")
    form.locator("input[name=delivered_10]").fill("4")
    form.locator("input[name=signer_name]").fill("王芳")
    form.locator("button[type=submit]").click()
    expect(page.locator("#p-reason_10")).not_to_be_empty()  # a shortfall needs its reason
    expect(page.locator("#p-signature")).not_to_be_empty()  # and no sign-off without a signature
    form.locator("input[name=reason_10]").fill("carton crushed")
    sign(page)
    page.locator("#signature-clear").click()
    form.locator("button[type=submit]").click()
    expect(page.locator("#p-signature")).not_to_be_empty()  # cleared: no signature again
    assert pending(page) == 0
    sign(page)
    page.locator("#f-photo").set_input_files(files=[{"name": "door.png", "mimeType": "image/png", "buffer": photo_png()}])
    expect(page.locator("#photo-preview img")).to_have_count(1)
    form.locator("button[type=submit]").click()
    expect(page.locator("#screen .notice.ok")).to_be_visible()
    expect(page.locator("#sync-status")).to_have_attribute("data-pending", "1")

    args = outbox(page)[0]["args"]
    assert args["shipment"] == code and args["signer_name"] == "王芳"
    assert args["shortfalls"] == [{"line_no": 10, "quantity": "1", "reason": "carton crushed"}]
    assert args["signature_png"].startswith("iVBORw0KGgo") and args["photo_jpeg"].startswith("/9j/")
    assert args["position"] == {"lat": "29.868330", "lon": "121.543990", "accuracy_m": "8.00"}
    go(page, "route")
    expect(page.locator(f"#shipments li[data-code='{code}']")).to_have_attribute("data-status", "delivered")

    context.set_offline(False)
    wait_synced(page)
    expect(page.locator("#sync-status")).to_have_attribute("data-attention", "0")
    after = admin.get(f"/api/shipments/{code}").json()
    assert after["status"] == "delivered"
    assert [(l["line_no"], l["delivered_quantity"], l["shortfall_quantity"]) for l in after["lines"]] == [
        (10, "4", "1"), (20, "3", "0")]
    proof = admin.get(f"/api/shipments/{code}/proof").json()
    assert proof["signer_name"] == "王芳" and proof["shortfalls"] == [{"line_no": 10, "quantity": "1", "reason": "carton crushed"}]
    assert proof["photo_sha256"] and proof["position"]["lat"] == "29.868330"
    signature = admin.get(f"/api/shipments/{code}/signature.png")
    assert signature.status_code == 200 and signature.content.startswith(b"\x89PNG")
    drawn = Image.open(io.BytesIO(signature.content)).convert("L")
    assert drawn.width >= 300 and drawn.height >= 100
    ink = sum(drawn.histogram()[:128])
    assert ink > 200, f"a signature of three strokes, not a blank pad ({ink} dark pixels)"
    assert admin.get("/api/proofs/verify").json()["ok"] is True
    expect(page.locator(f"#shipments li[data-code='{code}']")).to_have_count(0)  # delivered: it left the device
    assert errors == []
    context.close()


def test_a_delivery_signed_on_two_devices_is_refused_on_the_second_and_needs_attention(server, login, admin, unique,
                                                                                      browser, tmp_path):
    item, route = make_item(admin, unique("SHELF"), type="finished", lot_tracked=False), unique("R")
    count_in(login("warehouse"), item, WAREHOUSE_BIN, "2")
    code = loaded_shipment(server, login, admin, unique, tmp_path, {item: "2"}, route)
    contexts, pages = [], []
    for _ in range(2):
        context = new_context(browser)  # no geolocation permission: sign-off goes ahead without a position
        page = context.new_page()
        enrol_driver(page, server.url, login("logistics"), route)
        context.set_offline(True)
        go(page, f"deliver?shipment={code}")
        expect(page.locator("#position")).to_have_attribute("data-state", "none")
        page.locator("#deliver-form input[name=signer_name]").fill("李雷")
        sign(page)
        page.locator("#deliver-form button[type=submit]").click()
        expect(page.locator("#screen .notice.ok")).to_be_visible()
        contexts.append(context)
        pages.append(page)

    contexts[0].set_offline(False)
    wait_synced(pages[0])
    until(lambda: admin.get(f"/api/shipments/{code}").json()["status"] == "delivered")
    contexts[1].set_offline(False)
    expect(pages[1].locator("#sync-status")).to_have_attribute("data-attention", "1")
    wait_synced(pages[1])
    go(pages[1], "attention")
    entry = pages[1].locator("#attention-list .entry[data-code='shipment_delivered']")
    expect(entry).to_contain_text(code)
    expect(entry.locator(".reason")).to_contain_text("已经交付签收")
    expect(entry.locator(".args")).not_to_contain_text("iVBOR")  # the signature is not shown as text
    proof = admin.get(f"/api/shipments/{code}/proof").json()
    assert proof["signer_name"] == "李雷" and proof["position"] is None
    assert admin.get("/api/proofs/verify").json()["ok"] is True
    for context in contexts:
        context.close()
