"""The production rules as plain functions of values: which status may follow which (and which actions are open
to whom), what a released order needs of each component, whether a report fits what the previous operation passed
on, and what status operations and the order get from the quantities reported. No I/O here; quantities are
integers of micro-units."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from server.document_rules import CANCELLED, CLOSED, DRAFT, Lifecycle, Refusal

RELEASED, IN_PROGRESS, COMPLETED = "released", "in_progress", "completed"
ORDER_STATUSES = (DRAFT, RELEASED, IN_PROGRESS, COMPLETED, CLOSED, CANCELLED)
PENDING = "pending"  # an operation nothing was reported on yet (in_progress and completed as for the order)

# The planner releases or cancels a draft; the floor moves a released order to in progress and completed; the
# supervisor closes it (done, whatever was made) or cancels it while nothing happened on it. Closed and cancelled
# are final.
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({RELEASED, CANCELLED}),
    RELEASED: frozenset({IN_PROGRESS, COMPLETED, CLOSED, CANCELLED}),
    IN_PROGRESS: frozenset({COMPLETED, CLOSED}),
    COMPLETED: frozenset({CLOSED}),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}
# What the floor works on: an order in one of these is on its site's tablets, with operations and materials.
ON_THE_FLOOR = frozenset({RELEASED, IN_PROGRESS, COMPLETED})
MAKING = (RELEASED, IN_PROGRESS)  # at work (for a sales order, it is in production)
OPEN_FOR_ORDER = (DRAFT, *MAKING)  # made for a sales order and still able to change with it

PRODUCTION_ORDER = Lifecycle(
    noun="production order", code_prefix="order", transitions=TRANSITIONS,
    draft=Refusal("order_not_released", "The production order is a draft: release it first"),
    has_progress=Refusal("order_has_progress",
                         "Material was issued or production reported on this order: close it instead"),
)
transition_refusal = PRODUCTION_ORDER.transition_refusal


# The office's steps on an order, by the status each leads to; issue and report are bookings on the floor's work.
ACTION_TARGETS = {"release": RELEASED, "cancel": CANCELLED, "close": CLOSED}
BOOKINGS = ("issue", "report")


def open_actions(status: str, permissions: Collection[str]) -> list[str]:
    """What a caller holding `permissions` may do to an order in `status`: release, cancel, close where the lifecycle
    allows, and book an issue or a report while the order is on the floor. All of it needs production.write."""
    if "production.write" not in permissions:
        return []
    steps = [name for name, target in ACTION_TARGETS.items() if target in TRANSITIONS[status]]
    return steps + list(BOOKINGS) if status in ON_THE_FLOOR else steps


def floor_refusal(status: str) -> Refusal | None:
    """Whether material may be issued to, or production reported on, an order in this status."""
    if status == DRAFT:
        return Refusal("order_not_released", "The production order is not released yet")
    return PRODUCTION_ORDER.ended_refusal(status)


def units_to_micro(quantity: Decimal, decimals: int) -> int:
    """A quantity rounded up to what the item's unit can count (whole pieces, 2 decimals of a metre…), in micro-units.
    Rounding up: a requirement of 2.4 pieces is 3 pieces to issue."""
    step = Decimal(1).scaleb(-min(decimals, 6))
    return int(quantity.quantize(step, rounding=ROUND_CEILING) * 1_000_000)


MANUAL, REQUIRED, BACKFLUSH = "manual", "required", "backflush"  # a material's issue method (schemas IssueMethod)


def consumed_micro(required: int, handled_micro: int, order_micro: int, decimals: int) -> int:
    """What an operation that handled (good + scrap) `handled_micro` has consumed of a material: its share of the
    requirement, rounded down to what the unit counts (3.3 pieces consumed is 3 to have issued by now), never above
    the requirement. The operation handling the whole order quantity has consumed all of it."""
    if order_micro <= 0 or handled_micro >= order_micro:
        return required
    share = Decimal(required) * handled_micro / order_micro / 1_000_000
    step = Decimal(1).scaleb(-min(decimals, 6))
    return min(required, int(share.quantize(step, rounding=ROUND_FLOOR) * 1_000_000))


def required_micro(per_unit: Decimal, scrap_pct: Decimal, order_micro: int, decimals: int) -> int:
    """What an order of `order_micro` needs of a component: the BOM's quantity per unit × the order quantity, plus the
    line's scrap allowance, rounded up to the component's unit."""
    order_quantity = Decimal(order_micro) / 1_000_000
    return units_to_micro(Decimal(per_unit) * order_quantity * (1 + Decimal(scrap_pct) / 100), decimals)


def planned_minutes(setup_minutes: Decimal, run_minutes_per_unit: Decimal, order_micro: int) -> Decimal:
    total = Decimal(setup_minutes) + Decimal(run_minutes_per_unit) * Decimal(order_micro) / 1_000_000
    return total.quantize(Decimal("0.0001"))


@dataclass(frozen=True)
class OperationProgress:
    sequence: int
    good_micro: int
    scrap_micro: int
    status: str = PENDING


def report_refusal(operations: Sequence[OperationProgress], sequence: int, good_micro: int, scrap_micro: int,
                   scrap_reason: str | None) -> Refusal | None:
    """Whether a report of good and scrap on operation `sequence` may be booked. No operation may handle (good + scrap,
    all reports together) more than the previous one passed on as good; the first takes what it is given."""
    ordered = sorted(operations, key=lambda op: op.sequence)
    index = next((n for n, op in enumerate(ordered) if op.sequence == sequence), None)
    if index is None:
        return Refusal("unknown_operation", f"The order has no operation {sequence}", {"operation": sequence})
    if good_micro < 0 or scrap_micro < 0 or good_micro + scrap_micro <= 0:
        return Refusal("quantity_not_positive", "Report a good or scrap quantity above zero")
    if scrap_micro > 0 and not (scrap_reason or "").strip():
        return Refusal("scrap_reason_required", "Scrap needs a reason")
    if index > 0:
        previous, current = ordered[index - 1], ordered[index]
        if current.good_micro + current.scrap_micro + good_micro + scrap_micro > previous.good_micro:
            return Refusal("exceeds_previous_operation",
                           f"Operation {sequence} cannot handle more than operation {previous.sequence} passed on")
    return None


def operation_status(order_micro: int, operation: OperationProgress, previous: OperationProgress | None) -> str:
    """Completed once its good reaches the order quantity, or once it has handled everything the previous operation
    passed on after that one completed; in progress once anything is reported; pending before."""
    handled = operation.good_micro + operation.scrap_micro
    if operation.good_micro >= order_micro:
        return COMPLETED
    if previous is not None and previous.status == COMPLETED and handled >= previous.good_micro and handled > 0:
        return COMPLETED
    return IN_PROGRESS if handled > 0 else PENDING


def statuses_after(order_micro: int, operations: Sequence[OperationProgress]) -> list[OperationProgress]:
    """Every operation's status given its quantities, in sequence (each depends on the one before)."""
    result: list[OperationProgress] = []
    for operation in sorted(operations, key=lambda op: op.sequence):
        previous = result[-1] if result else None
        result.append(OperationProgress(operation.sequence, operation.good_micro, operation.scrap_micro,
                                        operation_status(order_micro, operation, previous)))
    return result


def order_status_after(current: str, order_micro: int, operations: Sequence[OperationProgress], anything_issued: bool) -> str:
    """The status the floor gives an order: completed when the last operation's good reaches the quantity, in
    progress once anything was issued or reported. Draft, closed and cancelled are the office's decisions."""
    if current not in (RELEASED, IN_PROGRESS, COMPLETED):
        return current
    ordered = sorted(operations, key=lambda op: op.sequence)
    if ordered and ordered[-1].good_micro >= order_micro:
        return COMPLETED
    if anything_issued or any(op.good_micro + op.scrap_micro > 0 for op in ordered):
        return IN_PROGRESS
    return RELEASED


def progress_pct(done_micro: int, order_micro: int) -> int:
    return int(min(done_micro, order_micro) * 100 // order_micro) if order_micro > 0 else 0


def generated_lot(order_code: str, number: int, max_length: int = 40) -> str:
    """The lot a report makes when the operator gives none: <order code>-<n>, shortened to fit a lot code."""
    suffix = f"-{number}"
    return order_code[: max_length - len(suffix)] + suffix
