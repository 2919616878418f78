"""Purchase orders: list, read, create, change a draft, approve, cancel, close, and book a receipt's progress on a
line. Each office action runs in its entry point's transaction (`needs_write`) with its audit row; whatever the receiving site's devices
may see (an approved PO and its open lines, or its removal) goes to the change feed in the same transaction."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.purchasing import (
    ConfirmationIn,
    PurchaseOrderIn,
    PurchaseOrderLineIn,
    PurchaseOrderLineOut,
    PurchaseOrderOut,
    PurchaseOrderPatch,
)
from server.accounts.organisation import custom_role_names
from server.accounts.site_scope import within_scope
from server.accounts.audit import record_audit
from server.actors import Who
from server.db import needs_write
from server.document_rules import Problem, numbered, repeated_line_numbers, self_approval_refusal
from server.documents import (
    DocumentTable, audit_change, lines_problems, master_problems, refuse_problems, site_problems,
)
from server.errors import ApiError, duplicate
from server.i18n import Message
from server.quantities import from_micro, quantity_text, to_micro
from server.masterdata.tables import Item, Supplier, SupplierItem
from server.purchasing import rules
from server.purchasing.policy import get_policy
from server.purchasing.rules import LineProgress, Refusal
from server.production.tables import ProductionOrder
from server.purchasing.tables import PurchaseOrder, PurchaseOrderCounter, PurchaseOrderLine
from server.sales.tables import SalesOrder
from sync.feed import Visibility, record_change

ENTITY = "purchase_order"
PURCHASE_ORDERS = DocumentTable(ENTITY, "Purchase order", PurchaseOrder, "PO", PurchaseOrderCounter,
                                PurchaseOrderLine.purchase_order, rules.PURCHASE_ORDER, site_bound=True)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _today() -> date:
    return _now().date()


def _money(value: Decimal) -> Decimal:
    """PostgreSQL returns NUMERIC(18,4) 2.5 as 2.5000; both databases give clients 2.5."""
    value = Decimal(value)
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _line_out(row: dict[str, Any]) -> PurchaseOrderLineOut:
    ordered_due = row["ordered_due_date"] or row["due_date"]
    confirmed = row["confirmed_quantity_micro"]
    return PurchaseOrderLineOut(
        line_no=row["line_no"], item=row["item"], quantity=from_micro(row["quantity_micro"]),
        unit_price=_money(row["unit_price"]), due_date=row["due_date"],
        received_quantity=from_micro(row["received_quantity_micro"]), status=row["status"],
        sales_order=row["sales_order"], production_order=row["production_order"],
        confirmed_quantity=from_micro(confirmed) if confirmed is not None else None,
        confirmed_date=row["confirmed_date"], confirmed_by=row["confirmed_by"], confirmed_at=row["confirmed_at"],
        ordered_due_date=ordered_due,
        differs=rules.confirmation_differs(row["quantity_micro"], ordered_due, confirmed, row["confirmed_date"]),
    )


def _po_out(row: dict[str, Any], lines: list[dict[str, Any]]) -> PurchaseOrderOut:
    total = sum((from_micro(line["quantity_micro"]) * Decimal(line["unit_price"]) for line in lines), Decimal(0))
    return PurchaseOrderOut(
        **{name: row[name] for name in ("code", "supplier", "site", "status", "currency", "notes", "created_by",
                                        "approved_by", "approved_at", "created_at", "updated_at", "version")},
        total_amount=format(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP), "f"),
        lines=[_line_out(line) for line in lines],
    )


async def get_purchase_order(code: str) -> PurchaseOrderOut:
    return _po_out(*await PURCHASE_ORDERS.load_with_lines(code))


async def list_purchase_orders(
    *, status: str | None = None, supplier: str | None = None, site: str | None = None, q: str | None = None,
    sort: str = "-created_at", limit: int = 50, offset: int = 0,
) -> dict[str, Any]:
    condition = PurchaseOrder.id > 0
    for column, value in ((PurchaseOrder.status, status), (PurchaseOrder.supplier, supplier), (PurchaseOrder.site, site)):
        if value:
            condition = condition & (column == value)
    if q:
        condition = condition & (PurchaseOrder.code.ilike(f"%{q}%") | PurchaseOrder.notes.ilike(f"%{q}%"))
    condition = within_scope(condition, PurchaseOrder.site)
    ascending = not sort.startswith("-")
    rows = (
        await PurchaseOrder.select().where(condition)
        .order_by(getattr(PurchaseOrder, sort.lstrip("-")), ascending=ascending)
        .order_by(PurchaseOrder.id, ascending=ascending)
        .limit(limit).offset(offset)
    )
    total = await PurchaseOrder.count().where(condition)
    lines = await PURCHASE_ORDERS.lines_of([row["id"] for row in rows])
    return {"items": [_po_out(row, lines[row["id"]]) for row in rows], "total": total, "limit": limit, "offset": offset}


async def _unlisted(supplier: str, lines: list[dict[str, Any]], allowed: bool) -> tuple[list[Problem], list[str]]:
    """Items the supplier does not list (its supplier items): refused unless the buyer confirms them, and then
    returned, for the audit."""
    items = sorted({line["item"] for line in lines})
    listed = {row["item"] for row in await SupplierItem.select(SupplierItem.item).where(
        (SupplierItem.supplier.code == supplier) & SupplierItem.item.is_in(items))} if items else set()
    unlisted = [(index, line["item"]) for index, line in enumerate(lines) if line["item"] not in listed]
    if allowed:
        return [], sorted({item for _, item in unlisted})
    return [(f"lines[{index}].item", "item_not_supplied", f"supplier {supplier!r} does not list item {item!r}: "
             "confirm with allow_unlisted_item") for index, item in unlisted], []


async def _audit_unlisted(who: Who, code: str, supplier: str, items: list[str]) -> None:
    if items:
        await record_audit(who, "unlisted_item_allowed", ENTITY, code, None, {"supplier": supplier, "items": items},
                           ", ".join(items))


async def _peg_problems(lines: list[dict[str, Any]]) -> list[Problem]:
    """A line pegged for an order names one that exists."""
    problems: list[Problem] = []
    for index, line in enumerate(lines):
        for field, table in (("sales_order", SalesOrder), ("production_order", ProductionOrder)):
            if line.get(field) and not await table.exists().where(table.code == line[field]):
                problems.append((f"lines[{index}].{field}", f"unknown_{field}",
                                 f"no {field.replace('_', ' ')} {line[field]!r}"))
    return problems


async def _header_problems(supplier: str, site: str) -> list[Problem]:
    return await master_problems("supplier", Supplier, supplier, "supplier") + await site_problems(site)




def _numbered(lines: list[PurchaseOrderLineIn]) -> list[dict[str, Any]]:
    return numbered(line.model_dump(mode="python") for line in lines)


async def _write_lines(po_id: int, lines: list[dict[str, Any]]) -> None:
    await PurchaseOrderLine.delete().where(PurchaseOrderLine.purchase_order == po_id)
    if lines:
        await PurchaseOrderLine.insert(*[
            PurchaseOrderLine(
                purchase_order=po_id, line_no=line["line_no"], item=line["item"],
                quantity_micro=to_micro(line["quantity"]), unit_price=line["unit_price"], due_date=line["due_date"],
                received_quantity_micro=0, status=rules.LINE_OPEN, sales_order=line.get("sales_order"),
                production_order=line.get("production_order"),
            )
            for line in lines
        ])


def _device_view(po: PurchaseOrderOut) -> dict[str, Any]:
    """What a tablet needs to receive against a PO offline: the header and its open lines, quantities as text."""
    return {
        "code": po.code, "supplier": po.supplier, "site": po.site, "status": po.status, "currency": po.currency,
        "lines": [
            {"line_no": line.line_no, "item": line.item, "quantity": format(line.quantity, "f"),
             "received_quantity": format(line.received_quantity, "f"),
             "open_quantity": format(max(Decimal(0), line.quantity - line.received_quantity), "f"),
             "due_date": line.due_date.isoformat()}
            for line in po.lines if line.status == rules.LINE_OPEN
        ],
    }


def _publish(before: PurchaseOrderOut | None, after: PurchaseOrderOut) -> None:
    """Devices of the receiving site hold a PO while it can be received against, and get a delete once it cannot."""
    visibility = Visibility(site=after.site)
    if after.status in rules.RECEIVABLE:
        record_change(ENTITY, after.code, _device_view(after), visibility)
    elif before is not None and before.status in rules.RECEIVABLE:
        record_change(ENTITY, after.code, None, visibility)


async def _changed(who: Who, action: str, before: PurchaseOrderOut | None, after: PurchaseOrderOut,
                   summary: str = "") -> None:
    await audit_change(who, action, ENTITY, after.code, before, after, summary)
    _publish(before, after)


@needs_write
async def create_purchase_order(data: PurchaseOrderIn, who: Who) -> PurchaseOrderOut:
    lines = _numbered(data.lines)
    problems = (await _header_problems(data.supplier, data.site) + await lines_problems(lines, today=_today())
                + await _peg_problems(lines))
    unlisted_problems, unlisted = (await _unlisted(data.supplier, lines, data.allow_unlisted_item)
                                   if not problems else ([], []))
    refuse_problems(problems + unlisted_problems)
    if data.code is not None and await PurchaseOrder.exists().where(PurchaseOrder.code == data.code):
        raise duplicate(ENTITY, "code", data.code)
    supplier = await Supplier.select(Supplier.currency).where(Supplier.code == data.supplier).first()
    now = _now()
    code = data.code or await PURCHASE_ORDERS.next_code(now.year)
    inserted = await PurchaseOrder.insert(PurchaseOrder(
        code=code, supplier=data.supplier, site=data.site, status=rules.DRAFT,
        currency=data.currency or supplier["currency"], notes=data.notes, created_by=who.name,
        created_at=now, updated_at=now, version=1,
    )).returning(PurchaseOrder.id)
    await _write_lines(inserted[0]["id"], lines)
    created = await get_purchase_order(code)
    await _changed(who, "create", None, created)
    await _audit_unlisted(who, code, data.supplier, unlisted)
    return created


@needs_write
async def update_purchase_order(code: str, patch: PurchaseOrderPatch, who: Who) -> PurchaseOrderOut:
    changes = patch.model_dump(mode="python", exclude_unset=True)
    sent_version = changes.pop("version")
    row, line_rows = await PURCHASE_ORDERS.load_with_lines(code)
    PURCHASE_ORDERS.check_version(row, sent_version)
    if row["status"] != rules.DRAFT:
        raise PURCHASE_ORDERS.state_conflict(
            code, Refusal("po_not_draft", "Only a draft purchase order can be changed"), row["status"])
    before = _po_out(row, line_rows)
    header = {k: v for k, v in changes.items() if k not in ("lines", "allow_unlisted_item") and v is not None}
    supplier = header.get("supplier", row["supplier"])
    problems = await _header_problems(supplier, header.get("site", row["site"]))
    lines = _numbered(patch.lines) if patch.lines is not None else None
    if lines is not None:
        problems += await lines_problems(lines, today=_today()) + await _peg_problems(lines)
    # What the buyer confirmed before stays confirmed: only new lines or another supplier are looked at again.
    relisted = not problems and (lines is not None or "supplier" in header)
    unlisted_problems, unlisted = await _unlisted(supplier, lines if lines is not None else line_rows,
                                                  patch.allow_unlisted_item) if relisted else ([], [])
    refuse_problems(problems + unlisted_problems)
    await PURCHASE_ORDERS.bump(row, {getattr(PurchaseOrder, name): value for name, value in header.items()})
    if lines is not None:
        await _write_lines(row["id"], lines)
    after = await get_purchase_order(code)
    await _changed(who, "update", before, after)
    await _audit_unlisted(who, code, supplier, unlisted)
    return after


async def _approval_problems(row: dict[str, Any], lines: list[dict[str, Any]]) -> list[Problem]:
    if not lines:
        return [("lines", "no_lines", "a purchase order without lines cannot be approved")]
    values = [{"line_no": l["line_no"], "item": l["item"], "quantity": from_micro(l["quantity_micro"]),
               "due_date": l["due_date"]} for l in lines]
    return await _header_problems(row["supplier"], row["site"]) + await lines_problems(values, today=_today())


async def _check_other_approver(row: dict[str, Any], po: PurchaseOrderOut, approver: Who) -> None:
    """A purchase order above its author's limit (the purchasing policy's: the highest among their roles it names,
    else its default) is approved by someone other than the buyer who wrote it (the loader, which is no person, is
    never refused). The refusal says which limit applied."""
    authors = {row["created_by"]} - {"system"}
    if approver.name not in authors:
        return
    policy = await get_policy()
    roles = approver.actor.roles if approver.actor else ()
    limit, role = rules.self_approval_limit(roles, policy.self_approval_limits, policy.other_approver_above)
    if Decimal(po.total_amount) <= limit:
        return
    values = {"total": po.total_amount, "currency": po.currency, "limit": format(limit, "f")}
    if role is None:
        beyond = Message("refusal.po_total_above", values)
    else:
        custom = (await custom_role_names([role])).get(role)
        beyond = Message("refusal.po_total_above_role_limit",
                         {**values, "role": custom if custom is not None else Message(f"role.{role}")})
    refusal = self_approval_refusal(approver.name, authors, [beyond])
    if refusal is not None:
        raise ApiError(HTTP_409_CONFLICT, refusal.code, refusal.message,
                       {**refusal.details, "limit": format(limit, "f"), "limit_role": role}, refusal.text)


@needs_write
async def _transition(code: str, target: str, action: str, who: Who, version: int | None,
                      reason: str = "") -> PurchaseOrderOut:
    row, line_rows = await PURCHASE_ORDERS.load_with_lines(code)
    PURCHASE_ORDERS.check_version(row, version)
    PURCHASE_ORDERS.check_transition(row, target)
    before = _po_out(row, line_rows)
    columns: dict[Any, Any] = {PurchaseOrder.status: target}
    if target == rules.APPROVED:
        refuse_problems(await _approval_problems(row, line_rows))
        await _check_other_approver(row, before, who)
        columns |= {PurchaseOrder.approved_by: who.name, PurchaseOrder.approved_at: _now()}
    await PURCHASE_ORDERS.bump(row, columns)
    if target in (rules.CANCELLED, rules.CLOSED):
        # Closing short-closes: what is still open will not come, and nothing more may be received.
        await PurchaseOrderLine.update({PurchaseOrderLine.status: rules.LINE_CANCELLED}).where(
            (PurchaseOrderLine.purchase_order == row["id"]) & (PurchaseOrderLine.status == rules.LINE_OPEN)
        )
    after = await get_purchase_order(code)
    await _changed(who, action, before, after, reason)
    return after


async def approve_purchase_order(code: str, who: Who, version: int | None = None) -> PurchaseOrderOut:
    return await _transition(code, rules.APPROVED, "approve", who, version)


async def cancel_purchase_order(code: str, who: Who, version: int | None = None,
                                reason: str = "") -> PurchaseOrderOut:
    return await _transition(code, rules.CANCELLED, "cancel", who, version, reason)


async def close_purchase_order(code: str, who: Who, version: int | None = None,
                               reason: str = "") -> PurchaseOrderOut:
    return await _transition(code, rules.CLOSED, "close", who, version, reason)


def _confirmation_problems(lines: list[dict[str, Any]], data: ConfirmationIn, today: date) -> list[Problem]:
    by_number = {line["line_no"]: line for line in lines}
    repeated = set(repeated_line_numbers(line.line_no for line in data.lines))
    problems: list[Problem] = []
    for index, line in enumerate(data.lines):
        where, stored = f"lines[{index}]", by_number.get(line.line_no)
        if stored is None:
            problems.append((f"{where}.line_no", "unknown_po_line", f"no line {line.line_no}"))
        elif index in repeated:
            problems.append((f"{where}.line_no", "duplicate_line", f"line {line.line_no} appears twice"))
        elif stored["status"] != rules.LINE_OPEN:
            problems.append((f"{where}.line_no", "line_not_open", f"line {line.line_no} is {stored['status']}"))
        if line.confirmed_date < today:
            problems.append((f"{where}.confirmed_date", "confirmed_date_in_past",
                             f"confirmed for {line.confirmed_date}, before today"))
    return problems


@needs_write
async def confirm_purchase_order(code: str, data: ConfirmationIn, who: Who) -> PurchaseOrderOut:
    """The supplier's confirmation, line by line, as the buyer recorded it: the quantity and the date it comes. The
    line is from then on expected on the confirmed date (`due_date`: MRP, tracking, promising and the devices read
    it), the date as ordered kept beside it; a confirmation recorded again replaces the earlier one."""
    await PURCHASE_ORDERS.lock(code)
    row, line_rows = await PURCHASE_ORDERS.load_with_lines(code)
    PURCHASE_ORDERS.check_version(row, data.version)
    refusal = rules.confirmation_refusal(row["status"])
    if refusal is not None:
        raise PURCHASE_ORDERS.state_conflict(code, refusal, row["status"])
    refuse_problems(_confirmation_problems(line_rows, data, _today()))
    before = _po_out(row, line_rows)
    by_number, now = {line["line_no"]: line for line in line_rows}, _now()
    for line in data.lines:
        stored = by_number[line.line_no]
        await PurchaseOrderLine.update({
            PurchaseOrderLine.confirmed_quantity_micro: to_micro(line.confirmed_quantity),
            PurchaseOrderLine.confirmed_date: line.confirmed_date, PurchaseOrderLine.confirmed_by: who.name,
            PurchaseOrderLine.confirmed_at: now, PurchaseOrderLine.due_date: line.confirmed_date,
            PurchaseOrderLine.ordered_due_date: stored["ordered_due_date"] or stored["due_date"],
        }).where(PurchaseOrderLine.id == stored["id"])
    await PURCHASE_ORDERS.bump(row, {})
    after = await get_purchase_order(code)
    await _changed(who, "confirm", before, after, ", ".join(str(line.line_no) for line in data.lines))
    return after


async def tolerance_for(item: str, supplier: str) -> Decimal:
    """The over-receipt tolerance (%) that applies to `item` bought from `supplier`."""
    item_row = await Item.select(Item.receipt_tolerance_pct).where(Item.code == item).first()
    supplier_row = await Supplier.select(Supplier.receipt_tolerance_pct).where(Supplier.code == supplier).first()
    return rules.receipt_tolerance(item_row and item_row["receipt_tolerance_pct"],
                                   supplier_row and supplier_row["receipt_tolerance_pct"])


async def book_receipt_on_line(code: str, line_no: int, receiving: Decimal, who: Who) -> dict[str, Any]:
    """A receipt's effect on the PO: checks the PO and line may receive and the quantity is within tolerance, adds it
    to the line, moves line and PO status on, and updates (or removes) the PO on the site's devices.

    The caller owns the transaction (the receipt command or the office endpoint, together with the stock move), so a
    refusal raised here rolls the whole receipt back. Returns the progress, quantities as text."""
    await PURCHASE_ORDERS.lock(code)  # receipts on one PO queue behind each other
    row, line_rows = await PURCHASE_ORDERS.load_with_lines(code)
    line = next((l for l in line_rows if l["line_no"] == line_no), None)
    if line is None:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_po_line", f"Purchase order {code!r} has no line {line_no}",
                       {"entity": ENTITY, "key": code, "line_no": line_no})
    refusal = rules.receipt_refusal(row["status"], line["status"])
    if refusal is not None:
        raise PURCHASE_ORDERS.state_conflict(code, refusal, row["status"])
    tolerance = await tolerance_for(line["item"], row["supplier"])
    decision = rules.check_over_receipt(line["quantity_micro"], line["received_quantity_micro"], to_micro(receiving), tolerance)
    if not decision.allowed:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, decision.code or "over_tolerance",
                       f"Line {line_no} of {code!r} may receive at most {quantity_text(decision.limit_micro)} in all "
                       f"({tolerance} % over {quantity_text(decision.ordered_micro)} ordered)",
                       {"entity": ENTITY, "key": code, "line_no": line_no, "tolerance_pct": format(tolerance, "f"),
                        "ordered": quantity_text(decision.ordered_micro),
                        "received": quantity_text(line["received_quantity_micro"]),
                        "limit": quantity_text(decision.limit_micro)})
    before = _po_out(row, line_rows)
    new_line_status = rules.line_status(line["quantity_micro"], decision.received_after_micro, line["status"])
    await PurchaseOrderLine.update({
        PurchaseOrderLine.received_quantity_micro: decision.received_after_micro, PurchaseOrderLine.status: new_line_status,
    }).where(PurchaseOrderLine.id == line["id"])
    progress = [LineProgress(l["quantity_micro"], l["received_quantity_micro"], l["status"]) for l in line_rows if l is not line]
    progress.append(LineProgress(line["quantity_micro"], decision.received_after_micro, new_line_status))
    await PURCHASE_ORDERS.bump(row, {PurchaseOrder.status: rules.po_status_from_lines(row["status"], progress)})
    after = await get_purchase_order(code)
    if who.actor is not None:
        await _changed(who, "receive", before, after)
    else:
        _publish(before, after)
    return {"purchase_order": code, "line_no": line_no, "po_status": after.status, "line_status": new_line_status,
            "received_quantity": quantity_text(decision.received_after_micro),
            "over_ordered": quantity_text(decision.over_ordered_micro)}
