"""Requests for quotation: a buyer asks two or more suppliers for items and quantities by a date, sends the RFQ,
records each supplier's quote (prices with breaks, minimum quantity, lead time, validity), compares them and awards
one: the award creates the draft purchase order at the quoted prices through `create_purchase_order` (checked and
audited like any other) and, if the buyer says so, sets the supplier's item price and lead time through the supplier
record's own update. Each action runs in its entry point's transaction with its audit row; RFQs are office
documents, never on devices. The decisions (lifecycle, price breaks, cost, recommendation) are `rfq_rules.py`'s."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.masterdata import SupplierItemIn, SupplierPatch
from schemas.purchasing import (
    AwardIn, ComparedLine, ComparedQuote, PriceBreak, PurchaseOrderIn, PurchaseOrderLineIn, QuoteIn, QuoteLineOut,
    QuoteOut, RfqComparison, RfqIn, RfqLineOut, RfqOut,
)
from server.accounts.site_scope import within_scope
from server.actors import Who
from server.db import needs_write
from server.document_rules import Problem, numbered, repeated_line_numbers
from server.documents import (
    DocumentTable, audit_change, lines_problems, master_problems, refuse_problems, rows_by_parent, site_problems,
)
from server.errors import ApiError, refuse
from server.masterdata.resources import SUPPLIERS
from server.masterdata.tables import Supplier
from server.purchasing import rfq_rules
from server.purchasing.rfq_rules import LineAsked, LinePrice, QuoteCost, QuoteTerms
from server.purchasing.service import create_purchase_order
from server.purchasing.tables import Rfq, RfqCounter, RfqLine, RfqSupplier, SupplierQuote, SupplierQuoteLine
from server.quantities import from_micro, to_micro
from server.records.service import get_record, update_record

ENTITY = "rfq"
RFQS = DocumentTable(ENTITY, "Request for quotation", Rfq, "RFQ", RfqCounter, RfqLine.rfq, rfq_rules.RFQ,
                     site_bound=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return _now().date()


def _plain(value: Any) -> Decimal:
    """PostgreSQL reads NUMERIC(18,4) 2.5 back as 2.5000; both databases give clients 2.5."""
    value = Decimal(str(value))
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _breaks(stored: str | list[dict[str, str]]) -> list[PriceBreak]:
    """A quote line's price breaks as stored (Piccolo reads a JSON column back as its text)."""
    stored = json.loads(stored) if isinstance(stored, str) else stored
    return [PriceBreak(min_quantity=_plain(b["min_quantity"]), unit_price=_plain(b["unit_price"])) for b in stored]


async def _quotes_of(rfq_ids: list[int]) -> dict[int, list[tuple[dict[str, Any], list[dict[str, Any]]]]]:
    quotes = await rows_by_parent(SupplierQuote.rfq, rfq_ids, SupplierQuote.supplier)
    lines = await rows_by_parent(SupplierQuoteLine.quote, [q["id"] for qs in quotes.values() for q in qs],
                                 SupplierQuoteLine.line_no)
    return {rfq_id: [(q, lines[q["id"]]) for q in qs] for rfq_id, qs in quotes.items()}


def _quote_out(row: dict[str, Any], lines: list[dict[str, Any]], today: date) -> QuoteOut:
    return QuoteOut(
        supplier=row["supplier"], lead_time_days=row["lead_time_days"], valid_until=row["valid_until"],
        expired=rfq_rules.is_expired(row["valid_until"], today), notes=row["notes"], recorded_by=row["recorded_by"],
        recorded_at=row["recorded_at"],
        lines=[QuoteLineOut(line_no=l["line_no"], unit_price=_plain(l["unit_price"]),
                            min_quantity=from_micro(l["min_quantity_micro"]), price_breaks=_breaks(l["price_breaks"]))
               for l in lines])


