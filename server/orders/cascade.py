"""The order cascade: what cancelling or closing a sales order does across the areas it reached. Planned shipments are
cancelled (their reservations released), production orders made for it cancelled while drafts and named for review
once released, its reservations released. It sits above sales, shipping and production and drives them through
their own functions; they never import it. The caller (the entry point) owns the transaction."""

from __future__ import annotations

from typing import Any

from schemas.sales import SalesOrderOut
from server.actors import Who
from server.db import current_write
from server.document_rules import Refusal
from server.errors import ApiError
from server.inventory.availability import release_reservations
from server.inventory.tables import Reservation
from server.production import rules as production_rules
from server.production import service as production
from server.production.tables import ProductionOrder
from server.quantities import quantity_text
from server.sales import rules as sales_rules
from server.sales import service as sales
from server.sales.tables import SalesOrder
from server.shipping import rules as shipping_rules
from server.shipping import planning as shipping
from server.shipping.tables import Shipment


async def _open_shipments(code: str) -> int:
    return await Shipment.count().where((Shipment.sales_order == code) & Shipment.status.is_in(list(shipping_rules.OPEN)))


async def cancel_sales_order(code: str, who: Who, version: int | None = None,
                             reason: str = "") -> tuple[SalesOrderOut, SalesOrderOut, list[dict[str, Any]]]:
    """Cancel, and say what it did downstream: planned shipments are cancelled with the order (their reservations
    released), and so are its own reservations; production orders made for it are cancelled while still drafts, and
    named for the planner's review once released (their work may serve other orders). A shipment already packed
    stops the cancel, naming the shipment: its units must be unpacked (or delivered) first. Each shipment cancelled
    moves the order on as any cancelled shipment does (its history shows it), and then the order is cancelled.
    Returns the order as it was when locked, the cancelled order, and the impacts."""
    current_write()  # inside the entry point's transaction, or not at all
    row, _, before = await sales.lock_order(code, version)
    sales.SALES_ORDERS.check_transition(row, sales_rules.CANCELLED)
    impacts = await _cancel_open_shipments(row, who, reason)
    impacts += await _cancel_or_flag_production(row, who, reason)
    row = await sales.SALES_ORDERS.load(code)  # a cancelled shipment moved the order back first (its own version)
    reserved = await Reservation.select(Reservation.line_no, Reservation.quantity_micro).where(
        (Reservation.order_kind == sales.ENTITY) & (Reservation.order_code == code) & Reservation.released_at.is_null())
    if reserved:
        await release_reservations(sales.ENTITY, code)
        impacts += [{"kind": "reservation", "key": code, "line_no": r["line_no"], "effect": "reservation_released",
                     "details": {"quantity": quantity_text(r["quantity_micro"])}} for r in reserved]
    await sales.SALES_ORDERS.bump(row, {SalesOrder.status: sales_rules.CANCELLED, SalesOrder.held_from: None})
    return before, await sales.record_version(row, "cancel", who, before, reason), impacts


async def _cancel_open_shipments(row: dict[str, Any], who: Who, reason: str) -> list[dict[str, Any]]:
    shipments = await Shipment.select(Shipment.code).where(
        (Shipment.sales_order == row["code"]) & Shipment.status.is_in(list(shipping_rules.OPEN))).order_by(Shipment.id)
    for shipment in shipments:
        try:
            await shipping.cancel_shipment(shipment["code"], who, f"Sales order {row['code']} cancelled: {reason}".strip())
        except ApiError as exc:
            raise sales.state_conflict(row, Refusal(
                "sales_order_has_packed_shipments",
                f"Shipment {shipment['code']} of this order cannot be cancelled ({exc.message}): unpack or deliver it first",
                )) from exc
    return [{"kind": "shipment", "key": s["code"], "line_no": None, "effect": "shipment_cancelled", "details": {}}
            for s in shipments]


async def _cancel_or_flag_production(row: dict[str, Any], who: Who, reason: str) -> list[dict[str, Any]]:
    orders = await ProductionOrder.select(ProductionOrder.code, ProductionOrder.status, ProductionOrder.sales_order_line).where(
        (ProductionOrder.sales_order == row["code"])
        & ProductionOrder.status.is_in(list(production_rules.OPEN_FOR_ORDER))).order_by(ProductionOrder.id)
    impacts = []
    for order in orders:
        if order["status"] == production_rules.DRAFT:
            await production.cancel_production_order(order["code"], who, None,
                                                     f"Sales order {row['code']} cancelled: {reason}".strip())
            effect = "production_order_cancelled"
        else:
            effect = "production_order_to_review"
        impacts.append({"kind": "production_order", "key": order["code"], "line_no": order["sales_order_line"],
                        "effect": effect, "details": {"status": order["status"]}})
    return impacts


async def close_sales_order(code: str, who: Who, version: int | None = None, reason: str = "") -> SalesOrderOut:
    """Close: what is still owed (backorders included) will not be sent. Open shipments must be cancelled or
    delivered first; the order's reservations are released."""
    current_write()
    row, _, before = await sales.lock_order(code, version)
    sales.SALES_ORDERS.check_transition(row, sales_rules.CLOSED)
    open_shipments = await _open_shipments(code)
    if open_shipments:
        raise sales.state_conflict(row, Refusal(
            "sales_order_has_open_shipments",
            f"{open_shipments} shipment(s) of this order are still open: cancel or deliver them first"))
    await release_reservations(sales.ENTITY, code)
    await sales.SALES_ORDERS.bump(row, {SalesOrder.status: sales_rules.CLOSED, SalesOrder.held_from: None})
    return await sales.record_version(row, "close", who, before, reason)
