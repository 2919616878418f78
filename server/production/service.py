"""Production orders in the office: list, read, create, change a draft, release (the routing's operations and the
BOM's components are copied onto the order), cancel and close. Each office action runs in its entry point's
transaction (`needs_write`) with its audit row; what the floor may see (a released order with its operations and materials, or its removal)
goes to the change feed in the same transaction, one row per work centre of its operations, so a tablet scoped to
a work centre gets exactly the orders with an operation there (and a site-wide tablet gets them all)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from schemas.production import (
    ProductionMaterialOut,
    ProductionOperationOut,
    ProductionOrderIn,
    ProductionOrderOut,
    ProductionOrderPatch,
)
from server.accounts.site_scope import within_scope
from server.actors import Who
from server.db import needs_write
from server.document_rules import Problem, Refusal
from server.documents import (
    DocumentTable, audit_change, item_units, master_problems, refuse_problems, site_problems, rows_by_parent,
)
from server.errors import duplicate
from server.quantities import decimals_used, from_micro, to_micro
from server.masterdata.tables import Bom, BomLine, Item, Routing, RoutingOperation
from server.production import rules
from server.production.tables import ProductionMaterial, ProductionOperation, ProductionOrder, ProductionOrderCounter
from server.sales import rules as sales_rules
from server.sales import service as sales
from server.sales.tables import SalesOrder, SalesOrderLine
from sync.feed import Visibility, record_change
from sync.live import publish_board_after_commit

ENTITY = "production_order"
ORDERS_BOARD = "board:orders"
PRODUCTION_ORDERS = DocumentTable(ENTITY, "Production order", ProductionOrder, "PRD", ProductionOrderCounter,
                                  lifecycle=rules.PRODUCTION_ORDER, site_bound=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return _now().date()


def _minutes(value: Decimal) -> Decimal:
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


# -- reading ----------------------------------------------------------------------------------------------------

def order_out(row: dict[str, Any], operations: list[dict[str, Any]], materials: list[dict[str, Any]]) -> ProductionOrderOut:
    quantity = row["quantity_micro"]
    ordered_ops = sorted(operations, key=lambda op: op["sequence"])
    last_good = ordered_ops[-1]["good_micro"] if ordered_ops else 0
    return ProductionOrderOut(
        **{name: row[name] for name in ("code", "item", "site", "due_date", "status", "notes", "over_issued", "created_by",
                                        "sales_order", "sales_order_line", "parent_order",
                                        "released_by", "released_at", "created_at", "updated_at", "version")},
        quantity=from_micro(quantity), bom=row["bom"] or None, routing=row["routing"] or None,
        under_issued=any(m["issued_micro"] < m["consumed_micro"] for m in materials),
        received_quantity=from_micro(row["received_micro"]), progress_pct=rules.progress_pct(last_good, quantity),
        operations=[
            ProductionOperationOut(
                sequence=op["sequence"], work_centre=op["work_centre"], description=op["description"],
                planned_minutes=_minutes(op["planned_minutes"]), good_quantity=from_micro(op["good_micro"]),
                scrap_quantity=from_micro(op["scrap_micro"]), status=op["status"],
                progress_pct=rules.progress_pct(op["good_micro"], quantity),
            )
            for op in ordered_ops
        ],
        materials=[
            ProductionMaterialOut(line_no=m["line_no"], item=m["item"], required_quantity=from_micro(m["required_micro"]),
                                  issued_quantity=from_micro(m["issued_micro"]),
                                  over_issued=m["issued_micro"] > m["required_micro"], issue_method=m["issue_method"],
                                  operation=m["operation"], consumed_quantity=from_micro(m["consumed_micro"]),
                                  under_issued=m["issued_micro"] < m["consumed_micro"])
            for m in sorted(materials, key=lambda m: m["line_no"])
        ],
    )


async def _children(order_ids: list[int]) -> tuple[dict[int, list[dict[str, Any]]], dict[int, list[dict[str, Any]]]]:
    return (await rows_by_parent(ProductionOperation.production_order, order_ids),
            await rows_by_parent(ProductionMaterial.production_order, order_ids))


async def load_order(code: str) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    row = await PRODUCTION_ORDERS.load(code)
    operations, materials = await _children([row["id"]])
    return row, sorted(operations[row["id"]], key=lambda op: op["sequence"]), materials[row["id"]]


async def get_production_order(code: str) -> ProductionOrderOut:
    return order_out(*await load_order(code))


async def list_production_orders(
    *, status: str | None = None, item: str | None = None, site: str | None = None, work_centre: str | None = None,
    q: str | None = None, sort: str = "-created_at", limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    condition = ProductionOrder.id > 0
    for column, value in ((ProductionOrder.status, status), (ProductionOrder.item, item), (ProductionOrder.site, site)):
        if value:
            condition = condition & (column == value)
    if work_centre:
        condition = condition & ProductionOrder.id.is_in(
            ProductionOperation.select(ProductionOperation.production_order).where(ProductionOperation.work_centre == work_centre)
        )
    if q:
        condition = condition & (ProductionOrder.code.ilike(f"%{q}%") | ProductionOrder.notes.ilike(f"%{q}%"))
    condition = within_scope(condition, ProductionOrder.site)
    ascending = not sort.startswith("-")
    rows = (
        await ProductionOrder.select().where(condition)
        .order_by(getattr(ProductionOrder, sort.lstrip("-")), ascending=ascending)
        .order_by(ProductionOrder.id, ascending=ascending)
        .limit(limit).offset(offset)
    )
    total = await ProductionOrder.count().where(condition)
    operations, materials = await _children([row["id"] for row in rows])
    return {"items": [order_out(row, operations[row["id"]], materials[row["id"]]) for row in rows], "total": total,
            "limit": limit, "offset": offset}


# -- what the floor sees ------------------------------------------------------------------------------------------

def device_view(order: ProductionOrderOut) -> dict[str, Any]:
    """What a tablet needs to issue to and report on an order offline, quantities as text."""
    return {
        "code": order.code, "item": order.item, "quantity": format(order.quantity, "f"), "site": order.site,
        "due_date": order.due_date.isoformat(), "status": order.status,
        "received_quantity": format(order.received_quantity, "f"), "over_issued": order.over_issued,
        "under_issued": order.under_issued,
        "operations": [
            {"sequence": op.sequence, "work_centre": op.work_centre, "description": op.description,
             "planned_minutes": format(op.planned_minutes, "f"), "good_quantity": format(op.good_quantity, "f"),
             "scrap_quantity": format(op.scrap_quantity, "f"), "status": op.status}
            for op in order.operations
        ],
        "materials": [
            {"line_no": m.line_no, "item": m.item, "required_quantity": format(m.required_quantity, "f"),
             "issued_quantity": format(m.issued_quantity, "f"), "issue_method": m.issue_method,
             "operation": m.operation, "consumed_quantity": format(m.consumed_quantity, "f"), "under_issued": m.under_issued}
            for m in order.materials
        ],
    }


def _visibilities(order: ProductionOrderOut) -> list[Visibility]:
    return [Visibility(site=order.site, work_centre=wc) for wc in sorted({op.work_centre for op in order.operations})]


def publish(before: ProductionOrderOut | None, after: ProductionOrderOut) -> None:
    """Devices of the site with an operation's work centre in scope hold an order while it is on the floor, and get a
    delete once it is closed or cancelled. The work centres never change after release, so old and new rows agree."""
    if after.status in rules.ON_THE_FLOOR:
        data = device_view(after)
        for visibility in _visibilities(after):
            record_change(ENTITY, after.code, data, visibility)
    elif before is not None and before.status in rules.ON_THE_FLOOR:
        for visibility in _visibilities(before):
            record_change(ENTITY, after.code, None, visibility)
    if before is None or before.status != after.status:
        publish_board_after_commit(ORDERS_BOARD, {"kind": "production_order", "code": after.code, "item": after.item,
                                                  "status": after.status, "site": after.site})


async def _changed(who: Who, action: str, before: ProductionOrderOut | None, after: ProductionOrderOut,
                   summary: str = "") -> None:
    await audit_change(who, action, ENTITY, after.code, before, after, summary)
    publish(before, after)


# -- checks ---------------------------------------------------------------------------------------------------------

async def active_bom(item: str) -> dict[str, Any] | None:
    """The item's newest BOM version in force today (not archived, valid from today or earlier)."""
    today = _today()
    candidates = await Bom.select(Bom.id, Bom.code, Bom.version, Bom.valid_from).where(
        (Bom.item == item) & (Bom.archived == False)  # noqa: E712
    ).order_by(Bom.version, ascending=False)
    return next((b for b in candidates if b["valid_from"] is None or b["valid_from"] <= today), None)


