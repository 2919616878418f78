"""Sales orders from a spreadsheet (CSV or XLSX), all or nothing: one row per order line, rows with the same
`order_ref` (and customer) make one draft order. Every problem of every row is found first (the file's shape and the
contracts as plain functions, then the references against master data loaded once); one problem refuses the whole
file with a 422 listing them all. A clean file is written in one transaction on the fast path (server/db.py):
thousands of orders in a handful of pipelined statements, each still with what `service.create_sales_order` writes
— the order, its lines, a "create" revision holding the whole order, its `sales_order.created` webhook event, and
an audit row.

A file imported once is not imported again: each order keeps `import:<customer>:<order_ref>` as its idempotency
key (unique), so the same order_ref for the same customer is refused as `already_imported`, naming the order it made.

Columns (English names, or the Chinese in HEADER_ALIASES; order is free; the first row is the header):
order_ref*, customer*, site*, customer_reference, delivery_address, payment_terms_days, notes (the order's: repeated
on each of its rows, or left empty after its first row), line_no, item*, quantity*, unit_price, discount_pct,
due_date*, promised_date (the line's). Dates as YYYY-MM-DD (or YYYY/MM/DD, or XLSX date cells)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import asyncpg
from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.common import has_control_characters
from schemas.sales import SalesOrderIn, SalesOrderLineIn
from server.accounts.site_scope import sees_site
from server.actors import Who
from server.db import DB, json_text, needs_write, placeholders, sql_executemany, sql_fetch
from server.document_rules import document_code, numbered
from server.documents import utc_now
from server.errors import ApiError, field_code, validation_values
from server.quantities import decimals_used, to_micro
# The file reader and the problem shape live in server/spreadsheets.py (every import's); named here as well for the
# importers that took them from here.
from server.spreadsheets import MAX_IMPORT_BYTES, parse_upload, problem, read_rows, refused_file  # noqa: F401
from server.sales import rules
from server.sales.pricing import price_lists
from server.sales.service import ENTITY, EVENTS, order_out
from server.webhooks import service as webhooks

MAX_IMPORT_LINES = 20_000
MAX_LINES_PER_ORDER = 500  # as SalesOrderIn allows
MAX_ORDER_REF = 80
IN_CHUNK = 500  # values per IN (...) lookup: well under SQLite's variable limit

ORDER_COLUMNS = ("customer", "site", "customer_reference", "delivery_address", "payment_terms_days", "notes")
LINE_COLUMNS = ("line_no", "item", "quantity", "unit_price", "discount_pct", "due_date", "promised_date")
COLUMNS = ("order_ref", *ORDER_COLUMNS, *LINE_COLUMNS)
DATE_COLUMNS = ("due_date", "promised_date")
REQUIRED = ("order_ref", "customer", "site", "item", "quantity", "due_date")
HEADER_ALIASES = {
    "订单参考": "order_ref", "订单号": "order_ref", "客户": "customer", "客户编码": "customer", "工厂": "site",
    "站点": "site", "客户订单号": "customer_reference", "送货地址": "delivery_address", "交货地址": "delivery_address",
    "付款天数": "payment_terms_days", "账期": "payment_terms_days", "备注": "notes", "行号": "line_no",
    "物料": "item", "物料编码": "item", "数量": "quantity", "单价": "unit_price", "折扣": "discount_pct",
    "折扣率": "discount_pct", "要求交期": "due_date", "交期": "due_date", "承诺交期": "promised_date",
}
_SLASHED_DATE = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$")


# -- the file's shape and contracts: pure ----------------------------------------------------------------------------

@dataclass
class ImportedLine:
    row: int
    values: dict[str, Any]  # SalesOrderLineIn's fields that passed its contract (all of them on a clean line)


@dataclass
class ImportedOrder:
    ref: str
    row: int  # the row of its first line, where problems of the order's own columns are reported
    cells: dict[str, str]  # its order columns as the first row gave them
    terms: dict[str, Any] = field(default_factory=dict)  # the columns that passed SalesOrderIn's contract
    lines: list[ImportedLine] = field(default_factory=list)

    @property
    def key(self) -> str:
        """Stored as the order's idempotency key, so the same order_ref for the same customer imports once."""
        return f"import:{self.cells.get('customer', '').strip()}:{self.ref}"


