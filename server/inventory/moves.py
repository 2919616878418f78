"""Moves and counts: the one place they happen, for a device's `stock.move` / `stock.count` and an office user
alike (each inside the caller's transaction, whose first wait is for the places it changes: see stock.py).

Reserved units stay where their order's pick list points: a move takes only the part of a bin no reservation
holds (`reserved_for_order` otherwise), unless it names the order whose units it moves (`for_order`): then their
reservation moves with them and the order's pick list follows (availability.py `carry_reservations`). A count is a fact and is never refused for them: when it finds less than
is reserved in the bin, the latest reservations there give way and their orders are told they are short."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from server.db import defer_insert
from server.inventory.availability import carry_reservations, shorten_reservations_to, take_unreserved_only
from server.inventory.lots import check_serials, ensure_lot, take_serials, usable_lot
from server.inventory.stock import (
    AVAILABLE, COUNT_COLUMNS, audit_office_booking, check_decimals, check_lot, load_item, load_place, lock_stock_places,
    on_hand_micro, post,
)
from server.actors import Who
from server.errors import refuse
from server.quantities import quantity_text, to_micro


async def move_stock(item_code: str, lot: str | None, from_code: str, to_code: str, quantity: Decimal, who: Who,
                     serials: list[str] | None = None, for_order: str | None = None) -> dict[str, Any]:
    if from_code == to_code:
        raise refuse("same_location", "From and to are the same location", location=from_code)
    await lock_stock_places([(item_code, from_code), (item_code, to_code)])
    item = await load_item(item_code)
    lot_code = check_lot(item, lot)
    check_decimals(item, quantity)
    moved = to_micro(quantity)
    serials = check_serials(item, serials, moved)
    await usable_lot(item, lot_code, allow_expired=True)  # an expired lot may still go to the scrap bin
    source, target = await load_place(from_code, who), await load_place(to_code, who)
    carried = None
    if for_order:
        carried = await carry_reservations(item_code, from_code, to_code, target.warehouse, lot_code, moved, for_order)
    await take_unreserved_only(item_code, from_code, lot_code, moved)
    left = await post(item_code, source, lot_code, AVAILABLE, -moved, "move", who)
    now = await post(item_code, target, lot_code, AVAILABLE, moved, "move", who)
    await take_serials(item_code, lot_code, serials, from_code, to_location=to_code, status="in_stock")
    effect: dict[str, Any] = {"from_quantity": quantity_text(left), "to_quantity": quantity_text(now)}
    if carried is not None:
        effect["carried"] = carried
    await audit_office_booking(who, "move", item_code, {"lot": lot_code or None, "from_location": from_code,
                                                        "to_location": to_code, "quantity": format(quantity, "f"), **effect})
    return effect


async def count_stock(item_code: str, lot: str | None, location_code: str, counted: Decimal, reason: str | None, who: Who) -> dict[str, Any]:
    await lock_stock_places([(item_code, location_code)])
    item = await load_item(item_code)
    lot_code = check_lot(item, lot)
    check_decimals(item, counted)
    place = await load_place(location_code, who)
    if lot_code:
        await ensure_lot(item, lot_code, source="count")  # a count may find a lot nobody booked in
    expected = await on_hand_micro(item_code, location_code, lot_code)
    counted_micro = to_micro(counted)
    if counted_micro != expected:
        await post(item_code, place, lot_code, AVAILABLE, counted_micro - expected, "count", who, note=reason or "")
    defer_insert("stock_count", COUNT_COLUMNS, (
        datetime.now(timezone.utc), item_code, location_code, lot_code, counted_micro, expected, reason or "",
        who.mutation_id, who.device_id,
    ))
    effect = {"expected": quantity_text(expected), "counted": quantity_text(counted_micro),
              "adjustment": quantity_text(counted_micro - expected)}
    if counted_micro < expected:
        cut = await shorten_reservations_to(item_code, location_code, lot_code, counted_micro)
        if cut:
            effect["reservations_cut"] = cut
    await audit_office_booking(who, "count", item_code, {"lot": lot_code or None, "location": location_code,
                                                         "reason": reason or "", **effect})
    return effect
