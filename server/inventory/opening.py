"""Opening stock balances: what a factory has in its bins on its first day, loaded from its old system's spreadsheet
(CSV or XLSX, headers in English or Chinese) as real ledger entries, all or nothing.

Every row is checked first, each table read once for the whole file (items, bins, lots, serials, the balances loaded
before); one problem refuses the file with a 422 `import_invalid` listing every problem by row and column. A clean
file is posted through `stock.post` with reason `opening_balance`, so the ledger, on hand, the change feed (every
device whose scope holds the bin) and the warehouse boards move exactly as they do for a receipt; lots are created
as needed with their expiry, serials registered at their bin. Each balance is kept (`opening_balance`) with its unit
cost and the file it came from, and audited.

A place (item, location, lot, status) takes one opening balance: a row whose place has one already is skipped when
it says the same (quantity, unit cost, serials), and refused as `opening_balance_exists` when it does not (after
go-live, stock is corrected by a count, which the ledger explains). So loading the same file twice changes nothing
the second time, and a file extended by new rows loads only them. Stock already at a place (a receipt booked before
the balances were loaded) is added to, not replaced.

Columns (order free; first row the header): item*, location*, lot, expiry (YYYY-MM-DD or YYYY/MM/DD), serials
(separated by spaces, commas or semicolons; one per unit of a serial-tracked item), quantity*, status (available,
hold, quarantine; default available), unit_cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import TypeAdapter, ValidationError

from schemas.common import Money, PositiveQuantity
from server.accounts.audit import record_audits
from server.accounts.site_scope import sees_site
from server.actors import Who
from server.db import DB, json_text, needs_write, placeholders, sql_copy, sql_executemany, sql_fetch
from server.errors import ApiError, field_code, validation_values
from server.inventory.lots import STATUSES, lot_data
from server.inventory.stock import (
    ITEM_ROWS, LOCATION_ROWS, Place, lock_stock_places, open_on_hand_rows, post,
)
from server.quantities import decimals_used, quantity_text, to_micro
from server.spreadsheets import parse_upload, problem, read_rows
from sync.feed import Visibility, record_change

REASON = "opening_balance"
COLUMNS = ("item", "location", "lot", "expiry", "serials", "quantity", "status", "unit_cost")
REQUIRED = ("item", "location", "quantity")
MAX_ROWS = 50_000
IN_CHUNK = 500  # values per IN (...) read
LOCK_CHUNK = 15_000  # places locked (and their on-hand rows read, two parameters each) per statement
HEADER_ALIASES = {
    "物料": "item", "物料编码": "item", "物料代码": "item", "料号": "item",
    "库位": "location", "货位": "location", "储位": "location", "库位编码": "location",
    "批次": "lot", "批号": "lot", "批次号": "lot",
    "有效期": "expiry", "有效期至": "expiry", "失效日期": "expiry", "到期日": "expiry",
    "序列号": "serials", "序列号列表": "serials",
    "数量": "quantity", "期初数量": "quantity", "库存数量": "quantity",
    "状态": "status", "库存状态": "status",
    "单位成本": "unit_cost", "单价": "unit_cost", "成本单价": "unit_cost",
}
STATUS_ALIASES = {"可用": "available", "冻结": "hold", "待检": "hold", "隔离": "quarantine"}
_DATE = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$")
_SERIAL_SEPARATORS = re.compile(r"[\s,;，；]+")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
_QUANTITY = TypeAdapter(PositiveQuantity)
_MONEY = TypeAdapter(Money)


@dataclass
class Balance:
    """One row of the file, its cells read and checked on their own."""

    row: int
    item: str
    location: str
    lot: str
    expiry: date | None
    serials: list[str]
    quantity: Decimal
    status: str
    unit_cost: Decimal | None

    @property
    def place_key(self) -> tuple[str, str, str, str]:
        return (self.item, self.location, self.lot, self.status)

    @property
    def quantity_micro(self) -> int:
        return to_micro(self.quantity)


@dataclass
class Checked:
    """A file's balances after the database was asked: those to post, those loaded before, what they need."""

    to_post: list[Balance] = field(default_factory=list)
    skipped: list[Balance] = field(default_factory=list)
    places: dict[str, Place] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_lots: dict[tuple[str, str], date | None] = field(default_factory=dict)
    dated_lots: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # known lots given a first expiry


# -- the file on its own: pure ---------------------------------------------------------------------------------------

