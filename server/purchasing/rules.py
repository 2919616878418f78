"""The purchasing rules as plain functions of values: which status may follow which (and which actions are open
to whom), how much may be received against a line (over-receipt tolerance), and what a PO's status is given its
lines, and up to which total a buyer approves a PO of their own. No I/O here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from server.document_rules import CANCELLED, CLOSED, DRAFT, Lifecycle, Refusal

DEFAULT_TOLERANCE_PCT = Decimal(5)

APPROVED, PARTIALLY_RECEIVED, RECEIVED = "approved", "partially_received", "received"
PO_STATUSES = (DRAFT, APPROVED, PARTIALLY_RECEIVED, RECEIVED, CLOSED, CANCELLED)
LINE_OPEN, LINE_RECEIVED, LINE_CANCELLED = "open", "received", "cancelled"

# Receipts move approved → partially received → received; the buyer approves, cancels (before anything arrived)
# or closes (short-closes: the rest will not come). Closed and cancelled are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({APPROVED, CANCELLED}),
    APPROVED: frozenset({PARTIALLY_RECEIVED, RECEIVED, CLOSED, CANCELLED}),
    PARTIALLY_RECEIVED: frozenset({RECEIVED, CLOSED}),
    RECEIVED: frozenset({CLOSED}),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}
# What devices receive against: a PO in one of these is on the tablets of its site, with its open lines.
RECEIVABLE = frozenset({APPROVED, PARTIALLY_RECEIVED})

PURCHASE_ORDER = Lifecycle(
    noun="purchase order", code_prefix="po", transitions=TRANSITIONS,
    draft=Refusal("po_not_approved", "The purchase order is a draft: approve it first"),
    has_progress=Refusal("po_has_receipts", "Goods were received against this purchase order: close it instead"),
)
transition_refusal = PURCHASE_ORDER.transition_refusal


# The buyer's steps on a PO, by the status each leads to; approving needs purchasing.approve, the rest
# purchasing.write.
ACTION_TARGETS = {"approve": APPROVED, "cancel": CANCELLED, "close": CLOSED}
APPROVE_PERMISSION = "purchasing.approve"
ACTION_PERMISSION = {"approve": APPROVE_PERMISSION}


def open_actions(status: str, permissions: Collection[str]) -> list[str]:
    """What a caller holding `permissions` may do to a PO in `status`: approve, cancel, close where the lifecycle
    allows, and edit a draft (with purchasing.write)."""
    steps = [name for name, target in ACTION_TARGETS.items()
             if target in TRANSITIONS[status] and ACTION_PERMISSION.get(name, "purchasing.write") in permissions]
    return steps + ["edit"] if status == DRAFT and "purchasing.write" in permissions else steps


def self_approval_limit(roles: Iterable[str], limits: Mapping[str, Decimal],
                        default: Decimal) -> tuple[Decimal, str | None]:
    """The total up to which someone holding `roles` approves a purchase order they wrote themselves, and the role
    it comes from: the highest limit among their roles the policy names (lower than the default too: a role named is
    a decision about that role), else the default (None)."""
    named = [(Decimal(limits[role]), role) for role in roles if role in limits]
    if not named:
        return Decimal(default), None
    return max(named, key=lambda pair: pair[0])


def plain_amount(value: Decimal) -> Decimal:
    """An amount as people write it: a database's Numeric(18, 4) reads 10000 back as 10000.0000."""
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def receipt_refusal(po_status: str, line_status: str) -> Refusal | None:
    """Whether goods may be received against a line of a PO in this state (the quantity is `check_over_receipt`'s)."""
    ended = PURCHASE_ORDER.ended_refusal(po_status)
    if ended is not None:
        return ended
    if po_status == DRAFT:
        return Refusal("po_not_approved", "The purchase order is not approved yet")
    # Fully received is done: the receipt that completed it may go up to the tolerance, nothing comes after it.
    if po_status == RECEIVED:
        return Refusal("po_received", "The purchase order is fully received: nothing more is expected")
    if line_status == LINE_CANCELLED:
        return Refusal("line_cancelled", "This line of the purchase order is cancelled")
    if line_status == LINE_RECEIVED:
        return Refusal("line_received", "This line of the purchase order is fully received")
    return None


def receipt_tolerance(
    item_pct: Decimal | None, supplier_pct: Decimal | None, default: Decimal = DEFAULT_TOLERANCE_PCT
) -> Decimal:
    """The over-receipt tolerance in %: the item's if set, else the supplier's, else the default (5 %).
    An item's own setting wins because it is the more specific (a safety part may allow 0 % from any supplier)."""
    for pct in (item_pct, supplier_pct):
        if pct is not None:
            return Decimal(pct)
    return Decimal(default)


