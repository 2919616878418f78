"""Following orders: one order from entry to signed delivery (each line's progress through shipping, stock and
production, the production and purchasing working for it, its timeline), the lines across all orders that are late
or at risk of missing their promise date, and a customer's figures (exposure, open value, volume, on-time rate).
Read-only; each view loads what it needs in a few batched queries."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from piccolo.query.functions.aggregate import Max

from schemas.sales import (
    CustomerSummary, LateLine, OrderTracking, TrackingEvent, TrackingLine, TrackingProduction, TrackingPlanned, TrackingPurchase,
    TrackingShipment,
)
from server.accounts.site_scope import within_scope
from server.documents import utc_now
from server.errors import not_found
from server.inventory.availability import available_to_promise
from server.quantities import from_micro
from server.inventory.tables import Reservation
from server.masterdata.tables import Customer, Item
from server.orders.progress import missing_on_pick_list
from server.planning import plan_actual
from server.planning import service as planning
from server.production import rules as production_rules
from server.production.tables import ProductionOrder
from server.purchasing.tables import PurchaseOrderLine
from server.sales import rules, service
from server.sales.tables import SalesOrder, SalesOrderLine, SalesOrderRevision
from server.shipping import rules as shipping_rules
from server.shipping.rules import UNIT_LOADED
from server.shipping.tables import HandlingUnitContent, Shipment, ShipmentLine

LATE_CANDIDATES = 5000


@dataclass
class Coverage:
    on_shipments: int = 0
    short: int = 0
    packed: int = 0
    loaded: int = 0
    reserved: int = 0
    in_production: int = 0
    scheduled_finish: date | None = None  # when the accepted schedule finishes the production made for the line

    @property
    def covered(self) -> int:
        return self.on_shipments + self.reserved + self.in_production


def promise_of(line: dict[str, Any]) -> date:
    return line["promised_date"] or line["due_date"]


async def _coverage(order_codes: list[str]) -> dict[tuple[str, int], Coverage]:
    """Per (order, line): what open shipments carry, what is reserved for it, what production still makes for it."""
    covered: dict[tuple[str, int], Coverage] = defaultdict(Coverage)
    if not order_codes:
        return covered
    shipments = await Shipment.select(Shipment.id, Shipment.sales_order, Shipment.status, Shipment.pick_list).where(
        Shipment.sales_order.is_in(order_codes) & Shipment.status.is_in(sorted(shipping_rules.OPEN)))
    by_id = {s["id"]: s for s in shipments}
    missing = {s["id"]: missing_on_pick_list(s["pick_list"]) for s in shipments}
    if by_id:
        for line in await ShipmentLine.select().where(ShipmentLine.shipment.is_in(list(by_id))):
            shipment = by_id[line["shipment"]]
            entry = covered[(shipment["sales_order"], line["line_no"])]
            # What the pick list found no free stock for is on the shipment only on paper: short, not covered.
            short = missing[line["shipment"]].get(line["line_no"], 0)
            entry.on_shipments += line["quantity_micro"] - short
            entry.short += short
            entry.packed += line["packed_quantity_micro"]
        for content in await HandlingUnitContent.select(
                HandlingUnitContent.line_no, HandlingUnitContent.quantity_micro,
                HandlingUnitContent.handling_unit.shipment.as_alias("shipment")).where(
                HandlingUnitContent.handling_unit.shipment.is_in(list(by_id))
                & (HandlingUnitContent.handling_unit.status == UNIT_LOADED)):
            covered[(by_id[content["shipment"]]["sales_order"], content["line_no"])].loaded += content["quantity_micro"]
    for reservation in await Reservation.select(Reservation.order_code, Reservation.line_no, Reservation.quantity_micro).where(
            (Reservation.order_kind == service.ENTITY) & Reservation.order_code.is_in(order_codes)
            & Reservation.released_at.is_null()):
        covered[(reservation["order_code"], reservation["line_no"])].reserved += reservation["quantity_micro"]
    for order in await ProductionOrder.select(
            ProductionOrder.sales_order, ProductionOrder.sales_order_line, ProductionOrder.quantity_micro,
            ProductionOrder.received_micro).where(
            ProductionOrder.sales_order.is_in(order_codes) & ProductionOrder.status.is_in(list(production_rules.OPEN_FOR_ORDER))
            & ProductionOrder.sales_order_line.is_not_null()):
        covered[(order["sales_order"], order["sales_order_line"])].in_production += max(
            0, order["quantity_micro"] - order["received_micro"])
    for key, finish in (await plan_actual.scheduled_finishes(order_codes)).items():
        covered[key].scheduled_finish = finish
    return covered


async def _lead_times(items: set[str]) -> dict[str, int]:
    if not items:
        return {}
    rows = await Item.select(Item.code, Item.lead_time_days).where(Item.code.is_in(sorted(items)))
    return {row["code"]: row["lead_time_days"] or 0 for row in rows}


def _risk(line: dict[str, Any], coverage: Coverage, lead_time_days: int, today: date) -> tuple[str, dict[str, Any]]:
    """The line's risk, and its reason as the API gives it: in English, and as a catalog key with its values."""
    open_micro = max(0, line["quantity_micro"] - line["shipped_quantity_micro"])
    risk, reason = rules.line_risk(today, promise_of(line), open_micro, coverage.covered, lead_time_days,
                                   coverage.scheduled_finish)
    if reason is None:
        return risk, {"risk_reason": "", "risk_reason_key": "", "risk_reason_params": {}}
    return risk, {"risk_reason": reason.english(), "risk_reason_key": reason.key, "risk_reason_params": dict(reason.params)}