def header_columns(cells: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
    names, problems = [], []
    for cell in cells:
        text = cell.strip()
        name = HEADER_ALIASES.get(text) or re.sub(r"[\s-]+", "_", text.lower())
        if name and name not in COLUMNS:
            problems.append(problem(1, text, "unknown_column", f"unknown column {text!r}; the columns are: {', '.join(COLUMNS)}",
                                    column=text, columns=", ".join(COLUMNS)))
        elif name and name in names:
            problems.append(problem(1, name, "duplicate_column", f"column {name!r} appears twice", column=name))
        names.append(name)
    problems += [problem(1, name, "missing_column", f"the header has no {name!r} column", column=name)
                 for name in REQUIRED if name not in names]
    return names, problems


def _decimal(adapter: TypeAdapter[Any], row: int, column: str, text: str) -> tuple[Decimal | None, list[dict[str, Any]]]:
    try:
        return adapter.validate_python(text), []
    except ValidationError as exc:
        return None, [problem(row, column, field_code(error["msg"]), error["msg"].removeprefix("Value error, "),
                              column=column, **validation_values(error, text)) for error in exc.errors()]


def read_balance(row: int, cells: dict[str, str]) -> tuple[Balance | None, list[dict[str, Any]]]:
    """A row's cells as a balance, or its problems (every one of them, not only the first)."""
    found = []
    text = {name: (cells.get(name) or "").strip() for name in COLUMNS}
    for name in REQUIRED:
        if not text[name]:
            found.append(problem(row, name, "missing_field", f"{name} is required", column=name))
    for name in ("item", "location", "lot"):
        if text[name] and not _CODE.match(text[name]):
            found.append(problem(row, name, "invalid_format", "a code of letters, digits, '.', '_' and '-', up to 40",
                                 column=name, value=text[name][:40]))
    quantity = None
    if text["quantity"]:
        quantity, problems = _decimal(_QUANTITY, row, "quantity", text["quantity"])
        found += problems
    unit_cost = None
    if text["unit_cost"]:
        unit_cost, problems = _decimal(_MONEY, row, "unit_cost", text["unit_cost"])
        found += problems
    expiry = None
    if text["expiry"]:
        match = _DATE.match(text["expiry"])
        try:
            expiry = date(*(int(part) for part in match.groups())) if match else date.fromisoformat(text["expiry"])
        except ValueError:
            found.append(problem(row, "expiry", "invalid_date", f"{text['expiry']!r} is not a date as YYYY-MM-DD",
                                 column="expiry", value=text["expiry"]))
        if not text["lot"]:
            found.append(problem(row, "expiry", "expiry_needs_lot", "an expiry belongs to a lot: name the lot",
                                 column="expiry"))
    status = STATUS_ALIASES.get(text["status"], text["status"].lower()) or "available"
    if status not in STATUSES:
        found.append(problem(row, "status", "invalid_value", f"{text['status']!r} is not one of {', '.join(STATUSES)}",
                             column="status", value=text["status"]))
    serials = [serial for serial in _SERIAL_SEPARATORS.split(text["serials"]) if serial]
    for serial in serials:
        if not _CODE.match(serial):
            found.append(problem(row, "serials", "invalid_format", "a code of letters, digits, '.', '_' and '-', up to 40",
                                 column="serials", value=serial[:40]))
            break
    if found:
        return None, found
    return Balance(row, text["item"], text["location"], text["lot"], expiry, serials, quantity, status, unit_cost), []


def parse_sheet(rows: Iterable[tuple[int, list[str]]]) -> tuple[list[Balance], list[dict[str, Any]]]:
    """Rows to balances, and every problem found without the database: the header, the cells, a place or a serial
    named twice in the file, a lot given two expiries."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return [], [problem(0, "", "empty_file", "the file has no header and no rows")]
    names, problems = header_columns(first[1])
    if problems:
        return [], problems
    balances: list[Balance] = []
    for number, cells in rows:
        if len(balances) + len(problems) >= MAX_ROWS:
            problems.append(problem(number, "", "too_many_rows", f"at most {MAX_ROWS:,} rows per file: split it",
                                    max_rows=MAX_ROWS))
            break
        if len(cells) > len(names) and any(cell.strip() for cell in cells[len(names):]):
            problems.append(problem(number, "", "invalid_row", "more cells than the header has columns", columns=len(names)))
            continue
        balance, found = read_balance(number, {name: cells[index] if index < len(cells) else ""
                                               for index, name in enumerate(names) if name})
        problems += found
        if balance is not None:
            balances.append(balance)
    return balances, problems + repeated_in_file(balances)


def repeated_in_file(balances: list[Balance]) -> list[dict[str, Any]]:
    problems = []
    places: dict[tuple[str, str, str, str], int] = {}
    serials: dict[tuple[str, str], int] = {}
    expiries: dict[tuple[str, str], tuple[date, int]] = {}
    for balance in balances:
        first = places.setdefault(balance.place_key, balance.row)
        if first != balance.row:
            shown = " / ".join(part for part in balance.place_key if part)
            problems.append(problem(balance.row, "location", "duplicate_in_file", f"{shown} is also on row {first}",
                                    value=shown, row=first))
        for serial in balance.serials:
            seen = serials.setdefault((balance.item, serial), balance.row)
            if seen != balance.row:
                problems.append(problem(balance.row, "serials", "duplicate_in_file", f"serial {serial} is also on row {seen}",
                                        value=serial, row=seen))
        if balance.expiry is not None:
            stated, row = expiries.setdefault((balance.item, balance.lot), (balance.expiry, balance.row))
            if stated != balance.expiry:
                problems.append(problem(balance.row, "expiry", "inconsistent_rows",
                                        f"lot {balance.lot} has expiry {stated} on row {row}", value=balance.lot, row=row))
    return problems


async def read_balance_sheet(raw: bytes, filename: str) -> tuple[list[Balance], list[dict[str, Any]]]:
    """The file's balances and the problems found in it alone, read in a worker thread within the upload bounds."""
    balances, found = await parse_upload(lambda deadline: parse_sheet(read_rows(raw, filename, deadline)))
    if not balances and not found:
        found = [problem(0, "", "empty_file", "the file has a header but no rows")]
    return balances, found


# -- against the database: each table read once ----------------------------------------------------------------------

async def _rows_in(query: str, values: Iterable[str], *leading: Any) -> list[dict[str, Any]]:
    """The rows of `query`, whose `IN ({})` takes the codes: on PostgreSQL one array for all of them (an IN list of
    hundreds of parameters is planned slowly), on SQLite IN_CHUNK placeholders at a time."""
    wanted = sorted(set(values))
    if DB.engine_type == "postgres":
        return await sql_fetch(query.format(f"SELECT unnest(${len(leading) + 1}::text[])"), *leading, wanted) if wanted else []
    rows: list[dict[str, Any]] = []
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start:start + IN_CHUNK]
        rows += await sql_fetch(query.format(placeholders(len(chunk), start=len(leading) + 1)), *leading, *chunk)
    return rows


