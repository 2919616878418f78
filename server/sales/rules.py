"""The sales order rules as plain functions of values: which status may follow which, what a line still owes, and
what the order's status is once deliveries have been signed for. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from server.document_rules import CANCELLED, CLOSED, DRAFT, Lifecycle, Refusal

CONFIRMED, PARTIALLY_SHIPPED, SHIPPED = "confirmed", "partially_shipped", "shipped"
SO_STATUSES = (DRAFT, CONFIRMED, PARTIALLY_SHIPPED, SHIPPED, CLOSED, CANCELLED)

# Deliveries move confirmed → partially shipped → shipped; the office confirms, cancels (before anything shipped)
# or closes (what is still owed will not be sent). Closed and cancelled are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({CONFIRMED, CANCELLED}),
    CONFIRMED: frozenset({PARTIALLY_SHIPPED, SHIPPED, CANCELLED, CLOSED}),
    PARTIALLY_SHIPPED: frozenset({PARTIALLY_SHIPPED, SHIPPED, CLOSED}),
    SHIPPED: frozenset({CLOSED}),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}
# Shipments may be planned from an order in one of these.
SHIPPABLE = frozenset({CONFIRMED, PARTIALLY_SHIPPED})

SALES_ORDER = Lifecycle(
    noun="sales order", code_prefix="sales_order", transitions=TRANSITIONS,
    draft=Refusal("sales_order_not_confirmed", "The sales order is a draft: confirm it first"),
    has_progress=Refusal("sales_order_has_deliveries", "Goods were delivered against this order: close it instead"),
)
transition_refusal = SALES_ORDER.transition_refusal


def shipment_refusal(status: str) -> Refusal | None:
    """Whether a shipment may be planned from an order in this status."""
    if status in SHIPPABLE:
        return None
    return transition_refusal(status, PARTIALLY_SHIPPED) or Refusal("sales_order_shipped", "Everything on this order was shipped")


@dataclass(frozen=True)
class LineProgress:
    quantity_micro: int
    shipped_micro: int


def open_micro(line: LineProgress) -> int:
    """What a line still owes the customer."""
    return max(0, line.quantity_micro - line.shipped_micro)


def backorder_after_delivery(backorder_micro: int, delivered_micro: int, shortfall_micro: int) -> int:
    """A line's backorder once a delivery was signed: what it delivered first pays off what was owed from earlier
    shortfalls, and what fell short this time is owed on top."""
    return max(0, backorder_micro - delivered_micro) + shortfall_micro


def status_after_delivery(current: str, lines: Iterable[LineProgress]) -> str:
    """Shipped when every line is delivered in full, partially shipped otherwise (a closed or cancelled order stays
    so; a signature cannot reopen it)."""
    if current in (CLOSED, CANCELLED):
        return current
    return SHIPPED if all(open_micro(line) == 0 for line in lines) else PARTIALLY_SHIPPED
