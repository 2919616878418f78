"""Contracts of sales orders: a customer's order with priced lines (item, quantity, price, discount, requested and
promised dates), its terms and where it goes; the review it passed on submission; every version of it; payments
against it; and the review policy. Quantities and money travel as decimal strings (schemas/common.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from schemas.accounts import RoleName
from schemas.common import Code, Contract, Days, LongText, Money, Percent, PositiveMoney, Quantity, ShortText
from schemas.masterdata import LineNumber, PositiveQuantity

SalesOrderStatus = Literal["draft", "submitted", "approved", "in_production", "ready", "shipped", "delivered",
                           "closed", "cancelled", "on_hold"]
OrderSource = Literal["manual", "import", "api", "quote"]
ReviewCheck = Literal["credit", "discount", "contract", "promise"]
Reference = Annotated[str, Field(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")]
OrderVersion = Annotated[int, Field(ge=1, le=2**31 - 1)]


class SalesOrderLineIn(Contract):
    line_no: LineNumber | None = Field(default=None, description="Empty: numbered 10, 20, 30… in order")
    item: Code
    quantity: PositiveQuantity
    unit_price: Money | None = Field(default=None, description="Price per unit in the order's currency, before the "
                                     "discount. Empty: the contract's agreed price, else the price list's (GET /api/prices)")
    discount_pct: Percent | None = Field(default=None, description="The line's discount in %. Empty: 0 for a line with "
                                         "its own price, else the price list's grade discount")
    due_date: date = Field(description="The date the customer asked for")
    promised_date: date | None = Field(default=None, description="The date we promise, when it differs")


class SalesOrderTerms(Contract):
    """What an order says besides its lines; empty terms take the customer's."""

    customer_reference: Reference = Field(default="", description="The customer's own order number")
    delivery_address: LongText = Field(default="", description="Empty: the customer's address")
    payment_terms_days: Days | None = Field(default=None, description="Empty: the contract's, else the customer's payment terms")
    notes: LongText = ""
    contract: Code | None = Field(default=None, description="The customer's sales contract the order is placed under")


class SalesOrderIn(SalesOrderTerms):
    code: Code | None = Field(default=None, description="Empty: the next number, SO-<year>-0001…")
    customer: Code
    site: Code = Field(description="The site that ships the order")
    lines: Annotated[list[SalesOrderLineIn], Field(max_length=500)] = Field(default_factory=list)


class SalesOrderEdit(SalesOrderTerms):
    """A draft rewritten whole: its terms and all its lines (lines not sent are removed)."""

    version: OrderVersion = Field(description="The version you read: refused (409) when someone changed it since")
    site: Code
    lines: Annotated[list[SalesOrderLineIn], Field(max_length=500)] = Field(default_factory=list)


class SalesOrderAction(Contract):
    """Submit, approve, reject, hold, release, cancel or close; with `version`, refused (409) when someone changed
    the order since it was read."""

    version: OrderVersion | None = None
    reason: ShortText = ""


class PaymentIn(Contract):
    amount: PositiveMoney
    paid_on: date
    reference: Reference = ""


class PaymentOut(BaseModel):
    amount: Money
    paid_on: date
    reference: str
    recorded_by: str
    recorded_at: datetime


class CheckOut(BaseModel):
    check: ReviewCheck
    passed: bool
    code: str = Field(description="credit_ok, credit_limit_exceeded, discount_ok, discount_above_threshold, contract_ok, "
                                  "contract_violated, discount_approved_on_quote…")
    message: str
    details: dict[str, Any]


class ReviewOut(BaseModel):
    version: int = Field(description="The order's version that was reviewed")
    at: datetime
    checks: list[CheckOut]
    outcome: SalesOrderStatus = Field(description="Where the review put the order")
    decision: Literal["approved", "rejected"] | None
    decided_by: str | None
    decided_at: datetime | None
    note: str


class FieldChange(BaseModel):
    field: str = Field(description="status, notes, lines[20].quantity…")
    before: Any
    after: Any


class RevisionOut(BaseModel):
    version: int
    action: str
    actor: str
    at: datetime
    reason: str
    changes: list[FieldChange]


class PromiseOut(BaseModel):
    """When a line can be delivered: from stock and scheduled receipts (atp), else by making what is short through
    the BOM levels in the current schedule (ctp); `reason` is a catalog key (promise.reason_*) with its values."""

    promise_date: date | None = Field(description="Empty: nothing can promise it (the reason names what is missing)")
    atp_date: date | None = Field(description="When stock and scheduled receipts alone cover the line")
    method: Literal["atp", "ctp", ""]
    reason: str
    params: dict[str, Any]
    message: str = Field(description="The reason in the caller's language")


