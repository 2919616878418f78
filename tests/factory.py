"""The test kit: builders for what many tests need (items, stock counted in, customers, approved sales orders,
planned shipments, pushes from a device) and readers of the server's stock, all through the office API as a user
would do it. Each builder asserts the server accepted what it built, so a test starts from a known state."""

from __future__ import annotations

import base64
import io
import sqlite3
import subprocess
import uuid
from collections.abc import Iterable
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from PIL import Image
from pypdf import PdfReader

from tests.clients import office
from tests.servers import BACKEND
from tests.sync_fixtures import enrolled_device


# -- master data ---------------------------------------------------------------------------------------------------

def make_item(office: httpx.Client, code: str, *, name: str | None = None, type: str = "raw", unit: str = "PCS",
              stock: dict[str, str] | None = None, clerk: httpx.Client | None = None, **fields: Any) -> str:
    """An item of the test's own (raw, in pieces, unless told), with on-hand counted in at the desk by `clerk`
    (location -> quantity)."""
    body = {"code": code, "name": name or f"Part {code}", "type": type, "unit": unit, **fields}
    response = office.post("/api/items", json=body)
    assert response.status_code == 201, response.text
    for location, quantity in (stock or {}).items():
        count_in(clerk or office, code, location, quantity)
    return code


def finished_item(login, unique, *, lot_tracked: bool = True, prefix: str = "CHAIR") -> str:
    """A finished good of the test's own, a new code at each call (several in one test), made by the planner."""
    code = unique(prefix) + uuid.uuid4().hex[:3].upper()
    return make_item(login("planner"), code, name=f"Shipping test {code}", type="finished", lot_tracked=lot_tracked,
                     gtin=None)


def make_customer(sales: httpx.Client, code: str, **terms: Any) -> str:
    """A customer of the test's own, in CNY, with the terms given (credit_limit, grade, payment_terms_days, …)."""
    response = sales.post("/api/customers", json={"code": code, "currency": "CNY", **terms})
    assert response.status_code == 201, response.text
    return code


# -- stock ---------------------------------------------------------------------------------------------------------

def count_in(clerk: httpx.Client, item: str, location: str, quantity: str, lot: str | None = None) -> None:
    """A stock count booked at the desk: the way a test puts stock where it wants it."""
    response = clerk.post("/api/stock/counts", json={"item": item, "lot": lot, "location": location,
                                                     "counted_quantity": quantity})
    assert response.status_code == 201, response.text