async def order_tracking(code: str) -> OrderTracking:
    row, lines = await service.SALES_ORDERS.load_with_lines(code)
    order = service.order_out(row, lines)
    today = utc_now().date()
    coverage = await _coverage([code])
    lead_times = await _lead_times({line["item"] for line in lines})
    atp = {item: Decimal((await available_to_promise(item))["available_to_promise"]) for item in {line["item"] for line in lines}}
    tracked = []
    for line in lines:
        entry = coverage[(code, line["line_no"])]
        risk, reason = _risk(line, entry, lead_times.get(line["item"], 0), today)
        tracked.append(TrackingLine(
            line_no=line["line_no"], item=line["item"], quantity=from_micro(line["quantity_micro"]),
            promise_date=promise_of(line), delivered=from_micro(line["shipped_quantity_micro"]),
            backorder=from_micro(line["backorder_quantity_micro"]),
            open=from_micro(max(0, line["quantity_micro"] - line["shipped_quantity_micro"])),
            on_shipments=from_micro(entry.on_shipments), short=from_micro(entry.short), packed=from_micro(entry.packed), loaded=from_micro(entry.loaded),
            reserved=from_micro(entry.reserved), in_production=from_micro(entry.in_production),
            available_to_promise=max(Decimal(0), atp[line["item"]]), risk=risk, **reason,
        ))
    shipments = await Shipment.select().where(within_scope(Shipment.sales_order == code, Shipment.site)).order_by(Shipment.id)
    production = await ProductionOrder.select().where(
        within_scope(ProductionOrder.sales_order == code, ProductionOrder.site)).order_by(ProductionOrder.id)
    revisions = await (SalesOrderRevision.select(SalesOrderRevision.at, SalesOrderRevision.action, SalesOrderRevision.actor,
                                                 SalesOrderRevision.reason, SalesOrderRevision.snapshot)
                       .where(SalesOrderRevision.sales_order == row["id"]).order_by(SalesOrderRevision.id)
                       .output(load_json=True))
    return OrderTracking(
        order=order, risk=rules.worst(line.risk for line in tracked), lines=tracked,
        shipments=[TrackingShipment(**{k: s[k] for k in ("code", "status", "route", "vehicle", "loaded_at", "delivered_at")},
                                    short=from_micro(sum(missing_on_pick_list(s["pick_list"]).values())
                                                     if s["status"] in shipping_rules.OPEN else 0))
                   for s in shipments],
        production=[TrackingProduction(
            code=p["code"], item=p["item"], quantity=from_micro(p["quantity_micro"]), status=p["status"],
            progress_pct=min(100, p["received_micro"] * 100 // p["quantity_micro"]) if p["quantity_micro"] else 0,
            due_date=p["due_date"], sales_order_line=p["sales_order_line"]) for p in production],
        purchasing=await _purchasing(code, production),
        planned=[TrackingPlanned(**supply) for supply in await planning.supply_of_lines(
            row["site"], code, [line["line_no"] for line in lines])],
        events=[TrackingEvent(at=r["at"], action=r["action"], actor=r["actor"], reason=r["reason"],
                              status=(r["snapshot"] or {}).get("status", "")) for r in revisions],
    )


async def _purchasing(code: str, production: list[dict[str, Any]]) -> list[TrackingPurchase]:
    """Purchase order lines pegged for the order: bought for it, or for the materials of a production order made
    for it; received ones too (they supplied it), cancelled ones not. A line bought for stock is nobody's."""
    made = {p["code"]: p["item"] for p in production}
    pegged = PurchaseOrderLine.sales_order == code
    if made:
        pegged = pegged | PurchaseOrderLine.production_order.is_in(sorted(made))
    rows = await PurchaseOrderLine.select(
        PurchaseOrderLine.purchase_order.code.as_alias("purchase_order"),
        PurchaseOrderLine.purchase_order.supplier.as_alias("supplier"),
        PurchaseOrderLine.purchase_order.status.as_alias("po_status"), PurchaseOrderLine.line_no,
        PurchaseOrderLine.item, PurchaseOrderLine.quantity_micro, PurchaseOrderLine.received_quantity_micro,
        PurchaseOrderLine.due_date, PurchaseOrderLine.status, PurchaseOrderLine.production_order,
    ).where(within_scope(pegged & (PurchaseOrderLine.status != "cancelled")
                         & PurchaseOrderLine.purchase_order.status.not_in(["draft", "cancelled"]),
                         PurchaseOrderLine.purchase_order.site)
            ).order_by(PurchaseOrderLine.due_date).limit(50)
    return [TrackingPurchase(purchase_order=r["purchase_order"], supplier=r["supplier"], line_no=r["line_no"],
                             item=r["item"], quantity=from_micro(r["quantity_micro"]),
                             received=from_micro(r["received_quantity_micro"]), due_date=r["due_date"],
                             status=r["po_status"], for_item=made.get(r["production_order"], r["item"])) for r in rows]


async def late_lines(limit: int = 100) -> list[LateLine]:
    """Lines of orders under way that are late or at risk, the most urgent first. Only lines promised within the
    longest lead time of any item can be at risk at all, so only those are read, earliest first, a batch at a time,
    until `limit` are found."""
    today = utc_now().date()
    longest = (await Item.select(Max(Item.lead_time_days).as_alias("days")).first())["days"] or 0
    horizon = today + timedelta(days=longest)
    found: list[LateLine] = []
    batch = max(limit * 4, 200)
    for offset in range(0, LATE_CANDIDATES, batch):
        lines = await SalesOrderLine.select(
            *SalesOrderLine.all_columns(), SalesOrderLine.sales_order.code.as_alias("order_code"),
            SalesOrderLine.sales_order.customer.as_alias("customer"), SalesOrderLine.sales_order.status.as_alias("status"),
        ).where(within_scope(
            SalesOrderLine.sales_order.status.is_in(sorted(rules.UNDER_WAY))
            & (SalesOrderLine.quantity_micro > SalesOrderLine.shipped_quantity_micro)
            & (SalesOrderLine.due_date <= horizon), SalesOrderLine.sales_order.site)
        ).order_by(SalesOrderLine.due_date).order_by(SalesOrderLine.id).limit(batch).offset(offset)
        coverage = await _coverage(sorted({line["order_code"] for line in lines}))
        lead_times = await _lead_times({line["item"] for line in lines})
        for line in lines:
            risk, reason = _risk(line, coverage[(line["order_code"], line["line_no"])], lead_times.get(line["item"], 0),
                                 today)
            if risk in ("late", "at_risk"):
                found.append(LateLine(
                    sales_order=line["order_code"], customer=line["customer"], status=line["status"],
                    line_no=line["line_no"], item=line["item"], promise_date=promise_of(line),
                    open=from_micro(line["quantity_micro"] - line["shipped_quantity_micro"]), risk=risk,
                    **reason))
        if len(found) >= limit or len(lines) < batch:
            break
    found.sort(key=lambda late: (late.risk != "late", late.promise_date, late.sales_order, late.line_no))
    return found[:limit]


async def customer_summary(code: str) -> CustomerSummary:
    customer = await Customer.select().where(Customer.code == code).first()
    if customer is None:
        raise not_found("customer", code)
    orders = await SalesOrder.select(SalesOrder.id, SalesOrder.code, SalesOrder.status, SalesOrder.created_at).where(
        within_scope(SalesOrder.customer == code, SalesOrder.site))
    lines = await service.SALES_ORDERS.lines_of([o["id"] for o in orders])
    year_ago = utc_now() - timedelta(days=365)
    counted = [o for o in orders if o["status"] not in (rules.DRAFT, rules.CANCELLED)]
    open_orders = [o for o in counted if o["status"] in rules.UNDER_WAY | {rules.SUBMITTED, rules.ON_HOLD}]

    def value(order_id: int, open_only: bool = False) -> Decimal:
        return sum((rules.line_value(
            max(0, line["quantity_micro"] - line["shipped_quantity_micro"]) if open_only else line["quantity_micro"],
            Decimal(line["unit_price"]), Decimal(line["discount_pct"])) for line in lines[order_id]), Decimal(0))

    delivered = await _deliveries(code)
    on_time = sum(1 for delivered_on, promise in delivered if delivered_on <= promise)
    exposure = await service.customer_exposure(code)
    recent = await service.list_sales_orders(customer=code, limit=20)
    return CustomerSummary(
        code=code, name=customer["name"], grade=customer["grade"], currency=customer["currency"],
        credit_limit=customer["credit_limit"], exposure=exposure,
        available_credit=Decimal(customer["credit_limit"]) - exposure, orders=len(counted), open_orders=len(open_orders),
        open_value=sum((value(o["id"], open_only=True) for o in open_orders), Decimal(0)),
        volume_last_365_days=sum((value(o["id"]) for o in counted if o["created_at"] >= year_ago), Decimal(0)),
        delivered_lines=len(delivered), on_time_lines=on_time,
        on_time_rate_pct=round(on_time * 100 / len(delivered)) if delivered else None,
        recent_orders=recent["items"],
    )


async def _deliveries(customer: str) -> list[tuple[date, date]]:
    """(delivered on, promised for) of every shipment line delivered to the customer."""
    shipments = await Shipment.select(Shipment.id, Shipment.sales_order, Shipment.delivered_at).where(
        within_scope((Shipment.status == "delivered") & Shipment.sales_order.is_in(
            SalesOrder.select(SalesOrder.code).where(SalesOrder.customer == customer)), Shipment.site))
    if not shipments:
        return []
    by_id = {s["id"]: s for s in shipments}
    promises = {(line["order_code"], line["line_no"]): promise_of(line) for line in await SalesOrderLine.select(
        SalesOrderLine.line_no, SalesOrderLine.due_date, SalesOrderLine.promised_date,
        SalesOrderLine.sales_order.code.as_alias("order_code")).where(
        SalesOrderLine.sales_order.code.is_in(sorted({s["sales_order"] for s in shipments})))}
    result = []
    for line in await ShipmentLine.select(ShipmentLine.shipment, ShipmentLine.line_no).where(
            ShipmentLine.shipment.is_in(list(by_id)) & (ShipmentLine.delivered_quantity_micro > 0)):
        shipment = by_id[line["shipment"]]
        promise = promises.get((shipment["sales_order"], line["line_no"]))
        if promise is not None and shipment["delivered_at"] is not None:
            result.append((shipment["delivered_at"].date(), promise))
    return result
