"""Sales orders: create (by hand, from an API client with an Idempotency-Key), edit a draft, submit it through the
review (credit and discount checks, server/sales/rules.py), approve or reject it, hold and release it, cancel or
close it, record payments, and follow it as production and shipping move it on (`refresh_progress`,
`book_delivery`, called inside their transactions). Each office action runs in its entry point's transaction
(`needs_write`) and writes the order's revision (who, when, what changed) and its audit row there."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
from litestar.status_codes import HTTP_403_FORBIDDEN, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.sales import (
    PaymentIn, PaymentOut, PromiseOut, ReviewOut, RevisionOut, SalesOrderEdit, SalesOrderHistory, SalesOrderIn,
    SalesOrderOut, SalesOrderLineOut, SalesPolicyIn, SalesPolicyOut,
)
from server.accounts.site_scope import within_scope
from server.accounts.audit import record_audit
from server.accounts.organisation import roles_lacking, unknown_roles
from server.actors import Who
from server.db import needs_write
from server.document_rules import Problem, Refusal, numbered, self_approval_refusal
from server.documents import (
    DocumentTable, audit_change, lines_problems, master_problems, refuse_problems, site_problems, utc_now,
)
from server.errors import ApiError, duplicate
from server.i18n import Message, translate
from server.quantities import from_micro, to_micro
from server.masterdata.tables import Customer
from server.sales import rules
from server.sales.pricing import rules as pricing
from server.sales.pricing import contracts, price_lists
from server.sales.rules import DownstreamFacts, LineProgress, PricedLine
from server.sales.tables import (
    SalesOrder, SalesOrderCounter, SalesOrderLine, SalesOrderReview, SalesOrderRevision, SalesPayment, SalesPolicy,
    SalesQuote, SalesQuoteLine,
)
from server.webhooks import service as webhooks

ENTITY = "sales_order"
SALES_ORDERS = DocumentTable(ENTITY, "Sales order", SalesOrder, "SO", SalesOrderCounter, SalesOrderLine.sales_order,
                             rules.SALES_ORDER, site_bound=True)
REVIEW_ACTOR = "review"  # who approved an order the review found clean
DEFAULT_APPROVERS = ("sales_manager",)


# -- reading ------------------------------------------------------------------------------------------------------------

def line_progress(line: dict[str, Any]) -> LineProgress:
    return LineProgress(line["quantity_micro"], line["shipped_quantity_micro"])


def priced(line: dict[str, Any]) -> PricedLine:
    return PricedLine(line["quantity_micro"], line["shipped_quantity_micro"], Decimal(line["unit_price"]),
                      Decimal(line["discount_pct"]))


def line_out(row: dict[str, Any]) -> SalesOrderLineOut:
    return SalesOrderLineOut(
        line_no=row["line_no"], item=row["item"], quantity=from_micro(row["quantity_micro"]),
        unit_price=row["unit_price"], discount_pct=row["discount_pct"],
        value=rules.line_value(row["quantity_micro"], Decimal(row["unit_price"]), Decimal(row["discount_pct"])),
        due_date=row["due_date"], promised_date=row["promised_date"],
        shipped_quantity=from_micro(row["shipped_quantity_micro"]),
        backorder_quantity=from_micro(row["backorder_quantity_micro"]),
        open_quantity=from_micro(rules.open_micro(line_progress(row))),
        promise=promise_out(row, "en"),
    )


def promise_out(row: dict[str, Any], lang: str) -> PromiseOut | None:
    """The line's promise as order promising kept it (server/planning/promising.py), its reason in `lang`."""
    if not row.get("promise_reason"):
        return None
    params = row["promise_params"]
    params = json.loads(params) if isinstance(params, (str, bytes)) else dict(params or {})
    return PromiseOut(promise_date=row["promise_date"], atp_date=row["promise_atp_date"],
                      method=row["promise_method"], reason=row["promise_reason"], params=params,
                      message=translate(lang, row["promise_reason"], **params))


@needs_write
async def keep_promises(order_id: int, promises: list[dict[str, Any]]) -> None:
    """Order promising's result kept on the order's lines: {line_no, promise_date, atp_date, method, reason,
    params} each."""
    now = utc_now()
    for promise in promises:
        await SalesOrderLine.update({
            SalesOrderLine.promise_date: promise["promise_date"], SalesOrderLine.promise_atp_date: promise["atp_date"],
            SalesOrderLine.promise_method: promise["method"], SalesOrderLine.promise_reason: promise["reason"],
            SalesOrderLine.promise_params: promise["params"], SalesOrderLine.promised_at: now,
        }).where((SalesOrderLine.sales_order == order_id) & (SalesOrderLine.line_no == promise["line_no"]))