def _row_refusals(balance: Balance, item: dict[str, Any] | None, location: dict[str, Any] | None,
                  who: Who) -> list[dict[str, Any]]:
    """What `stock.post`'s callers refuse of one booking (server/inventory/stock.py, lots.py), said of a row."""
    found = []
    row, code = balance.row, balance.item
    if item is None:
        found.append(problem(row, "item", "unknown_item", f"No item {code!r}", item=code))
    elif item["archived"]:
        found.append(problem(row, "item", "archived_item", f"Item {code!r} is archived", item=code))
    else:
        if item["lot_tracked"] and not balance.lot:
            found.append(problem(row, "lot", "lot_required", f"Item {code!r} is lot-tracked: name the lot", item=code))
        if balance.lot and not item["lot_tracked"]:
            found.append(problem(row, "lot", "lot_not_tracked", f"Item {code!r} is not lot-tracked", item=code,
                                 lot=balance.lot))
        decimals = 6 if item["decimals"] is None else item["decimals"]
        if decimals_used(balance.quantity) > decimals:
            found.append(problem(row, "quantity", "too_many_decimals",
                                 f"Item {code!r} is counted in whole units" if decimals == 0
                                 else f"Item {code!r} allows {decimals} decimals", item=code, decimals=decimals))
        if item["serial_tracked"]:
            units, fraction = divmod(balance.quantity_micro, 1_000_000)
            if fraction or len(balance.serials) != units:
                found.append(problem(row, "serials", "serials_required",
                                     f"Item {code!r} is serial-tracked: one serial per unit ({len(balance.serials)} "
                                     f"for a quantity of {balance.quantity})", item=code, scanned=len(balance.serials)))
        elif balance.serials:
            found.append(problem(row, "serials", "serials_not_tracked", f"Item {code!r} is not serial-tracked", item=code))
    where = balance.location
    if location is None or not sees_site(location["site"]):
        found.append(problem(row, "location", "unknown_location", f"No location {where!r}", location=where))
    elif location["archived"]:
        found.append(problem(row, "location", "archived_location", f"Location {where!r} is archived", location=where))
    elif who.allowed_site is not None and location["site"] != who.allowed_site:
        found.append(problem(row, "location", "out_of_scope", f"Location {where!r} is outside this user's scope",
                             location=where))
    return found


