"""What stock can be used for: FEFO pick suggestions, reservations against orders, available-to-promise, and
the alerts a planner and a warehouse lead watch (below safety stock, lots expiring or expired).

A reservation promises units of one bin (item, location, lot) to an order line, and every figure that offers stock
(a pick list, a FEFO suggestion, available-to-promise) offers only what no open reservation holds: the same units
are never promised twice, even by a reservation that names no bin (made before reservations recorded one): it holds
the item's free units that expire last, wherever they are. Who reserves locks the bins' places first
(`lock_item_places`), so two plans made at once see each other's reservations. What takes stock out of a bin keeps
the promises made there: a move, an issue or a pick takes only the part no other order's reservation holds
(`take_unreserved_only`), unless a move names the order whose units it moves (`carry_reservations`: the reservation
goes with them); and a count, which is a fact, shortens the reservations it finds no stock for, latest first, and
tells the area that made them (`shorten_reservations_to`). Pure decisions (`fefo_take`, `after_unplaced_reservations`,
`reservations_left`, `reservation_cuts`, `carried_portions`) are separated from the reads that feed them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT

from server.accounts.site_scope import sees_site, site_sql
from server.db import WriteContext, placeholders, sql_execute, sql_read, write_in_progress
from server.errors import ApiError, refuse
from server.i18n import Message
from server.inventory.lots import today
from server.inventory.stock import AVAILABLE, PLACES_READ, is_locked, lock_stock_places, on_hand_micro
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


# Open reservations of one bin: subtracted from its on-hand wherever stock is offered.
_RESERVED_AT_BIN = ("SELECT COALESCE(SUM(r.quantity_micro), 0) FROM stock_reservation r WHERE r.item = s.item "
                    "AND r.location = s.location AND r.lot = s.lot AND r.released_at IS NULL")


def in_visible_bins(column: str, args: list[Any]) -> str:
    """"<column> IN (the bins of the sites the office user sees)" with its parameters appended to `args`, or "" for
    a user who sees every site (server/accounts/site_scope.py)."""
    sites = site_sql("w.site", args)
    if not sites:
        return ""
    return (f"{column} IN (SELECT loc.code FROM location loc JOIN warehouse w ON w.code = loc.warehouse "
            f"WHERE {sites.removeprefix(' AND ')})")


def _and(condition: str) -> str:
    return f" AND {condition}" if condition else ""


def after_unplaced_reservations(bins: list[Bin], unplaced_micro: int) -> list[Bin]:
    """What free bins still offer once reservations tied to no bin (made before reservations recorded one, or
    promising the item anywhere) have taken their units: those take the item's free units that expire last (FEFO
    from the far end), so the units a pick list or a FEFO suggestion offers, summed, never exceed the free stock less
    every promise, and the same unit is never promised twice."""
    left = max(unplaced_micro, 0)
    kept: dict[tuple[str, str], int] = {}
    for bin_ in reversed(fefo_take(bins, sum(b.quantity_micro for b in bins))[0]):
        take = min(left, bin_.quantity_micro)
        left -= take
        kept[(bin_.location, bin_.lot)] = bin_.quantity_micro - take
    return [Bin(b.location, b.lot, b.expiry, kept[(b.location, b.lot)]) for b in bins if kept.get((b.location, b.lot), 0) > 0]


async def usable_bins(item: str, *, warehouse: str | None = None, site: str | None = None, on: date | None = None) -> list[Bin]:
    """Available stock of an item that has not expired and that no open reservation holds, with each lot's expiry.
    Reservations of a bin are taken off that bin; reservations of no bin off the item's last-expiring free units
    wherever they are (`after_unplaced_reservations`), before the warehouse or site is chosen; then only the bins
    of the sites the office user sees (server/accounts/site_scope.py)."""
    rows = await sql_read(
        f"SELECT s.location, s.lot, s.quantity_micro - ({_RESERVED_AT_BIN}) AS free_micro, l.expiry, loc.warehouse, "
        "w.site FROM stock_on_hand s JOIN location loc ON loc.code = s.location JOIN warehouse w ON w.code = loc.warehouse "
        "LEFT JOIN lot l ON l.item = s.item AND l.code = s.lot "
        "WHERE s.item = $1 AND s.status = $2 AND s.quantity_micro > 0 AND (l.expiry IS NULL OR l.expiry >= $3)",
        item, AVAILABLE, on or today(),
    )
    unplaced = await sql_read("SELECT COALESCE(SUM(quantity_micro), 0) AS q FROM stock_reservation WHERE item = $1 "
                              "AND (location = '' OR location IS NULL) AND released_at IS NULL", item)
    bins = after_unplaced_reservations(
        [Bin(r["location"], r["lot"], r["expiry"], int(r["free_micro"])) for r in rows if int(r["free_micro"]) > 0],
        int(unplaced[0]["q"]))
    wanted = {r["location"] for r in rows if (not warehouse or r["warehouse"] == warehouse)
              and (not site or r["site"] == site) and sees_site(r["site"])}
    return [b for b in bins if b.location in wanted]


async def lock_item_places(items: Iterable[str], warehouse: str) -> None:
    """Lock the places that hold available stock of these items in the warehouse (server/inventory/stock.py), at the
    start of an action that reserves from them: bins read as free afterwards stay free until this transaction
    commits, and a plan made at the same moment waits and then sees these reservations. On SQLite the write
    transaction already serialises writers."""
    codes = sorted(set(items))
    if not codes:
        return
    rows = await sql_read(
        "SELECT DISTINCT s.item, s.location FROM stock_on_hand s JOIN location loc ON loc.code = s.location "
        f"WHERE s.item IN ({placeholders(len(codes), 3)}) AND s.status = $1 AND loc.warehouse = $2 AND s.quantity_micro > 0",
        AVAILABLE, warehouse, *codes,
    )
    await lock_stock_places((r["item"], r["location"]) for r in rows)


async def reservable_bins(item: str, warehouse: str) -> list[Bin]:
    """The free bins of an item in a warehouse, each place locked (after `lock_item_places`): a bin filled since
    that lock is tried without waiting, and if another transaction holds it the action is busy (503), never
    double-promising."""
    bins = await usable_bins(item, warehouse=warehouse)
    await lock_stock_places((item, b.location) for b in bins)
    return bins


async def fefo_suggestion(item: str, quantity: Decimal, *, warehouse: str | None = None, site: str | None = None) -> dict[str, Any]:
    picks, missing = fefo_take(await usable_bins(item, warehouse=warehouse, site=site), to_micro(quantity))
    return {
        "item": item,
        "picks": [{"location": p.location, "lot": p.lot or None, "expiry": p.expiry.isoformat() if p.expiry else None,
                   "quantity": quantity_text(p.quantity_micro)} for p in picks],
        "missing": quantity_text(missing),
    }


# -- reservations ----------------------------------------------------------------------------------------------
async def reserve(item: str, quantity_micro: int, order_kind: str, order_code: str, line_no: int = 0, *,
                  location: str = "", lot: str = "") -> None:
    """Promise stock of one bin to an order line (inside the caller's write transaction). A reservation without a
    location promises the item anywhere: it holds the item's last-expiring free units (`usable_bins`)."""
    _reservations_changed(item)
    await sql_execute(
        "INSERT INTO stock_reservation (item, quantity_micro, order_kind, order_code, line_no, location, lot, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        item, quantity_micro, order_kind, order_code, line_no, location, lot or "", datetime.now(timezone.utc),
    )


async def reserve_picks(picks: Iterable[Pick], item: str, order_kind: str, order_code: str, line_no: int) -> None:
    for pick in picks:
        await reserve(item, pick.quantity_micro, order_kind, order_code, line_no, location=pick.location, lot=pick.lot)


async def held_reservations(order_kind: str, order_code: str, line_no: int) -> list[Pick]:
    """An order line's open reservations, bin by bin, in the order they were made (a plan makes them FEFO)."""
    rows = await sql_read(
        "SELECT r.location, r.lot, r.quantity_micro, l.expiry FROM stock_reservation r "
        "LEFT JOIN lot l ON l.item = r.item AND l.code = r.lot "
        "WHERE r.order_kind = $1 AND r.order_code = $2 AND r.line_no = $3 AND r.released_at IS NULL ORDER BY r.id",
        order_kind, order_code, line_no,
    )
    return [Pick(r["location"], r["lot"], r["expiry"], int(r["quantity_micro"])) for r in rows]


def reservations_left(held: list[Pick], used: Iterable[tuple[str, str, int]], keep_micro: int) -> list[Pick]:
    """What an order line keeps reserved once `used` (location, lot, micro) was taken out of stock for it, and no more
    than `keep_micro` in all: what was used is taken off its own bin first, then whatever is still too much off the
    last bins reserved (the latest expiry of a FEFO plan). Never a new bin: shrinking a promise takes nothing from
    anybody else."""
    left = {(p.location, p.lot): p.quantity_micro for p in held}
    for location, lot, micro in used:
        if (location, lot) in left:
            left[(location, lot)] -= min(micro, left[(location, lot)])
    excess = sum(left.values()) - max(keep_micro, 0)
    kept: list[Pick] = []
    for pick in reversed(held):
        quantity = left.pop((pick.location, pick.lot), 0)
        cut = min(max(excess, 0), quantity)
        excess -= cut
        if quantity - cut > 0:
            kept.append(Pick(pick.location, pick.lot, pick.expiry, quantity - cut))
    return kept[::-1]


@dataclass(frozen=True)
class Held:
    """One open reservation of a bin: which order line it promises the units to, and how many."""

    id: int
    order_kind: str
    order_code: str
    line_no: int
    quantity_micro: int


# -- open reservations inside a write: read once for every place the transaction has locked ------------------
# A device's batch of moves asks, move after move, what is reserved in the bins it takes from. The places are
# locked (stock.lock_stock_places) and every reservation is made or changed under its place's lock, so what a
# transaction reads of a locked place's reservations stays true until it changes them itself: the first question
# reads them for all its locked places at once, later ones are answered from memory, and a change made here
# (`_reservations_changed`) makes the item's places be read again. Both are append-only transaction buffers, so a
# savepoint rolled back forgets them too.
RESERVATIONS_LOADS = "reservations:loads"  # ("load", generation, places) | ("changed", item or None: every item)
RESERVATIONS_ROWS = "reservations:rows"  # (generation, item, location, lot, Held)


def _loaded_places(write: WriteContext) -> dict[tuple[str, str], int]:
    """Each place whose reservations in memory are current, and the load they came with."""
    current: dict[tuple[str, str], int] = {}
    for entry in write.buffer(RESERVATIONS_LOADS):
        if entry[0] == "load":
            current.update(dict.fromkeys(entry[2], entry[1]))
        else:
            current = {place: gen for place, gen in current.items() if entry[1] is not None and place[0] != entry[1]}
    return current


def _reservations_changed(item: str | None) -> None:
    write = write_in_progress()
    if write is not None:
        write.buffer(RESERVATIONS_LOADS).append(("changed", item))


async def reservations_at(item: str, location: str, lot: str) -> list[Held]:
    """The open reservations of one bin, in the order they were made."""
    write = write_in_progress()
    if write is None or not is_locked(write, (item, location)):
        rows = await sql_read(
            "SELECT id, order_kind, order_code, line_no, quantity_micro FROM stock_reservation WHERE item = $1 "
            "AND location = $2 AND lot = $3 AND released_at IS NULL ORDER BY id",
            item, location, lot,
        )
        return [Held(r["id"], r["order_kind"], r["order_code"], r["line_no"], int(r["quantity_micro"])) for r in rows]
    loaded = _loaded_places(write)
    if (item, location) not in loaded:
        places = sorted(set(write.buffer(PLACES_READ)) - set(loaded))
        generation = len(write.buffer(RESERVATIONS_LOADS))
        pairs = ", ".join(f"(${2 * n + 1}, ${2 * n + 2})" for n in range(len(places)))
        rows = await sql_read(
            "SELECT id, item, location, lot, order_kind, order_code, line_no, quantity_micro FROM stock_reservation "
            f"WHERE (item, location) IN (VALUES {pairs}) AND released_at IS NULL ORDER BY id",
            *(code for place in places for code in place))
        write.buffer(RESERVATIONS_ROWS).extend(
            (generation, r["item"], r["location"], r["lot"],
             Held(r["id"], r["order_kind"], r["order_code"], r["line_no"], int(r["quantity_micro"]))) for r in rows)
        write.buffer(RESERVATIONS_LOADS).append(("load", generation, tuple(places)))
        loaded = dict.fromkeys(places, generation) | loaded
    generation = loaded[(item, location)]
    return [held for gen, i, loc, lt, held in write.buffer(RESERVATIONS_ROWS)
            if gen == generation and (i, loc, lt) == (item, location, lot)]


async def take_unreserved_only(item: str, location: str, lot: str, quantity_micro: int, *,
                               for_order: tuple[str, str] | None = None) -> None:
    """Stock taken out of a bin (its place locked) by a move, an issue or a pick for `for_order` (kind, code) comes
    only from the part that open reservations of other orders leave there: the units promised to an order stay in
    the bin its pick list points at. Refused as `reserved_for_order` (a move or an issue) or
    `reserved_for_another_order` (a pick for an order of its own), with what is free and whose the rest is. More
    than the bin holds at all is `insufficient_stock`, said by `post`."""
    on_hand = await on_hand_micro(item, location, lot)
    holders = [h for h in await reservations_at(item, location, lot) if (h.order_kind, h.order_code) != for_order]
    reserved = sum(h.quantity_micro for h in holders)
    free = max(on_hand - reserved, 0)
    if not free < quantity_micro <= on_hand:
        return
    figures = {"item": item, "location": location, "lot": lot, "available": quantity_text(free),
               "requested": quantity_text(quantity_micro)}
    if for_order is not None:
        raise refuse("reserved_for_another_order",
                     f"Only {quantity_text(free)} of {item!r} at {location!r} is not reserved for another order",
                     HTTP_409_CONFLICT, **figures)
    first = holders[0]
    raise refuse(
        "reserved_for_order",
        f"Only {quantity_text(free)} of {item!r} at {location!r} is free: {quantity_text(reserved)} is reserved for "
        f"{first.order_kind} {first.order_code}" + (" and others" if len({h.order_code for h in holders}) > 1 else ""),
        HTTP_409_CONFLICT, **figures, reserved=quantity_text(reserved), order_kind=first.order_kind,
        order=first.order_code,
        orders=[{"order_kind": h.order_kind, "order": h.order_code, "line_no": h.line_no,
                 "quantity": quantity_text(h.quantity_micro)} for h in holders],
    )


def reservation_cuts(held: list[Held], keep_micro: int) -> list[tuple[Held, int]]:
    """Which of a bin's open reservations (in the order they were made) give way, and by how much, when the bin
    holds only `keep_micro`: the latest promise first, each by no more than it holds, until the rest fits."""
    excess = sum(h.quantity_micro for h in held) - max(keep_micro, 0)
    cuts: list[tuple[Held, int]] = []
    for reservation in reversed(held):
        if excess <= 0:
            break
        cut = min(reservation.quantity_micro, excess)
        cuts.append((reservation, cut))
        excess -= cut
    return cuts


# The area that made reservations of a kind hears when a count cut them (order code, its lines cut): a shipment
# marks the units missing on its pick list. Named once by server/app.py's wire_areas().
ReservationsCut = Callable[[str, set[int]], Awaitable[None]]
_when_cut: dict[str, ReservationsCut] = {}


def when_reservations_cut(order_kind: str, handler: ReservationsCut) -> None:
    _when_cut[order_kind] = handler


async def shorten_reservations_to(item: str, location: str, lot: str, keep_micro: int) -> list[dict[str, Any]]:
    """A count found `keep_micro` in a bin whose open reservations hold more (inside the count's transaction, the
    place locked): the latest reservations give way (`reservation_cuts`), each order they promised to is told
    (`when_reservations_cut`), and the cuts are returned as the count's effect shows them."""
    cuts = reservation_cuts(await reservations_at(item, location, lot), keep_micro)
    if cuts:
        _reservations_changed(item)
    now = datetime.now(timezone.utc)
    lines: dict[tuple[str, str], set[int]] = {}
    for reservation, cut in cuts:
        if cut == reservation.quantity_micro:
            await sql_execute("UPDATE stock_reservation SET released_at = $1 WHERE id = $2", now, reservation.id)
        else:
            await sql_execute("UPDATE stock_reservation SET quantity_micro = $1 WHERE id = $2",
                              reservation.quantity_micro - cut, reservation.id)
        lines.setdefault((reservation.order_kind, reservation.order_code), set()).add(reservation.line_no)
    for (kind, code), line_nos in lines.items():
        if kind in _when_cut:
            await _when_cut[kind](code, line_nos)
    return [{"order_kind": r.order_kind, "order": r.order_code, "line_no": r.line_no, "quantity": quantity_text(cut)}
            for r, cut in cuts]


def carried_portions(held: list[Held], quantity_micro: int) -> list[tuple[Held, int]]:
    """Which of an order's reservations in a bin (in the order they were made) a move of `quantity_micro` carries,
    and how much of each: the earliest first, each whole before the next is touched."""
    portions: list[tuple[Held, int]] = []
    left = quantity_micro
    for reservation in held:
        if left <= 0:
            break
        portion = min(reservation.quantity_micro, left)
        portions.append((reservation, portion))
        left -= portion
    return portions


# The area that made reservations of a kind hears when a move carried some of them to another bin (order code, its
# lines moved, the warehouse they went to): a shipment's pick list points at the new bin, or the area refuses the
# move (a shipment is picked in its own warehouse). Named once by server/app.py's wire_areas().
ReservationsMoved = Callable[[str, set[int], str], Awaitable[None]]
_when_moved: dict[str, ReservationsMoved] = {}


def when_reservations_moved(order_kind: str, handler: ReservationsMoved) -> None:
    _when_moved[order_kind] = handler


def _carry_refusal(code: str, message: str, key: str, **figures: str) -> ApiError:
    return ApiError(HTTP_409_CONFLICT, code, message, figures, Message(key, figures))


async def carry_reservations(item: str, from_location: str, to_location: str, to_warehouse: str, lot: str,
                             quantity_micro: int, order_code: str) -> dict[str, Any]:
    """A move that names the order whose promised units it moves (inside the move's transaction, both places locked):
    those units take their reservation along, so the order's promise now points at the bin they went to and the area
    that made it is told (`when_reservations_moved`). The order must hold a reservation of the item in the bin moved
    from (`no_reservation_here`), and no more than it holds there moves this way (`more_than_reserved`): free units
    are moved on their own. A line keeps one reservation per bin: units carried to a bin the line already holds join
    that reservation."""
    held = [h for h in await reservations_at(item, from_location, lot) if h.order_code == order_code]
    figures = {"item": item, "location": from_location, "lot": lot, "order": order_code}
    if not held:
        raise _carry_refusal("no_reservation_here",
                             f"{order_code} holds no reservation of {item!r} at {from_location!r}",
                             "refusal.no_reservation_here", **figures)
    reserved = sum(h.quantity_micro for h in held)
    if quantity_micro > reserved:
        raise _carry_refusal(
            "more_than_reserved",
            f"Only {quantity_text(reserved)} of {item!r} at {from_location!r} is reserved for {order_code}: "
            f"{quantity_text(quantity_micro)} cannot move with it", "refusal.more_than_reserved",
            **figures, reserved=quantity_text(reserved), requested=quantity_text(quantity_micro))
    moved: dict[str, set[int]] = {}
    _reservations_changed(item)
    for reservation, portion in carried_portions(held, quantity_micro):
        there = await sql_read(
            "SELECT id FROM stock_reservation WHERE order_kind = $1 AND order_code = $2 AND line_no = $3 AND item = $4 "
            "AND location = $5 AND lot = $6 AND released_at IS NULL",
            reservation.order_kind, order_code, reservation.line_no, item, to_location, lot)
        if not there and portion == reservation.quantity_micro:
            await sql_execute("UPDATE stock_reservation SET location = $1 WHERE id = $2", to_location, reservation.id)
        else:
            if portion == reservation.quantity_micro:
                await sql_execute("UPDATE stock_reservation SET released_at = $1 WHERE id = $2",
                                  datetime.now(timezone.utc), reservation.id)
            else:
                await sql_execute("UPDATE stock_reservation SET quantity_micro = $1 WHERE id = $2",
                                  reservation.quantity_micro - portion, reservation.id)
            if there:
                await sql_execute("UPDATE stock_reservation SET quantity_micro = quantity_micro + $1 WHERE id = $2",
                                  portion, there[0]["id"])
            else:
                await reserve(item, portion, reservation.order_kind, order_code, reservation.line_no,
                              location=to_location, lot=lot)
        moved.setdefault(reservation.order_kind, set()).add(reservation.line_no)
    for kind, line_nos in moved.items():
        if kind in _when_moved:
            await _when_moved[kind](order_code, line_nos, to_warehouse)
    return {"order_kind": held[0].order_kind, "order": order_code, "quantity": quantity_text(quantity_micro)}


async def add_reservations(picks: Iterable[Pick], item: str, order_kind: str, order_code: str, line_no: int) -> None:
    """More units promised to an order line (a re-planned pick list's top-up): a bin the line already holds gets
    them on its open reservation, so a line keeps one reservation per bin; another bin gets a new one."""
    _reservations_changed(item)
    held = {(r["location"], r["lot"]): r["id"] for r in await sql_read(
        "SELECT id, location, lot FROM stock_reservation WHERE order_kind = $1 AND order_code = $2 AND line_no = $3 "
        "AND item = $4 AND released_at IS NULL", order_kind, order_code, line_no, item)}
    for pick in picks:
        known = held.get((pick.location, pick.lot))
        if known is None:
            await reserve(item, pick.quantity_micro, order_kind, order_code, line_no, location=pick.location, lot=pick.lot)
        else:
            await sql_execute("UPDATE stock_reservation SET quantity_micro = quantity_micro + $1 WHERE id = $2",
                              pick.quantity_micro, known)


async def release_reservations(order_kind: str, order_code: str, line_no: int | None = None) -> None:
    _reservations_changed(None)
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
    """On hand (available), reserved, and what can still be promised: the unexpired stock no reservation holds, tied
    to a bin or not (what a FEFO suggestion over every warehouse offers). Never below zero. An office user limited to
    some sites gets the figures of those sites (server/accounts/site_scope.py)."""
    known = await sql_read("SELECT 1 FROM item WHERE code = $1", item)
    if not known:
        raise refuse("unknown_reference", f"No item with code {item!r}", HTTP_404_NOT_FOUND, entity="item", value=item)
    on_hand_args: list[Any] = [item, AVAILABLE]
    on_hand = await sql_read(
        "SELECT COALESCE(SUM(quantity_micro), 0) AS q FROM stock_on_hand WHERE item = $1 AND status = $2"
        + _and(in_visible_bins("location", on_hand_args)), *on_hand_args)
    # A reservation of no bin belongs to no site: it counts against what every site promises, so none promises it twice.
    reserved_args: list[Any] = [item]
    at_sites = in_visible_bins("location", reserved_args)
    reserved = await sql_read(
        "SELECT COALESCE(SUM(quantity_micro), 0) AS q FROM stock_reservation WHERE item = $1 AND released_at IS NULL"
        + (f" AND (location = '' OR location IS NULL OR {at_sites})" if at_sites else ""), *reserved_args)
    promisable = sum(b.quantity_micro for b in await usable_bins(item))
    return {"item": item, "on_hand": quantity_text(int(on_hand[0]["q"])), "reserved": quantity_text(int(reserved[0]["q"])),
            "available_to_promise": quantity_text(promisable)}


# -- alerts ------------------------------------------------------------------------------------------------------
async def stock_alerts(expiring_within_days: int) -> dict[str, list[dict[str, Any]]]:
    """Items whose available stock is below their safety stock; lots in stock that expire within the window, or
    already have. An office user limited to some sites counts the stock of those sites."""
    below_args: list[Any] = [AVAILABLE, False]
    below = await sql_read(
        "SELECT i.code, i.name, i.safety_stock, COALESCE(SUM(s.quantity_micro), 0) AS on_hand FROM item i "
        "LEFT JOIN stock_on_hand s ON s.item = i.code AND s.status = $1" + _and(in_visible_bins("s.location", below_args))
        + " WHERE i.archived = $2 AND i.safety_stock > 0 GROUP BY i.code, i.name, i.safety_stock ORDER BY i.code",
        *below_args,
    )
    now = today()
    lot_args: list[Any] = [now + timedelta(days=expiring_within_days)]
    lots = await sql_read(
        "SELECT l.item, l.code, l.expiry, SUM(s.quantity_micro) AS on_hand FROM lot l "
        "JOIN stock_on_hand s ON s.item = l.item AND s.lot = l.code"
        + _and(in_visible_bins("s.location", lot_args)) + " "
        "WHERE l.expiry IS NOT NULL AND l.expiry <= $1 GROUP BY l.item, l.code, l.expiry HAVING SUM(s.quantity_micro) > 0 "
        "ORDER BY l.expiry, l.item, l.code",
        *lot_args,
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