def order_out(row: dict[str, Any], lines: list[dict[str, Any]]) -> SalesOrderOut:
    out_lines = [line_out(line) for line in lines]
    return SalesOrderOut(
        **{name: row[name] for name in (
            "code", "customer", "site", "status", "source", "contract", "quote", "customer_reference", "delivery_address",
            "payment_terms_days", "currency", "paid_amount", "hold_reason", "notes", "created_by", "submitted_by",
            "submitted_at", "approved_by", "approved_at", "created_at", "updated_at", "version")},
        value=sum((line.value for line in out_lines), Decimal(0)),
        awaiting_approval=_awaits_decision(row),
        lines=out_lines,
    )


async def get_sales_order(code: str) -> SalesOrderOut:
    return order_out(*await SALES_ORDERS.load_with_lines(code))


async def list_sales_orders(*, status: str | None = None, customer: str | None = None, q: str | None = None,
                            awaiting_approval: bool = False, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = SalesOrder.id > 0
    if status:
        condition = condition & (SalesOrder.status == status)
    if awaiting_approval:  # as _awaits_decision says: an approver decides these
        condition = condition & ((SalesOrder.status == rules.SUBMITTED)
                                 | ((SalesOrder.status == rules.ON_HOLD) & (SalesOrder.held_from == rules.SUBMITTED)))
    if customer:
        condition = condition & (SalesOrder.customer == customer)
    if q:
        condition = condition & (SalesOrder.code.ilike(f"%{q}%") | SalesOrder.notes.ilike(f"%{q}%")
                                 | SalesOrder.customer_reference.ilike(f"%{q}%"))
    condition = within_scope(condition, SalesOrder.site)
    rows = await (SalesOrder.select().where(condition).order_by(SalesOrder.created_at, ascending=False)
                  .order_by(SalesOrder.id, ascending=False).limit(limit).offset(offset))
    total = await SalesOrder.count().where(condition)
    lines = await SALES_ORDERS.lines_of([row["id"] for row in rows])
    return {"items": [order_out(row, lines[row["id"]]) for row in rows], "total": total, "limit": limit, "offset": offset}


async def order_history(code: str) -> SalesOrderHistory:
    row = await SALES_ORDERS.load(code)
    revisions = await (SalesOrderRevision.select(*SalesOrderRevision.all_columns(exclude=[SalesOrderRevision.snapshot]))
                       .where(SalesOrderRevision.sales_order == row["id"]).order_by(SalesOrderRevision.id)
                       .output(load_json=True))
    reviews = await (SalesOrderReview.select().where(SalesOrderReview.sales_order == row["id"])
                     .order_by(SalesOrderReview.id).output(load_json=True))
    payments = await SalesPayment.select().where(SalesPayment.sales_order == row["id"]).order_by(SalesPayment.id)
    return SalesOrderHistory(
        code=code,
        revisions=[RevisionOut(**{k: r[k] for k in ("version", "action", "actor", "at", "reason", "changes")})
                   for r in revisions],
        reviews=[_review_out(r) for r in reviews],
        payments=[PaymentOut(**{k: p[k] for k in ("amount", "paid_on", "reference", "recorded_by", "recorded_at")})
                  for p in payments],
    )


def _review_out(row: dict[str, Any]) -> ReviewOut:
    return ReviewOut(**{k: row[k] for k in ("version", "at", "checks", "outcome", "decision", "decided_by",
                                            "decided_at", "note")})


# -- the review policy ------------------------------------------------------------------------------------------------

async def get_policy() -> SalesPolicyOut:
    row = await SalesPolicy.select().order_by(SalesPolicy.id).first().output(load_json=True)
    if row is None:
        return SalesPolicyOut(**SalesPolicyIn().model_dump(), updated_by="system", updated_at=None)
    return SalesPolicyOut(**{k: row[k] for k in ("credit_check", "discount_check", "max_discount_pct", "auto_approve",
                                                 "promise_check",
                                                 "approvers", "other_approver_above_value",
                                                 "other_approver_above_discount_pct", "updated_by", "updated_at")})


APPROVE_PERMISSION = "sales.approve"


async def _check_approver_roles(approvers: dict[str, list[str]]) -> None:
    """Every role the policy names as an approver exists, built-in or custom (422 `unknown_role`), and grants the
    permission to approve orders (422 `role_cannot_approve`): a role that could never pass the approve endpoint's
    guard would leave a check nobody of it can approve past."""
    named = sorted({role for roles in approvers.values() for role in roles})
    missing = await unknown_roles(named)
    if missing:
        details = {"field": "approvers", "roles": missing}
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_role", f"approvers: no such role: {', '.join(missing)}",
                       details, Message("refusal.unknown_approver_role", {"roles": ", ".join(missing)}))
    lacking = await roles_lacking(named, APPROVE_PERMISSION)
    if lacking:
        details = {"field": "approvers", "roles": lacking, "permission": APPROVE_PERMISSION}
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "role_cannot_approve",
                       f"approvers: {', '.join(lacking)} may not approve orders (no {APPROVE_PERMISSION} permission)",
                       details, Message("refusal.role_cannot_approve", {"roles": ", ".join(lacking)}))


