"""Lots, serial numbers and stock status: what a receipt, a production report or a quality decision does to
stock beyond its quantity. Each function runs inside the caller's write transaction (see stock.py).

- A lot is one per item and code, with its expiry; devices get every lot (entity `lot`) so a tablet can refuse
  an expired lot offline. A lot seen again must agree with its expiry (`lot_expiry_mismatch`).
- A serial-tracked item counts in whole units and names every unit: a receipt registers serials at a place,
  a move or issue names the serials it takes (as many as the quantity), each of which must be in stock there.
- Status (`available`, `hold`, `quarantine`) is part of the on-hand key: a hold is a move between statuses at
  the same place, so the ledger shows when and why stock was held and released.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from server.db import sql_execute, sql_executemany, sql_fetch
from server.inventory.stock import AVAILABLE, Place, post
from server.actors import Who
from server.errors import refuse
from sync.feed import Visibility, record_change

HOLD = "hold"
QUARANTINE = "quarantine"
STATUSES = (AVAILABLE, HOLD, QUARANTINE)


def today() -> date:
    return datetime.now(timezone.utc).date()


def lot_data(row: dict[str, Any]) -> dict[str, Any]:
    expiry = row["expiry"]
    return {"item": row["item"], "code": row["code"], "expiry": expiry.isoformat() if expiry else None,
            "supplier_lot": row["supplier_lot"] or None}


async def find_lot(item: str, code: str) -> dict[str, Any] | None:
    rows = await sql_fetch(
        "SELECT item, code, expiry, production_date, supplier, supplier_lot, source FROM lot WHERE item = $1 AND code = $2",
        item, code,
    )
    return rows[0] if rows else None


async def ensure_lot(item: dict[str, Any], code: str, *, source: str, expiry: date | None = None,
                     production_date: date | None = None, supplier: str | None = None, supplier_lot: str = "") -> dict[str, Any]:
    """The lot, created on first sight. An item with a shelf life gets its expiry from the production date
    when none is given; a known lot must agree with the expiry a label states."""
    if expiry is None and production_date is not None and item.get("shelf_life_days"):
        expiry = production_date + timedelta(days=item["shelf_life_days"])
    existing = await find_lot(item["code"], code)
    if existing is not None:
        if expiry is not None and existing["expiry"] is not None and existing["expiry"] != expiry:
            raise refuse("lot_expiry_mismatch", f"Lot {code!r} of {item['code']!r} expires on {existing['expiry']}, not {expiry}",
                         HTTP_409_CONFLICT, item=item["code"], lot=code, expiry=existing["expiry"].isoformat(),
                         stated=expiry.isoformat())
        if expiry is not None and existing["expiry"] is None:
            await sql_execute("UPDATE lot SET expiry = $1 WHERE item = $2 AND code = $3", expiry, item["code"], code)
            existing["expiry"] = expiry
            record_change("lot", f"{item['code']}|{code}", lot_data(existing), Visibility())
        return existing
    row = {"item": item["code"], "code": code, "expiry": expiry, "production_date": production_date, "supplier": supplier,
           "supplier_lot": supplier_lot, "source": source}
    inserted = await sql_fetch(
        "INSERT INTO lot (item, code, expiry, production_date, supplier, supplier_lot, source, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (item, code) DO NOTHING RETURNING id",
        item["code"], code, expiry, production_date, supplier, supplier_lot, source, datetime.now(timezone.utc),
    )
    if not inserted:  # another transaction created it a moment ago: take it as found
        return await ensure_lot(item, code, source=source, expiry=expiry, production_date=production_date,
                                supplier=supplier, supplier_lot=supplier_lot)
    record_change("lot", f"{item['code']}|{code}", lot_data(row), Visibility())
    return row


async def usable_lot(item: dict[str, Any], code: str, *, allow_expired: bool = False) -> dict[str, Any] | None:
    """The lot a move or an issue takes from: it must exist and (unless allowed) not be past its expiry. None when
    not lot-tracked."""
    if not code:
        return None
    lot = await find_lot(item["code"], code)
    if lot is None:
        raise refuse("unknown_lot", f"No lot {code!r} of {item['code']!r}", item=item["code"], lot=code)
    if not allow_expired and lot["expiry"] is not None and lot["expiry"] < today():
        raise refuse("lot_expired", f"Lot {code!r} of {item['code']!r} expired on {lot['expiry']}", item=item["code"],
                     lot=code, expiry=lot["expiry"].isoformat())
    return lot


# -- serial numbers ------------------------------------------------------------------------------------------
def check_serials(item: dict[str, Any], serials: list[str] | None, quantity_micro: int) -> list[str]:
    """The serials a booking of a serial-tracked item must name: exactly one per unit, none repeated."""
    serials = serials or []
    if not item["serial_tracked"]:
        if serials:
            raise refuse("serials_not_tracked", f"Item {item['code']!r} is not serial-tracked", item=item["code"])
        return []
    units, fraction = divmod(quantity_micro, 1_000_000)
    if fraction or len(serials) != units:
        raise refuse("serials_required", f"Item {item['code']!r} is serial-tracked: scan one serial per unit "
                     f"({len(serials)} scanned for a quantity of {quantity_micro / 1_000_000:g})",
                     item=item["code"], scanned=len(serials))
    if len(set(serials)) != len(serials):
        raise refuse("duplicate_serial", "The same serial was scanned twice", item=item["code"])
    return serials


async def register_serials(item: str, lot: str, serials: list[str], location: str) -> None:
    if not serials:
        return
    known = await _serial_rows(item, serials)
    if known:
        first = known[0]
        raise refuse("serial_exists", f"Serial {first['serial']!r} of {item!r} is already known", HTTP_409_CONFLICT,
                     item=item, serial=first["serial"], serial_status=first["status"])
    now = datetime.now(timezone.utc)
    await sql_executemany(
        "INSERT INTO serial_number (item, serial, lot, location, status, updated_at) VALUES ($1, $2, $3, $4, 'in_stock', $5)",
        [(item, serial, lot, location, now) for serial in serials],
    )


async def take_serials(item: str, lot: str, serials: list[str], location: str, *, to_location: str | None, status: str) -> None:
    """Serials leave `location`: to another place (a move) or out of stock (`issued`, `shipped`, `scrapped`)."""
    if not serials:
        return
    rows = {row["serial"]: row for row in await _serial_rows(item, serials)}
    for serial in serials:
        row = rows.get(serial)
        if row is None or row["status"] != "in_stock" or row["location"] != location or (lot and row["lot"] != lot):
            raise refuse("serial_not_here", f"Serial {serial!r} of {item!r} is not in stock at {location!r}"
                         + (f" in lot {lot!r}" if lot else ""), item=item, serial=serial, location=location)
    now = datetime.now(timezone.utc)
    await sql_executemany(
        "UPDATE serial_number SET location = $1, status = $2, updated_at = $3 WHERE item = $4 AND serial = $5",
        [(to_location, "in_stock" if to_location else status, now, item, serial) for serial in serials],
    )


async def _serial_rows(item: str, serials: list[str]) -> list[dict[str, Any]]:
    marks = ", ".join(f"${n}" for n in range(2, len(serials) + 2))
    return await sql_fetch(f"SELECT serial, lot, location, status FROM serial_number WHERE item = $1 AND serial IN ({marks})",
                           item, *serials)


# -- status ---------------------------------------------------------------------------------------------------
async def change_status(item: str, place: Place, lot: str, from_status: str, to_status: str, quantity_micro: int,
                        reason: str, who: Who, note: str = "") -> dict[str, int]:
    """Stock changes status where it lies (hold -> available on release, hold -> quarantine on a failed
    inspection): two ledger rows, the same quantity out of one status and into the other."""
    left = await post(item, place, lot, from_status, -quantity_micro, reason, who, note)
    now = await post(item, place, lot, to_status, quantity_micro, reason, who, note)
    return {"from": left, "to": now}

