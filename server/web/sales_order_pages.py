"""The sales order page: its facts, lines, the buttons its status and the reader's role leave open, payments, the
latest review, the history, and the shipment planning form; the actions, payments and shipments posted from it.
Each calls the same `server.sales` or `server.shipping` function as the REST API. A button the reader may not press
is not shown (the order's `open_actions`), and the route's guard refuses it anyway."""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from schemas.sales import PaymentIn, SalesOrderOut
from schemas.shipping import ShipmentIn
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.tables import Item, Warehouse
from server.orders import cascade
from server.planning import promising
from server.sales import rules
from server.sales import service as sales
from server.shipping.planning import create_shipment
from server.shipping.shipments import list_shipments
from server.web.actions import messages
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.forms import display
from server.web.order_words import credit_hold_words
from server.web.render import render, requires_for
from server.web.sales_common import CodePath, action_permission, posted_text, refusal_status, shown

CHANGE_LINE_FIELDS = ("quantity", "due_date", "promised_date", "item")
ORDER_ACTIONS = {"submit": sales.submit, "approve": sales.approve, "reject": sales.reject, "hold": sales.hold,
                 "release": sales.release, "cancel": cascade.cancel_sales_order, "close": cascade.close_sales_order}
REASON_REQUIRED = ("reject", "hold", "cancel")


def _back_to(value: str, default: str) -> str:
    """Only a page of our own sales pages: a form cannot send the reader elsewhere."""
    return value if re.fullmatch(r"/sales-orders(/[A-Za-z0-9._/-]*)?(\?[A-Za-z0-9=&._-]*)?", value or "") else default


def review_outcome(order: SalesOrderOut, review: Any) -> tuple[str, list[Any]]:
    """What the latest review did, in words: (message key, the reasons: failed checks, said in the reader's language
    by the page, or the words someone typed when holding the order)."""
    failed = [c for c in (review.checks if review else []) if not c.passed]
    if order.status == rules.ON_HOLD and order.awaiting_approval:
        return "so.outcome_on_hold", [c for c in failed if c.check == rules.CREDIT] or [order.hold_reason]
    if order.status == rules.SUBMITTED:
        return ("so.outcome_waiting", failed) if failed else ("so.outcome_waiting_policy", [])
    if order.status == rules.DRAFT:
        return "so.outcome_draft", []
    return "so.outcome_approved", []


def change_values(order: SalesOrderOut) -> dict[str, str]:
    values = {"delivery_address": order.delivery_address, "customer_reference": order.customer_reference}
    for line in order.lines:
        for name in CHANGE_LINE_FIELDS:
            values[f"chg-{line.line_no}-{name}"] = display(getattr(line, name), "decimal")
    return values


async def order_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200,
                     plan: dict[str, str] | None = None, change: dict[str, str] | None = None,
                     payment: dict[str, str] | None = None) -> Template:
    order = await sales.get_sales_order(code)
    open_now = rules.open_actions(order.status, order.awaiting_approval, request.user.permissions)
    history = await sales.order_history(code)
    review = history.reviews[-1] if history.reviews else None
    shipments = (await list_shipments(sales_order=code, limit=100))["items"]
    warehouses = await active_records(Warehouse, where=Warehouse.site == order.site)
    items = await active_records(Item, limit=MAX_ITEM_SUGGESTIONS)
    return render(request, "sales_detail.html", status_code=status_code, order=order, show=display, shown=shown,
                  actions=[name for name in open_now if name in ORDER_ACTIONS], reason_required=REASON_REQUIRED,
                  errors=errors or [], shipments=shipments, warehouses=[w["code"] for w in warehouses], plan=plan or {},
                  may_ship="ship" in open_now, may_edit="edit" in open_now, may_change="change" in open_now,
                  may_pay="pay" in open_now, may_promise="sales.write" in request.user.permissions,
                  change=change or change_values(order), payment=payment or {"paid_on": date.today().isoformat()},
                  history=history, review=review, outcome=review_outcome(order, review),
                  credit_hold_at=credit_hold_words(history.reviews),
                  items=[i["code"] for i in items], done=request.query_params.get("done"))


@get("/sales-orders/{code:str}", guards=[requires("sales.read")], include_in_schema=False)
async def sales_detail(request: Request, code: CodePath) -> Template:
    return await order_page(request, code)


@post([f"/sales-orders/{{code:str}}/{action}" for action in ORDER_ACTIONS], guards=[requires_for(action_permission)],
      include_in_schema=False)
async def sales_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    who = office_who(request)
    form = posted_text(await request.form())
    version = form.get("version", "")
    arguments: list[Any] = [code, who, int(version) if version.isdigit() else None]
    if action != "submit":
        arguments.append(form.get("reason", ""))
    try:
        async with write_transaction():
            await ORDER_ACTIONS[action](*arguments)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await order_page(request, code, errors=messages(request, exc), status_code=exc.status_code)
    back = _back_to(form.get("back", ""), f"/sales-orders/{code}")
    joiner = "&" if "?" in back else "?"
    return Redirect(f"{back}{joiner}{urlencode({'done': action, 'order': code})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/{code:str}/payments", guards=[requires("sales.write")], include_in_schema=False)
async def record_payment(request: Request, code: CodePath) -> Template | Redirect:
    who = office_who(request)
    form = posted_text(await request.form())
    payment = {k: form.get(k, "") for k in ("amount", "paid_on", "reference")}
    try:
        async with write_transaction():
            await sales.record_payment(code, PaymentIn.model_validate({k: v for k, v in payment.items() if v}), who)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await order_page(request, code, errors=messages(request, exc), status_code=refusal_status(exc),
                                payment=payment)
    return Redirect(f"/sales-orders/{code}?{urlencode({'done': 'payment'})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/{code:str}/ship", guards=[requires("shipping.write")], include_in_schema=False)
async def plan_shipment(request: Request, code: CodePath) -> Template | Redirect:
    """The plan-a-shipment form: a quantity per open line (empty or 0 = not on this shipment)."""
    who = office_who(request)
    form = posted_text(await request.form())
    lines = [{"line_no": m.group(1), "quantity": value} for key, value in form.items()
             if (m := re.fullmatch(r"ship-(\d+)", key)) and value and value != "0"]
    data = {"sales_order": code, "ship_from": form.get("ship_from", ""), "route": form.get("route") or None, "lines": lines}
    try:
        async with write_transaction():
            created = await create_shipment(ShipmentIn.model_validate(data), who)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await order_page(request, code, errors=messages(request, exc), status_code=refusal_status(exc),
                                plan=form)
    return Redirect(f"/shipments/{created.code}?{urlencode({'done': 'plan'})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/{code:str}/promise", guards=[requires("sales.write")], include_in_schema=False)
async def promise_again(request: Request, code: CodePath) -> Redirect:
    """The order's lines promised again (server/planning/promising.py), as POST /api/sales-orders/{code}/promise."""
    async with write_transaction():
        await sales.SALES_ORDERS.lock(code)
        await sales.SALES_ORDERS.load(code)
        await promising.promise_order(code)
    return Redirect(f"/sales-orders/{code}?{urlencode({'done': 'promise'})}", status_code=HTTP_303_SEE_OTHER)


SALES_ORDER_HANDLERS = [sales_detail, sales_action, record_payment, plan_shipment, promise_again]