async def check_balances(balances: list[Balance], who: Who) -> tuple[Checked, list[dict[str, Any]]]:
    """Every problem the database shows (unknown or archived items and bins, lots, serials, balances loaded before),
    each table read once; and what a clean file needs written."""
    items = {row["code"]: row for row in await _rows_in(ITEM_ROWS, (b.item for b in balances))}
    locations = {row["code"]: row for row in await _rows_in(LOCATION_ROWS, (b.location for b in balances))}
    item_codes = sorted({b.item for b in balances})
    lots = {(row["item"], row["code"]): row for row in await _rows_in(
        "SELECT item, code, expiry, supplier_lot FROM lot WHERE item IN ({})", item_codes)} if any(b.lot for b in balances) else {}
    serials = {(row["item"], row["serial"]) for row in await _rows_in(
        "SELECT item, serial FROM serial_number WHERE serial IN ({})", (s for b in balances for s in b.serials))}
    loaded = {(row["item"], row["location"], row["lot"], row["status"]): row for row in await _rows_in(
        "SELECT item, location, lot, status, quantity_micro, unit_cost, serials FROM opening_balance WHERE location IN ({})",
        (b.location for b in balances))}
    checked, problems = Checked(items=items), []
    for balance in balances:
        found = _row_refusals(balance, items.get(balance.item), locations.get(balance.location), who)
        before = loaded.get(balance.place_key)
        if before is not None:
            if _same_balance(before, balance):
                checked.skipped.append(balance)
                continue
            found.append(problem(balance.row, "quantity", "opening_balance_exists",
                                 f"{balance.item} at {balance.location} has an opening balance of "
                                 f"{quantity_text(before['quantity_micro'])} already: correct it by a count",
                                 item=balance.item, location=balance.location,
                                 quantity=quantity_text(before["quantity_micro"])))
        lot = lots.get((balance.item, balance.lot))
        if lot is not None and balance.expiry is not None and lot["expiry"] is not None and lot["expiry"] != balance.expiry:
            found.append(problem(balance.row, "expiry", "lot_expiry_mismatch",
                                 f"Lot {balance.lot!r} of {balance.item!r} expires on {lot['expiry']}, not {balance.expiry}",
                                 item=balance.item, lot=balance.lot, expiry=lot["expiry"], stated=balance.expiry))
        taken = next((serial for serial in balance.serials if (balance.item, serial) in serials), None)
        if taken is not None:
            found.append(problem(balance.row, "serials", "serial_exists", f"Serial {taken!r} of {balance.item!r} is already known",
                                 item=balance.item, serial=taken))
        problems += found
        if found:
            continue
        checked.to_post.append(balance)
        location = locations[balance.location]
        checked.places[balance.location] = Place(balance.location, location["warehouse"], location["site"])
        if balance.lot:
            key = (balance.item, balance.lot)
            if lot is None:
                checked.new_lots[key] = checked.new_lots.get(key) or balance.expiry
            elif lot["expiry"] is None and balance.expiry is not None:
                checked.dated_lots[key] = {**lot, "expiry": balance.expiry}
    return checked, problems


def _same_balance(before: dict[str, Any], balance: Balance) -> bool:
    cost = before["unit_cost"]
    stored_serials = before["serials"] if isinstance(before["serials"], list) else _json_list(before["serials"])
    return (before["quantity_micro"] == balance.quantity_micro
            and (None if cost is None else Decimal(str(cost))) == balance.unit_cost
            and sorted(stored_serials) == sorted(balance.serials))


def _json_list(text: str | None) -> list[str]:
    return json.loads(text) if text else []


# -- the writes --------------------------------------------------------------------------------------------------------

async def _write_lots(checked: Checked) -> int:
    """Lots the file names first, with their expiry (as `lots.ensure_lot` creates one), and a known lot's first expiry;
    every device gets each of them (entity `lot`)."""
    now = datetime.now(timezone.utc)
    new = [{"item": item, "code": code, "expiry": expiry, "production_date": None, "supplier": None, "supplier_lot": "",
            "source": REASON} for (item, code), expiry in checked.new_lots.items()]
    # A lot another transaction made a moment ago is taken as found, as `ensure_lot` takes it.
    if new:
        await sql_executemany("INSERT INTO lot (item, code, expiry, production_date, supplier, supplier_lot, source, created_at) "
                              "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (item, code) DO NOTHING",
                              [(*row.values(), now) for row in new])
    if checked.dated_lots:
        await sql_executemany("UPDATE lot SET expiry = $1 WHERE item = $2 AND code = $3",
                              [(lot["expiry"], item, code) for (item, code), lot in checked.dated_lots.items()])
    for row in [*new, *checked.dated_lots.values()]:
        record_change("lot", f"{row['item']}|{row['code']}", lot_data(row), Visibility())
    return len(new)


