"""What stock can be used for: FEFO pick suggestions, reservations against orders, available-to-promise, and
the alerts a planner and a warehouse lead watch (below safety stock, lots expiring or expired).

Pure decisions (`fefo_take`) are separated from the reads that feed them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from server.db import sql_execute, sql_read
from server.inventory.lots import today
from server.inventory.stock import AVAILABLE
from server.quantities import quantity_text, to_micro


@dataclass(frozen=True)
class Bin:
    location: str
    lot: str
    expiry: date | None
    quantity_micro: int


@dataclass(frozen=True)
class Pick:
    location: str
    lot: str
    expiry: date | None
    quantity_micro: int


def fefo_take(bins: list[Bin], wanted_micro: int) -> tuple[list[Pick], int]:
    """First expiry, first out: the bins in the order to empty them (earliest expiry first, no expiry last, then
    by lot and location), taken until the quantity is covered. Returns the picks and what is still missing."""
    ordered = sorted(bins, key=lambda b: (b.expiry is None, b.expiry or date.max, b.lot, b.location))
    picks: list[Pick] = []
    missing = wanted_micro
    for bin_ in ordered:
        if missing <= 0:
            break
        take = min(bin_.quantity_micro, missing)
        if take > 0:
            picks.append(Pick(bin_.location, bin_.lot, bin_.expiry, take))
            missing -= take
    return picks, max(missing, 0)


async def usable_bins(item: str, *, warehouse: str | None = None, site: str | None = None, on: date | None = None) -> list[Bin]:
    """Available stock of an item that has not expired, with each lot's expiry."""
    args: list[Any] = [item, AVAILABLE, on or today()]
    where = ""
    if warehouse:
        args.append(warehouse)
        where += f" AND loc.warehouse = ${len(args)}"
    if site:
        args.append(site)
        where += f" AND w.site = ${len(args)}"
    rows = await sql_read(
        "SELECT s.location, s.lot, s.quantity_micro, l.expiry FROM stock_on_hand s "
        "JOIN location loc ON loc.code = s.location JOIN warehouse w ON w.code = loc.warehouse "
        "LEFT JOIN lot l ON l.item = s.item AND l.code = s.lot "
        "WHERE s.item = $1 AND s.status = $2 AND s.quantity_micro > 0 AND (l.expiry IS NULL OR l.expiry >= $3)" + where,
        *args,
    )
    return [Bin(r["location"], r["lot"], r["expiry"], r["quantity_micro"]) for r in rows]


async def fefo_suggestion(item: str, quantity: Decimal, *, warehouse: str | None = None, site: str | None = None) -> dict[str, Any]:
    picks, missing = fefo_take(await usable_bins(item, warehouse=warehouse, site=site), to_micro(quantity))
    return {
        "item": item,
        "picks": [{"location": p.location, "lot": p.lot or None, "expiry": p.expiry.isoformat() if p.expiry else None,
                   "quantity": quantity_text(p.quantity_micro)} for p in picks],
        "missing": quantity_text(missing),
    }


# -- reservations ----------------------------------------------------------------------------------------------
async def reserve(item: str, quantity_micro: int, order_kind: str, order_code: str, line_no: int = 0) -> None:
    """Promise stock to an order line (inside the caller's write transaction)."""
    await sql_execute(
        "INSERT INTO stock_reservation (item, quantity_micro, order_kind, order_code, line_no, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6)",
        item, quantity_micro, order_kind, order_code, line_no, datetime.now(timezone.utc),
    )


async def release_reservations(order_kind: str, order_code: str, line_no: int | None = None) -> None:
    args: list[Any] = [datetime.now(timezone.utc), order_kind, order_code]
    line = ""
    if line_no is not None:
        args.append(line_no)
        line = " AND line_no = $4"
    await sql_execute(
        "UPDATE stock_reservation SET released_at = $1 WHERE order_kind = $2 AND order_code = $3 AND released_at IS NULL" + line,
        *args,
    )


async def available_to_promise(item: str) -> dict[str, str]:
    on_hand = await sql_read(
        "SELECT COALESCE(SUM(quantity_micro), 0) AS q FROM stock_on_hand WHERE item = $1 AND status = $2", item, AVAILABLE)
    reserved = await sql_read(
        "SELECT COALESCE(SUM(quantity_micro), 0) AS q FROM stock_reservation WHERE item = $1 AND released_at IS NULL", item)
    available, promised = int(on_hand[0]["q"]), int(reserved[0]["q"])
    return {"item": item, "on_hand": quantity_text(available), "reserved": quantity_text(promised),
            "available_to_promise": quantity_text(available - promised)}


# -- alerts ------------------------------------------------------------------------------------------------------
async def stock_alerts(expiring_within_days: int) -> dict[str, list[dict[str, Any]]]:
    """Items whose available stock is below their safety stock; lots in stock that expire within the window, or
    already have."""
    below = await sql_read(
        "SELECT i.code, i.name, i.safety_stock, COALESCE(SUM(s.quantity_micro), 0) AS on_hand FROM item i "
        "LEFT JOIN stock_on_hand s ON s.item = i.code AND s.status = $1 "
        "WHERE i.archived = $2 AND i.safety_stock > 0 GROUP BY i.code, i.name, i.safety_stock ORDER BY i.code",
        AVAILABLE, False,
    )
    now = today()
    lots = await sql_read(
        "SELECT l.item, l.code, l.expiry, SUM(s.quantity_micro) AS on_hand FROM lot l "
        "JOIN stock_on_hand s ON s.item = l.item AND s.lot = l.code "
        "WHERE l.expiry IS NOT NULL AND l.expiry <= $1 GROUP BY l.item, l.code, l.expiry HAVING SUM(s.quantity_micro) > 0 "
        "ORDER BY l.expiry, l.item, l.code",
        now + timedelta(days=expiring_within_days),
    )
    return {
        "below_safety_stock": [
            {"item": r["code"], "name": r["name"], "safety_stock": format(Decimal(r["safety_stock"]).normalize(), "f"),
             "on_hand": quantity_text(int(r["on_hand"]))}
            for r in below if int(r["on_hand"]) < to_micro(Decimal(r["safety_stock"]))
        ],
        "expiring": [_lot_alert(r) for r in lots if r["expiry"] >= now],
        "expired": [_lot_alert(r) for r in lots if r["expiry"] < now],
    }


def _lot_alert(row: dict[str, Any]) -> dict[str, Any]:
    return {"item": row["item"], "lot": row["code"], "expiry": row["expiry"].isoformat(), "on_hand": quantity_text(int(row["on_hand"]))}
