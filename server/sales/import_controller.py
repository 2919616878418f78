"""POST /api/sales-orders/import: a CSV or XLSX of order lines becomes draft sales orders, all or nothing
(server/sales/importer.py); POST /api/sales-payments/import: payments from accounting (server/sales/payment_import.py).
Needs sales.write; `?dry_run=true` only checks the file."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Request, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK

from schemas.sales_import import PaymentImportResult, SalesImportResult
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.sales import importer, payment_import


@dataclass
class SalesImportUpload:
    """The multipart form: the file in the field `file` (a named field, so a form without it is a 400)."""

    file: UploadFile


class SalesImportController(Controller):
    path = "/api/sales-orders/import"
    tags = ["Sales orders"]

    @post("/", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="import_sales_orders",
          summary="Import sales orders from a CSV or XLSX of order lines (all or nothing)",
          description="One row per order line; rows with the same order_ref and customer make one draft order. "
                      "Columns: order_ref, customer, site, customer_reference, delivery_address, payment_terms_days, "
                      "notes, line_no, item, quantity, unit_price, discount_pct, due_date, promised_date. Any problem "
                      "refuses the file: 422 `import_invalid` with every problem in details.errors (row, column, "
                      "code, message). An order_ref imported before for the same customer is `already_imported`. "
                      f"At most {importer.MAX_IMPORT_BYTES // (1024 * 1024)} MB (413 `file_too_large`) and "
                      f"{importer.MAX_IMPORT_LINES:,} lines (`too_many_rows`).")
    async def import_orders(
        self, request: Request, data: Annotated[SalesImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: Annotated[bool, Parameter(description="Only check the file: nothing is written")] = False,
    ) -> SalesImportResult:
        filename = data.file.filename or ""
        orders, found = await importer.read_order_sheet(await data.file.read(), filename)
        with importer.lost_race_is_already_imported():
            async with write_transaction():
                result = await importer.import_sales_orders(orders, found, office_who(request), filename=filename,
                                                            dry_run=dry_run)
        return SalesImportResult(**result)


class PaymentImportController(Controller):
    path = "/api/sales-payments/import"
    tags = ["Sales orders"]

    @post("/", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="import_sales_payments",
          summary="Import payments from accounting: a CSV or XLSX with one payment a row (all or nothing)",
          description="Columns: sales_order, amount, paid_on (YYYY-MM-DD), reference (the bank's or accounting "
                      "system's). Any problem refuses the file: 422 `import_invalid` with every problem in "
                      "details.errors. A reference the order already has is `already_recorded`, so a file imported "
                      "twice records each payment once.")
    async def import_payments(
        self, request: Request, data: Annotated[SalesImportUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: Annotated[bool, Parameter(description="Only check the file: nothing is written")] = False,
    ) -> PaymentImportResult:
        raw = await data.file.read()
        async with write_transaction():
            result = await payment_import.import_payments(raw, data.file.filename or "", office_who(request),
                                                          dry_run=dry_run)
        return PaymentImportResult(**result)