def _rfq_out(row: dict[str, Any], lines: list[dict[str, Any]], suppliers: list[dict[str, Any]],
             quotes: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> RfqOut:
    today = _today()
    return RfqOut(
        **{name: row[name] for name in ("code", "site", "needed_by", "currency", "status", "notes", "created_by",
                                        "created_at", "updated_at", "version", "sent_at", "awarded_supplier",
                                        "purchase_order", "awarded_by", "awarded_at")},
        suppliers=[s["supplier"] for s in suppliers],
        lines=[RfqLineOut(line_no=l["line_no"], item=l["item"], quantity=from_micro(l["quantity_micro"])) for l in lines],
        quotes=[_quote_out(q, q_lines, today) for q, q_lines in quotes],
    )


async def _many(rows: list[dict[str, Any]]) -> list[RfqOut]:
    ids = [row["id"] for row in rows]
    lines = await RFQS.lines_of(ids)
    suppliers = await rows_by_parent(RfqSupplier.rfq, ids, RfqSupplier.id)
    quotes = await _quotes_of(ids)
    return [_rfq_out(row, lines[row["id"]], suppliers[row["id"]], quotes[row["id"]]) for row in rows]


async def _load(code: str) -> tuple[dict[str, Any], RfqOut]:
    row = await RFQS.load(code)
    return row, (await _many([row]))[0]


async def get_rfq(code: str) -> RfqOut:
    return (await _load(code))[1]


async def list_rfqs(*, status: str | None = None, site: str | None = None, limit: int = 50,
                    offset: int = 0) -> dict[str, Any]:
    condition = Rfq.id > 0
    for column, value in ((Rfq.status, status), (Rfq.site, site)):
        if value:
            condition = condition & (column == value)
    condition = within_scope(condition, Rfq.site)
    rows = await Rfq.select().where(condition).order_by(Rfq.id, ascending=False).limit(limit).offset(offset)
    return {"items": await _many(rows), "total": await Rfq.count().where(condition), "limit": limit, "offset": offset}


async def _supplier_problems(suppliers: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for index, supplier in enumerate(suppliers):
        if supplier in suppliers[:index]:
            problems.append((f"suppliers[{index}]", "duplicate_supplier", f"supplier {supplier!r} is asked twice"))
        else:
            problems += await master_problems(f"suppliers[{index}]", Supplier, supplier, "supplier")
    return problems


@needs_write
async def create_rfq(data: RfqIn, who: Who) -> RfqOut:
    lines = numbered({**line.model_dump(mode="python"), "due_date": None} for line in data.lines)
    problems = await site_problems(data.site) + await _supplier_problems(data.suppliers)
    if data.needed_by < _today():
        problems.append(("needed_by", "needed_by_in_past", f"needed by {data.needed_by}, before today"))
    refuse_problems(problems + await lines_problems(lines, today=_today()))
    currency = data.currency or (await Supplier.select(Supplier.currency).where(
        Supplier.code == data.suppliers[0]).first())["currency"]
    now = _now()
    code = await RFQS.next_code(now.year)
    inserted = await Rfq.insert(Rfq(
        code=code, site=data.site, needed_by=data.needed_by, currency=currency, status=rfq_rules.DRAFT,
        notes=data.notes, created_by=who.name, created_at=now, updated_at=now, version=1,
    )).returning(Rfq.id)
    rfq_id = inserted[0]["id"]
    await RfqLine.insert(*[RfqLine(rfq=rfq_id, line_no=line["line_no"], item=line["item"],
                                   quantity_micro=to_micro(line["quantity"])) for line in lines])
    await RfqSupplier.insert(*[RfqSupplier(rfq=rfq_id, supplier=supplier) for supplier in data.suppliers])
    created = await get_rfq(code)
    await audit_change(who, "create", ENTITY, code, None, created)
    return created


@needs_write
async def _transition(code: str, target: str, action: str, who: Who, version: int | None,
                      reason: str = "") -> RfqOut:
    await RFQS.lock(code)
    row, before = await _load(code)
    RFQS.check_version(row, version)
    RFQS.check_transition(row, target)
    columns: dict[Any, Any] = {Rfq.status: target}
    if target == rfq_rules.SENT:
        columns[Rfq.sent_at] = _now()
    await RFQS.bump(row, columns)
    after = await get_rfq(code)
    await audit_change(who, action, ENTITY, code, before, after, reason)
    return after


async def send_rfq(code: str, who: Who, version: int | None = None) -> RfqOut:
    """The RFQ went out to its suppliers: quotes may be recorded from now on (the message itself is not sent here)."""
    return await _transition(code, rfq_rules.SENT, "send", who, version)


async def cancel_rfq(code: str, who: Who, version: int | None = None, reason: str = "") -> RfqOut:
    return await _transition(code, rfq_rules.CANCELLED, "cancel", who, version, reason)


def _check_quotable(row: dict[str, Any]) -> None:
    refusal = rfq_rules.quote_refusal(row["status"])
    if refusal is not None:
        raise RFQS.state_conflict(row["code"], refusal, row["status"])


def _check_asked(rfq: RfqOut, supplier: str) -> None:
    if supplier not in rfq.suppliers:
        raise refuse("supplier_not_asked", f"Supplier {supplier!r} was not asked to quote on {rfq.code}",
                     HTTP_422_UNPROCESSABLE_ENTITY, supplier=supplier, rfq=rfq.code)


def _quote_problems(rfq: RfqOut, data: QuoteIn) -> list[Problem]:
    """Every line of the RFQ priced exactly once, and each price break at a quantity of its own."""
    asked = {line.line_no for line in rfq.lines}
    problems: list[Problem] = []
    repeated = set(repeated_line_numbers(line.line_no for line in data.lines))
    for index, line in enumerate(data.lines):
        if line.line_no not in asked:
            problems.append((f"lines[{index}].line_no", "unknown_rfq_line", f"{rfq.code} has no line {line.line_no}"))
        elif index in repeated:
            problems.append((f"lines[{index}].line_no", "duplicate_line", f"line {line.line_no} appears twice"))
        minimums = [b.min_quantity for b in line.price_breaks]
        if len(set(minimums)) != len(minimums):
            problems.append((f"lines[{index}].price_breaks", "duplicate_price_break",
                             "two price breaks start at the same quantity"))
    for missing in sorted(asked - {line.line_no for line in data.lines}):
        problems.append(("lines", "line_not_quoted", f"line {missing} of {rfq.code} has no price"))
    return problems


@needs_write
async def record_quote(code: str, supplier: str, data: QuoteIn, who: Who) -> RfqOut:
    """The supplier's quote, as the buyer got it (a validity already past is kept: it reads as expired at once)."""
    await RFQS.lock(code)
    row, before = await _load(code)
    _check_quotable(row)
    _check_asked(before, supplier)
    refuse_problems(_quote_problems(before, data))
    await SupplierQuote.delete().where((SupplierQuote.rfq == row["id"]) & (SupplierQuote.supplier == supplier))
    inserted = await SupplierQuote.insert(SupplierQuote(
        rfq=row["id"], supplier=supplier, lead_time_days=data.lead_time_days, valid_until=data.valid_until,
        notes=data.notes, recorded_by=who.name, recorded_at=_now(),
    )).returning(SupplierQuote.id)
    await SupplierQuoteLine.insert(*[SupplierQuoteLine(
        quote=inserted[0]["id"], line_no=line.line_no, unit_price=line.unit_price,
        min_quantity_micro=to_micro(line.min_quantity),
        price_breaks=[{"min_quantity": format(b.min_quantity, "f"), "unit_price": format(b.unit_price, "f")}
                      for b in sorted(line.price_breaks, key=lambda b: b.min_quantity)],
    ) for line in data.lines])
    await RFQS.bump(row, {})
    after = await get_rfq(code)
    await audit_change(who, "quote", ENTITY, code, before, after, supplier)
    return after


def _terms(quote: QuoteOut) -> QuoteTerms:
    return QuoteTerms(quote.supplier, quote.lead_time_days, quote.valid_until, tuple(
        LinePrice(line.line_no, line.unit_price, line.min_quantity,
                  tuple((b.min_quantity, b.unit_price) for b in line.price_breaks))
        for line in quote.lines))


def _costs(rfq: RfqOut, today: date) -> list[QuoteCost]:
    asked = [LineAsked(line.line_no, line.item, line.quantity) for line in rfq.lines]
    return [rfq_rules.cost_of(asked, _terms(quote), rfq.needed_by, today) for quote in rfq.quotes]


def _money_text(value: Decimal) -> str:
    return format(value.quantize(rfq_rules.CENT), "f")


async def compare_quotes(code: str) -> RfqComparison:
    """Each quote side by side: its total at the RFQ's quantities and its delivery date against the need."""
    rfq = await get_rfq(code)
    today = _today()
    costs = sorted(_costs(rfq, today), key=lambda c: (c.expired, c.total, c.supplier))
    best = rfq_rules.recommended(costs)
    return RfqComparison(
        code=rfq.code, needed_by=rfq.needed_by, currency=rfq.currency, status=rfq.status, today=today,
        quotes=[ComparedQuote(
            supplier=c.supplier, total=_money_text(c.total), lead_time_days=c.lead_time_days,
            delivery_date=c.delivery_date, meets_date=c.meets_date, days_late=c.days_late, valid_until=c.valid_until,
            expired=c.expired, recommended=best is not None and c.supplier == best.supplier,
            lines=[ComparedLine(line_no=l.line_no, item=l.item, quantity=l.quantity, billed_quantity=l.billed_quantity,
                                unit_price=_plain(l.unit_price), cost=_money_text(l.cost)) for l in c.lines],
        ) for c in costs],
        not_quoted=[s for s in rfq.suppliers if s not in {q.supplier for q in rfq.quotes}],
        recommended=best.supplier if best else None,
    )


async def _update_supplier_items(supplier: str, cost: QuoteCost, who: Who) -> None:
    """The supplier's items take the quoted price (at the quantity ordered) and lead time; an item it did not list
    is added. Through the supplier record's own update, so it is checked and audited as an edit of the supplier."""
    record = await get_record(SUPPLIERS, supplier)
    items = {item.item: item for item in record.items}
    for line in cost.lines:
        kept = items.get(line.item) or SupplierItemIn(item=line.item)
        items[line.item] = kept.model_copy(update={"price": line.unit_price, "lead_time_days": cost.lead_time_days})
    await update_record(SUPPLIERS, supplier, SupplierPatch(items=list(items.values())), who)


@needs_write
async def award_rfq(code: str, data: AwardIn, who: Who) -> RfqOut:
    """The supplier's quote wins: its draft purchase order is made (each line at least the supplier's minimum, at the
    price for that quantity, due when needed or when the supplier can deliver if later) and linked to the RFQ. An
    RFQ is awarded once: again, it is refused with the purchase order it made."""
    await RFQS.lock(code)
    row, before = await _load(code)
    RFQS.check_version(row, data.version)
    if row["status"] == rfq_rules.AWARDED:
        raise ApiError(HTTP_409_CONFLICT, "rfq_awarded", f"{code} is awarded already: purchase order "
                       f"{row['purchase_order']} to {row['awarded_supplier']}",
                       {"entity": ENTITY, "key": code, "status": row["status"], "purchase_order": row["purchase_order"],
                        "supplier": row["awarded_supplier"]})
    _check_quotable(row)
    _check_asked(before, data.supplier)
    quote = next((q for q in before.quotes if q.supplier == data.supplier), None)
    if quote is None:
        raise refuse("supplier_not_quoted", f"No quote from {data.supplier!r} is recorded on {code}",
                     HTTP_422_UNPROCESSABLE_ENTITY, supplier=data.supplier, rfq=code)
    today = _today()
    if rfq_rules.is_expired(quote.valid_until, today):
        raise ApiError(HTTP_409_CONFLICT, "quote_expired",
                       f"The quote of {data.supplier} was valid until {quote.valid_until}: ask for a new one",
                       {"supplier": data.supplier, "valid_until": quote.valid_until.isoformat(), "rfq": code})
    cost = rfq_rules.cost_of([LineAsked(l.line_no, l.item, l.quantity) for l in before.lines], _terms(quote),
                             before.needed_by, today)
    if data.update_supplier_items:
        await _update_supplier_items(data.supplier, cost, who)
    due = rfq_rules.due_date(before.needed_by, cost.delivery_date)
    order = await create_purchase_order(PurchaseOrderIn(
        supplier=data.supplier, site=before.site, currency=before.currency, notes=code, allow_unlisted_item=True,
        lines=[PurchaseOrderLineIn(line_no=line.line_no, item=line.item, quantity=line.billed_quantity,
                                   unit_price=line.unit_price, due_date=due) for line in cost.lines]), who)
    await RFQS.bump(row, {Rfq.status: rfq_rules.AWARDED, Rfq.awarded_supplier: data.supplier,
                          Rfq.purchase_order: order.code, Rfq.awarded_by: who.name, Rfq.awarded_at: _now()})
    after = await get_rfq(code)
    await audit_change(who, "award", ENTITY, code, before, after, order.code)
    return after