@needs_write
async def set_policy(data: SalesPolicyIn, who: Who) -> SalesPolicyOut:
    await _check_approver_roles(data.approvers)
    before = await get_policy()
    values = {**data.model_dump(mode="python"), "updated_by": who.name, "updated_at": utc_now()}
    existing = await SalesPolicy.select(SalesPolicy.id).order_by(SalesPolicy.id).first()
    if existing is None:
        await SalesPolicy.insert(SalesPolicy(**values))
    else:
        await SalesPolicy.update({getattr(SalesPolicy, k): v for k, v in values.items()}).where(
            SalesPolicy.id == existing["id"])
    after = await get_policy()
    await audit_change(who, "update", "sales_policy", "default", before, after)
    return after


# -- writing: shared steps ------------------------------------------------------------------------------------------------

async def _line_problems(lines: list[dict[str, Any]], today: date) -> list[Problem]:
    """Each line's problems in line order (documents.lines_problems), and a promised date before today."""
    problems = await lines_problems(lines, today=today)
    problems += [(f"lines[{index}].promised_date", "promised_date_in_past", f"promised date {line['promised_date']} is before today")
                 for index, line in enumerate(lines) if line["promised_date"] is not None and line["promised_date"] < today]
    return problems


def line_rows(order_id: int, lines: Iterable[dict[str, Any]]) -> list[SalesOrderLine]:
    return [SalesOrderLine(sales_order=order_id, line_no=line["line_no"], item=line["item"],
                           quantity_micro=to_micro(line["quantity"]), unit_price=line["unit_price"],
                           discount_pct=line["discount_pct"], due_date=line["due_date"],
                           promised_date=line["promised_date"], shipped_quantity_micro=0, backorder_quantity_micro=0)
            for line in lines]


# Each kind of version an order gets, and the webhook event that announces it.
EVENTS = {"create": "created", "edit": "edited", "submit": "submitted", "approve": "approved", "reject": "rejected",
          "hold": "held", "release": "released", "change": "changed", "progress": "status_changed",
          "delivery": "status_changed", "payment": "payment_recorded", "cancel": "cancelled", "close": "closed"}


async def write_revision(order_id: int, action: str, who: Who, before: SalesOrderOut | None,
                    after: SalesOrderOut, reason: str = "") -> None:
    """The order's new version in its history (what changed and the whole order as it now is), announced to the
    webhook subscribers in the same transaction."""
    after_json = after.model_dump(mode="json")
    name = who.name
    changes = rules.order_changes(before.model_dump(mode="json") if before else None, after_json)
    await SalesOrderRevision.insert(SalesOrderRevision(
        sales_order=order_id, version=after.version, action=action, actor=name, at=utc_now(), reason=reason,
        changes=changes, snapshot=after_json,
    ))
    await webhooks.emit(f"sales_order.{EVENTS[action]}", {"action": action, "actor": name, "reason": reason,
                                                           "changes": changes, "order": after_json})


async def record_version(row: dict[str, Any], action: str, who: Who, before: SalesOrderOut,
                  reason: str = "") -> SalesOrderOut:
    after = await get_sales_order(row["code"])
    await write_revision(row["id"], action, who, before, after, reason)
    await audit_change(who, action, ENTITY, row["code"], before, after, reason)
    return after


