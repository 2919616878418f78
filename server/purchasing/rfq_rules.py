"""The rules of requests for quotation as plain functions of values: an RFQ's lifecycle (draft → sent → awarded |
cancelled), the unit price a quote gives at a quantity (its price breaks), what a quote costs for the RFQ's
quantities (at least the supplier's minimum), when it would arrive against the needed-by date, and which quote the
comparison recommends. No I/O here: `server/purchasing/rfqs.py` loads the rows and writes the decisions."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from server.document_rules import CANCELLED, DRAFT, Lifecycle, Refusal

SENT, AWARDED = "sent", "awarded"
RFQ_STATUSES = (DRAFT, SENT, AWARDED, CANCELLED)
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SENT, CANCELLED}),
    SENT: frozenset({AWARDED, CANCELLED}),
    AWARDED: frozenset(),
    CANCELLED: frozenset(),
}
RFQ = Lifecycle(
    noun="request for quotation", code_prefix="rfq", transitions=TRANSITIONS,
    draft=Refusal("rfq_not_sent", "The request for quotation is a draft: send it to the suppliers first"),
    has_progress=Refusal("rfq_awarded", "The request for quotation is awarded already"),
)
# Quotes are recorded, and one awarded, while the RFQ is out with the suppliers.
QUOTABLE = frozenset({SENT})
CENT = Decimal("0.01")


def quote_refusal(status: str) -> Refusal | None:
    """Whether a quote may be recorded on (or awarded from) an RFQ in `status`."""
    if status in QUOTABLE:
        return None
    if status == DRAFT:
        return RFQ.draft
    if status == AWARDED:
        return RFQ.has_progress
    return Refusal("rfq_cancelled", "The request for quotation is cancelled")


def open_actions(status: str, permissions: Collection[str]) -> list[str]:
    """What a caller holding `permissions` may do to an RFQ in `status` (all of it needs purchasing.write)."""
    if "purchasing.write" not in permissions:
        return []
    steps = {DRAFT: ["send", "cancel"], SENT: ["quote", "award", "cancel"]}
    return steps.get(status, [])


def is_expired(valid_until: date, today: date) -> bool:
    """A quote is good through its last day of validity."""
    return valid_until < today


def price_at(quantity: Decimal, unit_price: Decimal, breaks: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """The unit price at `quantity`: the break with the highest minimum the quantity reaches, else the base price."""
    reached = [(minimum, price) for minimum, price in breaks if quantity >= minimum]
    return max(reached)[1] if reached else Decimal(unit_price)


@dataclass(frozen=True)
class LineAsked:
    line_no: int
    item: str
    quantity: Decimal


@dataclass(frozen=True)
class LinePrice:
    line_no: int
    unit_price: Decimal
    min_quantity: Decimal = Decimal(0)
    breaks: tuple[tuple[Decimal, Decimal], ...] = ()


@dataclass(frozen=True)
class QuoteTerms:
    supplier: str
    lead_time_days: int
    valid_until: date
    prices: tuple[LinePrice, ...]


@dataclass(frozen=True)
class LineCost:
    line_no: int
    item: str
    quantity: Decimal
    billed_quantity: Decimal
    unit_price: Decimal
    cost: Decimal


@dataclass(frozen=True)
class QuoteCost:
    supplier: str
    total: Decimal
    lead_time_days: int
    delivery_date: date
    days_late: int
    valid_until: date
    expired: bool
    lines: tuple[LineCost, ...]

    @property
    def meets_date(self) -> bool:
        return self.days_late == 0


def line_cost(asked: LineAsked, price: LinePrice) -> LineCost:
    """A line's cost in a quote: the quantity asked, raised to the supplier's minimum, at that quantity's price."""
    billed = max(asked.quantity, price.min_quantity)
    unit = price_at(billed, price.unit_price, price.breaks)
    return LineCost(asked.line_no, asked.item, asked.quantity, billed, unit, billed * unit)


def cost_of(lines: Sequence[LineAsked], terms: QuoteTerms, needed_by: date, today: date) -> QuoteCost:
    """What a quote costs for the RFQ's lines (rounded to the cent once, on the total) and when it would arrive."""
    prices = {price.line_no: price for price in terms.prices}
    costs = tuple(line_cost(line, prices[line.line_no]) for line in lines)
    delivery = today + timedelta(days=terms.lead_time_days)
    total = sum((c.cost for c in costs), Decimal(0)).quantize(CENT, rounding=ROUND_HALF_UP)
    return QuoteCost(terms.supplier, total, terms.lead_time_days, delivery, max(0, (delivery - needed_by).days),
                     terms.valid_until, is_expired(terms.valid_until, today), costs)


def recommended(costs: Iterable[QuoteCost]) -> QuoteCost | None:
    """The cheapest valid quote that meets the needed-by date (the earlier delivery, then the supplier's code, between
    equal totals); when none meets it, the valid quote that arrives first (the cheaper between equal dates). An expired
    quote is never recommended."""
    valid = [cost for cost in costs if not cost.expired]
    meeting = [cost for cost in valid if cost.meets_date]
    if meeting:
        return min(meeting, key=lambda c: (c.total, c.delivery_date, c.supplier))
    if valid:
        return min(valid, key=lambda c: (c.delivery_date, c.total, c.supplier))
    return None


def due_date(needed_by: date, delivery_date: date) -> date:
    """The awarded purchase order's due date: when the goods are needed, or when the supplier can deliver if later."""
    return max(needed_by, delivery_date)