async def active_routing(item: str) -> dict[str, Any] | None:
    return await Routing.select(Routing.id, Routing.code, Routing.version).where(
        (Routing.item == item) & (Routing.archived == False)  # noqa: E712
    ).order_by(Routing.version, ascending=False).first()


async def _order_problems(item: str, quantity: Decimal, site: str) -> list[Problem]:
    problems = await site_problems(site)
    item_problems = await master_problems("item", Item, item, "item")
    if item_problems:
        return problems + item_problems
    decimals = (await item_units([item]))[item]["decimals"]
    if decimals_used(quantity) > decimals:
        problems.append(("quantity", "too_many_decimals", f"item {item!r} allows {decimals} decimals"))
    if await active_bom(item) is None:
        problems.append(("item", "no_bom", f"item {item!r} has no active bill of materials: it is not made here"))
    routing = await active_routing(item)
    if routing is None:
        problems.append(("item", "no_routing", f"item {item!r} has no routing"))
    elif not await RoutingOperation.exists().where(RoutingOperation.routing == routing["id"]):
        problems.append(("item", "routing_without_operations", f"routing {routing['code']!r} has no operations"))
    return problems


async def _sales_order_problems(code: str | None, line_no: int | None) -> list[Problem]:
    """Made to order: the sales order must be one production may still work for, and name the line."""
    if code is None:
        return [("sales_order_line", "sales_order_required", "a line needs its sales order")] if line_no else []
    order = await SalesOrder.select(SalesOrder.id, SalesOrder.status).where(SalesOrder.code == code).first()
    if order is None:
        return [("sales_order", "unknown_sales_order", f"no sales order with code {code!r}")]
    if order["status"] not in sales_rules.UNDER_WAY | {sales_rules.ON_HOLD}:
        return [("sales_order", "sales_order_not_approved",
                 f"sales order {code!r} is {order['status'].replace('_', ' ')}: production works for approved orders")]
    if line_no is not None and not await SalesOrderLine.exists().where(
            (SalesOrderLine.sales_order == order["id"]) & (SalesOrderLine.line_no == line_no)):
        return [("sales_order_line", "unknown_sales_order_line", f"{code} has no line {line_no}")]
    return []