async def lock_order(code: str, version: int | None) -> tuple[dict[str, Any], list[dict[str, Any]], SalesOrderOut]:
    await SALES_ORDERS.lock(code)
    row, lines = await SALES_ORDERS.load_with_lines(code)
    SALES_ORDERS.check_version(row, version)
    return row, lines, order_out(row, lines)


def state_conflict(row: dict[str, Any], refusal: Refusal) -> ApiError:
    return SALES_ORDERS.state_conflict(row["code"], refusal, row["status"])


# -- create and edit ----------------------------------------------------------------------------------------------------

def _same_request(existing: SalesOrderOut, data: SalesOrderIn) -> bool:
    """An Idempotency-Key sent again must come with the same order (customer and lines)."""
    sent = [(line.item, line.quantity) for line in data.lines]
    return existing.customer == data.customer and [(line.item, line.quantity) for line in existing.lines] == sent


async def find_by_idempotency_key(key: str) -> SalesOrderOut | None:
    row = await SalesOrder.select(SalesOrder.code).where(SalesOrder.idempotency_key == key).first()
    return await get_sales_order(row["code"]) if row else None


def _idempotency_reused(key: str, existing: SalesOrderOut) -> ApiError:
    return ApiError(HTTP_409_CONFLICT, "idempotency_key_reused",
                    f"Idempotency-Key {key!r} was used for another order ({existing.code}) with other contents",
                    {"entity": ENTITY, "key": existing.code})


async def replay_or_none(data: SalesOrderIn, idempotency_key: str | None) -> SalesOrderOut | None:
    """The order an Idempotency-Key already made (409 when the request differs), or None for a new key."""
    if idempotency_key is None:
        return None
    existing = await find_by_idempotency_key(idempotency_key)
    if existing is not None and not _same_request(existing, data):
        raise _idempotency_reused(idempotency_key, existing)
    return existing


# What a second request with the same Idempotency-Key meets when the first committed its order in between: the
# unique index. The entry point catches it outside its rolled-back transaction and answers with the first's order.
LOST_IDEMPOTENCY_RACE = (sqlite3.IntegrityError, asyncpg.exceptions.IntegrityConstraintViolationError)


@needs_write
async def create_sales_order(data: SalesOrderIn, who: Who, *, source: str = "manual",
                             idempotency_key: str | None = None, quote: str | None = None) -> SalesOrderOut:
    lines = numbered(line.model_dump(mode="python") for line in data.lines)
    now = utc_now()
    refuse_problems(await master_problems("customer", Customer, data.customer, "customer")
                    + await site_problems(data.site) + await _line_problems(lines, now.date())
                    + await contracts.contract_problems(data.customer, data.contract))
    if data.code is not None and await SalesOrder.exists().where(SalesOrder.code == data.code):
        raise duplicate(ENTITY, "code", data.code)
    customer = await Customer.select().where(Customer.code == data.customer).first()
    lines = await price_lists.price_lines(customer, data.contract, lines, now.date(), required=False)
    payment_terms = await contracts.payment_terms_of(data.contract) or customer["payment_terms_days"]
    code = data.code or await SALES_ORDERS.next_code(now.year)
    inserted = await SalesOrder.insert(SalesOrder(
        code=code, customer=data.customer, site=data.site, status=rules.DRAFT, notes=data.notes,
        currency=customer["currency"], customer_reference=data.customer_reference,
        delivery_address=data.delivery_address or customer["address"],
        payment_terms_days=payment_terms if data.payment_terms_days is None else data.payment_terms_days,
        source=source, contract=data.contract, quote=quote, idempotency_key=idempotency_key, hold_reason="", paid_amount=Decimal(0),
        created_by=who.name, created_at=now, updated_at=now, version=1,
    )).returning(SalesOrder.id)
    if lines:
        await SalesOrderLine.insert(*line_rows(inserted[0]["id"], lines))
    created = await get_sales_order(code)
    await write_revision(inserted[0]["id"], "create", who, None, created)
    await audit_change(who, "create", ENTITY, code, None, created)
    return created


