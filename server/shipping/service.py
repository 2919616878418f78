"""Shipments from planning to signature, in one place.

- Office: plan a shipment from approved sales order lines (stock reserved, a FEFO pick list made), list and read
  shipments, cancel one nothing was packed for, move it to another route, read a proof of delivery, verify the chain.
- Floor (called by `commands.py` inside the push's transaction): `pack` picks stock into a handling unit (SSCC),
  `load` scans a unit onto a vehicle, `sign` keeps the customer's signature as a chained proof of delivery and
  books what was delivered and what fell short on the sales order.

Devices hold an open shipment (entity `shipment`: lines, pick list, handling units) while it is open: those of the
warehouse it ships from, and once it is loaded, those on its route too (a driver on another route gets a delete).
Pack, load and delivery are announced on `board:dock`.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.shipping import (
    ChainBreak,
    ChainVerification,
    DeliverySignArgs,
    HandlingUnitContentOut,
    HandlingUnitOut,
    PickOut,
    ProofOut,
    ShipmentIn,
    ShipmentLineOut,
    ShipmentLoadArgs,
    ShipmentOut,
    ShipmentPackArgs,
)
from server.accounts.identity import OfficeUser
from server.db import sql_execute, sql_fetch, write_transaction
from server.documents import DocumentTable, actor_name, audit_change, rows_by_parent
from server.errors import ApiError, not_found
from server.inventory.availability import Bin, fefo_take, release_reservations, reserve, usable_bins
from server.inventory.lots import check_serials, take_serials, usable_lot
from server.inventory.stock import AVAILABLE, check_decimals, check_lot, load_item, load_place, post
from server.actors import Who
from server.errors import refuse
from server.quantities import from_micro, quantity_text, to_micro
from server.labels.gs1 import Gs1Error, make_sscc, validate_sscc
from server.masterdata.tables import Warehouse
from server.sales import rules as sales_rules
from server.sales import service as sales
from server.sales.tables import SalesOrder
from server.settings import gs1_company_prefix_from_env, sscc_extension_digit_from_env
from server.shipping import rules
from server.shipping.rules import LineLeft, Refusal, Scope
from server.shipping.tables import (
    HandlingUnit,
    HandlingUnitContent,
    ProofChainHead,
    ProofOfDelivery,
    Shipment,
    ShipmentCounter,
    ShipmentLine,
)
from sync.feed import Visibility, record_move
from sync.live import publish_board_after_commit

ENTITY = "shipment"
RESERVATION_KIND = "shipment"
DOCK = "board:dock"
VERIFY_PAGE = 200
SHIPMENTS = DocumentTable(ENTITY, "Shipment", Shipment, "SHP", ShipmentCounter, ShipmentLine.shipment)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _conflict(refusal: Refusal, **details: Any) -> ApiError:
    return refuse(refusal.code, refusal.message, HTTP_409_CONFLICT, **details)


# -- reading -------------------------------------------------------------------------------------------------------
async def _row(code: str, *, for_device: bool = False, lock: bool = False) -> dict[str, Any]:
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


async def _lines(shipment_id: int) -> list[dict[str, Any]]:
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


async def _out(row: dict[str, Any]) -> ShipmentOut:
    customers = await _customers([row["sales_order"]])
    return _shipment_out(row, await _lines(row["id"]), (await _units([row["id"]]))[row["id"]], customers.get(row["sales_order"], ""))


async def get_shipment(code: str) -> ShipmentOut:
    return await _out(await _row(code))


async def list_shipments(*, status: str | None = None, sales_order: str | None = None, route: str | None = None,
                         limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = Shipment.id > 0
    for column, value in ((Shipment.status, status), (Shipment.sales_order, sales_order), (Shipment.route, route)):
        if value:
            condition = condition & (column == value)
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
    shipment = await Shipment.select(Shipment.id, Shipment.code).where(Shipment.id == unit["shipment"]).first()
    units = (await _units([shipment["id"]]))[shipment["id"]]
    return _unit_out(next(u for u in units if u["sscc"] == sscc), shipment["code"])


# -- devices and boards --------------------------------------------------------------------------------------------
def _visibility(row: dict[str, Any]) -> Visibility | None:
    """Who holds an open shipment: the warehouse it ships from; once loaded, only devices on its route (and
    warehouse devices, which have no route) among them."""
    if row["status"] not in rules.OPEN:
        return None
    route = row["route"] if row["status"] == rules.LOADED else None
    return Visibility(site=row["site"], warehouse=row["ship_from"], route=route)


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


async def _publish(before: dict[str, Any] | None, after_code: str) -> ShipmentOut:
    """Tell devices: an upsert where the shipment is now visible, a delete where it no longer is."""
    row = await _row(after_code)
    shipment = await _out(row)
    new = _visibility(row)
    record_move(ENTITY, shipment.code, _device_view(shipment) if new else None, _visibility(before) if before else None, new)
    return shipment


def _dock(kind: str, shipment: str, **event: Any) -> None:
    publish_board_after_commit(DOCK, {"kind": kind, "shipment": shipment, **event})


# -- office: planning ----------------------------------------------------------------------------------------------
async def _planned_elsewhere(sales_order: str) -> dict[int, int]:
    """Per sales order line, what open shipments already carry (delivered ones count as shipped on the order)."""
    rows = await ShipmentLine.select(ShipmentLine.line_no, ShipmentLine.quantity_micro).where(
        ShipmentLine.shipment.is_in(
            Shipment.select(Shipment.id).where((Shipment.sales_order == sales_order) & Shipment.status.is_in(list(rules.OPEN)))
        )
    )
    planned: dict[int, int] = {}
    for row in rows:
        planned[row["line_no"]] = planned.get(row["line_no"], 0) + row["quantity_micro"]
    return planned


def _pick_list(line_no: int, item: str, bins: list[Bin], wanted_micro: int) -> tuple[list[dict[str, Any]], list[Bin]]:
    """The FEFO picks for one line and the bins as they are left for the next line of the same item."""
    picks, missing = fefo_take(bins, wanted_micro)
    taken = {(p.location, p.lot): p.quantity_micro for p in picks}
    left = [Bin(b.location, b.lot, b.expiry, b.quantity_micro - taken.get((b.location, b.lot), 0)) for b in bins]
    rows = [{"line_no": line_no, "item": item, "location": p.location, "lot": p.lot or None,
             "expiry": p.expiry.isoformat() if p.expiry else None, "quantity": quantity_text(p.quantity_micro),
             "missing": False} for p in picks]
    if missing:
        rows.append({"line_no": line_no, "item": item, "location": None, "lot": None, "expiry": None,
                     "quantity": quantity_text(missing), "missing": True})
    return rows, [b for b in left if b.quantity_micro > 0]


def _problem(code: str, field: str, message: str) -> ApiError:
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, code, f"{field}: {message}", {"field": field})


async def create_shipment(data: ShipmentIn, actor: OfficeUser | None) -> ShipmentOut:
    async with write_transaction():
        await sales.SALES_ORDERS.lock(data.sales_order)
        order, order_lines = await sales.SALES_ORDERS.load_with_lines(data.sales_order)
        refusal = sales_rules.shipment_refusal(order["status"])
        if refusal is not None:
            raise refuse(refusal.code, refusal.message, HTTP_409_CONFLICT, sales_order=data.sales_order, order_status=order["status"])
        warehouse = await Warehouse.select(Warehouse.site, Warehouse.archived).where(Warehouse.code == data.ship_from).first()
        if warehouse is None or warehouse["archived"]:
            raise _problem("unknown_warehouse", "ship_from", f"no active warehouse {data.ship_from!r}")
        if warehouse["site"] != order["site"]:
            raise _problem("wrong_site", "ship_from", f"warehouse {data.ship_from!r} is not at site {order['site']!r}")
        by_line = {line["line_no"]: line for line in order_lines}
        planned = await _planned_elsewhere(data.sales_order)
        seen: set[int] = set()
        for index, line in enumerate(data.lines):
            field = f"lines[{index}]"
            so_line = by_line.get(line.line_no)
            if line.line_no in seen:
                raise _problem("duplicate_line", f"{field}.line_no", f"line {line.line_no} appears twice")
            seen.add(line.line_no)
            if so_line is None:
                raise _problem("unknown_sales_order_line", f"{field}.line_no", f"{data.sales_order} has no line {line.line_no}")
            check_decimals(await load_item(so_line["item"]), line.quantity)
            open_micro = sales_rules.open_micro(sales.line_progress(so_line)) - planned.get(line.line_no, 0)
            if to_micro(line.quantity) > open_micro:
                raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "exceeds_open_quantity",
                               f"{field}.quantity: line {line.line_no} has {quantity_text(max(open_micro, 0))} left to ship",
                               {"field": f"{field}.quantity", "line_no": line.line_no, "open": quantity_text(max(open_micro, 0))})
        now = _now()
        code = await SHIPMENTS.next_code(now.year)
        bins: dict[str, list[Bin]] = {}
        pick_list: list[dict[str, Any]] = []
        for line in data.lines:
            item = by_line[line.line_no]["item"]
            if item not in bins:
                bins[item] = await usable_bins(item, warehouse=data.ship_from)
            picks, bins[item] = _pick_list(line.line_no, item, bins[item], to_micro(line.quantity))
            pick_list += picks
        inserted = await Shipment.insert(Shipment(
            code=code, sales_order=data.sales_order, site=order["site"], ship_from=data.ship_from, route=data.route,
            status=rules.PLANNED, pick_list=json.dumps(pick_list), created_by=actor_name(actor), created_at=now, updated_at=now,
        )).returning(Shipment.id)
        await ShipmentLine.insert(*[
            ShipmentLine(shipment=inserted[0]["id"], line_no=line.line_no, item=by_line[line.line_no]["item"],
                         quantity_micro=to_micro(line.quantity), packed_quantity_micro=0, delivered_quantity_micro=0,
                         shortfall_quantity_micro=0)
            for line in data.lines
        ])
        for line in data.lines:
            await reserve(by_line[line.line_no]["item"], to_micro(line.quantity), RESERVATION_KIND, code, line.line_no)
        created = await _publish(None, code)
        await sales.refresh_progress(data.sales_order)
        await audit_change(actor, "create", ENTITY, code, None, created)
        _dock("planned", code, sales_order=data.sales_order, status=created.status)
    return created


async def cancel_shipment(code: str, actor: OfficeUser | None, reason: str = "") -> ShipmentOut:
    async with write_transaction():
        row = await _row(code, lock=True)
        units = await HandlingUnit.count().where(HandlingUnit.shipment == row["id"])
        refusal = rules.cancel_refusal(row["status"], units)
        if refusal is not None:
            raise _conflict(refusal, shipment=code, shipment_status=row["status"])
        before = await _out(row)
        await Shipment.update({Shipment.status: rules.CANCELLED, Shipment.updated_at: _now()}).where(Shipment.id == row["id"])
        await release_reservations(RESERVATION_KIND, code)
        after = await _publish(row, code)
        await sales.refresh_progress(row["sales_order"])
        await audit_change(actor, "cancel", ENTITY, code, before, after, reason)
    return after


async def fit_to_order_line(sales_order: str, line_no: int, open_micro: int, *, substituted: bool,
                            actor: OfficeUser | None, reason: str) -> list[dict[str, Any]]:
    """A sales order line changed (inside the caller's transaction): its open shipments may carry no more than the
    line still owes (`open_micro`), and nothing at all once its product was substituted. What is not packed yet is
    taken off the newest shipments first: the line shrinks (its pick list and reservation with it), leaves the
    shipment, or the shipment is cancelled when nothing is left on it. What is packed or loaded cannot be taken
    off here: that is reported as `blocked_packed`. Returns what happened, one entry per shipment touched."""
    shipments = await Shipment.select().where(
        (Shipment.sales_order == sales_order) & Shipment.status.is_in(list(rules.OPEN))).order_by(Shipment.id, ascending=False)
    lines = {row["shipment"]: row for row in await ShipmentLine.select().where(
        ShipmentLine.shipment.is_in([s["id"] for s in shipments]) & (ShipmentLine.line_no == line_no))} if shipments else {}
    allowed = 0 if substituted else open_micro
    excess = sum(line["quantity_micro"] for line in lines.values()) - allowed
    impacts: list[dict[str, Any]] = []
    for shipment in shipments:
        line = lines.get(shipment["id"])
        if excess <= 0 or line is None:
            continue
        cut = min(excess, line["quantity_micro"] - line["packed_quantity_micro"])
        left = line["quantity_micro"] - cut
        excess -= cut
        if cut <= 0:
            continue
        before = dict(shipment)
        await release_reservations(RESERVATION_KIND, shipment["code"], line_no)
        picks = [p for p in json.loads(shipment["pick_list"]) if p["line_no"] != line_no]
        if left:
            await ShipmentLine.update({ShipmentLine.quantity_micro: left}).where(ShipmentLine.id == line["id"])
            if left > line["packed_quantity_micro"]:
                await reserve(line["item"], left - line["packed_quantity_micro"], RESERVATION_KIND, shipment["code"], line_no)
            fresh, _ = _pick_list(line_no, line["item"], await usable_bins(line["item"], warehouse=shipment["ship_from"]), left)
            picks += fresh
        else:
            await ShipmentLine.delete().where(ShipmentLine.id == line["id"])
        remaining = await ShipmentLine.count().where(ShipmentLine.shipment == shipment["id"])
        columns: dict[Any, Any] = {Shipment.pick_list: json.dumps(picks), Shipment.updated_at: _now()}
        if not remaining:
            columns[Shipment.status] = rules.CANCELLED
        await Shipment.update(columns).where(Shipment.id == shipment["id"])
        after = await _publish(before, shipment["code"])
        await audit_change(actor, "fit_to_order", ENTITY, shipment["code"], None, after, reason)
        effect = ("shipment_cancelled" if not remaining else "shipment_line_removed" if not left else "shipment_line_reduced")
        impacts.append({"kind": "shipment", "key": shipment["code"], "line_no": line_no, "effect": effect,
                        "details": {"from": quantity_text(line["quantity_micro"]), "to": quantity_text(left)}})
    if excess > 0:
        packed = [s["code"] for s in shipments if lines.get(s["id"]) and lines[s["id"]]["packed_quantity_micro"]]
        impacts.append({"kind": "shipment", "key": ", ".join(packed), "line_no": line_no, "effect": "blocked_packed",
                        "details": {"over_by": quantity_text(excess)}})
    return impacts


async def move_route(code: str, route: str, actor: OfficeUser | None) -> ShipmentOut:
    """Another route: the old route's devices get a delete, the new one's the shipment (once loaded)."""
    async with write_transaction():
        row = await _row(code, lock=True)
        if row["status"] not in rules.OPEN:
            raise _conflict(rules.pack_refusal(row["status"]) or Refusal("shipment_closed", "The shipment is closed"),
                            shipment=code, shipment_status=row["status"])
        before = await _out(row)
        await Shipment.update({Shipment.route: route, Shipment.updated_at: _now()}).where(Shipment.id == row["id"])
        after = await _publish(row, code)
        await audit_change(actor, "route", ENTITY, code, before, after)
    return after


# -- floor: pack -------------------------------------------------------------------------------------------------------
async def _allocate_sscc() -> str:
    """The next SSCC under the company prefix; a reference a pre-printed label already took is skipped."""
    while True:
        rows = await sql_fetch(
            "INSERT INTO sscc_counter (id, last_reference) VALUES (1, 1) "
            "ON CONFLICT (id) DO UPDATE SET last_reference = sscc_counter.last_reference + 1 RETURNING last_reference"
        )
        sscc = make_sscc(sscc_extension_digit_from_env(), gs1_company_prefix_from_env(), rows[0]["last_reference"])
        if not await sql_fetch("SELECT 1 FROM handling_unit WHERE sscc = $1", sscc):
            return sscc


async def _unit_for_packing(shipment: dict[str, Any], sscc: str | None) -> tuple[str, dict[str, Any] | None]:
    """The SSCC packed into, and its unit when this shipment already has it (packing more into a unit is allowed
    until it is loaded)."""
    if sscc is None:
        return await _allocate_sscc(), None
    try:
        validate_sscc(sscc)
    except Gs1Error as error:
        raise refuse(error.code, error.message, sscc=sscc) from None
    unit = await HandlingUnit.select().where(HandlingUnit.sscc == sscc).first()
    if unit is not None and unit["shipment"] != shipment["id"]:
        raise refuse("wrong_shipment", f"SSCC {sscc} belongs to another shipment", HTTP_409_CONFLICT, sscc=sscc)
    if unit is not None and unit["status"] != rules.UNIT_PACKED:
        raise refuse("already_loaded", f"Handling unit {sscc} is already loaded", HTTP_409_CONFLICT, sscc=sscc)
    return sscc, unit


def _scope_refusal(code: str) -> ApiError:
    return refuse("out_of_scope", f"Shipment {code!r} is outside this device's scope", HTTP_409_CONFLICT, shipment=code)


async def pack(args: ShipmentPackArgs, who: Who, scope: Scope | None) -> dict[str, Any]:
    row = await _row(args.shipment, for_device=True, lock=True)
    refusal = rules.pack_refusal(row["status"])
    if refusal is not None:
        raise _conflict(refusal, shipment=row["code"], shipment_status=row["status"])
    if scope is not None and not rules.may_handle(scope, row["site"], row["ship_from"], row["route"]):
        raise _scope_refusal(row["code"])
    lines = await _lines(row["id"])
    left = {l["line_no"]: LineLeft(l["line_no"], l["item"], l["quantity_micro"] - l["packed_quantity_micro"]) for l in lines}
    sscc, unit = await _unit_for_packing(row, args.sscc)
    packed: list[dict[str, Any]] = []
    for index, content in enumerate(args.contents):
        item = await load_item(content.item)
        lot = check_lot(item, content.lot)
        check_decimals(item, content.quantity)
        quantity_micro = to_micro(content.quantity)
        place = await load_place(content.location, who)
        if place.warehouse != row["ship_from"]:
            raise refuse("wrong_warehouse", f"{place.code} is not in warehouse {row['ship_from']}, where this shipment is picked",
                         location=place.code, warehouse=row["ship_from"], index=index)
        spread = rules.spread_over_lines(list(left.values()), item["code"], quantity_micro)
        if isinstance(spread, Refusal):
            still = quantity_text(sum(l.left_micro for l in left.values() if l.item == item["code"]))
            raise refuse(spread.code, f"{spread.message} ({still} left to pack)", item=item["code"], index=index, left=still)
        lot_row = await usable_lot(item, lot)
        serials = check_serials(item, content.serials, quantity_micro)
        others = [b.expiry for b in await usable_bins(item["code"], warehouse=row["ship_from"]) if b.lot != lot]
        deviation = rules.is_fefo_deviation(lot_row["expiry"] if lot_row else None, others)
        await take_serials(item["code"], lot, serials, place.code, to_location=None, status="shipped")
        await post(item["code"], place, lot, AVAILABLE, -quantity_micro, "pick", who, note=f"{row['code']} SSCC {sscc}")
        for line_no, portion in spread:
            units = portion // 1_000_000  # serial-tracked items count in whole units: each line takes its share
            portion_serials, serials = serials[:units], serials[units:]
            left[line_no] = LineLeft(line_no, item["code"], left[line_no].left_micro - portion)
            packed.append({"line_no": line_no, "item": item["code"], "lot": lot, "location": place.code,
                           "quantity_micro": portion, "serials": portion_serials, "fefo_deviation": deviation})
    now = _now()
    if unit is None:
        inserted = await HandlingUnit.insert(HandlingUnit(
            sscc=sscc, shipment=row["id"], status=rules.UNIT_PACKED, packed_at=now, device_id=who.device_id,
        )).returning(HandlingUnit.id)
        unit_id = inserted[0]["id"]
    else:
        unit_id = unit["id"]
    await HandlingUnitContent.insert(*[
        HandlingUnitContent(handling_unit=unit_id, line_no=p["line_no"], item=p["item"], lot=p["lot"], location=p["location"],
                            quantity_micro=p["quantity_micro"], serials=json.dumps(p["serials"]),
                            fefo_deviation=p["fefo_deviation"], mutation_id=who.mutation_id)
        for p in packed
    ])
    for line in lines:
        packed_now = line["quantity_micro"] - left[line["line_no"]].left_micro
        if packed_now != line["packed_quantity_micro"]:
            await ShipmentLine.update({ShipmentLine.packed_quantity_micro: packed_now}).where(ShipmentLine.id == line["id"])
            # What is packed has left stock: only what is still to pack stays reserved.
            await release_reservations(RESERVATION_KIND, row["code"], line["line_no"])
            if left[line["line_no"]].left_micro > 0:
                await reserve(line["item"], left[line["line_no"]].left_micro, RESERVATION_KIND, row["code"], line["line_no"])
    status = rules.status_after_pack((l["quantity_micro"], l["quantity_micro"] - left[l["line_no"]].left_micro) for l in lines)
    await Shipment.update({Shipment.status: status, Shipment.updated_at: now}).where(Shipment.id == row["id"])
    await _publish(row, row["code"])
    deviation = any(p["fefo_deviation"] for p in packed)
    _dock("pack", row["code"], sscc=sscc, status=status, fefo_deviation=deviation)
    return {
        "shipment": row["code"], "sscc": sscc, "status": status, "fefo_deviation": deviation,
        "contents": [{"line_no": p["line_no"], "item": p["item"], "lot": p["lot"] or None, "location": p["location"],
                      "quantity": quantity_text(p["quantity_micro"]), "fefo_deviation": p["fefo_deviation"]} for p in packed],
    }


# -- floor: load ---------------------------------------------------------------------------------------------------------
async def load(args: ShipmentLoadArgs, scope: Scope | None) -> dict[str, Any]:
    row = await _row(args.shipment, for_device=True, lock=True)
    refusal = rules.load_refusal(row["status"])
    if refusal is not None:
        raise _conflict(refusal, shipment=row["code"], shipment_status=row["status"])
    unit = await HandlingUnit.select().where(HandlingUnit.sscc == args.sscc).first()
    if unit is None:
        raise refuse("unknown_handling_unit", f"No handling unit with SSCC {args.sscc}", sscc=args.sscc)
    if unit["shipment"] != row["id"]:
        raise refuse("wrong_shipment", f"Handling unit {args.sscc} belongs to another shipment", HTTP_409_CONFLICT,
                     sscc=args.sscc, shipment=row["code"])
    if unit["status"] != rules.UNIT_PACKED:
        raise refuse("already_loaded", f"Handling unit {args.sscc} is already loaded", HTTP_409_CONFLICT, sscc=args.sscc,
                     vehicle=unit["vehicle"])
    route = args.route or row["route"]
    if not route:
        raise refuse("route_required", f"Shipment {row['code']} has no route: scan or choose one", shipment=row["code"])
    if scope is not None and not rules.may_handle(scope, row["site"], row["ship_from"], route):
        raise _scope_refusal(row["code"])
    now = _now()
    await HandlingUnit.update({HandlingUnit.status: rules.UNIT_LOADED, HandlingUnit.vehicle: args.vehicle,
                               HandlingUnit.loaded_at: now}).where(HandlingUnit.id == unit["id"])
    statuses = [u["status"] for u in await HandlingUnit.select(HandlingUnit.status).where(HandlingUnit.shipment == row["id"])]
    status = rules.status_after_load(statuses, row["status"])
    columns: dict[Any, Any] = {Shipment.status: status, Shipment.route: route, Shipment.vehicle: args.vehicle,
                               Shipment.updated_at: now}
    if status == rules.LOADED:
        columns[Shipment.loaded_at] = now
    await Shipment.update(columns).where(Shipment.id == row["id"])
    await _publish(row, row["code"])
    await sales.refresh_progress(row["sales_order"])
    loaded = sum(1 for s in statuses if s == rules.UNIT_LOADED)
    _dock("load", row["code"], sscc=args.sscc, vehicle=args.vehicle, route=route, status=status)
    return {"shipment": row["code"], "sscc": args.sscc, "vehicle": args.vehicle, "route": route, "status": status,
            "units_loaded": loaded, "units_total": len(statuses)}


# -- floor: delivery -------------------------------------------------------------------------------------------------------
def _decoded(text: str | None, *, what: str, magic: bytes, limit: int) -> bytes | None:
    if not text:
        return None
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise refuse(f"invalid_{what}", f"The {what} is not valid base64") from None
    if len(data) > limit:
        raise refuse(f"{what}_too_large", f"The {what} is {len(data)} bytes; at most {limit} are kept", size=len(data), limit=limit)
    if not data.startswith(magic):
        raise refuse(f"invalid_{what}", f"The {what} is not a {'PNG' if what == 'signature' else 'JPEG'} image")
    return data


def _utc_text(moment: datetime) -> str:
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.isoformat()


async def _chain_head() -> tuple[int, str]:
    """This proof's sequence and its predecessor's hash; the head row stays locked until commit."""
    rows = await sql_fetch(
        "INSERT INTO proof_chain_head (id, last_sequence, last_hash) VALUES (1, 1, $1) "
        "ON CONFLICT (id) DO UPDATE SET last_sequence = proof_chain_head.last_sequence + 1 "
        "RETURNING last_sequence, last_hash",
        rules.GENESIS_HASH,
    )
    return rows[0]["last_sequence"], rows[0]["last_hash"]


async def sign(args: DeliverySignArgs, device_id: str | None, mutation_id: str | None, scope: Scope | None) -> dict[str, Any]:
    row = await _row(args.shipment, for_device=True, lock=True)
    if scope is not None and not rules.may_sign(scope, row["site"], row["ship_from"], row["route"]):
        raise _scope_refusal(row["code"])
    refusal = rules.sign_refusal(row["status"])
    if refusal is not None:
        raise _conflict(refusal, shipment=row["code"], shipment_status=row["status"])
    if not args.signature_png:
        raise refuse("signature_required", "The customer's signature is missing")
    signature = _decoded(args.signature_png, what="signature", magic=rules.PNG_MAGIC, limit=rules.SIGNATURE_MAX_BYTES)
    photo = _decoded(args.photo_jpeg, what="photo", magic=rules.JPEG_MAGIC, limit=rules.PHOTO_MAX_BYTES)
    lines = {line["line_no"]: line for line in await _lines(row["id"])}
    short: dict[int, int] = {}
    for index, shortfall in enumerate(args.shortfalls):
        if shortfall.line_no not in lines:
            raise refuse("unknown_shipment_line", f"Shipment {row['code']} has no line {shortfall.line_no}",
                         line_no=shortfall.line_no, index=index)
        short[shortfall.line_no] = short.get(shortfall.line_no, 0) + to_micro(shortfall.quantity)
        if short[shortfall.line_no] > lines[shortfall.line_no]["packed_quantity_micro"]:
            raise refuse("shortfall_exceeds_shipment",
                         f"Line {shortfall.line_no} carried {quantity_text(lines[shortfall.line_no]['packed_quantity_micro'])}",
                         line_no=shortfall.line_no, index=index)
    delivered = {no: line["packed_quantity_micro"] - short.get(no, 0) for no, line in lines.items()}
    sequence, previous_hash = await _chain_head()
    position = None
    if args.position is not None:
        position = {"lat": format(args.position.lat, "f"), "lon": format(args.position.lon, "f"),
                    "accuracy_m": format(args.position.accuracy_m, "f") if args.position.accuracy_m is not None else None}
    record = {
        "sequence": sequence, "shipment": row["code"], "sales_order": row["sales_order"], "signer_name": args.signer_name,
        "signed_at": _utc_text(args.signed_at), "recorded_at": _utc_text(_now()),
        "signature_sha256": rules.sha256_hex(signature), "photo_sha256": rules.sha256_hex(photo) if photo else None,
        "position": position,
        "shortfalls": sorted(({"line_no": s.line_no, "quantity": quantity_text(to_micro(s.quantity)), "reason": s.reason}
                              for s in args.shortfalls), key=lambda s: (s["line_no"], s["reason"], s["quantity"])),
        "delivered": [{"line_no": no, "item": lines[no]["item"], "quantity": quantity_text(delivered[no])} for no in sorted(lines)],
        "device_id": device_id, "previous_hash": previous_hash,
    }
    digest = rules.proof_hash(record)
    await ProofOfDelivery.insert(ProofOfDelivery(
        **{k: v for k, v in record.items() if k not in ("position", "shortfalls", "delivered")},
        position=json.dumps(position) if position is not None else None,
        shortfalls=json.dumps(record["shortfalls"]), delivered=json.dumps(record["delivered"]),
        signature_png=base64.b64encode(signature).decode(), photo_jpeg=base64.b64encode(photo).decode() if photo else None,
        mutation_id=mutation_id, hash=digest,
    ))
    await sql_execute("UPDATE proof_chain_head SET last_hash = $1 WHERE id = 1", digest)
    now = _now()
    for no, line in lines.items():
        await ShipmentLine.update({ShipmentLine.delivered_quantity_micro: delivered[no],
                                   ShipmentLine.shortfall_quantity_micro: short.get(no, 0)}).where(ShipmentLine.id == line["id"])
    await HandlingUnit.update({HandlingUnit.status: rules.UNIT_DELIVERED}).where(HandlingUnit.shipment == row["id"])
    await Shipment.update({Shipment.status: rules.DELIVERED, Shipment.delivered_at: now, Shipment.updated_at: now}).where(
        Shipment.id == row["id"])
    await release_reservations(RESERVATION_KIND, row["code"])
    order = await sales.book_delivery(row["sales_order"], {no: (delivered[no], short.get(no, 0)) for no in lines})
    await _publish(row, row["code"])
    _dock("deliver", row["code"], sales_order=row["sales_order"], status=rules.DELIVERED, sequence=sequence,
          shortfall=any(short.values()))
    return {"shipment": row["code"], "status": rules.DELIVERED, "proof": {"sequence": sequence, "hash": digest},
            "sales_order": order["sales_order"], "sales_order_status": order["status"],
            "shortfalls": [{"line_no": no, "quantity": quantity_text(q)} for no, q in sorted(short.items()) if q]}


# -- proofs ----------------------------------------------------------------------------------------------------------------
def _stored(row: dict[str, Any]) -> dict[str, Any]:
    """A proof row as the record that was hashed (JSON columns parsed back), plus its signature and photo bytes."""
    def raw(text: str | None) -> bytes:
        try:
            return base64.b64decode(text or "", validate=True)
        except (binascii.Error, ValueError):
            return b""

    return {**row, "position": json.loads(row["position"]) if row["position"] else None,
            "shortfalls": json.loads(row["shortfalls"] or "[]"), "delivered": json.loads(row["delivered"] or "[]"),
            "signature_bytes": raw(row["signature_png"]), "photo_bytes": raw(row["photo_jpeg"]) if row["photo_jpeg"] else None}


async def get_proof(shipment: str) -> ProofOut:
    row = await ProofOfDelivery.select().where(ProofOfDelivery.shipment == shipment).first()
    if row is None:
        raise not_found("proof_of_delivery", shipment)
    record = _stored(row)
    return ProofOut(**{k: record[k] for k in ProofOut.model_fields})


async def signature_png(shipment: str) -> bytes:
    row = await ProofOfDelivery.select(ProofOfDelivery.signature_png).where(ProofOfDelivery.shipment == shipment).first()
    if row is None:
        raise not_found("proof_of_delivery", shipment)
    return base64.b64decode(row["signature_png"] or "")


async def verify_chain(through_sequence: int | None = None) -> ChainVerification:
    """Recompute every proof's hash in sequence order (a page at a time) and report the first broken link."""
    checked, previous_hash, expected = 0, rules.GENESIS_HASH, 1
    while True:
        condition = ProofOfDelivery.sequence >= expected
        if through_sequence is not None:
            condition = condition & (ProofOfDelivery.sequence <= through_sequence)
        rows = await ProofOfDelivery.select().where(condition).order_by(ProofOfDelivery.sequence).limit(VERIFY_PAGE)
        if not rows:
            return await _missing_tail(checked, expected) if through_sequence is None else ChainVerification(ok=True, proofs=checked)
        broken = rules.first_break([_stored(r) for r in rows], previous_hash=previous_hash, expected_sequence=expected)
        if broken is not None:
            return ChainVerification(ok=False, proofs=checked + sum(1 for r in rows if r["sequence"] < broken.sequence),
                                     first_broken=ChainBreak(sequence=broken.sequence, shipment=broken.shipment, reason=broken.reason))
        checked += len(rows)
        previous_hash, expected = rows[-1]["hash"], rows[-1]["sequence"] + 1


async def _missing_tail(checked: int, expected: int) -> ChainVerification:
    """Proofs deleted from the end leave no gap behind them: the chain's head still counts them."""
    head = await ProofChainHead.select(ProofChainHead.last_sequence).where(ProofChainHead.id == 1).first()
    if head is not None and head["last_sequence"] >= expected:
        return ChainVerification(ok=False, proofs=checked,
                                 first_broken=ChainBreak(sequence=expected, shipment="", reason="sequence_gap"))
    return ChainVerification(ok=True, proofs=checked)
