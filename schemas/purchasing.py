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