@needs_write
async def edit_draft(code: str, data: SalesOrderEdit, who: Who) -> SalesOrderOut:
    """A draft rewritten whole (terms and lines). Once submitted, an order changes through review instead."""
    lines = numbered(line.model_dump(mode="python") for line in data.lines)
    row, _, before = await lock_order(code, data.version)
    if row["status"] not in rules.EDITABLE:
        raise state_conflict(row, Refusal(
            "sales_order_not_editable", f"The sales order is {row['status'].replace('_', ' ')}: only a draft is "
                                        "edited directly (reject it back to draft first)"))
    refuse_problems(await site_problems(data.site)
                    + await _line_problems(lines, utc_now().date())
                    + await contracts.contract_problems(row["customer"], data.contract))
    customer = await Customer.select().where(Customer.code == row["customer"]).first()
    lines = await price_lists.price_lines(customer, data.contract, lines, utc_now().date(), required=False)
    payment_terms = await contracts.payment_terms_of(data.contract) or customer["payment_terms_days"]
    await SalesOrderLine.delete().where(SalesOrderLine.sales_order == row["id"])
    if lines:
        await SalesOrderLine.insert(*line_rows(row["id"], lines))
    await SALES_ORDERS.bump(row, {
        SalesOrder.site: data.site, SalesOrder.notes: data.notes, SalesOrder.customer_reference: data.customer_reference,
        SalesOrder.delivery_address: data.delivery_address or customer["address"], SalesOrder.contract: data.contract,
        SalesOrder.payment_terms_days: payment_terms if data.payment_terms_days is None else data.payment_terms_days,
    })
    return await record_version(row, "edit", who, before)


# -- review and approval --------------------------------------------------------------------------------------------------

async def customer_exposure(customer: str, *, excluding: int | None = None) -> Decimal:
    """What the customer owes or will owe on its orders: open orders, and delivered ones not yet paid."""
    orders = await SalesOrder.select(SalesOrder.id, SalesOrder.status, SalesOrder.paid_amount).where(
        (SalesOrder.customer == customer) & SalesOrder.status.not_in([rules.DRAFT, rules.CANCELLED]))
    orders = [order for order in orders if order["id"] != excluding]
    lines = await SALES_ORDERS.lines_of([order["id"] for order in orders])
    return sum((rules.exposure_of(order["status"], [priced(line) for line in lines[order["id"]]],
                                  Decimal(order["paid_amount"])) for order in orders), Decimal(0))


async def _review(row: dict[str, Any], order: SalesOrderOut, policy: SalesPolicyOut,
                  lines: list[dict[str, Any]]) -> list[rules.CheckResult]:
    results = []
    customer = await Customer.select().where(Customer.code == row["customer"]).first()
    if policy.credit_check:
        exposure = await customer_exposure(row["customer"], excluding=row["id"])
        results.append(rules.credit_check(Decimal(customer["credit_limit"]), exposure, order.value, order.currency))
    results += await _price_checks(row, order, policy, lines, customer)
    promised = await promise(row["code"])
    if policy.promise_check:
        results.append(rules.promise_check(promised))
    return results


async def price_review(row: dict[str, Any]) -> list[rules.CheckResult]:
    """The review's checks of an order's prices (discount, contract) as the order is now: a change that priced a
    product anew passes them again."""
    order = await get_sales_order(row["code"])
    lines = (await SALES_ORDERS.lines_of([row["id"]]))[row["id"]]
    customer = await Customer.select().where(Customer.code == row["customer"]).first()
    return await _price_checks(row, order, await get_policy(), lines, customer)


async def _price_checks(row: dict[str, Any], order: SalesOrderOut, policy: SalesPolicyOut,
                        lines: list[dict[str, Any]], customer: dict[str, Any]) -> list[rules.CheckResult]:
    results = []
    today = utc_now().date()
    if policy.discount_check:
        discount = rules.discount_check(await _line_discounts(row, order, customer, today), policy.max_discount_pct)
        results.append(await _approved_on_quote(row["quote"], discount, lines) if row["quote"] else discount)
    if row["contract"] is not None:
        results.append(await contracts.contract_review(row["id"], row["contract"], lines, today))
    return results


def _priced_as(line: dict[str, Any]) -> rules.QuoteLine:
    return line["item"], line["quantity_micro"], Decimal(line["unit_price"]), Decimal(line["discount_pct"])


