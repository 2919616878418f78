"""The floor packs and loads (called by `commands.py` inside the push's transaction): `pack` picks stock into a
handling unit under an SSCC, `load` scans a unit onto a vehicle; both announced on the dock board."""

from __future__ import annotations

import json
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.shipping import ShipmentLoadArgs, ShipmentPackArgs
from server.db import sql_fetch
from server.documents import utc_now
from server.inventory.availability import (
    Bin, held_reservations, release_reservations, reservations_left, reserve, take_unreserved_only, usable_bins,
)
from server.inventory.lots import check_serials, take_serials, usable_lot
from server.inventory.stock import (
    AVAILABLE, check_decimals, check_lot, load_item, load_place, lock_stock_places, post,
)
from server.actors import Who
from server.errors import refuse
from server.quantities import quantity_text, to_micro
from server.labels.gs1 import Gs1Error, make_sscc, validate_sscc
from server.sales import service as sales
from server.settings import gs1_company_prefix_from_env, sscc_extension_digit_from_env
from server.shipping import rules
from server.shipping.rules import LineLeft, Refusal
from server.shipping.shipments import (
    RESERVATION_KIND,
    conflict,
    device_scope,
    dock,
    publish,
    scope_refusal,
    shipment_lines,
    shipment_row,
)
from server.shipping.tables import HandlingUnit, HandlingUnitContent, Shipment, ShipmentLine


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


async def _reserved_here(shipment: str, spread: list[tuple[int, int]]) -> list[Bin]:
    """The bins reserved for the lines a pick fills: this shipment's own promise, still stock to take first by FEFO
    (free bins, `usable_bins`, leave them out)."""
    held = [pick for line_no, _ in spread for pick in await held_reservations(RESERVATION_KIND, shipment, line_no)]
    return [Bin(p.location, p.lot, p.expiry, p.quantity_micro) for p in held if p.location]


async def pack(args: ShipmentPackArgs, who: Who) -> dict[str, Any]:
    # The places picked from, first, before the shipment (server/inventory/stock.py).
    await lock_stock_places([(content.item, content.location) for content in args.contents])
    scope = device_scope(who)
    row = await shipment_row(args.shipment, for_device=True, lock=True)
    if scope is not None and not rules.may_handle(scope, row["site"], row["ship_from"], row["route"]):
        raise scope_refusal(row["code"])
    refusal = rules.pack_refusal(row["status"])
    if refusal is not None:
        raise conflict(refusal, shipment=row["code"], shipment_status=row["status"])
    lines = await shipment_lines(row["id"])
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
        usable = await usable_bins(item["code"], warehouse=row["ship_from"]) + await _reserved_here(row["code"], spread)
        deviation = rules.is_fefo_deviation(lot, lot_row["expiry"] if lot_row else None, usable)
        # Units promised to another shipment stay for it (the place is locked).
        await take_unreserved_only(item["code"], place.code, lot, quantity_micro, for_order=(RESERVATION_KIND, row["code"]))
        await take_serials(item["code"], lot, serials, place.code, to_location=None, status="shipped")
        await post(item["code"], place, lot, AVAILABLE, -quantity_micro, "pick", who, note=f"{row['code']} SSCC {sscc}")
        for (line_no, portion), portion_serials in zip(spread, rules.share_serials(serials, spread)):
            left[line_no] = LineLeft(line_no, item["code"], left[line_no].left_micro - portion)
            packed.append({"line_no": line_no, "item": item["code"], "lot": lot, "location": place.code,
                           "quantity_micro": portion, "serials": portion_serials, "fefo_deviation": deviation})
    now = utc_now()
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
            # What is packed has left stock: only what is still to pack stays reserved, in the bins it was.
            used = [(p["location"], p["lot"], p["quantity_micro"]) for p in packed if p["line_no"] == line["line_no"]]
            kept = reservations_left(await held_reservations(RESERVATION_KIND, row["code"], line["line_no"]), used,
                                     left[line["line_no"]].left_micro)
            await release_reservations(RESERVATION_KIND, row["code"], line["line_no"])
            for pick in kept:
                await reserve(line["item"], pick.quantity_micro, RESERVATION_KIND, row["code"], line["line_no"],
                              location=pick.location, lot=pick.lot)
    status = rules.status_after_pack((l["quantity_micro"], l["quantity_micro"] - left[l["line_no"]].left_micro) for l in lines)
    await Shipment.update({Shipment.status: status, Shipment.updated_at: now}).where(Shipment.id == row["id"])
    await publish(row, row["code"])
    deviation = any(p["fefo_deviation"] for p in packed)
    dock("pack", row["code"], sscc=sscc, status=status, fefo_deviation=deviation)
    return {
        "shipment": row["code"], "sscc": sscc, "status": status, "fefo_deviation": deviation,
        "contents": [{"line_no": p["line_no"], "item": p["item"], "lot": p["lot"] or None, "location": p["location"],
                      "quantity": quantity_text(p["quantity_micro"]), "fefo_deviation": p["fefo_deviation"]} for p in packed],
    }


async def load(args: ShipmentLoadArgs, who: Who) -> dict[str, Any]:
    scope = device_scope(who)
    row = await shipment_row(args.shipment, for_device=True, lock=True)
    route = args.route or row["route"]
    if scope is not None and not rules.may_handle(scope, row["site"], row["ship_from"], route):
        raise scope_refusal(row["code"])  # before anything of the shipment or its units is told
    refusal = rules.load_refusal(row["status"])
    if refusal is not None:
        raise conflict(refusal, shipment=row["code"], shipment_status=row["status"])
    unit = await HandlingUnit.select().where(HandlingUnit.sscc == args.sscc).first()
    if unit is None:
        raise refuse("unknown_handling_unit", f"No handling unit with SSCC {args.sscc}", sscc=args.sscc)
    if unit["shipment"] != row["id"]:
        raise refuse("wrong_shipment", f"Handling unit {args.sscc} belongs to another shipment", HTTP_409_CONFLICT,
                     sscc=args.sscc, shipment=row["code"])
    if unit["status"] != rules.UNIT_PACKED:
        raise refuse("already_loaded", f"Handling unit {args.sscc} is already loaded", HTTP_409_CONFLICT, sscc=args.sscc,
                     vehicle=unit["vehicle"])
    if not route:
        raise refuse("route_required", f"Shipment {row['code']} has no route: scan or choose one", shipment=row["code"])
    now = utc_now()
    await HandlingUnit.update({HandlingUnit.status: rules.UNIT_LOADED, HandlingUnit.vehicle: args.vehicle,
                               HandlingUnit.loaded_at: now}).where(HandlingUnit.id == unit["id"])
    statuses = [u["status"] for u in await HandlingUnit.select(HandlingUnit.status).where(HandlingUnit.shipment == row["id"])]
    status = rules.status_after_load(statuses, row["status"])
    columns: dict[Any, Any] = {Shipment.status: status, Shipment.route: route, Shipment.vehicle: args.vehicle,
                               Shipment.updated_at: now}
    if status == rules.LOADED:
        columns[Shipment.loaded_at] = now
    await Shipment.update(columns).where(Shipment.id == row["id"])
    await publish(row, row["code"])
    await sales.refresh_progress(row["sales_order"])
    loaded = sum(1 for s in statuses if s == rules.UNIT_LOADED)
    dock("load", row["code"], sscc=args.sscc, vehicle=args.vehicle, route=route, status=status)
    return {"shipment": row["code"], "sscc": args.sscc, "vehicle": args.vehicle, "route": route, "status": status,
            "units_loaded": loaded, "units_total": len(statuses)}
