"""The sales order rules as plain functions of values: the lifecycle (which status may follow which, and which
actions are open to whom, for orders and quotes), what an order
is worth and what it still owes, the review an order passes on submission (credit, discount), who may approve what
the review flagged, and the status downstream work puts an approved order in. No I/O here."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from server.document_rules import CANCELLED, CLOSED, DRAFT, Lifecycle, Refusal
from server.i18n import Message, translate
from server.quantities import MICRO_PER_UNIT

SUBMITTED, APPROVED, IN_PRODUCTION, READY = "submitted", "approved", "in_production", "ready"
SHIPPED, DELIVERED, ON_HOLD = "shipped", "delivered", "on_hold"
SO_STATUSES = (DRAFT, SUBMITTED, APPROVED, IN_PRODUCTION, READY, SHIPPED, DELIVERED, CLOSED, CANCELLED, ON_HOLD)

# Once approved, production, shipping and delivery sign-off move the order between these (progress_status);
# the office only holds, cancels or closes it.
PROGRESS = (APPROVED, IN_PRODUCTION, READY, SHIPPED, DELIVERED)
UNDER_WAY = frozenset({APPROVED, IN_PRODUCTION, READY, SHIPPED})
TRANSITIONS: dict[str, frozenset[str]] = {
    DRAFT: frozenset({SUBMITTED, CANCELLED}),
    # The review moves a submitted order on: approved, held for credit, or back to draft when an approver rejects it.
    SUBMITTED: frozenset({APPROVED, ON_HOLD, DRAFT, CANCELLED}),
    # Released to where it was held from (a credit hold at submission releases to approved), or rejected to draft.
    ON_HOLD: frozenset({SUBMITTED, APPROVED, IN_PRODUCTION, READY, SHIPPED, DRAFT, CANCELLED}),
    **{status: frozenset({*PROGRESS, ON_HOLD, CANCELLED, CLOSED}) for status in (APPROVED, IN_PRODUCTION, READY)},
    # Goods left: the order can no longer be cancelled, only closed (what is still owed will not be sent).
    SHIPPED: frozenset({*PROGRESS, ON_HOLD, CLOSED}),
    DELIVERED: frozenset({CLOSED}),
    CLOSED: frozenset(),
    CANCELLED: frozenset(),
}
# Shipments may be planned from an order in one of these.
SHIPPABLE = frozenset({APPROVED, IN_PRODUCTION, READY, SHIPPED})
# Lines, prices and terms may be edited freely while the order is a draft; afterwards a change goes through review.
EDITABLE = frozenset({DRAFT})

SALES_ORDER = Lifecycle(
    noun="sales order", code_prefix="sales_order", transitions=TRANSITIONS,
    draft=Refusal("sales_order_not_submitted", "The sales order is a draft: submit it first"),
    has_progress=Refusal("sales_order_has_deliveries", "Goods left for this order: close it instead"),
)
transition_refusal = SALES_ORDER.transition_refusal


def shipment_refusal(status: str) -> Refusal | None:
    """Whether a shipment may be planned from an order in this status."""
    if status in SHIPPABLE:
        return None
    if status in (DRAFT, SUBMITTED, ON_HOLD):
        return Refusal("sales_order_not_approved", f"The sales order is {status.replace('_', ' ')}: it must be approved first")
    if status == DELIVERED:
        return Refusal("sales_order_delivered", "Everything on this order was delivered")
    return transition_refusal(status, SHIPPED) or Refusal("sales_order_delivered", "Everything on this order was delivered")


# A change (lines, dates, address) may be made to an order the review took and goods have not all left for.
CHANGEABLE = frozenset({SUBMITTED, ON_HOLD, *UNDER_WAY})
# Who may take each action on an order (or a quote); an action not named needs sales.write.
ACTION_PERMISSION = {"approve": "sales.approve", "reject": "sales.approve", "ship": "shipping.write"}


def payment_refusal(status: str) -> Refusal | None:
    """A draft is no sale yet and a cancelled order owes nothing: neither takes a payment."""
    if status in (DRAFT, CANCELLED):
        return Refusal("sales_order_not_payable", f"A {status} sales order takes no payment")
    return None


def _permitted(offered: Mapping[str, bool], permissions: Collection[str]) -> list[str]:
    return [name for name, possible in offered.items()
            if possible and ACTION_PERMISSION.get(name, "sales.write") in permissions]


def open_actions(status: str, awaiting_approval: bool, permissions: Collection[str]) -> list[str]:
    """What a caller holding `permissions` may do to an order in `status` (the names of its API and page actions):
    submit, approve, reject, hold, release, cancel, close; edit (a draft), change (once submitted), pay (record a
    payment) and ship (plan a shipment). Awaiting approval (submitted, or held by the review for credit), an approver
    decides, so a hold the review put on is not released by hand."""
    targets = TRANSITIONS[status]
    return _permitted({
        "submit": status == DRAFT, "approve": awaiting_approval, "reject": awaiting_approval,
        "hold": ON_HOLD in targets and status != ON_HOLD, "release": status == ON_HOLD and not awaiting_approval,
        "cancel": CANCELLED in targets, "close": CLOSED in targets,
        "edit": status in EDITABLE, "change": status in CHANGEABLE, "pay": payment_refusal(status) is None,
        "ship": status in SHIPPABLE,
    }, permissions)


# -- quotes -------------------------------------------------------------------------------------------------------------

REJECTED = "rejected"
# A draft quote, or one an approver sent back, is rewritten whole; submitting sends it through the review again.
QUOTE_EDITABLE = frozenset({DRAFT, REJECTED})


def quote_open_actions(status: str, permissions: Collection[str]) -> list[str]:
    """What a caller holding `permissions` may do to a quote in `status`: submit a draft, approve or reject a
    submitted one, convert an approved one into a sales order, edit a draft or rejected one. Converted and expired
    quotes are done."""
    return _permitted({
        "submit": status == DRAFT, "approve": status == SUBMITTED, "reject": status == SUBMITTED,
        "convert": status == APPROVED, "edit": status in QUOTE_EDITABLE,
    }, permissions)


# -- what an order is worth ---------------------------------------------------------------------------------------

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def line_value(quantity_micro: int, unit_price: Decimal, discount_pct: Decimal) -> Decimal:
    """Quantity × price less the line's discount, to the cent."""
    gross = Decimal(quantity_micro) / MICRO_PER_UNIT * unit_price
    return (gross * (HUNDRED - discount_pct) / HUNDRED).quantize(CENT, ROUND_HALF_UP)


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


