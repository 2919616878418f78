"""Goods receipt against a purchase order line: `receipt.receive` from a tablet, or the same at a desk.

One receipt, in the caller's transaction: the scanned item must be the line's item and the location in the PO's
receiving site; the lot (with its expiry, from the supplier's label or the item's shelf life) is registered; the
PO line's progress moves on within the over-receipt tolerance (purchasing decides: `book_receipt_on_line`); the
stock comes in as `hold` when the item needs inspection (quality releases it) and `available` otherwise; serials
are registered for serial-tracked items; a receipt row keeps what happened.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT

from schemas.inventory import ReceiptArgs
from server.db import json_text, sql_execute, sql_fetch
from server.inventory.lots import HOLD, check_serials, ensure_lot, register_serials, today
from server.inventory.stock import (
    AVAILABLE, audit_office_booking, check_decimals, check_lot, load_item, load_place, lock_stock_places, post,
)
from server.actors import Who
from server.errors import refuse
from server.quantities import quantity_text, to_micro
from server.purchasing.service import book_receipt_on_line


async def _po_line(code: str, line_no: int, who: Who) -> dict[str, Any]:
    """The PO line a receipt names: the PO exists and is received at the device's site, and has the line."""
    rows = await sql_fetch(
        "SELECT po.site, po.supplier, po.status, l.item FROM purchase_order po "
        "LEFT JOIN purchase_order_line l ON l.purchase_order = po.id AND l.line_no = $2 WHERE po.code = $1",
        code, line_no,
    )
    if not rows:
        raise refuse("unknown_purchase_order", f"No purchase order {code!r}", HTTP_404_NOT_FOUND, purchase_order=code)
    if who.allowed_site is not None and rows[0]["site"] != who.allowed_site:
        raise refuse("out_of_scope", f"Purchase order {code!r} is received at another site", HTTP_409_CONFLICT,
                     purchase_order=code)
    if rows[0]["item"] is None:
        raise refuse("unknown_po_line", f"Purchase order {code!r} has no line {line_no}", purchase_order=code, line_no=line_no)
    return rows[0]


async def receive(args: ReceiptArgs, who: Who) -> dict[str, Any]:
    await lock_stock_places([(args.item, args.location)])  # first, before the PO line (server/inventory/stock.py)
    item = await load_item(args.item)
    line = await _po_line(args.purchase_order, args.line_no, who)
    if line["item"] != item["code"]:
        raise refuse("wrong_item", f"Line {args.line_no} of {args.purchase_order!r} is for {line['item']!r}, not {item['code']!r}",
                     purchase_order=args.purchase_order, line_no=args.line_no, expected=line["item"], scanned=item["code"])
    lot_code = check_lot(item, args.lot)
    check_decimals(item, args.quantity)
    quantity_micro = to_micro(args.quantity)
    serials = check_serials(item, args.serials, quantity_micro)
    place = await load_place(args.location, who)
    if place.site != line["site"]:
        raise refuse("wrong_location", f"{args.location!r} is not at {line['site']!r}, where {args.purchase_order!r} is received",
                     location=args.location, site=line["site"])
    expiry = args.expiry
    if expiry is None and lot_code and item["shelf_life_days"]:
        expiry = today() + timedelta(days=item["shelf_life_days"])
    if expiry is not None and expiry < today():
        raise refuse("lot_expired", f"Lot {lot_code!r} expired on {expiry}: do not receive it", item=item["code"], lot=lot_code,
                     expiry=expiry.isoformat())
    if lot_code:
        await ensure_lot(item, lot_code, source="receipt", expiry=expiry, supplier=line["supplier"],
                         supplier_lot=args.supplier_lot or "")
    progress = await book_receipt_on_line(args.purchase_order, args.line_no, args.quantity, who)
    status = HOLD if item["inspection_required"] else AVAILABLE
    on_hand = await post(item["code"], place, lot_code, status, quantity_micro, "receipt", who,
                         note=f"{args.purchase_order}/{args.line_no}")
    await register_serials(item["code"], lot_code, serials, place.code)
    rows = await sql_fetch(
        "INSERT INTO receipt (code, purchase_order, line_no, item, lot, location, quantity_micro, status, serials, mutation_id, "
        "device_id, username, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        f"new-{uuid.uuid4().hex}", args.purchase_order, args.line_no, item["code"],
        lot_code, place.code, quantity_micro, status, json_text(serials), who.mutation_id, who.device_id, who.username,
        who.event_time or datetime.now(timezone.utc),
    )
    code = f"RCV-{rows[0]['id']:06d}"
    await sql_execute("UPDATE receipt SET code = $1 WHERE id = $2", code, rows[0]["id"])  # numbered by its row id
    effect = {"receipt": code, "status": status, "on_hand": quantity_text(on_hand), "lot": lot_code or None,
              "expiry": expiry.isoformat() if expiry else None, **progress}
    await audit_office_booking(who, "receive", item["code"], {**effect, "location": place.code,
                                                              "quantity": format(args.quantity, "f")})
    return effect
