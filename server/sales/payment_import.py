"""Payments imported from accounting: a CSV or XLSX with one payment a row (sales_order, amount, paid_on, reference),
all or nothing, so the credit check's exposure knows what customers paid without a clerk typing it in. Each row is
recorded as `record_payment` records one by hand (a revision and an audit row on the order), in one transaction.
The reference (the bank's or the accounting system's) makes a re-import harmless: a payment whose order already has
that reference is refused as `already_recorded`."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from itertools import islice
from typing import Any

from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.sales import PaymentIn
from server.accounts.site_scope import within_scope
from server.actors import Who
from server.db import needs_write
from server.errors import ApiError, field_code, validation_values
from server.sales import rules, service
from server.sales.importer import MAX_IMPORT_LINES, field_validators, problem, read_rows, refused_file
from server.sales.tables import SalesOrder, SalesPayment
from server.spreadsheets import Deadline, parse_upload

COLUMNS = ("sales_order", "amount", "paid_on", "reference")
HEADER_ALIASES = {"销售订单": "sales_order", "订单号": "sales_order", "金额": "amount", "付款金额": "amount",
                  "付款日期": "paid_on", "日期": "paid_on", "凭证号": "reference", "参考号": "reference"}
PAYABLE = frozenset(status for status in rules.SO_STATUSES if rules.payment_refusal(status) is None)
_DATE = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$")


def _header(cells: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    names = [HEADER_ALIASES.get(cell.strip()) or re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in cells]
    problems = [problem(1, name, "unknown_column", f"unknown column {name!r}; the columns are: {', '.join(COLUMNS)}",
                        column=name, columns=", ".join(COLUMNS)) for name in names if name and name not in COLUMNS]
    problems += [problem(1, name, "missing_column", f"the header has no {name!r} column", column=name)
                 for name in COLUMNS if name not in names]
    return names, problems


PAYMENT_FIELDS = field_validators(PaymentIn, ("amount", "reference"))


def _row_values(number: int, values: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A row's payment as PaymentIn's own field types take it (an amount in ASCII digits, a thousands comma
    allowed; a reference without control characters), and its problems."""
    problems, parsed = [], {}
    amount = values.get("amount", "").strip()
    try:
        parsed["amount"] = PAYMENT_FIELDS["amount"].validate_python(amount.replace(",", ""))
    except ValidationError:
        problems.append(problem(number, "amount", "invalid_amount", "an amount above 0 with up to 4 decimals",
                                value=amount, decimals=4))
    match = _DATE.match(values.get("paid_on", "").strip())
    try:
        parsed["paid_on"] = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        parsed["paid_on"] = None
    if parsed["paid_on"] is None:
        problems.append(problem(number, "paid_on", "invalid_date", "a date as YYYY-MM-DD",
                                value=values.get("paid_on", "").strip()))
    for name in ("sales_order", "reference"):
        parsed[name] = values.get(name, "").strip()
        if not parsed[name] or len(parsed[name]) > 80:
            problems.append(problem(number, name, f"{name}_required", f"{name} is required (up to 80 characters)",
                                    column=name, max_length=80))
        elif name in PAYMENT_FIELDS:
            try:
                PAYMENT_FIELDS[name].validate_python(parsed[name])
            except ValidationError as exc:
                error = exc.errors()[0]
                problems.append(problem(number, name, field_code(error["msg"]), error["msg"].removeprefix("Value error, "),
                                        column=name, **validation_values(error, parsed[name])))
    return parsed, problems


def read_payment_sheet(raw: bytes, filename: str, deadline: Deadline) -> tuple[list[tuple[int, dict[str, Any]]],
                                                                               list[dict[str, Any]]]:
    """The file's payments (row number, values) and the problems found in it alone; runs in a worker thread."""
    rows = list(islice(read_rows(raw, filename, deadline), MAX_IMPORT_LINES + 2))
    if not rows:
        raise refused_file(HTTP_422_UNPROCESSABLE_ENTITY, "empty_file", "The file has no rows")
    if len(rows) - 1 > MAX_IMPORT_LINES:
        raise refused_file(HTTP_422_UNPROCESSABLE_ENTITY, "too_many_rows", f"At most {MAX_IMPORT_LINES:,} payments a file",
                           max_rows=MAX_IMPORT_LINES)
    names, problems = _header(rows[0][1])
    payments = []
    for number, cells in rows[1:]:
        values = {name: cell for name, cell in zip(names, cells, strict=False) if name}
        parsed, found = _row_values(number, values)
        problems += found
        payments.append((number, parsed))
    return payments, problems


@needs_write
async def import_payments(raw: bytes, filename: str, who: Who, *, dry_run: bool = False) -> dict[str, Any]:
    payments, problems = await parse_upload(lambda deadline: read_payment_sheet(raw, filename, deadline))
    codes = sorted({p["sales_order"] for _, p in payments if p.get("sales_order")})
    orders = {o["code"]: o for o in await SalesOrder.select(SalesOrder.id, SalesOrder.code, SalesOrder.status).where(
        within_scope(SalesOrder.code.is_in(codes), SalesOrder.site))} if codes else {}  # another site's: unknown
    recorded = {(p["sales_order"], p["reference"]) for p in await SalesPayment.select(
        SalesPayment.sales_order.code.as_alias("sales_order"), SalesPayment.reference).where(
        SalesPayment.sales_order.code.is_in(codes))} if codes else set()
    seen: set[tuple[str, str]] = set()
    for number, payment in payments:
        order = orders.get(payment.get("sales_order", ""))
        key = (payment.get("sales_order", ""), payment.get("reference", ""))
        if payment.get("sales_order") and order is None:
            problems.append(problem(number, "sales_order", "unknown_sales_order", f"no sales order {key[0]!r}",
                                    sales_order=key[0]))
        elif order is not None and order["status"] not in PAYABLE:
            problems.append(problem(number, "sales_order", "sales_order_not_payable",
                                    f"{key[0]} is {order['status']}: it takes no payment",
                                    sales_order=key[0], status=order["status"]))
        if key in recorded:
            problems.append(problem(number, "reference", "already_recorded", f"{key[0]} already has payment {key[1]!r}",
                                    sales_order=key[0], reference=key[1]))
        elif all(key) and key in seen:
            problems.append(problem(number, "reference", "duplicate_row", f"{key[0]} {key[1]!r} appears twice",
                                    sales_order=key[0], reference=key[1]))
        seen.add(key)
    if problems:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "import_invalid",
                       f"The file has {len(problems)} problem(s): nothing was imported", {"errors": problems})
    if not dry_run:
        for _, payment in payments:
            await service.record_payment(payment["sales_order"], PaymentIn(
                amount=payment["amount"], paid_on=payment["paid_on"], reference=payment["reference"]), who)
    return {"dry_run": dry_run, "payments": len(payments),
            "amount": str(sum((p["amount"] for _, p in payments), Decimal(0)))}