def stock_rows(office: httpx.Client, item: str, **params: Any) -> list[dict[str, Any]]:
    """The server's on-hand rows of an item, as the office API lists them."""
    response = office.get("/api/stock", params={"item": item, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


def on_hand(office: httpx.Client, item: str) -> list[tuple[str, str | None, str, str]]:
    """On hand as (location, lot, status, quantity), sorted."""
    return sorted((r["location"], r["lot"], r["status"], r["quantity"]) for r in stock_rows(office, item))


def available_by_location(office: httpx.Client, item: str) -> dict[str, Decimal]:
    """The available stock of an item by location."""
    return {row["location"]: Decimal(row["quantity"]) for row in stock_rows(office, item, limit=200)
            if row.get("status", "available") == "available"}


def run_sql(server, statement: str, *args) -> None:
    """Straight into the server's database, behind its back: what a tamperer (or a test's set-up) would do."""
    if BACKEND == "postgres":
        literal = statement.replace("?", "{}").format(*("'" + str(a).replace("'", "''") + "'" for a in args))
        subprocess.run(["psql", server.database.url, "-v", "ON_ERROR_STOP=1", "-qc", literal], check=True, capture_output=True)
        return
    with closing(sqlite3.connect(server.database.url.removeprefix("sqlite:///"), timeout=30)) as db:
        db.execute(statement, args)
        db.commit()


# -- sales and shipping --------------------------------------------------------------------------------------------

def approved_order(sales: httpx.Client, customer: str, lines: Iterable[tuple[str, ...]], due: date | str,
                   unit_price: str | None = None) -> dict:
    """A sales order submitted at once and approved by the review. Lines are (item, quantity) or (item, quantity,
    unit price); `unit_price` prices the lines that give none (no price at all: the review approves it)."""
    body_lines = []
    for item, quantity, *price in lines:
        line = {"item": item, "quantity": quantity, "due_date": due if isinstance(due, str) else due.isoformat()}
        if price or unit_price is not None:
            line["unit_price"] = price[0] if price else unit_price
        body_lines.append(line)
    created = sales.post("/api/sales-orders", json={"customer": customer, "site": "NB1", "lines": body_lines})
    assert created.status_code == 201, created.text
    submitted = sales.post(f"/api/sales-orders/{created.json()['code']}/submit")
    assert submitted.status_code == 200, submitted.text
    order = submitted.json()
    assert order["status"] == "approved", order
    return order


def plan_shipment(login, order: dict, quantities: dict[int, str] | None = None, route: str | None = None) -> dict:
    """A shipment from the FG warehouse of every line of the order (or the quantities given by line number)."""
    lines = [{"line_no": l["line_no"], "quantity": (quantities or {}).get(l["line_no"], l["quantity"])} for l in order["lines"]]
    response = login("logistics").post("/api/shipments", json={"sales_order": order["code"], "ship_from": "FG",
                                                               "route": route, "lines": lines})
    assert response.status_code == 201, response.text
    return response.json()


def shipment_of(login, code: str) -> dict:
    response = login("viewer").get(f"/api/shipments/{code}")
    assert response.status_code == 200, response.text
    return response.json()


def pushed(device, name: str, args: dict) -> dict:
    """One mutation from a device, pushed at once: its result."""
    mutation = device.enqueue(name, args)
    device.push_once()
    return device.result(mutation)


def pdf_text(pdf: bytes) -> str:
    """The text a PDF reader extracts from every page, as a customer copying from it would get it."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def png_bytes(size: tuple[int, int] = (120, 40)) -> bytes:
    """A small PNG with a scribble on it: a signature as the driver's device captures it."""
    image = Image.new("L", size, 255)
    for x in range(10, size[0] - 10):
        image.putpixel((x, size[1] // 2 + (x % 7) - 3), 0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def signature() -> str:
    return b64(png_bytes())


def sign_args(shipment: str, **overrides) -> dict:
    """`delivery.sign` args: the customer signed now."""
    return {"shipment": shipment, "signer_name": "王芳", "signature_png": signature(),
            "signed_at": datetime.now(timezone.utc).isoformat(), **overrides}


def driver_on(server, login, tmp_path, route: str):
    """A driver's phone, enrolled for one route."""
    return enrolled_device(server.url, login("logistics"), tmp_path, route=route)


def confirmed_order(login, lines: Iterable[tuple[str, str]], customer: str = "C-BJYB") -> dict:
    """An order of a demo customer due in a week, without prices (the review approves it), ready to ship."""
    return approved_order(login("sales"), customer, lines, date.today() + timedelta(days=7))


def released_production_order(planner: httpx.Client, item: str, quantity: str, due_in_days: int, site: str = "NB1") -> str:
    """A production order for a made item, created and released by the planner: its code."""
    due = (date.today() + timedelta(days=due_in_days)).isoformat()
    created = planner.post("/api/production-orders", json={"item": item, "quantity": quantity, "site": site, "due_date": due})
    assert created.status_code == 201, created.text
    released = planner.post(f"/api/production-orders/{created.json()['code']}/release",
                            json={"version": created.json()["version"]})
    assert released.status_code == 200, released.text
    return released.json()["code"]


def chairs_planned_and_firmed(srv) -> None:
    """On a demo server of a test's own: an approved order of 40 task chairs due in three weeks, planned by MRP,
    and every production order the plan makes firmed (chairs fed by their seat and backrest assemblies)."""
    planner, sales = office(srv.url, "planner"), office(srv.url, "sales")
    try:
        approved_order(sales, "C-BJYB", [("CH-TASK", "40", "499.00")],
                       datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=21))
        run = planner.post("/api/mrp/runs", json={"site": "NB1"}).json()
        made = [o["key"] for o in planner.get(f"/api/mrp/runs/{run['id']}/planned-orders", params={"limit": 5000}).json()
                if o["kind"] == "production"]
        assert planner.post(f"/api/mrp/runs/{run['id']}/firm-production", json={"keys": made}).status_code == 200
    finally:
        planner.close()
        sales.close()