@dataclass(frozen=True)
class PricedLine:
    quantity_micro: int
    shipped_micro: int
    unit_price: Decimal
    discount_pct: Decimal


def exposure_of(status: str, lines: Iterable[PricedLine], paid: Decimal) -> Decimal:
    """What a customer owes or will owe on one order: what it is worth (for a closed order, what was delivered),
    less what was paid. Drafts and cancelled orders owe nothing."""
    if status in (DRAFT, CANCELLED):
        return Decimal(0)
    if status == CLOSED:
        worth = sum((line_value(line.shipped_micro, line.unit_price, line.discount_pct) for line in lines), Decimal(0))
    else:
        worth = sum((line_value(line.quantity_micro, line.unit_price, line.discount_pct) for line in lines), Decimal(0))
    return max(Decimal(0), worth - paid)


# -- the review on submission ---------------------------------------------------------------------------------------

CREDIT, DISCOUNT, CONTRACT, PROMISE = "credit", "discount", "contract", "promise"
CHECKS = (CREDIT, DISCOUNT, CONTRACT, PROMISE)


@dataclass(frozen=True)
class CheckResult:
    check: str
    passed: bool
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "passed": self.passed, "code": self.code, "message": self.message,
                "details": self.details}


def check_message(lang: str, code: str, details: Mapping[str, Any]) -> str:
    """A review check's result in words, made when it is read: the stored check keeps its code (the catalog key
    `review.<code>`) and its details (the values the sentence needs), so each reader gets it in their language and
    the API's `message` is the same sentence in English."""
    values = {k: v for k, v in details.items() if isinstance(v, (str, int))}
    if code == "credit_limit_exceeded":
        values["over"] = plain(Decimal(str(details["exposure_after"])) - Decimal(str(details["credit_limit"])))
    elif code == "discount_above_threshold":
        values["lines"] = translate(lang, "review.list_separator").join(
            translate(lang, "review.discount_line", line_no=line_no, pct=pct) for line_no, pct in details["lines"].items())
    elif code == "promise_later_than_requested":
        values["lines"] = translate(lang, "review.list_separator").join(
            translate(lang, "review.promise_line", line_no=line_no, **late) for line_no, late in details["lines"].items())
    elif code == "contract_violated":
        values["breaches"] = translate(lang, "review.breach_separator").join(
            translate(lang, f"review.breach_{b['code']}", **b) for b in details["breaches"])
    return translate(lang, f"review.{code}", **values)