# -- writing ---------------------------------------------------------------------------------------------------------

@needs_write
async def create_production_order(data: ProductionOrderIn, who: Who) -> ProductionOrderOut:
    parent_problems = [] if data.parent_order is None or await ProductionOrder.exists().where(
        ProductionOrder.code == data.parent_order) else [
        ("parent_order", "unknown_production_order", f"No production order {data.parent_order}")]
    refuse_problems(await _order_problems(data.item, data.quantity, data.site)
                    + await _sales_order_problems(data.sales_order, data.sales_order_line) + parent_problems)
    if data.code is not None and await ProductionOrder.exists().where(ProductionOrder.code == data.code):
        raise duplicate(ENTITY, "code", data.code)
    now = _now()
    code = data.code or await PRODUCTION_ORDERS.next_code(now.year)
    await ProductionOrder.insert(ProductionOrder(
        code=code, item=data.item, quantity_micro=to_micro(data.quantity), site=data.site, due_date=data.due_date,
        status=rules.DRAFT, notes=data.notes, created_by=who.name, created_at=now, updated_at=now, version=1,
        sales_order=data.sales_order, sales_order_line=data.sales_order_line, parent_order=data.parent_order,
    ))
    created = await get_production_order(code)
    await _changed(who, "create", None, created)
    return created


@needs_write
async def update_production_order(code: str, patch: ProductionOrderPatch, who: Who) -> ProductionOrderOut:
    changes = patch.model_dump(mode="python", exclude_unset=True)
    sent_version = changes.pop("version")
    row, operations, materials = await load_order(code)
    PRODUCTION_ORDERS.check_version(row, sent_version)
    if row["status"] != rules.DRAFT:
        raise PRODUCTION_ORDERS.state_conflict(
            code, Refusal("order_not_draft", "Only a draft production order can be changed"), row["status"])
    before = order_out(row, operations, materials)
    header = {k: v for k, v in changes.items() if v is not None}
    refuse_problems(await _order_problems(header.get("item", row["item"]), header.get("quantity", before.quantity),
                                          header.get("site", row["site"])))
    if "quantity" in header:
        header["quantity_micro"] = to_micro(header.pop("quantity"))
    await PRODUCTION_ORDERS.bump(row, {getattr(ProductionOrder, name): value for name, value in header.items()})
    after = await get_production_order(code)
    await _changed(who, "update", before, after)
    return after


