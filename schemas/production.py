"""Contracts of production orders: what the office sends to create, change, release, cancel or close one and what it
gets back, and the floor commands against them (`stock.issue`, `production.report`, `production.downtime`).
Quantities travel as decimal strings (or numbers), like every other contract."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.common import Code, Contract, LongText, Quantity, ShortText
from schemas.masterdata import IssueMethod, LineNumber, PositiveQuantity
from schemas.sync import CountedQuantity
from schemas.sync import PositiveQuantity as PositiveFloorQuantity

OrderStatus = Literal["draft", "released", "in_progress", "completed", "closed", "cancelled"]
OperationStatus = Literal["pending", "in_progress", "completed"]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The version read; a stale one is refused (409)")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]
Serials = Annotated[list[Code], Field(max_length=1000, description="One per unit of a serial-tracked item")]


class ProductionOrderIn(Contract):
    code: Code | None = Field(default=None, description="Empty: the next number, PRD-<year>-0001…")
    item: Code = Field(description="A made item: it needs an active BOM and a routing by release")
    quantity: PositiveQuantity
    site: Code = Field(description="Where it is made: the site's devices get the order once released")
    due_date: date
    notes: LongText = ""
    sales_order: Code | None = Field(default=None, description="Made to order: the sales order it is made for")
    sales_order_line: LineNumber | None = Field(default=None, description="With sales_order: the line it is made for")
    parent_order: Code | None = Field(default=None, description="The production order this one's output feeds")


class ProductionOrderPatch(Contract):
    """Only a draft changes."""

    version: Version
    item: Code | None = None
    quantity: PositiveQuantity | None = None
    site: Code | None = None
    due_date: date | None = None
    notes: LongText | None = None


class ProductionOrderAction(Contract):
    """Release, cancel or close; with `version`, refused (409) when someone changed the order since it was read."""

    version: Version | None = None
    reason: ShortText = ""


class ProductionOperationOut(BaseModel):
    sequence: int
    work_centre: str
    description: str
    planned_minutes: Quantity
    good_quantity: Quantity
    scrap_quantity: Quantity
    status: OperationStatus
    progress_pct: int = Field(description="Good reported against the order quantity, 0-100")


class ProductionMaterialOut(BaseModel):
    line_no: int
    item: str
    required_quantity: Quantity
    issued_quantity: Quantity
    over_issued: bool
    issue_method: IssueMethod
    operation: int | None = Field(description="The operation whose reports consume it")
    consumed_quantity: Quantity = Field(description="Its share of what that operation reported so far")
    under_issued: bool = Field(description="Less was issued than the reports consumed: for the supervisor")


class ProductionOrderOut(BaseModel):
    code: str
    item: str
    quantity: Quantity
    site: str
    due_date: date
    status: OrderStatus
    notes: str
    sales_order: str | None
    sales_order_line: int | None
    parent_order: str | None = None
    bom: str | None
    routing: str | None
    received_quantity: Quantity = Field(description="Finished goods booked into stock by the last operation")
    progress_pct: int = Field(description="The last operation's good quantity against the order quantity, 0-100")
    over_issued: bool = Field(description="Some material was issued beyond its requirement: for the supervisor")
    under_issued: bool = Field(default=False, description="Some material was issued below what the reports consumed")
    created_by: str
    released_by: str | None
    released_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    operations: list[ProductionOperationOut]
    materials: list[ProductionMaterialOut]
    open_actions: list[str] = Field(default_factory=list, description="What the caller may do to it now (action "
                                    "names: submit, approve, cancel…), given its status and the caller's role")


class DowntimeOut(BaseModel):
    work_centre: str
    reason: str
    production_order: str | None
    started_at: datetime
    ended_at: datetime | None
    minutes: Quantity | None = Field(description="How long it lasted, once stopped")


# -- floor commands ----------------------------------------------------------------------------------------------

class StockIssueArgs(Contract):
    """Material taken from a location (available stock) and issued to a released production order."""

    production_order: Code
    item: Code
    lot: Code | None = None
    location: Code
    quantity: PositiveFloorQuantity
    serials: Serials | None = None


class ProductionReportArgs(Contract):
    """Good and scrap on one operation. On the last operation the good units go into stock at `location`, under
    `lot` (generated as <order>-<n> when absent, for a lot-tracked item) with one serial each where tracked."""

    production_order: Code
    operation: LineNumber = Field(description="The operation's sequence number (10, 20…)")
    good_quantity: CountedQuantity = Decimal(0)
    scrap_quantity: CountedQuantity = Decimal(0)
    scrap_reason: Reason | None = None
    location: Code | None = None
    lot: Code | None = None
    serials: Serials | None = None

    @model_validator(mode="after")
    def something_reported(self) -> ProductionReportArgs:
        if self.good_quantity + self.scrap_quantity <= 0:
            raise ValueError("report a good or a scrap quantity above zero")
        return self


class ProductionDowntimeArgs(Contract):
    work_centre: Code
    action: Literal["start", "stop"]
    reason: Reason | None = Field(default=None, description="Why it stopped: required to start")
    production_order: Code | None = None