def _checked(check: str, passed: bool, code: str, details: dict[str, Any]) -> CheckResult:
    return CheckResult(check, passed, code, check_message("en", code, details), details)


def plain(number: Decimal) -> str:
    """A decimal as people write it: 50000, 15, 12.5 (a database's Numeric(18, 4) reads back as 50000.0000)."""
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def credit_check(credit_limit: Decimal, exposure_before: Decimal, order_value: Decimal, currency: str) -> CheckResult:
    """The customer's exposure (open and unpaid orders) plus this order must stay within the credit limit."""
    after = exposure_before + order_value
    details = {"credit_limit": plain(credit_limit), "exposure": plain(exposure_before), "order_value": plain(order_value),
               "exposure_after": plain(after), "currency": currency}
    if after <= credit_limit:
        return _checked(CREDIT, True, "credit_ok", details)
    return _checked(CREDIT, False, "credit_limit_exceeded", details)


def discount_check(discounts: Mapping[int, Decimal], max_discount_pct: Decimal) -> CheckResult:
    """Line discounts (by line number) above the threshold need an approver."""
    over = {line_no: pct for line_no, pct in sorted(discounts.items()) if pct > max_discount_pct}
    details = {"max_discount_pct": plain(max_discount_pct), "lines": {str(k): plain(v) for k, v in over.items()}}
    return _checked(DISCOUNT, not over, "discount_above_threshold" if over else "discount_ok", details)


def promise_check(lines: Iterable[tuple[int, date, date | None]]) -> CheckResult:
    """Lines (number, requested date, promised date) promised later than the customer asked, or that nothing can
    promise (no date), wait for an approver."""
    late = {str(line_no): {"requested": requested.isoformat(), "promised": promised.isoformat() if promised else "-"}
            for line_no, requested, promised in sorted(lines) if promised is None or promised > requested}
    return _checked(PROMISE, not late, "promise_later_than_requested" if late else "promise_ok", {"lines": late})


QuoteLine = tuple[str, int, Decimal, Decimal]  # item, quantity (micro), unit price, discount %


def carried_approval(result: CheckResult, quoted: Mapping[int, QuoteLine], ordered: Mapping[int, QuoteLine],
                     quote: str, approved_by: str) -> CheckResult:
    """A discount an approver accepted on the quote the order came from is not asked for again, as long as every
    line past the threshold is the quote's line unchanged (item, quantity, price and discount)."""
    if result.passed or any(quoted.get(int(n)) != ordered.get(int(n)) for n in result.details["lines"]):
        return result
    return CheckResult(result.check, True, "discount_approved_on_quote",
                       f"{result.message}: approved on quote {quote} by {approved_by}",
                       {**result.details, "quote": quote, "approved_by": approved_by})


def review_outcome(results: Sequence[CheckResult], auto_approve: bool) -> tuple[str, str]:
    """(status, reason) after the review: a failed credit check holds the order; any other failure, or a policy
    that approves nothing by itself, waits for an approver; a clean review approves it."""
    failed = [r for r in results if not r.passed]
    if any(r.check == CREDIT for r in failed):
        return ON_HOLD, "credit"
    if failed:
        return SUBMITTED, ", ".join(r.check for r in failed)
    return (APPROVED, "") if auto_approve else (SUBMITTED, "")


def approval_refusal(failed_checks: Iterable[str], actor_roles: Iterable[str], approvers: Mapping[str, Sequence[str]],
                     default_roles: Sequence[str]) -> Refusal | None:
    """An approver must hold, for every check the review failed, one of the roles the policy names for it (admin may
    approve anything). With no failed check, the default approver roles apply."""
    roles = set(actor_roles)
    if "admin" in roles:
        return None
    needed = list(failed_checks) or ["review"]
    for check in needed:
        allowed = approvers.get(check, default_roles) if check != "review" else default_roles
        if not roles & set(allowed):
            return Refusal("approver_role_required",
                           f"Approving past the {check} check needs one of these roles: {', '.join(allowed) or 'admin'}",
                           {"check": check, "roles": list(allowed)})
    return None


