"""Contracts of the inventory area: a row of on-hand stock, and the floor commands beyond moves and counts (those are
in schemas/sync.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Code, Contract
from schemas.sync import PositiveQuantity


class ReceiptArgs(Contract):
    """`receipt.receive`: what the operator scanned off the PO and the supplier's label, and where it went."""

    purchase_order: Code
    line_no: int = Field(ge=1, le=100_000)
    item: Code
    lot: Code | None = None
    expiry: date | None = Field(default=None, description="From the label (AI 17); else the item's shelf life from today")
    supplier_lot: Annotated[str, StringConstraints(max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
    serials: list[Code] | None = Field(default=None, max_length=1000, description="One per unit of a serial-tracked item")
    location: Code
    quantity: PositiveQuantity


class OnHand(BaseModel):
    item: str
    location: str
    lot: str | None
    status: str
    quantity: str


class OpeningItemTotal(BaseModel):
    item: str
    quantity: str = Field(description="The quantity the file puts into stock of this item, all places together")


class OpeningBalanceResult(BaseModel):
    """The answer to an opening-balance file that was loaded (or, with `dry_run`, would be). A refused file answers
    422 `import_invalid` with every problem in `details.errors` (row, column, code, message, params)."""

    dry_run: bool = Field(description="True: the file was only checked, nothing was written")
    rows: int
    posted: int = Field(description="Balances put into stock as ledger entries (reason opening_balance); 0 on a dry run")
    to_post: int = Field(description="Balances the file puts (or would put) into stock")
    skipped: int = Field(description="Rows whose place has this very opening balance already: loaded before, unchanged")
    lots_created: int
    serials: int = Field(description="Serial numbers registered")
    quantity: str = Field(description="Sum of the quantities posted (or to post)")
    by_item: list[OpeningItemTotal]