async def _approved_on_quote(quote: str, discount: rules.CheckResult, lines: list[dict[str, Any]]) -> rules.CheckResult:
    """The discount check of an order converted from a quote an approver (not the review) approved."""
    if discount.passed:
        return discount
    row = await SalesQuote.select(SalesQuote.id, SalesQuote.approved_by).where(SalesQuote.code == quote).first()
    if row is None or row["approved_by"] in (None, REVIEW_ACTOR):
        return discount
    quoted = await SalesQuoteLine.select().where(SalesQuoteLine.quote == row["id"])
    return rules.carried_approval(discount, {line["line_no"]: _priced_as(line) for line in quoted},
                                  {line["line_no"]: _priced_as(line) for line in lines}, quote, row["approved_by"])


async def _line_discounts(row: dict[str, Any], order: SalesOrderOut, customer: dict[str, Any],
                          today: date) -> dict[int, Decimal]:
    """The discount each line really gives: its net price against the contract's or the price list's price."""
    references = await price_lists.reference_prices(customer, row["contract"],
                                                    [(line.item, line.quantity) for line in order.lines], today)
    return {line.line_no: pricing.effective_discount_pct(line.unit_price, line.discount_pct, reference)
            for line, reference in zip(order.lines, references)}


@needs_write
async def submit(code: str, who: Who, version: int | None = None) -> SalesOrderOut:
    """Submit a draft: the review runs now, and approves it, holds it for credit, or leaves it for an approver."""
    row, lines, before = await lock_order(code, version)
    SALES_ORDERS.check_transition(row, rules.SUBMITTED)
    if not lines:
        refuse_problems([("lines", "no_lines", "a sales order without lines cannot be submitted")])
    policy = await get_policy()
    results = await _review(row, before, policy, lines)
    for carried in (r for r in results if r.code == "discount_approved_on_quote"):
        await record_audit(who, "approval_carried", ENTITY, code, None, carried.as_dict(), carried.message)
    status, reason = rules.review_outcome(results, policy.auto_approve)
    now = utc_now()
    columns: dict[Any, Any] = {SalesOrder.status: status, SalesOrder.submitted_by: who.name,
                               SalesOrder.submitted_at: now}
    if status == rules.APPROVED:
        columns |= {SalesOrder.approved_by: REVIEW_ACTOR, SalesOrder.approved_at: now}
    if status == rules.ON_HOLD:
        failed = next(r for r in results if not r.passed and r.check == rules.CREDIT)
        columns |= {SalesOrder.held_from: rules.SUBMITTED, SalesOrder.hold_reason: failed.message,
                    SalesOrder.hold_kind: rules.CREDIT}
    await SALES_ORDERS.bump(row, columns)
    await SalesOrderReview.insert(SalesOrderReview(
        sales_order=row["id"], version=row["version"] + 1, at=now, checks=[r.as_dict() for r in results],
        outcome=status, note=reason,
        **({"decision": "approved", "decided_by": REVIEW_ACTOR, "decided_at": now} if status == rules.APPROVED else {}),
    ))
    return await record_version(row, "submit", who, before, reason)


async def _latest_review(order_id: int) -> dict[str, Any] | None:
    return await (SalesOrderReview.select().where(SalesOrderReview.sales_order == order_id)
                  .order_by(SalesOrderReview.id, ascending=False).first().output(load_json=True))


def _awaits_decision(row: dict[str, Any]) -> bool:
    """Submitted, or held by the review at submission (a credit hold): an approver decides."""
    return row["status"] == rules.SUBMITTED or (row["status"] == rules.ON_HOLD and row["held_from"] == rules.SUBMITTED)


@needs_write
async def _decide(code: str, decision: str, who: Who, version: int | None, note: str) -> SalesOrderOut:
    row, _, before = await lock_order(code, version)
    if not _awaits_decision(row):
        raise state_conflict(row, Refusal("sales_order_not_awaiting_approval",
                                           f"The sales order is {row['status'].replace('_', ' ')}: "
                                           "there is nothing to approve or reject"))
    review = await _latest_review(row["id"])
    failed = [check["check"] for check in (review["checks"] if review else []) if not check["passed"]]
    if decision == "approved":
        await _check_approver(failed, who)
        await _check_other_approver(row, before, who.name)
    now = utc_now()
    target = rules.APPROVED if decision == "approved" else rules.DRAFT
    columns: dict[Any, Any] = {SalesOrder.status: target, SalesOrder.held_from: None, SalesOrder.hold_reason: "",
                               SalesOrder.hold_kind: ""}
    if target == rules.APPROVED:
        columns |= {SalesOrder.approved_by: who.name, SalesOrder.approved_at: now}
    await SALES_ORDERS.bump(row, columns)
    if review is not None:
        await SalesOrderReview.update({
            SalesOrderReview.decision: decision, SalesOrderReview.decided_by: who.name,
            SalesOrderReview.decided_at: now, SalesOrderReview.note: note,
        }).where(SalesOrderReview.id == review["id"])
    return await record_version(row, "approve" if decision == "approved" else "reject", who, before, note)


