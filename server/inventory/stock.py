"""Stock moves and counts: the one place they happen, for a device's mutation and an office user alike.

Every change appends to the ledger, updates the on-hand projection in the same transaction, and tells the
devices whose scope holds that place (the change feed). The caller owns the transaction. Inside a write, read
on hand through `on_hand_micro` (never the table): this transaction's changes reach the table at commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from server.accounts.site_scope import sees_site, visible_sites, within_scope
from server.accounts.audit import record_audit
from server.actors import Who
from server.db import (
    DB, FinalStage, WriteContext, current_write, defer_insert, defer_write, defers_writes, placeholders, sql_execute, sql_executemany, sql_fetch,
)
from server.errors import refuse
from server.quantities import decimals_used, quantity_text
from server.inventory.tables import StockOnHand
from server.masterdata.tables import Location
from sync.feed import Visibility, record_change, record_move
from sync.live import publish_board_after_commit
from sync.registry import PlacesBusy, StockPlace

# 10^12 units: far above any real stock, far below the 64-bit integer limit (SQLite would silently go to REAL).
MAX_ON_HAND_MICRO = 10**18
AVAILABLE = "available"


@dataclass(frozen=True)
class Place:
    code: str
    warehouse: str
    site: str

    @property
    def visibility(self) -> Visibility:
        return Visibility(site=self.site, warehouse=self.warehouse)


async def audit_office_booking(who: Who, action: str, item: str, booking: dict[str, Any]) -> None:
    if who.actor is not None:
        await record_audit(who, action, "stock", item, None, booking)


ITEM_ROWS = ("SELECT i.code, i.lot_tracked, i.serial_tracked, i.inspection_required, i.shelf_life_days, i.archived, i.unit, "
             "u.decimals FROM item i LEFT JOIN unit u ON u.code = i.unit WHERE i.code IN ({})")
LOCATION_ROWS = ("SELECT l.code, l.warehouse, l.archived, w.site FROM location l JOIN warehouse w ON w.code = l.warehouse "
                 "WHERE l.code IN ({})")


async def load_item(code: str) -> dict[str, Any]:
    item = await _memo("item", code, ITEM_ROWS)
    if item is None:
        raise refuse("unknown_item", f"No item {code!r}", item=code)
    if item["archived"]:
        raise refuse("archived_item", f"Item {code!r} is archived", item=code)
    if item["decimals"] is None:
        item["decimals"] = 6
    return item


async def load_place(code: str, who: Who) -> Place:
    row = await _memo("location", code, LOCATION_ROWS)
    if row is None or not sees_site(row["site"]):  # a bin of a site the office user may not see is not told of
        raise refuse("unknown_location", f"No location {code!r}", location=code)
    if row["archived"]:
        raise refuse("archived_location", f"Location {code!r} is archived", location=code)
    place = Place(code=code, warehouse=row["warehouse"], site=row["site"])
    outside_site = who.allowed_site is not None and place.site != who.allowed_site
    outside_warehouses = who.allowed_warehouses is not None and place.warehouse not in who.allowed_warehouses
    if outside_site or outside_warehouses:
        raise refuse("out_of_scope", f"Location {code!r} is outside this device's scope", HTTP_409_CONFLICT, location=code)
    return place


async def _memo(kind: str, code: str, query: str) -> dict[str, Any] | None:
    """A master-data row read once per transaction: a device's batch names the same few items and bins again
    and again. A copy is handed out, so a caller cannot change what the next one reads."""
    row = (await _read_master_data(kind, query, [code]))[code]
    return dict(row) if row is not None else None


async def _read_master_data(kind: str, query: str, codes: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Rows by code (None: no such code), those not read yet in this transaction in one statement."""
    memo = current_write().state.setdefault(f"memo:{kind}", {})
    missing = sorted(set(codes) - set(memo))
    if missing:
        rows = await sql_fetch(query.format(placeholders(len(missing))), *missing)
        memo.update(dict.fromkeys(missing))
        memo.update((row["code"], row) for row in rows)
    return memo


def check_lot(item: dict[str, Any], lot: str | None) -> str:
    if item["lot_tracked"] and not lot:
        raise refuse("lot_required", f"Item {item['code']!r} is lot-tracked: scan or enter the lot", item=item["code"])
    if lot and not item["lot_tracked"]:
        raise refuse("lot_not_tracked", f"Item {item['code']!r} is not lot-tracked", item=item["code"], lot=lot)
    return lot or ""


