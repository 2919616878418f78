"""Shipments as they are read and shown: the rows (locked before a change), the API and device shapes, which devices
hold an open shipment, and the dock board's events. The planning, packing and delivery modules build on it."""

from __future__ import annotations

import json
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.shipping import HandlingUnitContentOut, HandlingUnitOut, PickOut, ShipmentLineOut, ShipmentOut
from server.accounts.site_scope import within_scope
from server.actors import Who
from server.documents import DocumentTable, rows_by_parent
from server.errors import ApiError, not_found
from server.errors import refuse
from server.quantities import from_micro
from server.sales.tables import SalesOrder
from server.shipping import rules
from server.shipping.rules import Refusal, Scope
from server.shipping.tables import HandlingUnit, HandlingUnitContent, Shipment, ShipmentCounter, ShipmentLine
from sync.feed import Visibility, record_move
from sync.live import publish_board_after_commit

ENTITY = "shipment"
RESERVATION_KIND = "shipment"
DOCK = "board:dock"
SHIPMENTS = DocumentTable(ENTITY, "Shipment", Shipment, "SHP", ShipmentCounter, ShipmentLine.shipment,
                          site_bound=True)


def conflict(refusal: Refusal, **details: Any) -> ApiError:
    return refuse(refusal.code, refusal.message, HTTP_409_CONFLICT, **details)


def scope_refusal(code: str) -> ApiError:
    return refuse("out_of_scope", f"Shipment {code!r} is outside this device's scope", HTTP_409_CONFLICT, shipment=code)


async def shipment_row(code: str, *, for_device: bool = False, lock: bool = False) -> dict[str, Any]:
    """The shipment's header; locked until commit on PostgreSQL when it is about to change (SQLite serialises
    writers already). An office reader gets 404 `not_found`, a device 422 `unknown_shipment`."""
    if lock:
        await SHIPMENTS.lock(code)
    row = await SHIPMENTS.find(code)
    if row is None:
        if for_device:
            raise refuse("unknown_shipment", f"No shipment {code!r}", shipment=code)
        raise not_found(ENTITY, code)
    return row


async def shipment_lines(shipment_id: int) -> list[dict[str, Any]]:
    return (await SHIPMENTS.lines_of([shipment_id]))[shipment_id]