async def approve(code: str, who: Who, version: int | None = None, note: str = "") -> SalesOrderOut:
    return await _decide(code, "approved", who, version, note)


async def reject(code: str, who: Who, version: int | None = None, note: str = "") -> SalesOrderOut:
    """Back to draft, for the clerk to correct and submit again."""
    return await _decide(code, "rejected", who, version, note)


# -- hold, release, cancel, close ------------------------------------------------------------------------------------------

@needs_write
async def hold(code: str, who: Who, version: int | None = None, reason: str = "") -> SalesOrderOut:
    if not reason.strip():
        refuse_problems([("reason", "reason_required", "say why the order is held")])
    row, _, before = await lock_order(code, version)
    if row["status"] == rules.ON_HOLD:
        raise state_conflict(row, Refusal("sales_order_on_hold", "The sales order is already on hold"))
    SALES_ORDERS.check_transition(row, rules.ON_HOLD)
    await SALES_ORDERS.bump(row, {SalesOrder.status: rules.ON_HOLD, SalesOrder.held_from: row["status"],
                                  SalesOrder.hold_reason: reason, SalesOrder.hold_kind: "manual"})
    return await record_version(row, "hold", who, before, reason)


@needs_write
async def release(code: str, who: Who, version: int | None = None, note: str = "") -> SalesOrderOut:
    """End a hold. A hold the review put on at submission (credit) is ended by approving the order; a credit hold
    put on when a change made the order grow is released by an approver of the credit check."""
    row, _, before = await lock_order(code, version)
    if row["status"] != rules.ON_HOLD:
        raise state_conflict(row, Refusal("sales_order_not_on_hold", "The sales order is not on hold"))
    if row["held_from"] == rules.SUBMITTED:
        raise state_conflict(row, Refusal("approval_required",
                                           "The review held this order at submission: approve or reject it"))
    if row["hold_kind"] in (rules.CREDIT, rules.DISCOUNT, rules.CONTRACT, rules.PROMISE):  # put on by a check: its approver ends it
        await _check_approver([row["hold_kind"]], who)
    back = rules.progress_status(await _downstream(row)) if row["held_from"] in rules.UNDER_WAY else row["held_from"]
    await SALES_ORDERS.bump(row, {SalesOrder.status: back, SalesOrder.held_from: None, SalesOrder.hold_reason: "",
                                  SalesOrder.hold_kind: ""})
    return await record_version(row, "release", who, before, note)


async def _check_approver(failed_checks: list[str], who: Who) -> None:
    policy = await get_policy()
    refusal = rules.approval_refusal(failed_checks, who.actor.roles if who.actor else ("admin",), policy.approvers,
                                     DEFAULT_APPROVERS)
    if refusal is not None:
        raise ApiError(HTTP_403_FORBIDDEN, refusal.code, refusal.message, refusal.details)


async def _check_other_approver(row: dict[str, Any], order: SalesOrderOut, approver: str) -> None:
    """Above the policy's value or discount an order is approved by someone who neither entered nor submitted it
    (the loader and the review, which are no person, are never refused)."""
    authors = {row["created_by"], row["submitted_by"]} - {"system", REVIEW_ACTOR}
    if approver not in authors:
        return
    policy = await get_policy()
    beyond = []
    value_limit, discount_limit = policy.other_approver_above_value, policy.other_approver_above_discount_pct
    if value_limit is not None and order.value > value_limit:
        beyond.append(Message("refusal.order_value_above", {"value": rules.plain(order.value), "currency": order.currency,
                                                            "limit": rules.plain(value_limit)}))
    if discount_limit is not None:
        customer = await Customer.select().where(Customer.code == row["customer"]).first()
        highest = max((await _line_discounts(row, order, customer, utc_now().date())).values(), default=Decimal(0))
        if highest > discount_limit:
            beyond.append(Message("refusal.discount_above", {"discount": rules.plain(highest),
                                                             "limit": rules.plain(discount_limit)}))
    refusal = self_approval_refusal(approver, authors, beyond)
    if refusal is not None:
        raise ApiError(HTTP_409_CONFLICT, refusal.code, refusal.message, refusal.details, refusal.text)


