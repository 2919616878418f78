"""Quotes: an offer to a customer priced from the price lists (or its contract), edited while a draft (or after a
rejection), submitted through the discount check (a discount past the policy's threshold waits for an approver;
under a contract, the contract check too), printed as PDF, and converted once into a draft sales order that keeps
the link (`sales_order.quote`). Past its `valid_until` an unconverted quote reads as expired and converts no more.
Each action runs in its entry point's transaction (`needs_write`) with its audit row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_403_FORBIDDEN

from schemas.pricing import QuoteConvert, QuoteEdit, QuoteIn, QuoteLineOut, QuoteOut
from schemas.sales import SalesOrderIn, SalesOrderOut
from server.accounts.site_scope import within_scope
from server.actors import Who
from server.db import needs_write
from server.document_rules import Problem, Refusal, numbered
from server.documents import (
    DocumentTable, audit_change, lines_problems, master_problems, refuse_problems, site_problems, utc_now,
)
from server.errors import ApiError
from server.quantities import from_micro, to_micro
from server.masterdata.tables import Customer
from server.sales import rules
from server.sales.pricing import rules as pricing
from server.sales import service as sales
from server.sales.pricing import contracts, price_lists
from server.sales.tables import SalesQuote, SalesQuoteCounter, SalesQuoteLine

ENTITY = "quote"
DRAFT, SUBMITTED, APPROVED, REJECTED, CONVERTED, EXPIRED = (
    "draft", "submitted", "approved", "rejected", "converted", "expired")
EDITABLE = tuple(rules.QUOTE_EDITABLE)
# A quote still open to the customer: past its date, it reads as expired.
OPEN = (DRAFT, SUBMITTED, APPROVED, REJECTED)
QUOTES = DocumentTable(ENTITY, "Quote", SalesQuote, "QT", SalesQuoteCounter, SalesQuoteLine.quote, site_bound=True)
VALID_DAYS = 30
DUE_IN_DAYS = 14


def status_on(status: str, valid_until: date, today: date) -> str:
    return EXPIRED if status in OPEN and valid_until < today else status


# -- reading ------------------------------------------------------------------------------------------------------------

def _line_out(row: dict[str, Any]) -> QuoteLineOut:
    return QuoteLineOut(
        line_no=row["line_no"], item=row["item"], quantity=from_micro(row["quantity_micro"]),
        unit_price=row["unit_price"], discount_pct=row["discount_pct"],
        value=rules.line_value(row["quantity_micro"], Decimal(row["unit_price"]), Decimal(row["discount_pct"])),
        reference_price=row["reference_price"], price_source=row["price_source"], due_date=row["due_date"])


def _out(row: dict[str, Any], lines: list[dict[str, Any]]) -> QuoteOut:
    out_lines = [_line_out(line) for line in lines]
    review = row["review"]
    return QuoteOut(
        **{k: row[k] for k in ("code", "customer", "site", "contract", "currency", "valid_until", "notes", "sales_order",
                               "created_by", "submitted_by", "approved_by", "approved_at", "created_at", "updated_at",
                               "version")},
        status=status_on(row["status"], row["valid_until"], utc_now().date()),
        review=price_lists.json_value(review) or [],
        value=sum((line.value for line in out_lines), Decimal(0)), lines=out_lines,
    )


async def get_quote(code: str) -> QuoteOut:
    return _out(*await QUOTES.load_with_lines(code))


async def list_quotes(*, status: str | None = None, customer: str | None = None, limit: int = 50,
                      offset: int = 0) -> dict[str, Any]:
    condition = SalesQuote.id > 0
    today = utc_now().date()
    if status == EXPIRED:
        condition = condition & SalesQuote.status.is_in(list(OPEN)) & (SalesQuote.valid_until < today)
    elif status in OPEN:
        condition = condition & (SalesQuote.status == status) & (SalesQuote.valid_until >= today)
    elif status:
        condition = condition & (SalesQuote.status == status)
    if customer:
        condition = condition & (SalesQuote.customer == customer)
    condition = within_scope(condition, SalesQuote.site)
    rows = await (SalesQuote.select().where(condition).order_by(SalesQuote.id, ascending=False)
                  .limit(limit).offset(offset))
    total = await SalesQuote.count().where(condition)
    lines = await QUOTES.lines_of([row["id"] for row in rows])
    return {"items": [_out(row, lines[row["id"]]) for row in rows], "total": total, "limit": limit, "offset": offset}


# -- writing ------------------------------------------------------------------------------------------------------------

async def _problems(customer: str, site: str, contract: str | None, lines: list[dict[str, Any]],
                    valid_until: date, today: date) -> list[Problem]:
    problems = (await master_problems("customer", Customer, customer, "customer")
                + await site_problems(site) + await contracts.contract_problems(customer, contract))
    if valid_until < today:
        problems.append(("valid_until", "valid_until_in_past", f"valid until {valid_until} is before today"))
    return problems + await lines_problems(lines, today=today)


def _line_rows(quote_id: int, lines: list[dict[str, Any]]) -> list[SalesQuoteLine]:
    return [SalesQuoteLine(quote=quote_id, line_no=line["line_no"], item=line["item"],
                           quantity_micro=to_micro(line["quantity"]), unit_price=line["unit_price"],
                           discount_pct=line["discount_pct"], reference_price=line["reference_price"],
                           price_source=line["price_source"], due_date=line["due_date"]) for line in lines]


async def _priced(customer_code: str, contract: str | None, lines: list[dict[str, Any]], today: date) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    customer = await Customer.select().where(Customer.code == customer_code).first()
    return customer, await price_lists.price_lines(customer, contract, lines, today)


@needs_write
async def create_quote(data: QuoteIn, who: Who) -> QuoteOut:
    lines = numbered(line.model_dump(mode="python") for line in data.lines)
    now = utc_now()
    valid_until = data.valid_until or now.date() + timedelta(days=VALID_DAYS)
    refuse_problems(await _problems(data.customer, data.site, data.contract, lines, valid_until, now.date()))
    customer, lines = await _priced(data.customer, data.contract, lines, now.date())
    code = await QUOTES.next_code(now.year)
    inserted = await SalesQuote.insert(SalesQuote(
        code=code, customer=data.customer, site=data.site, contract=data.contract, currency=customer["currency"],
        valid_until=valid_until, status=DRAFT, notes=data.notes, review=[], created_by=who.name,
        created_at=now, updated_at=now, version=1,
    )).returning(SalesQuote.id)
    await SalesQuoteLine.insert(*_line_rows(inserted[0]["id"], lines))
    created = await get_quote(code)
    await audit_change(who, "create", ENTITY, code, None, created)
    return created


def _state_conflict(row: dict[str, Any], code: str, message: str) -> ApiError:
    status = status_on(row["status"], row["valid_until"], utc_now().date())
    return QUOTES.state_conflict(row["code"], Refusal(code, message), status)


async def _locked(code: str, version: int | None) -> tuple[dict[str, Any], list[dict[str, Any]], QuoteOut]:
    await QUOTES.lock(code)
    row, lines = await QUOTES.load_with_lines(code)
    QUOTES.check_version(row, version)
    return row, lines, _out(row, lines)


def _refuse_unless(row: dict[str, Any], allowed: tuple[str, ...], action: str) -> None:
    status = status_on(row["status"], row["valid_until"], utc_now().date())
    if status == CONVERTED:
        raise _state_conflict(row, "quote_already_converted",
                              f"The quote became sales order {row['sales_order']}: it cannot be {action} again"
                              if action == "converted" else f"The quote became sales order {row['sales_order']}")
    if status == EXPIRED:
        raise _state_conflict(row, "quote_expired", f"The quote expired on {row['valid_until']}: copy it into a new one")
    if status not in allowed:
        code = "quote_not_approved" if action == "converted" else "quote_not_editable" if action == "edited" else \
            "quote_not_submitted" if action in ("approved", "rejected") else "quote_not_draft"
        raise _state_conflict(row, code, f"The quote is {status}: it cannot be {action}")


@needs_write
async def edit_quote(code: str, data: QuoteEdit, who: Who) -> QuoteOut:
    """Rewrite a draft (or a rejected quote, which becomes a draft again) whole: terms and lines, priced anew."""
    lines = numbered(line.model_dump(mode="python") for line in data.lines)
    row, _, before = await _locked(code, data.version)
    _refuse_unless(row, EDITABLE, "edited")
    today = utc_now().date()
    valid_until = data.valid_until or row["valid_until"]
    refuse_problems(await _problems(row["customer"], data.site, data.contract, lines, valid_until, today))
    _, lines = await _priced(row["customer"], data.contract, lines, today)
    await SalesQuoteLine.delete().where(SalesQuoteLine.quote == row["id"])
    await SalesQuoteLine.insert(*_line_rows(row["id"], lines))
    await QUOTES.bump(row, {SalesQuote.site: data.site, SalesQuote.contract: data.contract,
                            SalesQuote.valid_until: valid_until, SalesQuote.notes: data.notes,
                            SalesQuote.status: DRAFT, SalesQuote.review: []})
    after = await get_quote(code)
    await audit_change(who, "update", ENTITY, code, before, after)
    return after


async def _review(row: dict[str, Any], lines: list[dict[str, Any]]) -> list[rules.CheckResult]:
    policy = await sales.get_policy()
    results = [rules.discount_check(
        {line["line_no"]: pricing.effective_discount_pct(
            Decimal(line["unit_price"]), Decimal(line["discount_pct"]),
            None if line["reference_price"] is None else Decimal(line["reference_price"])) for line in lines},
        policy.max_discount_pct)]
    if row["contract"] is not None:
        results.append(await contracts.contract_review(-1, row["contract"], lines, utc_now().date()))
    return results


@needs_write
async def submit_quote(code: str, who: Who, version: int | None = None) -> QuoteOut:
    """A clean quote is approved at once; a discount past the threshold (or a contract breach) waits for an
    approver."""
    row, lines, before = await _locked(code, version)
    _refuse_unless(row, (DRAFT,), "submitted")
    results = await _review(row, lines)
    clean = all(r.passed for r in results)
    now = utc_now()
    columns: dict[Any, Any] = {SalesQuote.status: APPROVED if clean else SUBMITTED,
                               SalesQuote.submitted_by: who.name,
                               SalesQuote.review: [r.as_dict() for r in results]}
    if clean:
        columns |= {SalesQuote.approved_by: "review", SalesQuote.approved_at: now}
    await QUOTES.bump(row, columns)
    after = await get_quote(code)
    await audit_change(who, "submit", ENTITY, code, before, after)
    return after


@needs_write
async def decide_quote(code: str, decision: str, who: Who, version: int | None = None,
                       note: str = "") -> QuoteOut:
    """Approve (the approver needs a role the policy names for each failed check) or reject a submitted quote."""

    row, _, before = await _locked(code, version)
    _refuse_unless(row, (SUBMITTED,), decision)
    if decision == "approved":
        failed = [check["check"] for check in price_lists.json_value(row["review"]) or [] if not check["passed"]]
        policy = await sales.get_policy()
        refusal = rules.approval_refusal(failed, who.actor.roles if who.actor else ("admin",), policy.approvers,
                                         sales.DEFAULT_APPROVERS)
        if refusal is not None:
            raise ApiError(HTTP_403_FORBIDDEN, refusal.code, refusal.message, refusal.details)
        columns = {SalesQuote.status: APPROVED, SalesQuote.approved_by: who.name,
                   SalesQuote.approved_at: utc_now()}
    else:
        columns = {SalesQuote.status: REJECTED}
    await QUOTES.bump(row, columns)
    after = await get_quote(code)
    await audit_change(who, "approve" if decision == "approved" else "reject", ENTITY, code, before, after, note)
    return after


@needs_write
async def convert_quote(code: str, data: QuoteConvert, who: Who) -> SalesOrderOut:
    """An approved quote becomes a draft sales order (source "quote", linked both ways) at the quote's prices; once."""
    row, lines, before = await _locked(code, data.version)
    _refuse_unless(row, (APPROVED,), "converted")
    due = data.due_date or utc_now().date() + timedelta(days=DUE_IN_DAYS)
    order = await sales.create_sales_order(SalesOrderIn(
        customer=row["customer"], site=row["site"], contract=row["contract"],
        customer_reference=data.customer_reference, notes=row["notes"],
        lines=[{"line_no": line["line_no"], "item": line["item"], "quantity": from_micro(line["quantity_micro"]),
                "unit_price": line["unit_price"], "discount_pct": line["discount_pct"],
                "due_date": line["due_date"] or due} for line in lines],
    ), who, source="quote", quote=code)
    await QUOTES.bump(row, {SalesQuote.status: CONVERTED, SalesQuote.sales_order: order.code})
    await audit_change(who, "convert", ENTITY, code, before, await get_quote(code), order.code)
    return order
