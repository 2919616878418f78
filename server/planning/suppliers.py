"""Which supplier a planned purchase goes to: the preferred one, then the cheapest at the quantity (a minimum order
quantity above it means paying for the minimum), then the shortest lead time. A pure rule, used for the lead time
MRP offsets a bought item by and for the supplier a firmed purchase is drafted for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class SupplierOffer:
    supplier: str
    price: Decimal
    lead_time_days: int
    min_order_micro: int = 0
    preferred: bool = False

    def cost(self, quantity_micro: int) -> Decimal:
        """What buying `quantity_micro` costs here (the minimum order quantity when it is more); per unit with no
        quantity."""
        if quantity_micro <= 0:
            return self.price
        return self.price * max(quantity_micro, self.min_order_micro)


def ranked_suppliers(offers: Sequence[SupplierOffer], quantity_micro: int) -> list[SupplierOffer]:
    return sorted(offers, key=lambda o: (not o.preferred, o.cost(quantity_micro), o.lead_time_days, o.supplier))


def choose_supplier(offers: Sequence[SupplierOffer], quantity_micro: int) -> SupplierOffer | None:
    ranked = ranked_suppliers(offers, quantity_micro)
    return ranked[0] if ranked else None