class LinePromiseOut(PromiseOut):
    line: int
    item: str
    quantity: Quantity
    requested_date: date


class SalesOrderLineOut(BaseModel):
    line_no: int
    item: str
    quantity: Quantity
    unit_price: Money
    discount_pct: Percent
    value: Money = Field(description="Quantity × price less the discount")
    due_date: date
    promised_date: date | None
    shipped_quantity: Quantity = Field(description="Delivered and signed for")
    backorder_quantity: Quantity = Field(description="Short on a delivery and still owed")
    open_quantity: Quantity = Field(description="Ordered, not yet delivered")
    promise: PromiseOut | None = Field(default=None, description="The order promising's date and reason, once worked "
                                                                 "out (on submission, on every change, on request)")


class SalesOrderOut(BaseModel):
    code: str
    customer: str
    site: str
    status: SalesOrderStatus
    source: OrderSource
    contract: str | None = Field(default=None, description="The sales contract it is placed under")
    quote: str | None = Field(default=None, description="The quote it was converted from")
    customer_reference: str
    delivery_address: str
    payment_terms_days: int
    currency: str
    value: Money = Field(description="The lines' value")
    paid_amount: Money
    hold_reason: str
    awaiting_approval: bool = Field(description="Submitted, or held by the review for credit: an approver decides")
    notes: str
    created_by: str
    submitted_by: str | None
    submitted_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    lines: list[SalesOrderLineOut]
    open_actions: list[str] = Field(default_factory=list, description="What the caller may do to it now (action "
                                    "names: submit, approve, cancel…), given its status and the caller's role")


class SalesOrderHistory(BaseModel):
    """Every version of an order and every review it passed, oldest first."""

    code: str
    revisions: list[RevisionOut]
    reviews: list[ReviewOut]
    payments: list[PaymentOut]


class SalesPolicyIn(Contract):
    credit_check: bool = True
    discount_check: bool = True
    max_discount_pct: Percent = Decimal(10)
    auto_approve: bool = Field(default=True, description="A clean review approves the order by itself")
    promise_check: bool = Field(default=False, description="A line promised later than requested (or that nothing "
                                                           "can promise) waits for an approver of the promise check")
    approvers: dict[ReviewCheck, Annotated[list[RoleName], Field(max_length=10)]] = Field(
        default_factory=dict, description="Per check, the roles that may approve past it (admin always may): built-in "
                                          "or custom roles that grant sales.approve (422 unknown_role, "
                                          "role_cannot_approve otherwise); a check not named: sales_manager")
    other_approver_above_value: Money | None = Field(
        default=None, description="An order worth more than this (in its own currency) is approved by someone other "
                                  "than who entered or submitted it (409 self_approval); empty: no such limit")
    other_approver_above_discount_pct: Percent | None = Field(
        default=Decimal(20), description="An order with a line discounted by more than this (against its list or "
                                         "contract price) is approved by someone other than who entered or submitted "
                                         "it; empty: no such limit")


class SalesPolicyOut(SalesPolicyIn):
    updated_by: str
    updated_at: datetime | None


class LineChange(Contract):
    """What changes on one line; fields left out stay as they are."""

    line_no: LineNumber
    quantity: PositiveQuantity | None = Field(default=None, description="Not below what was already delivered")
    due_date: date | None = None
    promised_date: date | None = None
    item: Code | None = Field(default=None, description="A substitute product (only for a line nothing was delivered on)")


class OrderChangeIn(Contract):
    """A change to a submitted or approved order: lines changed or added, the address or the customer's reference.
    Preview it first: the answer says what it does downstream; sending it again to /changes makes it."""

    version: OrderVersion = Field(description="The version you read: refused (409) when someone changed it since")
    reason: Annotated[ShortText, Field(min_length=1)]
    lines: Annotated[list[LineChange], Field(max_length=500)] = Field(default_factory=list)
    add_lines: Annotated[list[SalesOrderLineIn], Field(max_length=500)] = Field(default_factory=list)
    delivery_address: LongText | None = None
    customer_reference: Reference | None = None


ImpactKind = Literal["shipment", "reservation", "production_order", "credit", "discount", "contract", "promise",
                     "status"]


class Impact(BaseModel):
    kind: ImpactKind
    key: str = Field(description="What is affected: a shipment or production order code, the order's own code…")
    line_no: int | None
    effect: str = Field(description="shipment_line_reduced, shipment_line_removed, shipment_cancelled, blocked_packed, "
                                    "reservation_reduced, reservation_released, production_order_to_review, "
                                    "production_order_cancelled, credit_hold, review_hold, promise_hold, status_changed…")
    details: dict[str, Any]


