"""What production and shipping did for a sales order, read from their tables: the facts its status follows
(server/sales/rules.py `progress_status`). Sales is handed this reader at start-up (server/app.py), so that it
imports neither of the areas that move it on."""

from __future__ import annotations

import json
from typing import Any

from server.inventory.tables import Reservation
from server.production import rules as production_rules
from server.production.tables import ProductionOrder
from server.sales import service as sales
from server.sales.rules import DownstreamFacts
from server.shipping import rules as shipping_rules
from server.shipping.tables import Shipment, ShipmentLine


async def downstream_facts(row: dict[str, Any]) -> DownstreamFacts:
    code = row["code"]
    lines = (await sales.SALES_ORDERS.lines_of([row["id"]]))[row["id"]]
    shipments = await Shipment.select(Shipment.id, Shipment.status, Shipment.pick_list).where(
        (Shipment.sales_order == code) & Shipment.status.is_in(list(shipping_rules.OPEN)))
    planned = await ShipmentLine.select(ShipmentLine.quantity_micro).where(
        ShipmentLine.shipment.is_in([s["id"] for s in shipments])) if shipments else []
    reserved = await Reservation.select(Reservation.quantity_micro).where(
        (Reservation.order_kind == sales.ENTITY) & (Reservation.order_code == code) & Reservation.released_at.is_null())
    making = await ProductionOrder.exists().where(
        (ProductionOrder.sales_order == code) & ProductionOrder.status.is_in(list(production_rules.MAKING)))
    return DownstreamFacts(
        in_production=making,
        lines=[sales.line_progress(line) for line in lines],
        covered_micro=sum(r["quantity_micro"] for r in planned) + sum(r["quantity_micro"] for r in reserved)
        - sum(sum(missing_on_pick_list(s["pick_list"]).values()) for s in shipments),
        on_its_way=any(s["status"] == "loaded" for s in shipments),
    )


def missing_on_pick_list(pick_list: str) -> dict[int, int]:
    """Per line, what a shipment's pick list holds no stock for (micro-units): planned short, or cut by a count."""
    return shipping_rules.missing_by_line(json.loads(pick_list or "[]"))
