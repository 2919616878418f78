"""Sales orders: list, read, create (a draft with lines), confirm, cancel, close, and book what a signed delivery
did to the lines. Each office action is one `write_transaction()` with its audit row; `book_delivery` runs inside
the caller's (the `delivery.sign` command's) transaction."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.sales import SalesOrderIn, SalesOrderLineOut, SalesOrderOut
from server.accounts.audit import record_audit
from server.accounts.identity import OfficeUser
from server.db import DB, write_transaction
from server.errors import ApiError, duplicate, not_found
from server.inventory.stock import decimals_used, from_micro, to_micro
from server.masterdata.tables import Customer, Item, Site, Unit
from server.sales import rules
from server.sales.rules import LineProgress, Refusal
from server.sales.tables import SalesOrder, SalesOrderCounter, SalesOrderLine
from server.shipping.tables import Shipment

ENTITY = "sales_order"
LINE_STEP = 10
Problem = tuple[str, str, str]  # field, code, message


def _now() -> datetime:
    return datetime.now(timezone.utc)


def line_out(row: dict[str, Any]) -> SalesOrderLineOut:
    return SalesOrderLineOut(
        line_no=row["line_no"], item=row["item"], quantity=from_micro(row["quantity_micro"]), due_date=row["due_date"],
        shipped_quantity=from_micro(row["shipped_quantity_micro"]),
        backorder_quantity=from_micro(row["backorder_quantity_micro"]),
        open_quantity=from_micro(rules.open_micro(line_progress(row))),
    )


def order_out(row: dict[str, Any], lines: list[dict[str, Any]]) -> SalesOrderOut:
    return SalesOrderOut(
        **{name: row[name] for name in ("code", "customer", "site", "status", "notes", "created_by", "confirmed_by",
                                        "confirmed_at", "created_at", "updated_at", "version")},
        lines=[line_out(line) for line in lines],
    )


def _username(actor: OfficeUser | None) -> str:
    return actor.username if actor else "system"


async def _lines_of(order_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    grouped: dict[int, list[dict[str, Any]]] = {order_id: [] for order_id in order_ids}
    if order_ids:
        rows = await SalesOrderLine.select().where(SalesOrderLine.sales_order.is_in(order_ids)).order_by(SalesOrderLine.line_no)
        for row in rows:
            grouped[row["sales_order"]].append(row)
    return grouped


async def load(code: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    row = await SalesOrder.select().where(SalesOrder.code == code).first()
    if row is None:
        raise not_found(ENTITY, code)
    return row, (await _lines_of([row["id"]]))[row["id"]]


async def get_sales_order(code: str) -> SalesOrderOut:
    return order_out(*await load(code))


async def list_sales_orders(*, status: str | None = None, customer: str | None = None, q: str | None = None,
                            limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = SalesOrder.id > 0
    if status:
        condition = condition & (SalesOrder.status == status)
    if customer:
        condition = condition & (SalesOrder.customer == customer)
    if q:
        condition = condition & (SalesOrder.code.ilike(f"%{q}%") | SalesOrder.notes.ilike(f"%{q}%"))
    rows = await (SalesOrder.select().where(condition).order_by(SalesOrder.created_at, ascending=False)
                  .order_by(SalesOrder.id, ascending=False).limit(limit).offset(offset))
    total = await SalesOrder.count().where(condition)
    lines = await _lines_of([row["id"] for row in rows])
    return {"items": [order_out(row, lines[row["id"]]) for row in rows], "total": total, "limit": limit, "offset": offset}


def _refuse(problems: list[Problem]) -> None:
    """All problems at once (a form shows each next to its field); the first one's code is the answer's code."""
    if problems:
        field, code, message = problems[0]
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, code, f"{field}: {message}" if field else message,
                       {"field": field, "errors": [{"field": f, "code": c, "message": m} for f, c, m in problems]})


async def _master_problem(field: str, table: Any, code: str, entity: str) -> list[Problem]:
    row = await table.select(table.archived).where(table.code == code).first()
    if row is None:
        return [(field, f"unknown_{entity}", f"no {entity} with code {code!r}")]
    if row["archived"]:
        return [(field, f"archived_{entity}", f"{entity} {code!r} is archived")]
    return []


async def _line_problems(lines: list[dict[str, Any]], today: date) -> list[Problem]:
    codes = list({line["item"] for line in lines})
    items = {r["code"]: r for r in await Item.select(Item.code, Item.archived, Item.unit).where(Item.code.is_in(codes))} if codes else {}
    units = {u["code"]: u["decimals"] for u in await Unit.select(Unit.code, Unit.decimals)}
    problems: list[Problem] = []
    seen: set[int] = set()
    for index, line in enumerate(lines):
        where, item = f"lines[{index}]", items.get(line["item"])
        if line["line_no"] in seen:
            problems.append((f"{where}.line_no", "duplicate_line", f"line {line['line_no']} appears twice"))
        seen.add(line["line_no"])
        if item is None:
            problems.append((f"{where}.item", "unknown_item", f"no item with code {line['item']!r}"))
        elif item["archived"]:
            problems.append((f"{where}.item", "archived_item", f"item {line['item']!r} is archived"))
        elif decimals_used(line["quantity"]) > units.get(item["unit"], 6):
            problems.append((f"{where}.quantity", "too_many_decimals", f"item {line['item']!r} allows {units.get(item['unit'], 6)} decimals"))
        if line["due_date"] < today:
            problems.append((f"{where}.due_date", "due_date_in_past", f"due date {line['due_date']} is before today"))
    return problems


def _numbered(data: SalesOrderIn) -> list[dict[str, Any]]:
    numbered, highest = [], 0
    for line in data.lines:
        values = line.model_dump(mode="python")
        if values["line_no"] is None:
            values["line_no"] = (highest // LINE_STEP + 1) * LINE_STEP
        highest = max(highest, values["line_no"])
        numbered.append(values)
    return numbered


async def _next_code(year: int) -> str:
    """The next free SO-<year>-NNNN; numbers typed by hand are skipped."""
    while True:
        rows = await SalesOrderCounter.raw(
            "INSERT INTO sales_order_counter (year, last_number) VALUES ({}, 1) "
            "ON CONFLICT (year) DO UPDATE SET last_number = sales_order_counter.last_number + 1 RETURNING last_number",
            year,
        )
        code = f"SO-{year}-{rows[0]['last_number']:04d}"
        if not await SalesOrder.exists().where(SalesOrder.code == code):
            return code


async def create_sales_order(data: SalesOrderIn, actor: OfficeUser | None) -> SalesOrderOut:
    lines = _numbered(data)
    async with write_transaction():
        now = _now()
        _refuse(await _master_problem("customer", Customer, data.customer, "customer")
                + await _master_problem("site", Site, data.site, "site") + await _line_problems(lines, now.date()))
        if data.code is not None and await SalesOrder.exists().where(SalesOrder.code == data.code):
            raise duplicate(ENTITY, "code", data.code)
        code = data.code or await _next_code(now.year)
        inserted = await SalesOrder.insert(SalesOrder(
            code=code, customer=data.customer, site=data.site, status=rules.DRAFT, notes=data.notes,
            created_by=_username(actor), created_at=now, updated_at=now, version=1,
        )).returning(SalesOrder.id)
        if lines:
            await SalesOrderLine.insert(*[
                SalesOrderLine(sales_order=inserted[0]["id"], line_no=line["line_no"], item=line["item"],
                               quantity_micro=to_micro(line["quantity"]), due_date=line["due_date"],
                               shipped_quantity_micro=0, backorder_quantity_micro=0)
                for line in lines
            ])
        created = await get_sales_order(code)
        await record_audit(actor, "create", ENTITY, code, None, created.model_dump(mode="json"))
    return created


def _state_conflict(code: str, refusal: Refusal, status: str) -> ApiError:
    return ApiError(HTTP_409_CONFLICT, refusal.code, refusal.message, {"entity": ENTITY, "key": code, "status": status})


async def _bump(row: dict[str, Any], columns: dict[Any, Any]) -> None:
    """Write the header with the next version, only if nobody else did in between (else `version_conflict`)."""
    updated = await SalesOrder.update(
        {**columns, SalesOrder.version: row["version"] + 1, SalesOrder.updated_at: _now()}
    ).where((SalesOrder.id == row["id"]) & (SalesOrder.version == row["version"])).returning(SalesOrder.id)
    if not updated:
        raise ApiError(HTTP_409_CONFLICT, "version_conflict", f"Sales order {row['code']!r} was changed by someone else: reload it",
                       {"entity": ENTITY, "key": row["code"], "sent_version": row["version"]})


async def _transition(code: str, target: str, action: str, actor: OfficeUser | None, version: int | None,
                      reason: str = "") -> SalesOrderOut:
    async with write_transaction():
        await lock(code)
        row, line_rows = await load(code)
        if version is not None and version != row["version"]:
            raise ApiError(HTTP_409_CONFLICT, "version_conflict",
                           f"Sales order {code!r} was changed by someone else (version {row['version']}, you had {version})",
                           {"entity": ENTITY, "key": code, "version": row["version"], "sent_version": version})
        refusal = rules.transition_refusal(row["status"], target)
        if refusal is not None:
            raise _state_conflict(code, refusal, row["status"])
        if target == rules.CONFIRMED and not line_rows:
            _refuse([("lines", "no_lines", "a sales order without lines cannot be confirmed")])
        if target in (rules.CANCELLED, rules.CLOSED):
            open_shipments = await Shipment.count().where(
                (Shipment.sales_order == code) & Shipment.status.not_in(["delivered", "cancelled"]))
            if open_shipments:
                raise _state_conflict(code, Refusal("sales_order_has_open_shipments",
                                                    f"{open_shipments} shipment(s) of this order are still open: cancel or deliver them first"),
                                      row["status"])
        before = order_out(row, line_rows)
        columns: dict[Any, Any] = {SalesOrder.status: target}
        if target == rules.CONFIRMED:
            columns |= {SalesOrder.confirmed_by: _username(actor), SalesOrder.confirmed_at: _now()}
        await _bump(row, columns)
        after = await get_sales_order(code)
        await record_audit(actor, action, ENTITY, code, before.model_dump(mode="json"), after.model_dump(mode="json"), reason)
    return after


async def confirm_sales_order(code: str, actor: OfficeUser | None, version: int | None = None) -> SalesOrderOut:
    return await _transition(code, rules.CONFIRMED, "confirm", actor, version)


async def cancel_sales_order(code: str, actor: OfficeUser | None, version: int | None = None, reason: str = "") -> SalesOrderOut:
    return await _transition(code, rules.CANCELLED, "cancel", actor, version, reason)


async def close_sales_order(code: str, actor: OfficeUser | None, version: int | None = None, reason: str = "") -> SalesOrderOut:
    return await _transition(code, rules.CLOSED, "close", actor, version, reason)


async def lock(code: str) -> None:
    """Shipments and deliveries of one order queue behind each other on PostgreSQL (SQLite already serialises
    writers), so each reads what the one before booked."""
    if DB.engine_type == "postgres":
        await SalesOrder.raw("SELECT id FROM sales_order WHERE code = {} FOR UPDATE", code)


async def book_delivery(code: str, deliveries: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """A signed delivery's effect on the order: per line number, (delivered, short) in micro-units. Shipped
    quantities grow, shortfalls become backorders, and the order becomes shipped or partially shipped. The caller
    owns the transaction."""
    await lock(code)
    row, line_rows = await load(code)
    progress = []
    for line in line_rows:
        delivered, short = deliveries.get(line["line_no"], (0, 0))
        shipped = line["shipped_quantity_micro"] + delivered
        if delivered or short:
            await SalesOrderLine.update({
                SalesOrderLine.shipped_quantity_micro: shipped,
                SalesOrderLine.backorder_quantity_micro: rules.backorder_after_delivery(
                    line["backorder_quantity_micro"], delivered, short),
            }).where(SalesOrderLine.id == line["id"])
        progress.append(LineProgress(line["quantity_micro"], shipped))
    status = rules.status_after_delivery(row["status"], progress)
    await _bump(row, {SalesOrder.status: status})
    return {"sales_order": code, "status": status}


def line_progress(line: dict[str, Any]) -> LineProgress:
    return LineProgress(line["quantity_micro"], line["shipped_quantity_micro"])

