"""Contracts of purchase orders: what a client sends to create, change, approve, cancel or close one, and what it
gets back. Quantities and prices travel as decimal strings, like every other contract (schemas/common.py)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from schemas.common import Code, Contract, LongText, Money, Quantity, ShortText
from schemas.masterdata import Currency, LineNumber, PositiveQuantity

PoStatus = Literal["draft", "approved", "partially_received", "received", "closed", "cancelled"]
LineStatus = Literal["open", "received", "cancelled"]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The version read; a stale one is refused (409)")]


class PurchaseOrderLineIn(Contract):
    line_no: LineNumber | None = Field(default=None, description="Empty: numbered 10, 20, 30… in order")
    item: Code
    quantity: PositiveQuantity
    unit_price: Money = Field(default=Decimal(0))
    due_date: date
    sales_order: Code | None = Field(default=None, description="Pegged: bought for this sales order")
    production_order: Code | None = Field(default=None, description="Pegged: bought for this production order")


PoLines = Annotated[list[PurchaseOrderLineIn], Field(max_length=500)]


class PurchaseOrderIn(Contract):
    code: Code | None = Field(default=None, description="Empty: the next number, PO-<year>-0001…")
    supplier: Code
    site: Code = Field(description="The receiving site: its devices get the PO once approved")
    currency: Currency | None = Field(default=None, description="Empty: the supplier's currency")
    notes: LongText = ""
    lines: PoLines = Field(default_factory=list)
    allow_unlisted_item: bool = Field(default=False, description="The buyer confirms items the supplier does not list "
                                      "(refused with item_not_supplied otherwise); audited")


class PurchaseOrderPatch(Contract):
    """Only a draft changes; `lines`, when sent, replace all lines."""

    version: Version
    supplier: Code | None = None
    site: Code | None = None
    currency: Currency | None = None
    notes: LongText | None = None
    lines: PoLines | None = None
    allow_unlisted_item: bool = Field(default=False, description="As for a new purchase order")


class PurchaseOrderAction(Contract):
    """Approve, cancel or close; with `version`, refused (409) when someone changed the PO since it was read."""

    version: Version | None = None
    reason: ShortText = ""


class PurchaseOrderLineOut(BaseModel):
    line_no: int
    item: str
    quantity: Quantity
    unit_price: Money
    due_date: date
    received_quantity: Quantity
    status: LineStatus
    sales_order: str | None = None
    production_order: str | None = None
    confirmed_quantity: Quantity | None = Field(default=None, description="What the supplier confirmed")
    confirmed_date: date | None = Field(default=None, description="When the supplier confirmed it for: `due_date` "
                                                                  "follows it")
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None
    ordered_due_date: date = Field(description="The due date as ordered (`due_date` is when the line is expected)")
    differs: bool = Field(default=False, description="The confirmation differs from the order (quantity or date)")


class LineConfirmationIn(Contract):
    line_no: LineNumber
    confirmed_quantity: PositiveQuantity
    confirmed_date: date


class ConfirmationIn(Contract):
    """The supplier's confirmation of some or all lines, as the buyer got it: per line the quantity and the date it
    comes; each line's expected date (`due_date`) becomes the confirmed date."""

    lines: Annotated[list[LineConfirmationIn], Field(min_length=1, max_length=500)]
    version: Version | None = None


class PurchaseOrderOut(BaseModel):
    code: str
    supplier: str
    site: str
    status: PoStatus
    currency: str
    notes: str
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    total_amount: str = Field(description="Sum of quantity × unit price, a decimal string")
    lines: list[PurchaseOrderLineOut]
    open_actions: list[str] = Field(default_factory=list, description="What the caller may do to it now (action "
                                    "names: submit, approve, cancel…), given its status and the caller's role")


class PurchasingPolicyIn(Contract):
    """Segregation of duties on purchase orders: up to which total the author of a PO may approve it themselves."""

    other_approver_above: Money = Field(
        description="The default limit: a purchase order whose total (in its currency) is above it is approved by "
                    "someone other than who wrote it (409 self_approval); 0: every one. Before an admin sets it, "
                    "FLOORSYNC_PO_APPROVAL_BY_OTHER_ABOVE")
    # keys are role names: one that names no role is refused by the service (422 unknown_role), which also bounds
    # their number (Litestar documents a dict with a length limit or keyed by a constrained string as an array)
    self_approval_limits: dict[str, Money] = Field(
        default_factory=dict,
        description="Per role, the total up to which a holder approves a purchase order they wrote themselves: "
                    "built-in or custom roles that grant purchasing.approve (422 unknown_role, role_cannot_approve "
                    "otherwise). A user's limit is the highest among their roles named here, else the default")


class PurchasingPolicyOut(PurchasingPolicyIn):
    updated_by: str
    updated_at: datetime | None


# -- requests for quotation ---------------------------------------------------------------------------------------

RfqStatus = Literal["draft", "sent", "awarded", "cancelled"]