def check_decimals(item: dict[str, Any], quantity: Decimal) -> None:
    if decimals_used(quantity) > item["decimals"]:
        raise refuse(
            "too_many_decimals",
            f"Item {item['code']!r} is counted in whole units" if item["decimals"] == 0
            else f"Item {item['code']!r} allows {item['decimals']} decimals",
            item=item["code"], decimals=item["decimals"],
        )


def stock_key(item: str, location: str, lot: str, status: str) -> str:
    return f"{item}|{location}|{lot}|{status}"


# -- locks on stock places ---------------------------------------------------------------------------------
# A place is an item at a location: every on-hand row there (any lot, any status) is changed only by the
# transaction holding its lock, which keeps this transaction's copy of those rows true until commit.
#
# No deadlock: a transaction waits for stock places only once, at its start (a push before its first mutation,
# an office action before anything else), for every place it declared, all in one canonical order (ascending
# lock key) and holding no other stock lock. A place found only later (a command that could not name it up
# front) is tried without waiting; if another holds it the attempt ends with PlacesBusy, and the push runs the
# batch again with that place locked up front (an office request answers 503, nothing written). Waits are cut
# short by the connection's lock_timeout (server/db.py), a transient fault like any other.
#
# Transaction-scoped advisory locks (pg_advisory_xact_lock on a stable 64-bit hash of the place) rather than
# SELECT … FOR UPDATE: a place without a row yet is locked all the same (no rows to create first, no insert
# races between two first receipts), one lock covers every lot and status there (what a command's args name,
# before its handler works out lot and status), they are released at commit or rollback (and with a savepoint
# rolled back to), and readers never wait for them: reads take no lock at all. SQLite needs none: its
# IMMEDIATE write transaction already holds the database's only write lock.
PLACES_READ = "stock:places"


