"""Contracts of sales pricing: price lists (a currency, validity dates, per item a list price with quantity breaks,
per customer grade a discount), the price an order line would get and where it came from, sales contracts (agreed
prices and quantities per item, validity, payment terms) with the orders placed under them, and quotes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from schemas.common import Code, Contract, Days, LongText, Money, Name, Percent, Quantity
from schemas.masterdata import LineNumber, PositiveQuantity

Grade = Literal["A", "B", "C"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. CNY")]
PriceSource = Literal["contract", "price_list", "manual"]
QuoteStatus = Literal["draft", "submitted", "approved", "rejected", "converted", "expired"]
Version = Annotated[int, Field(ge=1, le=2**31 - 1)]


class PriceBreak(Contract):
    from_quantity: PositiveQuantity = Field(description="From this many units on…")
    unit_price: Money = Field(description="…this price per unit")


class PriceListItemIn(Contract):
    item: Code
    list_price: Money = Field(description="The price per unit below the first break")
    breaks: Annotated[list[PriceBreak], Field(max_length=20)] = Field(default_factory=list)


class PriceListIn(Contract):
    code: Code
    name: Name
    currency: Currency
    valid_from: date
    valid_to: date | None = Field(default=None, description="Empty: until further notice")
    grade_discounts: dict[Grade, Percent] = Field(default_factory=dict,
                                                  description="% off the list for a customer of each grade")
    items: Annotated[list[PriceListItemIn], Field(max_length=2000)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _dates_in_order(self) -> PriceListIn:
        if self.valid_to is not None and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class PriceListEdit(PriceListIn):
    version: Version = Field(description="The version you read: refused (409) when someone changed it since")
    code: Code | None = None  # type: ignore[assignment]  # the path names it


class PriceListItemOut(BaseModel):
    item: str
    list_price: Money
    breaks: list[PriceBreak]


class PriceListOut(BaseModel):
    code: str
    name: str
    currency: str
    valid_from: date
    valid_to: date | None
    grade_discounts: dict[str, Percent]
    archived: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    items: list[PriceListItemOut]


class PriceOut(BaseModel):
    """What an order line for this customer, item and quantity would be priced at on that date, and why."""

    customer: str
    item: str
    quantity: Quantity
    on: date
    currency: str
    unit_price: Money = Field(description="Per unit, before the discount")
    discount_pct: Percent = Field(description="The customer's grade discount (0 under a contract)")
    net_unit_price: Money = Field(description="Per unit after the discount")
    reference_price: Money = Field(description="What the discount check measures against: the break price or the "
                                               "contract's agreed price")
    source: Literal["contract", "price_list"]
    price_list: str | None
    contract: str | None
    break_from_quantity: Quantity | None = Field(description="The quantity break that applied, if any")
    grade: str


class ContractItemIn(Contract):
    item: Code
    agreed_price: Money
    agreed_quantity: PositiveQuantity = Field(description="Over the contract's whole life")


class ContractIn(Contract):
    code: Code
    customer: Code
    valid_from: date
    valid_to: date
    payment_terms_days: Days | None = Field(default=None, description="Empty: the customer's")
    notes: LongText = ""
    items: Annotated[list[ContractItemIn], Field(min_length=1, max_length=500)]

    @model_validator(mode="after")
    def _dates_in_order(self) -> ContractIn:
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class ContractEdit(ContractIn):
    version: Version
    code: Code | None = None  # type: ignore[assignment]
    customer: Code | None = None  # type: ignore[assignment]  # a contract stays with its customer


class ContractItemOut(BaseModel):
    item: str
    agreed_price: Money
    agreed_quantity: Quantity
    called_off_quantity: Quantity = Field(description="On orders under the contract that were submitted (not "
                                                      "cancelled)")
    remaining_quantity: Quantity


class CallOff(BaseModel):
    sales_order: str
    status: str
    created_at: datetime
    quantities: dict[str, Quantity] = Field(description="Per item, what the order calls off")


class ContractOut(BaseModel):
    code: str
    customer: str
    currency: str
    valid_from: date
    valid_to: date
    payment_terms_days: int
    notes: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int
    items: list[ContractItemOut]
    orders: list[CallOff]


class QuoteLineIn(Contract):
    line_no: LineNumber | None = None
    item: Code
    quantity: PositiveQuantity
    unit_price: Money | None = Field(default=None, description="Empty: priced from the contract or the price lists")
    discount_pct: Percent | None = Field(default=None, description="Empty: the grade discount of the price list")
    due_date: date | None = Field(default=None, description="When the customer would want it")


class QuoteIn(Contract):
    customer: Code
    site: Code
    contract: Code | None = None
    valid_until: date | None = Field(default=None, description="Empty: 30 days from today")
    notes: LongText = ""
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=500)]


class QuoteEdit(Contract):
    version: Version
    site: Code
    contract: Code | None = None
    valid_until: date | None = None
    notes: LongText = ""
    lines: Annotated[list[QuoteLineIn], Field(min_length=1, max_length=500)]


class QuoteAction(Contract):
    version: Version | None = None
    reason: Annotated[str, Field(max_length=200)] = ""


class QuoteConvert(Contract):
    version: Version | None = None
    due_date: date | None = Field(default=None, description="For lines without one: empty means 14 days from today")
    customer_reference: Annotated[str, Field(max_length=80, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class QuoteLineOut(BaseModel):
    line_no: int
    item: str
    quantity: Quantity
    unit_price: Money
    discount_pct: Percent
    value: Money
    reference_price: Money | None
    price_source: PriceSource
    due_date: date | None


class QuoteOut(BaseModel):
    code: str
    customer: str
    site: str
    contract: str | None
    currency: str
    valid_until: date
    status: QuoteStatus = Field(description="expired: past its date and never converted")
    notes: str
    value: Money
    review: list[dict[str, Any]]
    sales_order: str | None
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    lines: list[QuoteLineOut]
    open_actions: list[str] = Field(default_factory=list, description="What the caller may do to it now (action "
                                    "names: submit, approve, cancel…), given its status and the caller's role")

