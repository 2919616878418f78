"""The office plans shipments: one from approved sales order lines (stock reserved, a FEFO pick list made), its
cancellation while nothing is packed, another route, fitting open shipments to a changed sales order line, and
re-planning a short shipment's pick list once stock has become free.

The pick list is the reservation: each pick reserves its bin's units, and what no free bin covers is a `missing` row
(the shipment is short there, and the order's tracking shows it so). Planning locks the item's places in the
warehouse first, so two shipments planned at once for the last units never both get them. A count that finds less
in a bin than was reserved there cuts the reservation (server/inventory/availability.py) and the line's pick rows
follow (`reservations_cut`): the units are missing, the shipment short, until a re-plan finds free stock."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.shipping import ShipmentIn, ShipmentOut
from server.actors import Who
from server.db import needs_write
from server.documents import audit_change, utc_now
from server.errors import ApiError
from server.inventory.availability import (
    Bin, Pick, add_reservations, fefo_take, held_reservations, lock_item_places, release_reservations, reservable_bins,
    reservations_left, reserve,
)
from server.inventory.stock import check_decimals, load_item
from server.errors import refuse
from server.i18n import Message
from server.quantities import quantity_text, to_micro
from server.masterdata.tables import Warehouse
from server.sales import rules as sales_rules
from server.sales import service as sales
from server.shipping import rules
from server.shipping.rules import CarriedLine, Refusal
from server.shipping.shipments import (
    ENTITY,
    RESERVATION_KIND,
    SHIPMENTS,
    conflict,
    dock,
    publish,
    shipment_lines,
    shipment_out,
    shipment_row,
)
from server.shipping.tables import HandlingUnit, Shipment, ShipmentLine


async def _carried_elsewhere(sales_order: str) -> dict[int, int]:
    """Per sales order line, what open shipments already carry (delivered ones count as shipped on the order)."""
    rows = await ShipmentLine.select(ShipmentLine.line_no, ShipmentLine.quantity_micro).where(
        ShipmentLine.shipment.is_in(
            Shipment.select(Shipment.id).where((Shipment.sales_order == sales_order) & Shipment.status.is_in(list(rules.OPEN)))
        )
    )
    return rules.carried_per_line((row["line_no"], row["quantity_micro"]) for row in rows)


def _problem(code: str, field: str, message: str, **details: Any) -> ApiError:
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, code, f"{field}: {message}", {"field": field, **details})


async def _reserve_pick_list(rows: list[dict[str, Any]], shipment: str) -> None:
    """Each pick of a pick list reserves its bin's units for the shipment's line; a `missing` row reserves nothing."""
    for row in rows:
        if not row["missing"]:
            await reserve(row["item"], to_micro(Decimal(row["quantity"])), RESERVATION_KIND, shipment, row["line_no"],
                          location=row["location"], lot=row["lot"] or "")


async def _lock_places_to_pick(data: ShipmentIn) -> None:
    """The stock places of the order's items in the warehouse, first of all (server/inventory/stock.py): bins are
    only read as free, and reserved, under their lock."""
    row = await sales.SALES_ORDERS.find(data.sales_order)
    if row is None:
        return
    lines = (await sales.SALES_ORDERS.lines_of([row["id"]]))[row["id"]]
    wanted = {line.line_no for line in data.lines}
    await lock_item_places((line["item"] for line in lines if line["line_no"] in wanted), data.ship_from)


@needs_write
async def create_shipment(data: ShipmentIn, who: Who) -> ShipmentOut:
    await _lock_places_to_pick(data)
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
    carried = await _carried_elsewhere(data.sales_order)
    seen: set[int] = set()
    for index, line in enumerate(data.lines):
        field = f"lines[{index}]"
        refusal = rules.plan_line_refusal(line.line_no, seen, by_line, data.sales_order)
        if refusal is not None:
            raise _problem(refusal.code, f"{field}.line_no", refusal.message, **refusal.details)
        seen.add(line.line_no)
        so_line = by_line[line.line_no]
        check_decimals(await load_item(so_line["item"]), line.quantity)
        refusal = rules.over_open_refusal(line.line_no, to_micro(line.quantity),
                                          sales_rules.open_micro(sales.line_progress(so_line)), carried.get(line.line_no, 0))
        if refusal is not None:
            raise _problem(refusal.code, f"{field}.quantity", refusal.message, **refusal.details)
    now = utc_now()
    code = await SHIPMENTS.next_code(now.year)
    bins: dict[str, list[Bin]] = {}
    pick_list: list[dict[str, Any]] = []
    for line in data.lines:
        item = by_line[line.line_no]["item"]
        if item not in bins:
            bins[item] = await reservable_bins(item, data.ship_from)
        picks, bins[item] = rules.pick_list(line.line_no, item, bins[item], to_micro(line.quantity))
        pick_list += picks
    inserted = await Shipment.insert(Shipment(
        code=code, sales_order=data.sales_order, site=order["site"], ship_from=data.ship_from, route=data.route,
        status=rules.PLANNED, pick_list=json.dumps(pick_list), created_by=who.name, created_at=now, updated_at=now,
    )).returning(Shipment.id)
    await ShipmentLine.insert(*[
        ShipmentLine(shipment=inserted[0]["id"], line_no=line.line_no, item=by_line[line.line_no]["item"],
                     quantity_micro=to_micro(line.quantity), packed_quantity_micro=0, delivered_quantity_micro=0,
                     shortfall_quantity_micro=0)
        for line in data.lines
    ])
    await _reserve_pick_list(pick_list, code)
    created = await publish(None, code)
    await sales.refresh_progress(data.sales_order)
    await audit_change(who, "create", ENTITY, code, None, created)
    dock("planned", code, sales_order=data.sales_order, status=created.status)
    return created


@needs_write
async def cancel_shipment(code: str, who: Who, reason: str = "") -> ShipmentOut:
    row = await shipment_row(code, lock=True)
    units = await HandlingUnit.count().where(HandlingUnit.shipment == row["id"])
    refusal = rules.cancel_refusal(row["status"], units)
    if refusal is not None:
        raise conflict(refusal, shipment=code, shipment_status=row["status"])
    before = await shipment_out(row)
    await Shipment.update({Shipment.status: rules.CANCELLED, Shipment.updated_at: utc_now()}).where(Shipment.id == row["id"])
    await release_reservations(RESERVATION_KIND, code)
    after = await publish(row, code)
    await sales.refresh_progress(row["sales_order"])
    await audit_change(who, "cancel", ENTITY, code, before, after, reason)
    return after


async def fit_to_order_line(sales_order: str, line_no: int, open_micro: int, *, substituted: bool,
                            who: Who, reason: str) -> list[dict[str, Any]]:
    """A sales order line changed (inside the caller's transaction): its open shipments may carry no more than the
    line still owes (`open_micro`), and nothing at all once its product was substituted. What is not packed yet is
    taken off the newest shipments first (`rules.cuts_to_fit`): the line shrinks (its pick list and reservation with
    it), leaves the shipment, or the shipment is cancelled when nothing is left on it. What is packed or loaded cannot
    be taken off here: that is reported as `blocked_packed`. Returns what happened, one entry per shipment touched."""
    shipments = await Shipment.select().where(
        (Shipment.sales_order == sales_order) & Shipment.status.is_in(list(rules.OPEN))).order_by(Shipment.id, ascending=False)
    lines = {row["shipment"]: row for row in await ShipmentLine.select().where(
        ShipmentLine.shipment.is_in([s["id"] for s in shipments]) & (ShipmentLine.line_no == line_no))} if shipments else {}
    by_code = {s["code"]: (s, lines[s["id"]]) for s in shipments if s["id"] in lines}
    cuts, excess = rules.cuts_to_fit(
        [CarriedLine(code, line["quantity_micro"], line["packed_quantity_micro"]) for code, (_, line) in by_code.items()],
        0 if substituted else open_micro)
    impacts: list[dict[str, Any]] = []
    for cut in cuts:
        shipment, line = by_code[cut.shipment]
        left = cut.left_micro
        before = dict(shipment)
        to_pick = max(0, left - line["packed_quantity_micro"])
        kept = reservations_left(await held_reservations(RESERVATION_KIND, shipment["code"], line_no), [], to_pick)
        await release_reservations(RESERVATION_KIND, shipment["code"], line_no)
        picks = [p for p in json.loads(shipment["pick_list"]) if p["line_no"] != line_no]
        if left:
            await ShipmentLine.update({ShipmentLine.quantity_micro: left}).where(ShipmentLine.id == line["id"])
            fresh = rules.pick_rows(line_no, line["item"], kept, to_pick - sum(pick.quantity_micro for pick in kept))
            await _reserve_pick_list(fresh, shipment["code"])
            picks += fresh
        else:
            await ShipmentLine.delete().where(ShipmentLine.id == line["id"])
        remaining = await ShipmentLine.count().where(ShipmentLine.shipment == shipment["id"])
        columns: dict[Any, Any] = {Shipment.pick_list: json.dumps(picks), Shipment.updated_at: utc_now()}
        if not remaining:
            columns[Shipment.status] = rules.CANCELLED
        await Shipment.update(columns).where(Shipment.id == shipment["id"])
        after = await publish(before, shipment["code"])
        await audit_change(who, "fit_to_order", ENTITY, shipment["code"], None, after, reason)
        impacts.append({"kind": "shipment", "key": shipment["code"], "line_no": line_no, "effect": rules.cut_effect(left, remaining),
                        "details": {"from": quantity_text(line["quantity_micro"]), "to": quantity_text(left)}})
    if excess > 0:
        packed = [s["code"] for s in shipments if lines.get(s["id"]) and lines[s["id"]]["packed_quantity_micro"]]
        impacts.append({"kind": "shipment", "key": ", ".join(packed), "line_no": line_no, "effect": "blocked_packed",
                        "details": {"over_by": quantity_text(excess)}})
    return impacts


@needs_write
async def move_route(code: str, route: str, who: Who) -> ShipmentOut:
    """Another route: the old route's devices get a delete, the new one's the shipment."""
    row = await shipment_row(code, lock=True)
    if row["status"] not in rules.OPEN:
        raise conflict(rules.pack_refusal(row["status"]) or Refusal("shipment_closed", "The shipment is closed"),
                       shipment=code, shipment_status=row["status"])
    before = await shipment_out(row)
    await Shipment.update({Shipment.route: route, Shipment.updated_at: utc_now()}).where(Shipment.id == row["id"])
    after = await publish(row, code)
    await audit_change(who, "route", ENTITY, code, before, after)
    return after


def _to_pick(line: dict[str, Any]) -> int:
    """What a shipment line still has to pick: ordered less packed."""
    return line["quantity_micro"] - line["packed_quantity_micro"]


def _rows_as_held(rows: list[dict[str, Any]], line: dict[str, Any], held: list[Pick]) -> list[dict[str, Any]]:
    """The pick list with a line's rows as its reservations now stand: what it holds, and the rest missing."""
    return rules.with_line_rows(rows, line["line_no"], rules.line_pick_rows(line["line_no"], line["item"], held,
                                                                             _to_pick(line)))


async def _save_pick_list(row: dict[str, Any], rows: list[dict[str, Any]]) -> ShipmentOut:
    """A changed pick list onto the shipment, its devices and its order's progress."""
    await Shipment.update({Shipment.pick_list: json.dumps(rows), Shipment.updated_at: utc_now()}).where(Shipment.id == row["id"])
    after = await publish(row, row["code"])
    await sales.refresh_progress(row["sales_order"])
    return after


@needs_write
async def replan_shipment(code: str, who: Who) -> ShipmentOut:
    """Plan a short shipment's pick list again: each line it is short of reserves, first expiry first out, what has
    become free in its warehouse since (a receipt, a production report, a move, a count), and its rows say what it
    holds and what is still missing. Refused while nothing more is free (`no_free_stock`), so the shipment is never
    touched for nothing; a shipment short of nothing is `shipment_not_short`."""
    seen = await shipment_row(code)
    await lock_item_places((line["item"] for line in await shipment_lines(seen["id"])), seen["ship_from"])
    row = await shipment_row(code, lock=True)
    rows = json.loads(row["pick_list"] or "[]")
    short = sorted(rules.missing_by_line(rows))
    refusal = rules.replan_refusal(row["status"], short)
    if refusal is not None:
        raise conflict(refusal, shipment=code, shipment_status=row["status"])
    before = await shipment_out(row)
    lines = {line["line_no"]: line for line in await shipment_lines(row["id"])}
    bins: dict[str, list[Bin]] = {}
    picks, reserved_now = rows, 0
    for line_no in (no for no in short if no in lines):
        line = lines[line_no]
        held = await held_reservations(RESERVATION_KIND, code, line_no)
        wanted = _to_pick(line) - sum(pick.quantity_micro for pick in held)
        if wanted > 0:
            if line["item"] not in bins:
                bins[line["item"]] = await reservable_bins(line["item"], row["ship_from"])
            more, _ = fefo_take(bins[line["item"]], wanted)
            bins[line["item"]] = rules.bins_left(bins[line["item"]], more)
            await add_reservations(more, line["item"], RESERVATION_KIND, code, line_no)
            held, reserved_now = held + more, reserved_now + sum(pick.quantity_micro for pick in more)
        picks = _rows_as_held(picks, line, held)
    missing = sum(rules.missing_by_line(rows).values())
    if not reserved_now and sum(rules.missing_by_line(picks).values()) >= missing:
        items = sorted({lines[no]["item"] for no in short if no in lines})
        raise conflict(Refusal("no_free_stock", f"Still no free stock of {', '.join(items)} in {row['ship_from']}: "
                               f"the shipment stays short of {quantity_text(missing)}"),
                       shipment=code, warehouse=row["ship_from"], items=items, missing=quantity_text(missing))
    after = await _save_pick_list(row, picks)
    await audit_change(who, "replan", ENTITY, code, before, after)
    return after


async def reservations_cut(code: str, line_nos: set[int]) -> None:
    """A count found less in a bin than this shipment had reserved there, and the reservation gave way (inside the
    count's transaction, its place locked first): the lines' pick rows are rebuilt from what they still hold, the rest
    `missing`, so the shipment and its order's tracking show it short and its devices get the new pick list."""
    row = await shipment_row(code, lock=True)
    lines = {line["line_no"]: line for line in await shipment_lines(row["id"])}
    picks = json.loads(row["pick_list"] or "[]")
    for line_no in sorted(line_nos & set(lines)):
        picks = _rows_as_held(picks, lines[line_no], await held_reservations(RESERVATION_KIND, code, line_no))
    await _save_pick_list(row, picks)
    dock("short", code, sales_order=row["sales_order"], lines=sorted(line_nos))


async def reservations_moved(code: str, line_nos: set[int], to_warehouse: str) -> None:
    """A move carried units this shipment had reserved to another bin, and their reservation with them (inside the
    move's transaction, its places locked first): the lines' pick rows follow the reservations, so the pickers'
    devices and the order's tracking point at the new bin. A shipment is picked in its own warehouse: a bin of
    another one is refused (`wrong_warehouse`) and the move with it."""
    row = await shipment_row(code, lock=True)
    if to_warehouse != row["ship_from"]:
        figures = {"shipment": code, "warehouse": row["ship_from"], "to_warehouse": to_warehouse}
        raise ApiError(HTTP_409_CONFLICT, "wrong_warehouse",
                       f"Shipment {code} is picked in warehouse {row['ship_from']}, not {to_warehouse}", figures,
                       Message("refusal.shipment_picked_elsewhere", figures))
    lines = {line["line_no"]: line for line in await shipment_lines(row["id"])}
    picks = json.loads(row["pick_list"] or "[]")
    for line_no in sorted(line_nos & set(lines)):
        picks = _rows_as_held(picks, lines[line_no], await held_reservations(RESERVATION_KIND, code, line_no))
    await _save_pick_list(row, picks)
    dock("moved", code, sales_order=row["sales_order"], lines=sorted(line_nos))