async def _units(shipment_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each shipment's handling units, each with its contents."""
    grouped = await rows_by_parent(HandlingUnit.shipment, shipment_ids, HandlingUnit.id)
    unit_ids = [unit["id"] for units in grouped.values() for unit in units]
    contents = await rows_by_parent(HandlingUnitContent.handling_unit, unit_ids, HandlingUnitContent.id)
    return {shipment_id: [{**unit, "contents": contents[unit["id"]]} for unit in units]
            for shipment_id, units in grouped.items()}


def _unit_out(unit: dict[str, Any], shipment_code: str) -> HandlingUnitOut:
    return HandlingUnitOut(
        sscc=unit["sscc"], shipment=shipment_code, status=unit["status"], vehicle=unit["vehicle"],
        packed_at=unit["packed_at"], loaded_at=unit["loaded_at"],
        contents=[HandlingUnitContentOut(
            line_no=c["line_no"], item=c["item"], lot=c["lot"] or None, location=c["location"],
            quantity=from_micro(c["quantity_micro"]), serials=json.loads(c["serials"] or "[]"),
            fefo_deviation=bool(c["fefo_deviation"]),
        ) for c in unit["contents"]],
    )


def _shipment_out(row: dict[str, Any], lines: list[dict[str, Any]], units: list[dict[str, Any]], customer: str) -> ShipmentOut:
    return ShipmentOut(
        code=row["code"], sales_order=row["sales_order"], customer=customer, site=row["site"], ship_from=row["ship_from"],
        route=row["route"], vehicle=row["vehicle"], status=row["status"], created_by=row["created_by"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        lines=[ShipmentLineOut(
            line_no=l["line_no"], item=l["item"], quantity=from_micro(l["quantity_micro"]),
            packed_quantity=from_micro(l["packed_quantity_micro"]),
            delivered_quantity=from_micro(l["delivered_quantity_micro"]),
            shortfall_quantity=from_micro(l["shortfall_quantity_micro"]),
        ) for l in lines],
        pick_list=[PickOut(**pick) for pick in json.loads(row["pick_list"] or "[]")],
        handling_units=[_unit_out(unit, row["code"]) for unit in units],
    )


async def _customers(order_codes: list[str]) -> dict[str, str]:
    if not order_codes:
        return {}
    rows = await SalesOrder.select(SalesOrder.code, SalesOrder.customer).where(SalesOrder.code.is_in(order_codes))
    return {r["code"]: r["customer"] for r in rows}


async def shipment_out(row: dict[str, Any]) -> ShipmentOut:
    customers = await _customers([row["sales_order"]])
    return _shipment_out(row, await shipment_lines(row["id"]), (await _units([row["id"]]))[row["id"]],
                         customers.get(row["sales_order"], ""))


async def get_shipment(code: str) -> ShipmentOut:
    return await shipment_out(await shipment_row(code))


async def list_shipments(*, status: str | None = None, sales_order: str | None = None, route: str | None = None,
                         limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = Shipment.id > 0
    for column, value in ((Shipment.status, status), (Shipment.sales_order, sales_order), (Shipment.route, route)):
        if value:
            condition = condition & (column == value)
    condition = within_scope(condition, Shipment.site)
    rows = await (Shipment.select().where(condition).order_by(Shipment.created_at, ascending=False)
                  .order_by(Shipment.id, ascending=False).limit(limit).offset(offset))
    total = await Shipment.count().where(condition)
    ids = [row["id"] for row in rows]
    units, lines = await _units(ids), await SHIPMENTS.lines_of(ids)
    customers = await _customers(list({row["sales_order"] for row in rows}))
    items = [_shipment_out(row, lines[row["id"]], units[row["id"]], customers.get(row["sales_order"], "")) for row in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def handling_unit(sscc: str) -> HandlingUnitOut | None:
    unit = await HandlingUnit.select().where(HandlingUnit.sscc == sscc).first()
    if unit is None:
        return None
    shipment = await Shipment.select(Shipment.id, Shipment.code).where(
        within_scope(Shipment.id == unit["shipment"], Shipment.site)).first()
    if shipment is None:  # a unit of a shipment of a site the user may not see
        return None
    units = (await _units([shipment["id"]]))[shipment["id"]]
    return _unit_out(next(u for u in units if u["sscc"] == sscc), shipment["code"])


# The feed's route of a shipment no route is chosen for yet: not NULL (which every driver would match), so it is on
# the warehouse's devices (they have no route) and on no driver's.
NO_ROUTE = ""


def _visibility(row: dict[str, Any]) -> Visibility | None:
    """Who holds an open shipment: devices of the warehouse it ships from, and of them a driver's (a device with a
    route) only when the shipment is on that route, from planning on: a driver carries its own stops, never the
    whole site's dock."""
    if row["status"] not in rules.OPEN:
        return None
    return Visibility(site=row["site"], warehouse=row["ship_from"], route=row["route"] or NO_ROUTE)


def _device_view(shipment: ShipmentOut) -> dict[str, Any]:
    """What a picker's or driver's device needs offline: lines with what is left, the pick list, the units."""
    return {
        "code": shipment.code, "sales_order": shipment.sales_order, "customer": shipment.customer, "site": shipment.site,
        "ship_from": shipment.ship_from, "route": shipment.route, "vehicle": shipment.vehicle, "status": shipment.status,
        "lines": [{"line_no": l.line_no, "item": l.item, "quantity": format(l.quantity, "f"),
                   "packed_quantity": format(l.packed_quantity, "f")} for l in shipment.lines],
        "pick_list": [pick.model_dump(mode="json") for pick in shipment.pick_list],
        "handling_units": [{"sscc": u.sscc, "status": u.status, "vehicle": u.vehicle,
                            "contents": [{"item": c.item, "lot": c.lot, "quantity": format(c.quantity, "f"),
                                          "line_no": c.line_no} for c in u.contents]}
                           for u in shipment.handling_units],
    }


async def publish(before: dict[str, Any] | None, after_code: str) -> ShipmentOut:
    """Tell devices: an upsert where the shipment is now visible, a delete where it no longer is."""
    row = await shipment_row(after_code)
    shipment = await shipment_out(row)
    new = _visibility(row)
    record_move(ENTITY, shipment.code, _device_view(shipment) if new else None, _visibility(before) if before else None, new)
    return shipment


def dock(kind: str, shipment: str, **event: Any) -> None:
    publish_board_after_commit(DOCK, {"kind": kind, "shipment": shipment, **event})


def device_scope(who: Who) -> Scope | None:
    """Which shipments a device reaches (its site, warehouses and route); None at a desk, where scope limits nothing."""
    if not who.on_a_device:
        return None
    return Scope(site=who.allowed_site or "", warehouses=who.allowed_warehouses or frozenset(), route=who.route)