class RfqLineIn(Contract):
    line_no: LineNumber | None = Field(default=None, description="Empty: numbered 10, 20, 30… in order")
    item: Code
    quantity: PositiveQuantity


RfqSuppliers = Annotated[list[Code], Field(min_length=2, max_length=50,
                                           description="The suppliers asked to quote: two at least, each once")]


class RfqIn(Contract):
    site: Code = Field(description="The receiving site of the purchase order the award makes")
    needed_by: date = Field(description="When the goods are needed: the comparison checks each quote's delivery "
                                        "date against it")
    currency: Currency | None = Field(default=None, description="What every quote is in; empty: the currency of the "
                                      "first supplier asked")
    suppliers: RfqSuppliers
    lines: Annotated[list[RfqLineIn], Field(min_length=1, max_length=500)]
    notes: LongText = ""


class RfqFromPlanIn(Contract):
    """Planned purchases of the site's latest MRP run, asked of several suppliers: each becomes a line (its item and
    planned quantity), the earliest planned receipt is the needed-by date, and each planned order is marked as
    handled by the RFQ, so firming it afterwards creates no purchase order beside the RFQ's."""

    run: Annotated[int, Field(ge=1, le=2**31 - 1)]
    keys: Annotated[list[Annotated[str, Field(min_length=1, max_length=80)]], Field(min_length=1, max_length=500)]
    suppliers: RfqSuppliers
    notes: LongText = ""


class PriceBreak(Contract):
    min_quantity: PositiveQuantity = Field(description="From this quantity up (the billed quantity)…")
    unit_price: Money = Field(description="…this unit price")


class QuoteLineIn(Contract):
    line_no: LineNumber = Field(description="The RFQ line it prices")
    unit_price: Money
    min_quantity: Quantity = Field(default=Decimal(0), description="The least the supplier sells: a smaller quantity "
                                   "is billed (and ordered) at this one")
    price_breaks: Annotated[list[PriceBreak], Field(max_length=20)] = Field(default_factory=list)


class QuoteIn(Contract):
    """A supplier's quote, recorded by the buyer; recorded again, it replaces the earlier one. Every RFQ line is priced."""

    lead_time_days: Annotated[int, Field(ge=0, le=3650)]
    valid_until: date = Field(description="After this day the quote reads as expired and cannot be awarded")
    notes: LongText = ""
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=500)]


class QuoteLineOut(BaseModel):
    line_no: int
    unit_price: Money
    min_quantity: Quantity
    price_breaks: list[PriceBreak]


class QuoteOut(BaseModel):
    supplier: str
    lead_time_days: int
    valid_until: date
    expired: bool = Field(description="Past its validity today (read, not stored)")
    notes: str
    recorded_by: str
    recorded_at: datetime
    lines: list[QuoteLineOut]


class RfqLineOut(BaseModel):
    line_no: int
    item: str
    quantity: Quantity


class RfqOut(BaseModel):
    code: str
    site: str
    needed_by: date
    currency: str
    status: RfqStatus
    notes: str
    suppliers: list[str]
    lines: list[RfqLineOut]
    quotes: list[QuoteOut]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    sent_at: datetime | None
    awarded_supplier: str | None
    purchase_order: str | None = Field(description="The draft purchase order the award made")
    awarded_by: str | None
    awarded_at: datetime | None
    open_actions: list[str] = Field(default_factory=list, description="What the caller may do to it now: send, "
                                    "quote, award, cancel")


class RfqAction(Contract):
    version: Version | None = None
    reason: ShortText = ""


class AwardIn(Contract):
    supplier: Code = Field(description="Whose quote is awarded")
    update_supplier_items: bool = Field(default=False, description="Also set the supplier's item price (the price at "
                                        "the quantity ordered) and lead time from the quote (needs suppliers.write)")
    version: Version | None = None


class ComparedLine(BaseModel):
    line_no: int
    item: str
    quantity: Quantity = Field(description="What the RFQ asks")
    billed_quantity: Quantity = Field(description="At least the supplier's minimum")
    unit_price: Money = Field(description="At the billed quantity, price breaks applied")
    cost: str = Field(description="billed quantity × unit price, a decimal string")


class ComparedQuote(BaseModel):
    supplier: str
    total: str = Field(description="The quote's cost of the whole RFQ, to the cent, a decimal string")
    lead_time_days: int
    delivery_date: date = Field(description="Today + lead time")
    meets_date: bool
    days_late: int = Field(description="How many days after needed-by it would arrive; 0 when it meets the date")
    valid_until: date
    expired: bool
    recommended: bool
    lines: list[ComparedLine]


class RfqComparison(BaseModel):
    code: str
    needed_by: date
    currency: str
    status: RfqStatus
    today: date
    quotes: list[ComparedQuote] = Field(description="Every quote, cheapest first")
    not_quoted: list[str] = Field(description="Suppliers asked whose quote is not in")
    recommended: str | None = Field(description="The cheapest quote still valid that meets the date; when none "
                                    "does, the valid quote that arrives earliest; none without a valid quote")