# -- progress once approved ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DownstreamFacts:
    """What production and shipping did for an approved order."""

    lines: Sequence[LineProgress]
    covered_micro: int = 0  # planned on open shipments (their stock reserved or packed) or reserved for the order
    on_its_way: bool = False  # a shipment of it is loaded and not yet signed for
    in_production: bool = False  # a production order for it is released and not finished


def progress_status(facts: DownstreamFacts) -> str:
    """Delivered when nothing is owed; shipped when goods left (delivered in part, or loaded); ready when everything
    still owed is on a shipment (its stock reserved) or reserved; in production when a production order for it runs; else approved."""
    owed = sum(open_micro(line) for line in facts.lines)
    delivered_any = any(line.shipped_micro > 0 for line in facts.lines)
    if facts.lines and owed == 0:
        return DELIVERED
    if facts.on_its_way or delivered_any:
        return SHIPPED
    if owed and facts.covered_micro >= owed:
        return READY
    if facts.in_production:
        return IN_PRODUCTION
    return APPROVED


def status_after_delivery(current: str, facts: DownstreamFacts) -> str:
    """A signature cannot reopen a closed or cancelled order, nor release a hold."""
    if current in (CLOSED, CANCELLED, ON_HOLD):
        return current
    return progress_status(facts)


# -- history ------------------------------------------------------------------------------------------------------------

UNTRACKED = frozenset({"version", "updated_at", "lines"})


def order_changes(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[dict[str, Any]]:
    """What changed from one version of an order to the next, field by field and line by line (orders in their API
    shape, as JSON values): `lines[20].quantity`, a line added (`lines[30]`, before None) or removed (after None)."""
    before = before or {}
    changes = [{"field": name, "before": before.get(name), "after": value}
               for name, value in after.items() if name not in UNTRACKED and before.get(name) != value]
    old_lines = {line["line_no"]: line for line in before.get("lines", [])}
    new_lines = {line["line_no"]: line for line in after.get("lines", [])}
    for line_no in sorted(old_lines.keys() | new_lines.keys()):
        old, new = old_lines.get(line_no), new_lines.get(line_no)
        if old is None or new is None:
            changes.append({"field": f"lines[{line_no}]", "before": old, "after": new})
            continue
        changes += [{"field": f"lines[{line_no}].{name}", "before": old.get(name), "after": value}
                    for name, value in new.items() if old.get(name) != value]
    return changes


# -- tracking -----------------------------------------------------------------------------------------------------------

RISK_ORDER = ("delivered", "on_track", "at_risk", "late")


def line_risk(today: date, promise: date, open_micro: int, covered_micro: int,
              lead_time_days: int, scheduled_finish: date | None = None) -> tuple[str, Message | None]:
    """Whether a line will meet its promise date: delivered; late once the date passed with something still owed;
    at risk when the accepted schedule finishes the production made for it after the promise date, or when what is
    owed is not yet on a shipment, reserved or coming from production and fewer days are left than the item takes
    to make or buy; else on track. The reason is a catalog message (`risk.*`), said in the reader's language."""
    if open_micro <= 0:
        return "delivered", None
    if promise < today:
        return "late", Message("risk.late", {"days": (today - promise).days, "promise": promise.isoformat()})
    if scheduled_finish is not None and scheduled_finish > promise:
        return "at_risk", Message("risk.scheduled_late", {"finish": scheduled_finish.isoformat(),
                                                          "promise": promise.isoformat()})
    if covered_micro >= open_micro:
        return "on_track", Message("risk.covered")
    days_left = (promise - today).days
    verdict = "at_risk" if days_left < lead_time_days else "on_track"
    return verdict, Message(f"risk.{verdict}", {"days_left": days_left, "needed": lead_time_days})


def worst(risks: Iterable[str]) -> str:
    return max(risks, key=RISK_ORDER.index, default="delivered")
