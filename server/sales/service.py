"""Sales orders: list, read, create (a draft with lines), confirm, cancel, close, and book what a signed delivery
did to the lines. Each office action is one `write_transaction()` with its audit row; `book_delivery` runs inside
the caller's (the `delivery.sign` command's) transaction."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.sales import SalesOrderIn, SalesOrderLineOut, SalesOrderOut
from server.accounts.identity import OfficeUser
from server.db import write_transaction
from server.document_rules import Problem, Refusal, numbered
from server.documents import (
    DocumentTable, actor_name, audit_change, item_units, line_problems, master_problems, refuse_problems,
)
from server.errors import ApiError, duplicate
from server.inventory.stock import from_micro, to_micro
from server.masterdata.tables import Customer, Site
from server.sales import rules
from server.sales.rules import LineProgress
from server.sales.tables import SalesOrder, SalesOrderCounter, SalesOrderLine
from server.shipping.tables import Shipment

ENTITY = "sales_order"
SALES_ORDERS = DocumentTable(ENTITY, "Sales order", SalesOrder, "SO", SalesOrderCounter, SalesOrderLine.sales_order,
                             rules.SALES_ORDER)


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


async def get_sales_order(code: str) -> SalesOrderOut:
    return order_out(*await SALES_ORDERS.load_with_lines(code))


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
    lines = await SALES_ORDERS.lines_of([row["id"] for row in rows])
    return {"items": [order_out(row, lines[row["id"]]) for row in rows], "total": total, "limit": limit, "offset": offset}


async def _line_problems(lines: list[dict[str, Any]], today: date) -> list[Problem]:
    """Each line's problems in line order, a repeated line number first."""
    items = await item_units(line["item"] for line in lines)
    problems: list[Problem] = []
    seen: set[int] = set()
    for index, line in enumerate(lines):
        if line["line_no"] in seen:
            problems.append((f"lines[{index}].line_no", "duplicate_line", f"line {line['line_no']} appears twice"))
        seen.add(line["line_no"])
        problems += line_problems(index, line, items.get(line["item"]), today=today)
    return problems


async def create_sales_order(data: SalesOrderIn, actor: OfficeUser | None) -> SalesOrderOut:
    lines = numbered(line.model_dump(mode="python") for line in data.lines)
    async with write_transaction():
        now = _now()
        refuse_problems(await master_problems("customer", Customer, data.customer, "customer")
                        + await master_problems("site", Site, data.site, "site") + await _line_problems(lines, now.date()))
        if data.code is not None and await SalesOrder.exists().where(SalesOrder.code == data.code):
            raise duplicate(ENTITY, "code", data.code)
        code = data.code or await SALES_ORDERS.next_code(now.year)
        inserted = await SalesOrder.insert(SalesOrder(
            code=code, customer=data.customer, site=data.site, status=rules.DRAFT, notes=data.notes,
            created_by=actor_name(actor), created_at=now, updated_at=now, version=1,
        )).returning(SalesOrder.id)
        if lines:
            await SalesOrderLine.insert(*[
                SalesOrderLine(sales_order=inserted[0]["id"], line_no=line["line_no"], item=line["item"],
                               quantity_micro=to_micro(line["quantity"]), due_date=line["due_date"],
                               shipped_quantity_micro=0, backorder_quantity_micro=0)
                for line in lines
            ])
        created = await get_sales_order(code)
        await audit_change(actor, "create", ENTITY, code, None, created)
    return created


async def _transition(code: str, target: str, action: str, actor: OfficeUser | None, version: int | None,
                      reason: str = "") -> SalesOrderOut:
    async with write_transaction():
        await SALES_ORDERS.lock(code)
        row, line_rows = await SALES_ORDERS.load_with_lines(code)
        if version is not None and version != row["version"]:
            raise ApiError(HTTP_409_CONFLICT, "version_conflict",
                           f"Sales order {code!r} was changed by someone else (version {row['version']}, you had {version})",
                           {"entity": ENTITY, "key": code, "version": row["version"], "sent_version": version})
        SALES_ORDERS.check_transition(row, target)
        if target == rules.CONFIRMED and not line_rows:
            refuse_problems([("lines", "no_lines", "a sales order without lines cannot be confirmed")])
        if target in (rules.CANCELLED, rules.CLOSED):
            open_shipments = await Shipment.count().where(
                (Shipment.sales_order == code) & Shipment.status.not_in(["delivered", "cancelled"]))
            if open_shipments:
                raise SALES_ORDERS.state_conflict(code, Refusal(
                    "sales_order_has_open_shipments",
                    f"{open_shipments} shipment(s) of this order are still open: cancel or deliver them first"),
                    row["status"])
        before = order_out(row, line_rows)
        columns: dict[Any, Any] = {SalesOrder.status: target}
        if target == rules.CONFIRMED:
            columns |= {SalesOrder.confirmed_by: actor_name(actor), SalesOrder.confirmed_at: _now()}
        await SALES_ORDERS.bump(row, columns)
        after = await get_sales_order(code)
        await audit_change(actor, action, ENTITY, code, before, after, reason)
    return after


async def confirm_sales_order(code: str, actor: OfficeUser | None, version: int | None = None) -> SalesOrderOut:
    return await _transition(code, rules.CONFIRMED, "confirm", actor, version)


async def cancel_sales_order(code: str, actor: OfficeUser | None, version: int | None = None, reason: str = "") -> SalesOrderOut:
    return await _transition(code, rules.CANCELLED, "cancel", actor, version, reason)


async def close_sales_order(code: str, actor: OfficeUser | None, version: int | None = None, reason: str = "") -> SalesOrderOut:
    return await _transition(code, rules.CLOSED, "close", actor, version, reason)


async def book_delivery(code: str, deliveries: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """A signed delivery's effect on the order: per line number, (delivered, short) in micro-units. Shipped
    quantities grow, shortfalls become backorders, and the order becomes shipped or partially shipped. The caller
    owns the transaction."""
    await SALES_ORDERS.lock(code)  # shipments and deliveries of one order queue behind each other
    row, line_rows = await SALES_ORDERS.load_with_lines(code)
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
    await SALES_ORDERS.bump(row, {SalesOrder.status: status})
    return {"sales_order": code, "status": status}


def line_progress(line: dict[str, Any]) -> LineProgress:
    return LineProgress(line["quantity_micro"], line["shipped_quantity_micro"])