@needs_write
async def record_payment(code: str, data: PaymentIn, who: Who) -> SalesOrderOut:
    row, _, before = await lock_order(code, None)
    if (refusal := rules.payment_refusal(row["status"])) is not None:
        raise state_conflict(row, refusal)
    await SalesPayment.insert(SalesPayment(sales_order=row["id"], amount=data.amount, paid_on=data.paid_on,
                                           reference=data.reference, recorded_by=who.name,
                                           recorded_at=utc_now()))
    await SALES_ORDERS.bump(row, {SalesOrder.paid_amount: Decimal(row["paid_amount"]) + data.amount})
    return await record_version(row, "payment", who, before, f"{data.amount} {row['currency']} {data.reference}".strip())


# -- downstream: production and shipping move an approved order on ------------------------------------------------------
# They sit above sales and call down into `refresh_progress` and `book_delivery`. What they did for an order is read by
# server/orders/progress.py, which reads their tables: sales is told who reads it at start-up, so it imports neither.
DownstreamReader = Callable[[dict[str, Any]], Awaitable[DownstreamFacts]]
_downstream_reader: DownstreamReader | None = None


def read_downstream_with(reader: DownstreamReader) -> None:
    global _downstream_reader
    _downstream_reader = reader


# Order promising (server/planning/promising.py) sits above sales: it is named at start-up too. It works out and keeps
# an order's promises and answers (line, requested date, promise date) for the review's promise check.
Promiser = Callable[[str], Awaitable[list[tuple[int, date, date | None]]]]
_promiser: Promiser | None = None


def promise_with(promiser: Promiser) -> None:
    global _promiser
    _promiser = promiser


async def promise(code: str) -> list[tuple[int, date, date | None]]:
    if _promiser is None:
        raise RuntimeError("server/app.py wire_areas() names who promises an order")
    return await _promiser(code)



async def _downstream(row: dict[str, Any]) -> DownstreamFacts:
    if _downstream_reader is None:
        raise RuntimeError("server/app.py wire_areas() names who reads an order's downstream work")
    return await _downstream_reader(row)


async def refresh_progress(code: str) -> str:
    """Put an order under way in the status its downstream work says (inside the caller's transaction): packing
    everything makes it ready, loading it shipped. A held, closed or cancelled order keeps its status."""
    await SALES_ORDERS.lock(code)
    row = await SALES_ORDERS.load(code)
    if row["status"] not in rules.UNDER_WAY:
        return row["status"]
    status = rules.progress_status(await _downstream(row))
    if status != row["status"]:
        before = await get_sales_order(code)
        await SALES_ORDERS.bump(row, {SalesOrder.status: status})
        after = await get_sales_order(code)
        await write_revision(row["id"], "progress", Who.system(), before, after)
    return status


async def book_delivery(code: str, deliveries: dict[int, tuple[int, int]]) -> dict[str, Any]:
    """A signed delivery's effect on the order: per line number, (delivered, short) in micro-units. Shipped
    quantities grow, shortfalls become backorders, and the order becomes delivered (nothing owed) or stays shipped.
    The caller owns the transaction."""
    await SALES_ORDERS.lock(code)  # shipments and deliveries of one order queue behind each other
    row, line_rows = await SALES_ORDERS.load_with_lines(code)
    before = order_out(row, line_rows)
    for line in line_rows:
        delivered, short = deliveries.get(line["line_no"], (0, 0))
        if delivered or short:
            await SalesOrderLine.update({
                SalesOrderLine.shipped_quantity_micro: line["shipped_quantity_micro"] + delivered,
                SalesOrderLine.backorder_quantity_micro: rules.backorder_after_delivery(
                    line["backorder_quantity_micro"], delivered, short),
            }).where(SalesOrderLine.id == line["id"])
    status = rules.status_after_delivery(row["status"], await _downstream(row))
    await SALES_ORDERS.bump(row, {SalesOrder.status: status})
    after = await get_sales_order(code)
    await write_revision(row["id"], "delivery", Who.system(), before, after)
    return {"sales_order": code, "status": status}