async def _lock_places(balances: list[Balance]) -> None:
    """Every place of the file, locked before anything is read (as every office action does, stock.py): a second
    load of the same file waits for the first and then finds its balances."""
    places = sorted({(b.item, b.location) for b in balances})
    for start in range(0, len(places), LOCK_CHUNK):
        await lock_stock_places(places[start:start + LOCK_CHUNK])


async def _post_balances(checked: Checked, who: Who, filename: str) -> None:
    await open_on_hand_rows([b.place_key for b in checked.to_post])
    note = f"opening balance from {filename}"[:2000]
    now = datetime.now(timezone.utc)
    serial_rows, kept, audited = [], [], []
    for balance in checked.to_post:
        on_hand = await post(balance.item, checked.places[balance.location], balance.lot, balance.status,
                             balance.quantity_micro, REASON, who, note)
        serial_rows += [(balance.item, serial, balance.lot, balance.location, now) for serial in balance.serials]
        kept.append((balance.item, balance.location, balance.lot, balance.status, balance.quantity_micro,
                     balance.unit_cost, json_text(balance.serials), filename[:200], who.username, now))
        audited.append((balance.item, None, {
            "location": balance.location, "lot": balance.lot or None, "status": balance.status,
            "quantity": format(balance.quantity, "f"), "unit_cost": None if balance.unit_cost is None else format(balance.unit_cost, "f"),
            "expiry": balance.expiry.isoformat() if balance.expiry else None, "serials": balance.serials,
            "on_hand": quantity_text(on_hand), "source": filename}))
    if serial_rows:
        await sql_executemany("INSERT INTO serial_number (item, serial, lot, location, status, updated_at) "
                              "VALUES ($1, $2, $3, $4, 'in_stock', $5)", serial_rows)
    await sql_copy("opening_balance", ("item", "location", "lot", "status", "quantity_micro", "unit_cost", "serials",
                                       "source", "username", "at"), kept)
    await record_audits(who, REASON, "stock", audited)


def _summary(balances: list[Balance], checked: Checked, dry_run: bool, lots: int = 0) -> dict[str, Any]:
    posted = checked.to_post
    return {
        "dry_run": dry_run, "rows": len(balances), "posted": 0 if dry_run else len(posted), "to_post": len(posted),
        "skipped": len(checked.skipped), "lots_created": lots, "serials": sum(len(b.serials) for b in posted),
        "quantity": quantity_text(sum(b.quantity_micro for b in posted)), "by_item": _by_item(posted),
    }


def _by_item(balances: list[Balance]) -> list[dict[str, str]]:
    totals: dict[str, int] = {}
    for balance in balances:
        totals[balance.item] = totals.get(balance.item, 0) + balance.quantity_micro
    return [{"item": item, "quantity": quantity_text(total)} for item, total in sorted(totals.items())]


def _refuse(found: list[dict[str, Any]], balances: list[Balance]) -> ApiError:
    found.sort(key=lambda p: (p["row"], COLUMNS.index(p["column"]) if p["column"] in COLUMNS else len(COLUMNS)))
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "import_invalid",
                    f"{len(found)} problem(s) in the file; nothing was imported",
                    {"errors": found, "rows": len(balances)})


@needs_write
async def import_opening_balances(balances: list[Balance], found: list[dict[str, Any]], who: Who, *, filename: str,
                                  dry_run: bool = False) -> dict[str, Any]:
    """Post every balance of a checked file in the caller's transaction — or none: 422 `import_invalid` with every
    problem (row, column, code, message, params)."""
    if not dry_run and not found:
        await _lock_places(balances)
    checked, problems = await check_balances(balances, who) if balances else (Checked(), [])
    found = found + problems
    if found:
        raise _refuse(found, balances)
    if dry_run:
        return _summary(balances, checked, dry_run=True)
    lots = await _write_lots(checked)
    await _post_balances(checked, who, filename)
    return _summary(balances, checked, dry_run=False, lots=lots)
