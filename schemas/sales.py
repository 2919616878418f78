"""Contracts of sales orders, as small as shipping needs them: a customer's order with lines (item, quantity, due
date) and, per line, what was shipped and what is on backorder. The order lifecycle issue grows this model; the
fields here stay. Quantities travel as decimal strings (schemas/common.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from schemas.common import Code, Contract, LongText, Quantity, ShortText
from schemas.masterdata import LineNumber, PositiveQuantity

SalesOrderStatus = Literal["draft", "confirmed", "partially_shipped", "shipped", "closed", "cancelled"]


class SalesOrderLineIn(Contract):
    line_no: LineNumber | None = Field(default=None, description="Empty: numbered 10, 20, 30… in order")
    item: Code
    quantity: PositiveQuantity
    due_date: date


class SalesOrderIn(Contract):
    code: Code | None = Field(default=None, description="Empty: the next number, SO-<year>-0001…")
    customer: Code
    site: Code = Field(description="The site that ships the order")
    notes: LongText = ""
    lines: Annotated[list[SalesOrderLineIn], Field(max_length=500)] = Field(default_factory=list)


class SalesOrderAction(Contract):
    """Confirm, cancel or close; with `version`, refused (409) when someone changed the order since it was read."""

    version: Annotated[int, Field(ge=1, le=2**31 - 1)] | None = None
    reason: ShortText = ""


class SalesOrderLineOut(BaseModel):
    line_no: int
    item: str
    quantity: Quantity
    due_date: date
    shipped_quantity: Quantity = Field(description="Delivered and signed for")
    backorder_quantity: Quantity = Field(description="Short on a delivery and still owed")
    open_quantity: Quantity = Field(description="Ordered, not yet delivered")


class SalesOrderOut(BaseModel):
    code: str
    customer: str
    site: str
    status: SalesOrderStatus
    notes: str
    created_by: str
    confirmed_by: str | None
    confirmed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    lines: list[SalesOrderLineOut]