async def _release_rows(row: dict[str, Any]) -> dict[Any, Any]:
    """Copy the routing's operations and the BOM's components onto the order; the header columns naming them."""
    refuse_problems(await _order_problems(row["item"], from_micro(row["quantity_micro"]), row["site"]))
    bom, routing = await active_bom(row["item"]), await active_routing(row["item"])
    quantity = row["quantity_micro"]
    operations = await RoutingOperation.select().where(RoutingOperation.routing == routing["id"]).order_by(RoutingOperation.sequence)
    await ProductionOperation.insert(*[
        ProductionOperation(production_order=row["id"], sequence=op["sequence"], work_centre=op["work_centre"],
                            description=op["description"], status=rules.PENDING, good_micro=0, scrap_micro=0,
                            planned_minutes=rules.planned_minutes(op["setup_minutes"], op["run_minutes_per_unit"], quantity))
        for op in operations
    ])
    lines = await BomLine.select(BomLine.line_no, BomLine.component, BomLine.quantity, BomLine.scrap_pct,
                                 BomLine.issue_method, BomLine.operation,
                                 BomLine.component.unit.decimals.as_alias("decimals")).where(BomLine.bom == bom["id"]).order_by(BomLine.line_no)
    sequences = [op["sequence"] for op in operations]
    refuse_problems([(f"components[{n}].operation", "operation_not_in_routing",
                      f"BOM {bom['code']!r} line {line['line_no']} is consumed at operation {line['operation']}, which "
                      f"routing {routing['code']!r} does not have") for n, line in enumerate(lines)
                     if line["operation"] is not None and line["operation"] not in sequences])
    # A component on two lines is one material of the order, issued as its first line says.
    required: dict[str, dict[str, Any]] = {}
    for line in lines:
        need = rules.required_micro(line["quantity"], line["scrap_pct"], quantity, line["decimals"] if line["decimals"] is not None else 6)
        entry = required.setdefault(line["component"], {"line_no": line["line_no"], "required_micro": 0,
                                                        "issue_method": line["issue_method"],
                                                        "operation": line["operation"] or sequences[0]})
        entry["required_micro"] += need
    if required:
        await ProductionMaterial.insert(*[
            ProductionMaterial(production_order=row["id"], item=component, issued_micro=0, consumed_micro=0, **entry)
            for component, entry in required.items()
        ])
    return {ProductionOrder.bom: bom["code"], ProductionOrder.routing: routing["code"]}


@needs_write
async def _transition(code: str, target: str, action: str, who: Who, version: int | None,
                      reason: str = "") -> ProductionOrderOut:
    await PRODUCTION_ORDERS.lock(code)
    row, operations, materials = await load_order(code)
    PRODUCTION_ORDERS.check_version(row, version)
    PRODUCTION_ORDERS.check_transition(row, target)
    before = order_out(row, operations, materials)
    columns: dict[Any, Any] = {ProductionOrder.status: target}
    if target == rules.RELEASED:
        columns |= await _release_rows(row)
        columns |= {ProductionOrder.released_by: who.name, ProductionOrder.released_at: _now()}
    await PRODUCTION_ORDERS.bump(row, columns)
    if row["sales_order"]:
        await sales.refresh_progress(row["sales_order"])
    after = await get_production_order(code)
    await _changed(who, action, before, after, reason)
    return after


async def release_production_order(code: str, who: Who, version: int | None = None) -> ProductionOrderOut:
    return await _transition(code, rules.RELEASED, "release", who, version)


async def cancel_production_order(code: str, who: Who, version: int | None = None,
                                  reason: str = "") -> ProductionOrderOut:
    # Anything issued or reported moves an order on to in progress, which cannot be cancelled (order_has_progress).
    return await _transition(code, rules.CANCELLED, "cancel", who, version, reason)


async def close_production_order(code: str, who: Who, version: int | None = None,
                                 reason: str = "") -> ProductionOrderOut:
    return await _transition(code, rules.CLOSED, "close", who, version, reason)