@dataclass(frozen=True)
class ReceiptDecision:
    """What `check_over_receipt` decided. `code` is set when refused: `quantity_not_positive` or `over_tolerance`."""

    allowed: bool
    code: str | None
    ordered_micro: int
    received_after_micro: int  # received on the line once this receipt is booked (or would be)
    limit_micro: int  # the most the line may receive in all: ordered plus the tolerance, rounded down
    over_ordered_micro: int  # how far received_after is above ordered (within tolerance when allowed), else 0
    line_complete: bool  # received_after reaches the ordered quantity

    @property
    def still_receivable_micro(self) -> int:
        """What may still arrive after this receipt (0 when refused or at the limit)."""
        return max(0, self.limit_micro - self.received_after_micro) if self.allowed else 0


def receipt_limit_micro(ordered_micro: int, tolerance_pct: Decimal) -> int:
    """Ordered plus tolerance, in whole micro-units, rounded down: 5 % of 3 pieces allows none extra, not a sliver."""
    extra = (Decimal(ordered_micro) * Decimal(tolerance_pct) / 100).to_integral_value(rounding=ROUND_FLOOR)
    return ordered_micro + int(extra)


def check_over_receipt(ordered_micro: int, received_micro: int, receiving_micro: int, tolerance_pct: Decimal) -> ReceiptDecision:
    """May `receiving_micro` more be received on a line that ordered `ordered_micro` and has `received_micro`?"""
    after = received_micro + receiving_micro
    limit = receipt_limit_micro(ordered_micro, tolerance_pct)
    if receiving_micro <= 0:
        return ReceiptDecision(False, "quantity_not_positive", ordered_micro, received_micro, limit, 0,
                               received_micro >= ordered_micro)
    allowed = after <= limit
    return ReceiptDecision(
        allowed=allowed,
        code=None if allowed else "over_tolerance",
        ordered_micro=ordered_micro,
        received_after_micro=after,
        limit_micro=limit,
        over_ordered_micro=max(0, after - ordered_micro),
        line_complete=after >= ordered_micro,
    )


def line_status(ordered_micro: int, received_micro: int, current: str = LINE_OPEN) -> str:
    """A cancelled line stays cancelled; otherwise it is received once the ordered quantity is in."""
    if current == LINE_CANCELLED:
        return LINE_CANCELLED
    return LINE_RECEIVED if received_micro >= ordered_micro else LINE_OPEN


@dataclass(frozen=True)
class LineProgress:
    ordered_micro: int
    received_micro: int
    status: str = LINE_OPEN


def po_status_from_lines(current: str, lines: Iterable[LineProgress]) -> str:
    """The status receipts give a PO: received when every line still wanted is in, partially received once anything
    arrived, approved before that. Draft, closed and cancelled are the buyer's decisions and stay as they are."""
    if current not in (APPROVED, PARTIALLY_RECEIVED, RECEIVED):
        return current
    lines = list(lines)
    wanted = [line for line in lines if line.status != LINE_CANCELLED]
    anything_received = any(line.received_micro > 0 for line in lines)
    if wanted and all(line_status(line.ordered_micro, line.received_micro, line.status) == LINE_RECEIVED for line in wanted):
        return RECEIVED
    return PARTIALLY_RECEIVED if anything_received else APPROVED


def send_refusal(po_status: str) -> Refusal | None:
    """A purchase order goes to its supplier once approved, and while goods are still to come."""
    ended = PURCHASE_ORDER.ended_refusal(po_status)
    if ended is not None:
        return ended
    if po_status == DRAFT:
        return Refusal("po_not_approved", "The purchase order is a draft: approve it before sending it")
    if po_status == RECEIVED:
        return Refusal("po_received", "The purchase order is fully received: nothing more is expected")
    return None


def confirmation_refusal(po_status: str) -> Refusal | None:
    """The supplier confirms what it will deliver of an order it got: approved, and not everything in yet."""
    return send_refusal(po_status)


def confirmation_differs(ordered_micro: int, ordered_due: date, confirmed_micro: int | None,
                         confirmed_date: date | None) -> bool:
    """Whether the supplier confirmed another quantity or another date than the line ordered."""
    if confirmed_micro is None and confirmed_date is None:
        return False
    return confirmed_micro != ordered_micro or confirmed_date != ordered_due