def header_columns(cells: Sequence[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """The header's cells as documented column names, and its problems (on row 1)."""
    names, problems = [], []
    for cell in cells:
        text = cell.strip()
        name = HEADER_ALIASES.get(text) or re.sub(r"[\s-]+", "_", text.lower())
        if name and name not in COLUMNS:
            problems.append(problem(1, text, "unknown_column",
                                    f"unknown column {text!r}; the columns are: {', '.join(COLUMNS)}",
                                    column=text, columns=", ".join(COLUMNS)))
        elif name and name in names:
            problems.append(problem(1, name, "duplicate_column", f"column {name!r} appears twice", column=name))
        names.append(name)
    for name in REQUIRED:
        if name not in names:
            problems.append(problem(1, name, "missing_column", f"the header has no {name!r} column", column=name))
    return names, problems


def _cell_text(name: str, value: str) -> str | None:
    """A cell's value for the contracts: trimmed, None when empty (the field's default applies), dates as ISO."""
    text = value.strip()
    if not text:
        return None
    if name in DATE_COLUMNS and (match := _SLASHED_DATE.match(text)):
        year, month, day = (int(part) for part in match.groups())
        return f"{year:04d}-{month:02d}-{day:02d}"
    return text


def field_validators(model: type[BaseModel], names: Sequence[str]) -> dict[str, TypeAdapter[Any]]:
    fields = model.model_fields
    return {name: TypeAdapter(Annotated[fields[name].annotation, fields[name]]) for name in names}


# Each column checked on its own by its field's contract (SalesOrderIn's, SalesOrderLineIn's), so a row with a bad
# quantity still has its due date checked against today: every problem of the row is reported at once.
TERMS_FIELDS = field_validators(SalesOrderIn, ORDER_COLUMNS)
LINE_FIELDS = field_validators(SalesOrderLineIn, LINE_COLUMNS)
REQUIRED_FIELDS = {name for model in (SalesOrderIn, SalesOrderLineIn) for name, info in model.model_fields.items()
                   if info.is_required()}


def _validated(fields: dict[str, TypeAdapter[Any]], model: type[BaseModel], row: int,
               cells: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The columns' values that pass their contract (defaults for empty optional ones), and the others' problems."""
    values, found = {}, []
    for name, validator in fields.items():
        text = _cell_text(name, cells.get(name, ""))
        if text is None:
            if name in REQUIRED_FIELDS:
                found.append(problem(row, name, "missing_field", f"{name} is required", column=name))
            else:
                values[name] = model.model_fields[name].get_default(call_default_factory=True)
            continue
        try:
            values[name] = validator.validate_python(text)
        except ValidationError as exc:
            found += [problem(row, name, field_code(error["msg"]), error["msg"].removeprefix("Value error, "),
                              column=name, **validation_values(error, text)) for error in exc.errors()]
    return values, found


def parse_sheet(rows: Iterable[tuple[int, list[str]]]) -> tuple[list[ImportedOrder], list[dict[str, Any]]]:
    """Rows to orders with validated terms and lines, and every problem found without the database: the header, an
    order_ref missing or too long, an order's rows disagreeing on its terms, cells the contracts refuse, too many
    lines in a file or an order, a line number twice in an order."""
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return [], [problem(0, "", "empty_file", "the file has no header and no rows")]
    names, problems = header_columns(first[1])
    if problems:
        return [], problems
    orders: dict[tuple[str, str], ImportedOrder] = {}
    line_count = 0
    for number, cells in rows:
        line_count += 1
        if line_count > MAX_IMPORT_LINES:
            problems.append(problem(number, "", "too_many_rows",
                                    f"at most {MAX_IMPORT_LINES:,} order lines per file: split it",
                                    max_rows=MAX_IMPORT_LINES))
            break
        if len(cells) > len(names) and any(cell.strip() for cell in cells[len(names):]):
            problems.append(problem(number, "", "invalid_row", "more cells than the header has columns",
                                    columns=len(names)))
            continue
        values = {name: cells[index] if index < len(cells) else "" for index, name in enumerate(names) if name}
        ref = values.get("order_ref", "").strip()
        if not ref:
            problems.append(problem(number, "order_ref", "missing_field", "every row needs the order_ref of its order",
                                    column="order_ref"))
            continue
        if len(ref) > MAX_ORDER_REF or has_control_characters(ref):
            problems.append(problem(number, "order_ref", "invalid_format",
                                    f"at most {MAX_ORDER_REF} characters, no control characters",
                                    value=re.sub(r"[\x00-\x1f\x7f]", "", ref), max_length=MAX_ORDER_REF))
            continue
        order_cells = {name: values.get(name, "") for name in ORDER_COLUMNS}
        group = (ref, order_cells["customer"].strip())
        order = orders.get(group)
        if order is None:
            order = orders[group] = ImportedOrder(ref=ref, row=number, cells=order_cells)
        else:
            for name in ORDER_COLUMNS:
                sent = order_cells[name].strip()
                if sent and sent != order.cells[name].strip():
                    problems.append(problem(number, name, "inconsistent_order",
                                            f"order {ref!r} has {order.cells[name].strip()!r} here on row {order.row}",
                                            order_ref=ref, value=order.cells[name].strip(), row=order.row))
        if len(order.lines) == MAX_LINES_PER_ORDER:
            problems.append(problem(number, "order_ref", "too_many_lines",
                                    f"order {ref!r} has more than {MAX_LINES_PER_ORDER} lines",
                                    order_ref=ref, max_lines=MAX_LINES_PER_ORDER))
            continue
        line_values, line_problems_found = _validated(LINE_FIELDS, SalesOrderLineIn, number, values)
        problems += line_problems_found
        order.lines.append(ImportedLine(number, line_values))
    for order in orders.values():
        order.terms, terms_problems = _validated(TERMS_FIELDS, SalesOrderIn, order.row, order.cells)
        problems += terms_problems
        problems += _duplicate_line_numbers(order)
    return list(orders.values()), problems


def _duplicate_line_numbers(order: ImportedOrder) -> list[dict[str, Any]]:
    """Lines numbered as the service numbers them (empty: the next multiple of 10); a number twice is refused."""
    found, seen = [], {}
    for line, values in zip(order.lines, numbered({"line_no": None, **line.values} for line in order.lines)):
        line.values = values
        if values["line_no"] in seen:
            found.append(problem(line.row, "line_no", "duplicate_line", f"line {values['line_no']} of order "
                                 f"{order.ref!r} is also on row {seen[values['line_no']]}",
                                 line_no=values["line_no"], order_ref=order.ref, row=seen[values["line_no"]]))
        seen.setdefault(values["line_no"], line.row)
    return found


Records = dict[str, dict[str, Any]]


def reference_problems(orders: list[ImportedOrder], customers: Records, sites: Records, items: Records,
                       imported: dict[str, str], today: date) -> list[dict[str, Any]]:
    """What only master data and earlier imports can tell: unknown or archived customers, sites and items, a site the
    user may not work for (`allowed` false: server/accounts/site_scope.py), quantities
    finer than the item's unit, dates in the past (the rules and wording of the service's own line check), an order
    imported before."""
    found = []
    for order in orders:
        for name, records in (("customer", customers), ("site", sites)):
            code = order.terms.get(name)
            if code is not None:
                record = records.get(code)
                if record is None:
                    found.append(problem(order.row, name, f"unknown_{name}", f"no {name} with code {code!r}",
                                         **{name: code}))
                elif record["archived"]:
                    found.append(problem(order.row, name, f"archived_{name}", f"{name} {code!r} is archived",
                                         **{name: code}))
                elif not record.get("allowed", True):  # a site outside the importing user's scope
                    found.append(problem(order.row, name, "site_not_allowed", f"you may not work for site {code!r}",
                                         site=code))
        if order.key in imported:
            found.append(problem(order.row, "order_ref", "already_imported",
                                 f"order {order.ref!r} of this customer was imported before as {imported[order.key]}",
                                 order_ref=order.ref, order=imported[order.key]))
        for line in order.lines:
            found += _line_reference_problems(line, items, today)
    return found


def _line_reference_problems(line: ImportedLine, items: dict[str, dict[str, Any]], today: date) -> list[dict[str, Any]]:
    values, found = line.values, []
    if "item" in values:
        item = items.get(values["item"])
        if item is None:
            found.append(problem(line.row, "item", "unknown_item", f"no item with code {values['item']!r}",
                                 item=values["item"]))
        elif item["archived"]:
            found.append(problem(line.row, "item", "archived_item", f"item {values['item']!r} is archived",
                                 item=values["item"]))
        elif "quantity" in values and decimals_used(values["quantity"]) > item["decimals"]:
            found.append(problem(line.row, "quantity", "too_many_decimals",
                                 f"item {values['item']!r} allows {item['decimals']} decimals",
                                 item=values["item"], decimals=item["decimals"], quantity=values["quantity"]))
    for name in ("due_date", "promised_date"):
        if values.get(name) is not None and values[name] < today:
            found.append(problem(line.row, name, f"{name}_in_past",
                                 f"{name.replace('_', ' ')} {values[name]} is before today", date=values[name]))
    return found


# -- the database side -------------------------------------------------------------------------------------------------

async def _rows_where_in(select: str, column: str, values: Iterable[str]) -> list[dict[str, Any]]:
    """`select … WHERE column IN (values)`, in chunks."""
    values = sorted(set(values))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        rows += await sql_fetch(f"{select} WHERE {column} IN ({placeholders(len(chunk))})", *chunk)
    return rows


async def _references(orders: list[ImportedOrder]) -> dict[str, Any]:
    """Master data and earlier imports the file names, each table read once."""
    item_codes = {line.values["item"] for order in orders for line in order.lines if "item" in line.values}
    customers = await _rows_where_in(
        "SELECT code, archived, currency, grade, address, payment_terms_days FROM customer", "code",
        (order.terms["customer"] for order in orders if "customer" in order.terms))
    sites = await _rows_where_in("SELECT code, archived FROM site", "code",
                                 (order.terms["site"] for order in orders if "site" in order.terms))
    items = await _rows_where_in("SELECT code, archived, unit FROM item", "code", item_codes)
    units = {row["code"]: row["decimals"] for row in await sql_fetch("SELECT code, decimals FROM unit")}
    imported = await _rows_where_in("SELECT idempotency_key, code FROM sales_order", "idempotency_key",
                                    (order.key for order in orders))
    return {
        "customers": {row["code"]: {**row, "archived": bool(row["archived"])} for row in customers},
        "sites": {row["code"]: {"archived": bool(row["archived"]), "allowed": sees_site(row["code"])} for row in sites},
        "items": {row["code"]: {**row, "archived": bool(row["archived"]), "decimals": units.get(row["unit"], 6)}
                  for row in items},
        "imported": {row["idempotency_key"]: row["code"] for row in imported},
    }


async def _reserve_ids(table: str, count: int) -> list[int]:
    """`count` primary keys for rows written with their id (their lines and revisions need it, and a pipelined
    insert returns nothing). PostgreSQL takes them from the table's sequence; on SQLite the writer holds the
    database lock, so the next ids after the highest are free."""
    if DB.engine_type == "postgres":
        rows = await sql_fetch(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) AS id "
                               "FROM generate_series(1, $1)", count)
        return [row["id"] for row in rows]
    top = (await sql_fetch(f"SELECT COALESCE(MAX(id), 0) AS top FROM {table}"))[0]["top"]
    return list(range(top + 1, top + 1 + count))


async def _order_codes(year: int, count: int) -> list[str]:
    """The year's next `count` order numbers in one step of its counter; numbers someone typed by hand are skipped
    (as `DocumentTable.next_code` does), taking more."""
    codes: list[str] = []
    while len(codes) < count:
        wanted = count - len(codes)
        rows = await sql_fetch(
            "INSERT INTO sales_order_counter (year, last_number) VALUES ($1, $2) ON CONFLICT (year) "
            "DO UPDATE SET last_number = sales_order_counter.last_number + excluded.last_number RETURNING last_number",
            year, wanted)
        last = rows[0]["last_number"]
        candidates = [document_code("SO", year, number) for number in range(last - wanted + 1, last + 1)]
        taken = {row["code"] for row in await _rows_where_in("SELECT code FROM sales_order", "code", candidates)}
        codes += [code for code in candidates if code not in taken]
    return codes


ORDER_INSERT = ("id", "code", "customer", "site", "status", "notes", "currency", "payment_terms_days",
                "delivery_address", "customer_reference", "source", "idempotency_key", "hold_reason", "hold_kind",
                "held_from", "paid_amount", "created_by", "submitted_by", "submitted_at", "approved_by", "approved_at",
                "created_at", "updated_at", "version")
LINE_INSERT = ("sales_order", "line_no", "item", "quantity_micro", "unit_price", "discount_pct", "due_date",
               "promised_date", "shipped_quantity_micro", "backorder_quantity_micro")
REVISION_INSERT = ("sales_order", "version", "action", "actor", "at", "reason", "changes", "snapshot")
AUDIT_INSERT = ("at", "user_id", "username", "action", "entity", "entity_key", "before", "after", "summary")


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders(len(columns))})"


async def _write_orders(orders: list[ImportedOrder], customers: dict[str, dict[str, Any]], who: Who,
                        filename: str) -> list[str]:
    """Every order of a checked file, with what `create_sales_order` writes for one, in four pipelined inserts, and
    the `sales_order.created` webhook event each (queued with the transaction's other deferred rows)."""
    now = utc_now()
    ids = await _reserve_ids("sales_order", len(orders))
    codes = await _order_codes(now.year, len(orders))
    by = who.name
    await price_lists.fill_prices([(customers[order.terms["customer"]], [line.values for line in order.lines])
                                   for order in orders], now.date())
    order_rows, line_rows, revision_rows, audit_rows = [], [], [], []
    for order, order_id, code in zip(orders, ids, codes):
        terms = order.terms
        customer = customers[terms["customer"]]
        header = {
            "id": order_id, "code": code, "customer": terms["customer"], "site": terms["site"], "status": rules.DRAFT,
            "notes": terms["notes"], "currency": customer["currency"],
            "payment_terms_days": customer["payment_terms_days"] if terms["payment_terms_days"] is None
            else terms["payment_terms_days"],
            "delivery_address": terms["delivery_address"] or customer["address"],
            "customer_reference": terms["customer_reference"], "source": "import", "contract": None, "quote": None,
            "idempotency_key": order.key,
            "hold_reason": "", "hold_kind": "", "held_from": None, "paid_amount": Decimal(0), "created_by": by,
            "submitted_by": None,
            "submitted_at": None, "approved_by": None, "approved_at": None, "created_at": now, "updated_at": now,
            "version": 1,
        }
        lines = [{
            "sales_order": order_id, "line_no": line.values["line_no"], "item": line.values["item"],
            "quantity_micro": to_micro(line.values["quantity"]), "unit_price": line.values["unit_price"],
            "discount_pct": line.values["discount_pct"], "due_date": line.values["due_date"],
            "promised_date": line.values["promised_date"], "shipped_quantity_micro": 0, "backorder_quantity_micro": 0,
        } for line in sorted(order.lines, key=lambda line: line.values["line_no"])]
        created = order_out(header, lines).model_dump(mode="json")
        order_rows.append(tuple(header[name] for name in ORDER_INSERT))
        line_rows += [tuple(line[name] for name in LINE_INSERT) for line in lines]
        reason = f"imported from {filename}, order_ref {order.ref}"[:2000]
        changes = rules.order_changes(None, created)
        revision_rows.append((order_id, 1, "create", by, now, reason, json_text(changes), json_text(created)))
        await webhooks.emit(f"sales_order.{EVENTS['create']}", {"action": "create", "actor": by, "reason": reason,
                                                                 "changes": changes, "order": created})
        audit_rows.append((now, who.actor.id if who.actor else None, by, "import", ENTITY, code, None,
                           json_text(created), reason))
    await sql_executemany(_insert("sales_order", ORDER_INSERT), order_rows)
    await sql_executemany(_insert("sales_order_line", LINE_INSERT), line_rows)
    await sql_executemany(_insert("sales_order_revision", REVISION_INSERT), revision_rows)
    await sql_executemany(_insert("audit_entry", AUDIT_INSERT), audit_rows)
    return codes


def _summary(orders: list[ImportedOrder], codes: Sequence[str | None], dry_run: bool) -> dict[str, Any]:
    return {
        "dry_run": dry_run, "orders": len(orders), "lines": sum(len(order.lines) for order in orders),
        "imported": [{"order_ref": order.ref, "customer": order.terms.get("customer", ""), "code": code,
                      "lines": len(order.lines)} for order, code in zip(orders, codes)],
    }


def _refuse(found: list[dict[str, Any]], orders: list[ImportedOrder]) -> ApiError:
    found.sort(key=lambda p: (p["row"], COLUMNS.index(p["column"]) if p["column"] in COLUMNS else len(COLUMNS)))
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "import_invalid",
                    f"{len(found)} problem(s) in the file; nothing was imported",
                    {"errors": found, "orders": len(orders), "lines": sum(len(o.lines) for o in orders)})


async def read_order_sheet(raw: bytes, filename: str) -> tuple[list[ImportedOrder], list[dict[str, Any]]]:
    """The file's orders and the problems found in it alone (before the database is asked), read in a worker thread
    within the bounds of server/spreadsheets.py: a file with problems and no order at all is refused here, before any
    transaction is opened."""
    orders, found = await parse_upload(lambda deadline: parse_sheet(read_rows(raw, filename, deadline)))
    if not orders and not found:
        found = [problem(0, "", "empty_file", "the file has a header but no order lines")]
    if found and not orders:
        raise _refuse(found, orders)
    return orders, found


@needs_write
async def import_sales_orders(orders: list[ImportedOrder], found: list[dict[str, Any]], who: Who, *,
                              filename: str, dry_run: bool = False) -> dict[str, Any]:
    """Create all the sheet's orders as drafts in the caller's transaction — or none: 422 `import_invalid` with every
    problem (row, column, code, message). A race with another import of the same orders loses on their idempotency
    keys: the entry point turns that into 409 `already_imported` (`lost_race_is_already_imported`)."""
    known = await _references(orders)
    found = found + reference_problems(orders, known["customers"], known["sites"], known["items"], known["imported"],
                                       utc_now().date())
    if found:
        raise _refuse(found, orders)
    if dry_run:
        return _summary(orders, [None] * len(orders), dry_run=True)
    codes = await _write_orders(orders, known["customers"], who, filename)
    return _summary(orders, codes, dry_run=False)


@contextmanager
def lost_race_is_already_imported() -> Iterator[None]:
    """Around the import's transaction: the unique idempotency keys stopped a second import of the same orders."""
    try:
        yield
    except (sqlite3.IntegrityError, asyncpg.exceptions.UniqueViolationError) as exc:
        raise ApiError(HTTP_409_CONFLICT, "already_imported",
                       "Another import of the same orders finished first; nothing of this one was written",
                       {"entity": ENTITY}) from exc
