"""Contracts of the sales order import (POST /api/sales-orders/import): the answer to a file that imported (or, with
`dry_run`, would import). A refused file answers 422 `import_invalid` with every problem in `details.errors`; the
columns a file may have are in server/sales/importer.py and the README."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportedOrder(BaseModel):
    order_ref: str = Field(description="The file's order_ref that grouped the lines")
    customer: str
    code: str | None = Field(description="The sales order made; null on a dry run")
    lines: int


class SalesImportResult(BaseModel):
    dry_run: bool = Field(description="True: the file was only checked, nothing was written")
    orders: int
    lines: int
    imported: list[ImportedOrder] = Field(description="One per order, in the file's order")


class PaymentImportResult(BaseModel):
    """The answer to a payments file that imported (or, with `dry_run`, would import)."""

    dry_run: bool
    payments: int
    amount: str = Field(description="Their sum (in each order's own currency: a mixed file adds unlike money)")