class ChangeImpact(BaseModel):
    """What a change does: the order's fields that change, and what happens downstream because of it."""

    order: str
    applied: bool = Field(description="False for a preview: nothing was written")
    blocked: bool = Field(description="The change cannot be made as it is (see the impacts marked blocked_…)")
    changes: list[FieldChange]
    impacts: list[Impact]
    not_evaluated: list[str] = Field(description="Downstream effects this version does not work out yet")
    after: SalesOrderOut


Risk = Literal["delivered", "on_track", "at_risk", "late"]


class TrackingLine(BaseModel):
    line_no: int
    item: str
    quantity: Quantity
    promise_date: date = Field(description="The promised date, else the requested one")
    delivered: Quantity
    backorder: Quantity
    open: Quantity
    on_shipments: Quantity = Field(description="On open shipments (planned, packed or loaded) with stock to pick")
    short: Quantity = Field(description="On open shipments but short: no stock is reserved for it (none was free when "
                            "the shipment was planned, or a count found it gone); a re-plan reserves what is free since")
    packed: Quantity
    loaded: Quantity
    reserved: Quantity = Field(description="Stock reserved for the line itself")
    in_production: Quantity = Field(description="Still to come from production orders made for the line")
    available_to_promise: Quantity = Field(description="The item's free stock (shared with every other order)")
    risk: Risk
    risk_reason: str
    risk_reason_key: str = Field("", description="The reason's catalog key (risk.late, risk.at_risk…), empty when none")
    risk_reason_params: dict[str, str | int] = Field(default_factory=dict, description="The values the reason names")


class TrackingShipment(BaseModel):
    code: str
    status: str
    route: str | None
    vehicle: str | None
    loaded_at: datetime | None
    delivered_at: datetime | None
    short: Quantity = Field(default=Decimal(0), description="What its pick list holds no stock for (an open shipment)")


class TrackingProduction(BaseModel):
    code: str
    item: str
    quantity: Quantity
    status: str
    progress_pct: int
    due_date: date
    sales_order_line: int | None


class TrackingPurchase(BaseModel):
    purchase_order: str
    supplier: str
    line_no: int
    item: str
    quantity: Quantity
    received: Quantity
    due_date: date
    status: str
    for_item: str = Field(description="The order's item it supplies (itself, or one its production consumes)")


class TrackingPlanned(BaseModel):
    """Supply the latest MRP plan pegs to a line, down the BOM: a planned order (made or bought), firmed or not."""

    line_no: int
    depth: int = Field(description="0: the line's own item; 1: a component of it; and so on down the BOM")
    key: str
    item: str
    kind: str
    quantity: str = Field(description="The part of the planned order pegged to this line")
    release_date: date
    receipt_date: date
    firmed_as: str | None = None
    run: int


class TrackingEvent(BaseModel):
    at: datetime
    action: str
    actor: str
    reason: str
    status: str


class OrderTracking(BaseModel):
    """One order from entry to signed delivery: its lines and how far each got, and the production, purchasing and
    shipping working for it."""

    order: SalesOrderOut
    risk: Risk = Field(description="The worst of its lines")
    lines: list[TrackingLine]
    shipments: list[TrackingShipment]
    production: list[TrackingProduction]
    purchasing: list[TrackingPurchase]
    planned: list[TrackingPlanned] = Field(default_factory=list)
    events: list[TrackingEvent]


class LateLine(BaseModel):
    sales_order: str
    customer: str
    status: SalesOrderStatus
    line_no: int
    item: str
    promise_date: date
    open: Quantity
    risk: Literal["at_risk", "late"]
    risk_reason: str
    risk_reason_key: str = Field("", description="The reason's catalog key (risk.late, risk.at_risk…)")
    risk_reason_params: dict[str, str | int] = Field(default_factory=dict, description="The values the reason names")


class CustomerSummary(BaseModel):
    code: str
    name: str
    grade: str
    currency: str
    credit_limit: Money
    exposure: Money = Field(description="Open orders and unpaid deliveries")
    available_credit: Decimal = Field(description="The limit less the exposure (negative: over the limit)")
    orders: int
    open_orders: int
    open_value: Money
    volume_last_365_days: Money = Field(description="Value of the orders entered in the last year")
    delivered_lines: int
    on_time_lines: int
    on_time_rate_pct: int | None = Field(description="Lines delivered by their promise date, in % (none delivered: null)")
    recent_orders: list[SalesOrderOut]