def place_lock_key(place: StockPlace) -> int:
    """A stable key across processes and restarts (Python's hash() is salted per process); two places sharing a
    key only ever serialise each other."""
    digest = hashlib.blake2b("\x1f".join(("stock", *place)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_stock_places(places: Iterable[StockPlace]) -> None:
    """Lock the places an action will change and read their on-hand rows, at the start of the action."""
    write = current_write()
    known = write.buffer(PLACES_READ)
    new = sorted(set(places) - set(known))
    if not new:
        return
    # Their items and bins are read first, outside the locks: a hot place's queue moves at the speed of what is
    # done while holding it.
    await _read_master_data("item", ITEM_ROWS, (item for item, _ in new))
    await _read_master_data("location", LOCATION_ROWS, (location for _, location in new))
    if DB.engine_type == "postgres":
        keys = sorted({place_lock_key(place) for place in new})
        if not known:
            # executemany runs them in this order, pipelined: one round trip.
            await sql_executemany("SELECT pg_advisory_xact_lock($1)", [(key,) for key in keys])
        else:
            taken = await sql_fetch("SELECT pg_try_advisory_xact_lock(key) AS taken FROM unnest($1::bigint[]) AS key", keys)
            if not all(row["taken"] for row in taken):
                raise PlacesBusy(new)
    known.extend(new)
    pairs = ", ".join(f"(${2 * n + 1}, ${2 * n + 2})" for n in range(len(new)))
    rows = await sql_fetch(
        f"SELECT item, location, lot, status, quantity_micro FROM stock_on_hand WHERE (item, location) IN (VALUES {pairs})",
        *(code for place in new for code in place),
    )
    write.buffer(ON_HAND_BASE).extend(((r["item"], r["location"], r["lot"], r["status"]), r["quantity_micro"]) for r in rows)


# -- on hand inside a write: read once, kept in memory, written at commit ----------------------------------
# A device's batch moves the same few items between the same few bins again and again. Each place is locked and
# its rows read once (above), every later step reads and changes the copy in memory, and the final quantities
# are written once, just before commit. Both the rows read and the changes made are transaction buffers, so a
# savepoint rolled back forgets them (with the locks taken inside it, which PostgreSQL releases there).
ON_HAND_BASE = "on_hand:base"
ON_HAND_CHANGE = "on_hand:change"
ON_HAND_TOTALS = "on_hand:totals"  # write.state: (rollbacks, changes counted, their sum per place)
StockKey = tuple[str, str, str, str]  # item, location, lot, status


async def on_hand_micro(item: str, location: str, lot: str, status: str = AVAILABLE) -> int:
    """The on-hand at a place as this transaction sees it, the place locked until commit."""
    write = current_write()
    if not is_locked(write, (item, location)):
        await lock_stock_places([(item, location)])
    key = (item, location, lot, status)
    base = _index(write, ON_HAND_BASE).get(key)
    if base is None:
        # A new row, made at zero now (its quantity is written at commit): whoever lists the rows of this place
        # inside this transaction finds it.
        await open_on_hand_rows([key])
        base = 0
    return base + _changed_by(write, key)


async def open_on_hand_rows(keys: Iterable[StockKey]) -> None:
    """The on-hand rows of places already locked, made at zero where there is none yet, in one statement: what
    `on_hand_micro` does for one new row, for the thousands an import of opening balances meets at once."""
    write = current_write()
    known = _index(write, ON_HAND_BASE)
    new = sorted(set(keys) - set(known))
    if not new:
        return
    insert = ("INSERT INTO stock_on_hand (item, location, lot, status, quantity_micro) VALUES ($1, $2, $3, $4, 0) "
              "ON CONFLICT (item, location, lot, status) DO NOTHING")
    if len(new) == 1:  # a device's step: one statement, as before
        await sql_execute(insert, *new[0])
    else:
        await sql_executemany(insert, new)
    write.buffer(ON_HAND_BASE).extend((key, 0) for key in new)


def is_locked(write: WriteContext, place: StockPlace) -> bool:
    """Whether this transaction has locked the place (and read its on-hand rows)."""
    return place in _index(write, PLACES_READ)


def _index(write: WriteContext, name: str) -> dict[Any, Any]:
    """A lookup over a buffer of places read (PLACES_READ: places) or of on-hand bases (ON_HAND_BASE: key and
    quantity), kept up to date as the buffer grows and built again after a savepoint dropped rows from it: asking
    the list itself costs a scan per step, the square of a batch of thousands of places."""
    rows = write.buffer(name)
    rollbacks, upto, index = write.state.get(f"index:{name}", (write.rollbacks, 0, {}))
    if rollbacks != write.rollbacks or upto > len(rows):
        upto, index = 0, {}
    for row in rows[upto:]:
        key, value = row if name == ON_HAND_BASE else (row, True)
        index.setdefault(key, value)
    write.state[f"index:{name}"] = (write.rollbacks, len(rows), index)
    return index


def _changed_by(write: WriteContext, key: StockKey) -> int:
    """The sum of this transaction's changes to a place, from running totals of every place kept up to date with
    the changes buffer (only the changes made since the last question are added): a batch of moves asks after every
    move, and an import of opening balances after each of thousands of places, where a scan of the buffer per
    question grew with the square of the batch. A savepoint rolled back since: counted again."""
    changes = write.buffer(ON_HAND_CHANGE)
    rollbacks, upto, totals = write.state.get(ON_HAND_TOTALS, (write.rollbacks, 0, {}))
    if rollbacks != write.rollbacks or upto > len(changes):
        upto, totals = 0, {}
    for changed, delta in changes[upto:]:
        totals[changed] = totals.get(changed, 0) + delta
    write.state[ON_HAND_TOTALS] = (write.rollbacks, len(changes), totals)
    return totals.get(key, 0)


async def _write_on_hand(write: WriteContext) -> None:
    net: dict[StockKey, int] = {}
    for key, delta in write.buffers.get(ON_HAND_CHANGE, []):
        net[key] = net.get(key, 0) + delta
    bases = dict(write.buffers.get(ON_HAND_BASE, []))
    rows = [(bases[key] + delta, *key) for key, delta in net.items() if delta]
    if rows and defers_writes():
        defer_write(
            "UPDATE stock_on_hand s SET quantity_micro = v.quantity FROM unnest($1::bigint[], $2::text[], $3::text[], "
            "$4::text[], $5::text[]) AS v(quantity, item, location, lot, status) WHERE s.item = v.item AND "
            "s.location = v.location AND s.lot = v.lot AND s.status = v.status", *(list(c) for c in zip(*rows)))
    elif rows:
        await sql_executemany(
            "UPDATE stock_on_hand SET quantity_micro = $1 WHERE item = $2 AND location = $3 AND lot = $4 AND status = $5", rows
        )


ON_HAND_STAGE = FinalStage(before_commit=_write_on_hand)

LEDGER_COLUMNS = ("at", "item", "location", "lot", "status", "quantity_micro", "reason", "note", "mutation_id",
                  "device_id", "username", "event_time")
COUNT_COLUMNS = ("at", "item", "location", "lot", "counted_micro", "expected_micro", "reason", "mutation_id", "device_id")


async def post(item: str, place: Place, lot: str, status: str, delta_micro: int, reason: str, who: Who, note: str = "") -> int:
    """One ledger row and its change to on hand; the new on-hand. Refuses to go below zero (`insufficient_stock`)
    or above MAX_ON_HAND_MICRO (`quantity_too_large`). Rows are written at commit (see above)."""
    available = await on_hand_micro(item, place.code, lot, status)
    quantity_micro = available + delta_micro
    if quantity_micro < 0:
        raise refuse(
            "insufficient_stock",
            f"Only {quantity_text(available)} of {item!r} at {place.code!r}" + (f" in lot {lot!r}" if lot else ""),
            item=item, location=place.code, lot=lot, available=quantity_text(available),
            requested=quantity_text(-delta_micro),
        )
    if quantity_micro > MAX_ON_HAND_MICRO:
        raise refuse("quantity_too_large", f"On-hand of {item!r} at {place.code!r} would exceed {quantity_text(MAX_ON_HAND_MICRO)}",
                     item=item, location=place.code)
    write = current_write()
    write.buffer(ON_HAND_CHANGE).append(((item, place.code, lot, status), delta_micro))
    defer_insert("stock_move", LEDGER_COLUMNS, (
        datetime.now(timezone.utc), item, place.code, lot, status, delta_micro, reason, note[:2000], who.mutation_id,
        who.device_id, who.username, who.event_time,
    ))
    key = stock_key(item, place.code, lot, status)
    data = {"item": item, "location": place.code, "lot": lot or None, "status": status, "quantity": quantity_text(quantity_micro)}
    record_change("stock", key, data if quantity_micro else None, place.visibility)
    publish_board_after_commit(f"board:warehouse:{place.warehouse}", {"kind": "stock", "reason": reason, **data})
    return quantity_micro


async def list_on_hand(item: str | None, location: str | None, limit: int, offset: int, lot: str | None = None,
                       status: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """Non-zero on-hand rows (quantity as text), filtered by exact item, location, lot and status, and their total;
    only those at the sites the office user sees."""
    condition = StockOnHand.quantity_micro != 0
    if item:
        condition = condition & (StockOnHand.item == item)
    if location:
        condition = condition & (StockOnHand.location == location)
    if lot:
        condition = condition & (StockOnHand.lot == lot)
    if status:
        condition = condition & (StockOnHand.status == status)
    if visible_sites() is not None:
        condition = condition & StockOnHand.location.is_in(
            Location.select(Location.code).where(within_scope(Location.id > 0, Location.warehouse.site)))
    rows = await (
        StockOnHand.select(StockOnHand.item, StockOnHand.location, StockOnHand.lot, StockOnHand.status, StockOnHand.quantity_micro)
        .where(condition).order_by(StockOnHand.item).order_by(StockOnHand.location).order_by(StockOnHand.lot)
        .limit(limit).offset(offset)
    )
    total = await StockOnHand.count().where(condition)
    return [{**r, "lot": r["lot"] or None, "quantity": quantity_text(r.pop("quantity_micro"))} for r in rows], total


async def stock_follows_location(location: str, old: Visibility | None, new: Visibility | None) -> None:
    """Stock lies where its location is: a bin moved to another warehouse takes its on-hand rows out of the old
    scope and into the new one, an archived bin takes them out of every replica."""
    rows = await StockOnHand.select().where((StockOnHand.location == location) & (StockOnHand.quantity_micro != 0))
    for row in rows:
        data = {"item": row["item"], "location": location, "lot": row["lot"] or None, "status": row["status"],
                "quantity": quantity_text(row["quantity_micro"])}
        record_move("stock", stock_key(row["item"], location, row["lot"], row["status"]), data if new else None, old, new)
