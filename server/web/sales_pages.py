"""Sales orders in the office: the list (status, customer, search, awaiting approval), the order entry form (new and
draft edit, with Save & submit), the order page (facts, lines, actions by status and role, payments, the review, the
history, the shipment planning form and a change with its impact preview), the approvals queue, the review policy,
and the tracking and customer pages. Every write calls the same `server.sales` function as the REST API, so it is
checked, reviewed, audited and announced the same way; a button the reader may not press is not shown, and the
handler refuses it anyway."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.sales import (
    OrderChangeIn, PaymentIn, SalesOrderEdit, SalesOrderIn, SalesOrderOut, SalesPolicyIn,
)
from schemas.shipping import ShipmentIn
from server.accounts.identity import requires
from server.accounts.permissions import Role
from server.errors import ApiError
from server.masterdata.tables import Customer, Item, Site, Warehouse
from server.sales import changes, rules, tracking
from server.sales import service as sales
from server.shipping import service as shipping
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.forms import FormErrors, display, explain
from server.web.render import language_of, render, requires_for

PAGE_SIZE = 25
BLANK_LINES = 3
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
StatusFilter = Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")]
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=r"^[A-Za-z0-9._-]*$")]
SearchText = Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
PageNumber = Annotated[int, Parameter(ge=1, le=10**6)]
HEADER_FIELDS = ("customer", "site", "customer_reference", "delivery_address", "payment_terms_days", "notes")
LINE_FIELDS = ("item", "quantity", "unit_price", "discount_pct", "due_date", "promised_date")
CHANGE_LINE_FIELDS = ("quantity", "due_date", "promised_date", "item")
ORDER_ACTIONS = {"submit": sales.submit, "approve": sales.approve, "reject": sales.reject, "hold": sales.hold,
                 "release": sales.release, "cancel": sales.cancel_sales_order, "close": sales.close_sales_order}
REASON_REQUIRED = ("reject", "hold", "cancel")
# Links other parts of sales put in the list's header (quotes, contracts, price lists, import):
# (permission, address, message key). Appended to by their own page modules.
SALES_LIST_LINKS: list[tuple[str, str, str]] = []
CHECK_NAMES = rules.CHECKS
APPROVER_ROLES = tuple(role.value for role in Role if role != Role.admin)


def _messages(request: Request, exc: ApiError | ValidationError) -> list[str]:
    problems = explain(exc, FormErrors(), language_of(request))
    return [*problems.general, *(m for ms in problems.fields.values() for m in ms)]


def _status(exc: ApiError | ValidationError) -> int:
    return exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def _posted(form: Any) -> dict[str, str]:
    return {k: (v if k in ("notes", "delivery_address") else v.strip()) for k, v in form.items() if isinstance(v, str)}


def _back_to(value: str, default: str) -> str:
    """Only a page of our own sales pages: a form cannot send the reader elsewhere."""
    return value if re.fullmatch(r"/sales-orders(/[A-Za-z0-9._/-]*)?(\?[A-Za-z0-9=&._-]*)?", value or "") else default


def shown(value: Any) -> str:
    """A value from an order's history, as a reader wants it: a line as item × quantity, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict) and "item" in value:
        return f"{value['item']} × {value.get('quantity', '')}"
    if isinstance(value, (list, dict)):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else ", ".join(map(str, value))
    return display(value, "text")


# -- the list ----------------------------------------------------------------------------------------------------------

@get("/sales-orders", guards=[requires("sales.read")], include_in_schema=False)
async def sales_list(request: Request, status: StatusFilter = None, customer: CodeFilter = None, q: SearchText = None,
                     awaiting: bool = False, page: PageNumber = 1) -> Template:
    user = request.user
    status = status if status in rules.SO_STATUSES else None
    listing = await sales.list_sales_orders(status=status, customer=customer or None, q=(q or "").strip() or None,
                                            awaiting_approval=awaiting, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {k: v for k, v in {"status": status, "customer": customer, "q": q, "awaiting": "true" if awaiting else None}.items() if v}
    customers = await Customer.select(Customer.code, Customer.name).order_by(Customer.code)
    return render(request, "sales_list.html", orders=listing["items"], total=listing["total"], page=page,
                  pages=_pages(listing["total"]), status=status or "", statuses=rules.SO_STATUSES,
                  customer=customer or "", customers=customers, q=q or "", awaiting=awaiting,
                  may_write=user.may("sales.write"), may_approve=user.may("sales.approve"),
                  links=[(href, key) for permission, href, key in SALES_LIST_LINKS if user.may(permission)],
                  show=display, page_url=lambda number: "/sales-orders?" + urlencode({**params, "page": number}))


# -- entry form (new and draft edit) --------------------------------------------------------------------------------------

async def _form_page(request: Request, *, order: SalesOrderOut | None, values: dict[str, str],
                     lines: list[dict[str, str]], errors: FormErrors | None = None, status_code: int = 200) -> Template:
    customers = await active_records(Customer, Customer.name)
    sites = await active_records(Site)
    items = await active_records(Item, Item.name, limit=MAX_ITEM_SUGGESTIONS)
    defaults = await _customer_defaults(values.get("customer") or (order.customer if order else ""))
    return render(request, "sales_form.html", status_code=status_code, order=order, values=values, lines=lines,
                  errors=errors or FormErrors(), customers=customers, sites=[s["code"] for s in sites], items=items,
                  defaults=defaults)


async def _customer_defaults(code: str) -> dict[str, str]:
    row = await Customer.select(Customer.address, Customer.payment_terms_days, Customer.currency).where(
        Customer.code == code).first() if code else None
    return {"address": row["address"], "terms": str(row["payment_terms_days"]), "currency": row["currency"]} if row else {}


@get("/sales-orders/customer-defaults", guards=[requires("sales.read")], include_in_schema=False)
async def customer_defaults(request: Request, customer: CodeFilter = None) -> Template:
    """The terms fields filled with the chosen customer's address and payment terms (htmx, when the customer
    changes): what the clerk already typed stays."""
    typed = {k: str(request.query_params.get(k) or "") for k in ("delivery_address", "payment_terms_days")}
    return render(request, "sales_customer_defaults.html", values=typed, errors=FormErrors(),
                  defaults=await _customer_defaults(customer or ""))


def _posted_lines(form: dict[str, str]) -> list[dict[str, str]]:
    """Rows posted as lines-<n>-<field>, in order; a row without item and quantity is no line."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"lines-(\d+)-(\w+)", key)) and m.group(2) in LINE_FIELDS:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
    return [rows[i] for i in sorted(rows) if rows[i].get("item") or rows[i].get("quantity")]


def _contract_input(values: dict[str, str], lines: list[dict[str, str]]) -> dict[str, Any]:
    """Posted text as the contract takes it: empty optional fields are absent, so the customer's defaults apply."""
    data: dict[str, Any] = {k: v for k, v in values.items() if k in HEADER_FIELDS and (v.strip() or k == "notes")}
    data["lines"] = [{k: v for k, v in line.items() if v} for line in lines]
    return data


def _line_text(order: SalesOrderOut) -> list[dict[str, str]]:
    return [{name: display(getattr(line, name), "decimal") for name in LINE_FIELDS} for line in order.lines]


@get("/sales-orders/new", guards=[requires("sales.write")], include_in_schema=False)
async def new_sales_form(request: Request) -> Template:
    due = (date.today() + timedelta(days=14)).isoformat()
    return await _form_page(request, order=None, values={"site": "NB1"},
                            lines=[{"due_date": due} for _ in range(BLANK_LINES)])


@get("/sales-orders/{code:str}/edit", guards=[requires("sales.write")], include_in_schema=False)
async def edit_sales_form(request: Request, code: CodePath) -> Template | Redirect:
    order = await sales.get_sales_order(code)
    if order.status not in rules.EDITABLE:
        return Redirect(f"/sales-orders/{code}", status_code=HTTP_303_SEE_OTHER)
    values = {name: display(getattr(order, name), "text") for name in HEADER_FIELDS} | {"version": str(order.version)}
    return await _form_page(request, order=order, values=values, lines=_line_text(order) + [{}])


async def _save(request: Request, code: str | None) -> Template | Redirect:
    actor = request.user
    form = _posted(await request.form())
    values = {k: v for k, v in form.items() if k in HEADER_FIELDS or k == "version"}
    lines = _posted_lines(form)
    order = await sales.get_sales_order(code) if code else None
    if form.get("_action") == "more_lines":
        return await _form_page(request, order=order, values=values, lines=lines + [{} for _ in range(BLANK_LINES)])
    errors, data = FormErrors(), _contract_input(values, lines)
    try:
        if code is None:
            saved = await sales.create_sales_order(SalesOrderIn.model_validate(data), actor)
        else:
            data.pop("customer", None)
            data["version"] = values.get("version") or "0"
            saved = await sales.edit_draft(code, SalesOrderEdit.model_validate(data), actor)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        explain(exc, errors, language_of(request))
        return await _form_page(request, order=order, values=values, lines=lines + [{}], errors=errors,
                                status_code=_status(exc))
    if form.get("_action") == "submit":
        try:
            await sales.submit(saved.code, actor, saved.version)
        except ApiError as exc:  # saved, but the review would not take it: the order page says why
            return await _order_page(request, saved.code, errors=_messages(request, exc), status_code=exc.status_code)
        return Redirect(f"/sales-orders/{saved.code}?{urlencode({'done': 'submit'})}", status_code=HTTP_303_SEE_OTHER)
    return Redirect(f"/sales-orders/{saved.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/new", guards=[requires("sales.write")], include_in_schema=False)
async def create_sales(request: Request) -> Template | Redirect:
    return await _save(request, None)


@post("/sales-orders/{code:str}/edit", guards=[requires("sales.write")], include_in_schema=False)
async def update_sales(request: Request, code: CodePath) -> Template | Redirect:
    return await _save(request, code)


# -- the order page --------------------------------------------------------------------------------------------------------

def review_outcome(order: SalesOrderOut, review: Any) -> tuple[str, list[str]]:
    """What the latest review did, in words: (message key, the reasons)."""
    if order.status == rules.ON_HOLD and order.awaiting_approval:
        return "so.outcome_on_hold", [order.hold_reason]
    if order.status == rules.SUBMITTED:
        failed = [c.message for c in (review.checks if review else []) if not c.passed]
        return ("so.outcome_waiting", failed) if failed else ("so.outcome_waiting_policy", [])
    if order.status == rules.DRAFT:
        return "so.outcome_draft", []
    return "so.outcome_approved", []


def _change_values(order: SalesOrderOut) -> dict[str, str]:
    values = {"delivery_address": order.delivery_address, "customer_reference": order.customer_reference}
    for line in order.lines:
        for name in CHANGE_LINE_FIELDS:
            values[f"chg-{line.line_no}-{name}"] = display(getattr(line, name), "decimal")
    return values


async def _order_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200,
                      plan: dict[str, str] | None = None, change: dict[str, str] | None = None,
                      payment: dict[str, str] | None = None) -> Template:
    order = await sales.get_sales_order(code)
    open_now = rules.open_actions(order.status, order.awaiting_approval, request.user.permissions)
    history = await sales.order_history(code)
    review = history.reviews[-1] if history.reviews else None
    shipments = (await shipping.list_shipments(sales_order=code, limit=100))["items"]
    warehouses = await active_records(Warehouse, where=Warehouse.site == order.site)
    items = await active_records(Item, limit=MAX_ITEM_SUGGESTIONS)
    return render(request, "sales_detail.html", status_code=status_code, order=order, show=display, shown=shown,
                  actions=[name for name in open_now if name in ORDER_ACTIONS], reason_required=REASON_REQUIRED,
                  errors=errors or [], shipments=shipments, warehouses=[w["code"] for w in warehouses], plan=plan or {},
                  may_ship="ship" in open_now, may_edit="edit" in open_now, may_change="change" in open_now,
                  may_pay="pay" in open_now,
                  change=change or _change_values(order), payment=payment or {"paid_on": date.today().isoformat()},
                  history=history, review=review, outcome=review_outcome(order, review),
                  items=[i["code"] for i in items], done=request.query_params.get("done"))


@get("/sales-orders/{code:str}", guards=[requires("sales.read")], include_in_schema=False)
async def sales_detail(request: Request, code: CodePath) -> Template:
    return await _order_page(request, code)


def _action_permission(connection: ASGIConnection) -> str:
    return rules.ACTION_PERMISSION.get(connection.url.path.rsplit("/", 1)[-1], "sales.write")


@post([f"/sales-orders/{{code:str}}/{action}" for action in ORDER_ACTIONS], guards=[requires_for(_action_permission)],
      include_in_schema=False)
async def sales_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    actor = request.user
    form = _posted(await request.form())
    version = form.get("version", "")
    arguments: list[Any] = [code, actor, int(version) if version.isdigit() else None]
    if action != "submit":
        arguments.append(form.get("reason", ""))
    try:
        await ORDER_ACTIONS[action](*arguments)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _order_page(request, code, errors=_messages(request, exc), status_code=exc.status_code)
    back = _back_to(form.get("back", ""), f"/sales-orders/{code}")
    joiner = "&" if "?" in back else "?"
    return Redirect(f"{back}{joiner}{urlencode({'done': action, 'order': code})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/{code:str}/payments", guards=[requires("sales.write")], include_in_schema=False)
async def record_payment(request: Request, code: CodePath) -> Template | Redirect:
    actor = request.user
    form = _posted(await request.form())
    payment = {k: form.get(k, "") for k in ("amount", "paid_on", "reference")}
    try:
        await sales.record_payment(code, PaymentIn.model_validate({k: v for k, v in payment.items() if v}), actor)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await _order_page(request, code, errors=_messages(request, exc), status_code=_status(exc), payment=payment)
    return Redirect(f"/sales-orders/{code}?{urlencode({'done': 'payment'})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/{code:str}/ship", guards=[requires("shipping.write")], include_in_schema=False)
async def plan_shipment(request: Request, code: CodePath) -> Template | Redirect:
    """The plan-a-shipment form: a quantity per open line (empty or 0 = not on this shipment)."""
    actor = request.user
    form = _posted(await request.form())
    lines = [{"line_no": m.group(1), "quantity": value} for key, value in form.items()
             if (m := re.fullmatch(r"ship-(\d+)", key)) and value and value != "0"]
    data = {"sales_order": code, "ship_from": form.get("ship_from", ""), "route": form.get("route") or None, "lines": lines}
    try:
        created = await shipping.create_shipment(ShipmentIn.model_validate(data), actor)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await _order_page(request, code, errors=_messages(request, exc), status_code=_status(exc), plan=form)
    return Redirect(f"/shipments/{created.code}?{urlencode({'done': 'plan'})}", status_code=HTTP_303_SEE_OTHER)


# -- a change to a submitted or approved order -----------------------------------------------------------------------------

def _change_input(order: SalesOrderOut, form: dict[str, str]) -> dict[str, Any]:
    """The change as the contract takes it: only what differs from the order as it was read."""
    current = _change_values(order)
    line_changes = []
    for line in order.lines:
        changed = {name: form[key] for name in CHANGE_LINE_FIELDS
                   if (key := f"chg-{line.line_no}-{name}") in form and form[key] != current.get(key)}
        if changed:
            line_changes.append({"line_no": line.line_no, **{k: v or None for k, v in changed.items()}})
    added: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"add-(\d+)-(\w+)", key)) and m.group(2) in LINE_FIELDS and value:
            added.setdefault(int(m.group(1)), {})[m.group(2)] = value
    data: dict[str, Any] = {"version": form.get("version") or "0", "reason": form.get("reason", ""),
                            "lines": line_changes, "add_lines": [added[i] for i in sorted(added)]}
    for name in ("delivery_address", "customer_reference"):
        if name in form and form[name] != current[name]:
            data[name] = form[name]
    return data


@post("/sales-orders/{code:str}/change/preview", guards=[requires("sales.write")], include_in_schema=False)
async def preview_change(request: Request, code: CodePath) -> Template:
    """What the change would do (an htmx fragment): the order's changed fields and the impacts downstream."""
    actor = request.user
    order = await sales.get_sales_order(code)
    form = _posted(await request.form())
    try:
        impact = await changes.preview_change(code, OrderChangeIn.model_validate(_change_input(order, form)), actor)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return render(request, "sales_change_impact.html", status_code=_status(exc), impact=None,
                      errors=_messages(request, exc), code=getattr(exc, "code", "invalid"), shown=shown)
    return render(request, "sales_change_impact.html", impact=impact, errors=[], code="", shown=shown)


@post("/sales-orders/{code:str}/cancel/preview", guards=[requires("sales.write")], include_in_schema=False)
async def preview_cancel(request: Request, code: CodePath) -> Template:
    """What cancelling would do (an htmx fragment, the same as a change's): shipments, reservations, production."""
    actor = request.user
    form = _posted(await request.form())
    version = form.get("version", "")
    try:
        impact = await changes.preview_cancel(code, int(version) if version.isdigit() else None, form.get("reason", ""),
                                              actor)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return render(request, "sales_change_impact.html", status_code=_status(exc), impact=None,
                      errors=_messages(request, exc), code=exc.code, shown=shown)
    return render(request, "sales_change_impact.html", impact=impact, errors=[], code="", shown=shown)


@post("/sales-orders/{code:str}/change", guards=[requires("sales.write")], include_in_schema=False)
async def make_change(request: Request, code: CodePath) -> Template | Redirect:
    actor = request.user
    order = await sales.get_sales_order(code)
    form = _posted(await request.form())
    try:
        await changes.make_change(code, OrderChangeIn.model_validate(_change_input(order, form)), actor)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await _order_page(request, code, errors=_messages(request, exc), status_code=_status(exc), change=form)
    return Redirect(f"/sales-orders/{code}?{urlencode({'done': 'change'})}", status_code=HTTP_303_SEE_OTHER)


# -- approvals ------------------------------------------------------------------------------------------------------------

@get("/sales-orders/approvals", guards=[requires("sales.approve")], include_in_schema=False)
async def approvals(request: Request, page: PageNumber = 1) -> Template:
    """The orders an approver must decide on, each with why the review did not approve it."""
    listing = await sales.list_sales_orders(awaiting_approval=True, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    waiting = []
    for order in listing["items"]:
        history = await sales.order_history(order.code)
        review = history.reviews[-1] if history.reviews else None
        waiting.append((order, [c for c in (review.checks if review else []) if not c.passed], review))
    return render(request, "sales_approvals.html", waiting=waiting, total=listing["total"], page=page,
                  pages=_pages(listing["total"]), show=display, done=request.query_params.get("done"),
                  done_order=request.query_params.get("order", ""),
                  page_url=lambda number: "/sales-orders/approvals?" + urlencode({"page": number}))


# -- tracking and the customer's figures ------------------------------------------------------------------------------------------

@get("/sales-orders/{code:str}/tracking", guards=[requires("sales.read")], include_in_schema=False)
async def tracking_page(request: Request, code: CodePath) -> Template:
    """One order from entry to signed delivery: how far each line got, and the work going on for it."""
    return render(request, "sales_tracking.html", tracking=await tracking.order_tracking(code), show=display)


@get("/customers/{code:str}/orders", guards=[requires("sales.read")], include_in_schema=False)
async def customer_page(request: Request, code: CodePath) -> Template:
    """A customer's figures (exposure against the limit, open value, volume, on-time rate) and recent orders."""
    return render(request, "sales_customer.html", summary=await tracking.customer_summary(code), show=display)


# -- the review policy ---------------------------------------------------------------------------------------------------------

def _policy_values(policy: Any) -> dict[str, Any]:
    return {"credit_check": policy.credit_check, "discount_check": policy.discount_check,
            "max_discount_pct": display(policy.max_discount_pct, "decimal"), "auto_approve": policy.auto_approve,
            "approvers": {check: list(policy.approvers.get(check, sales.DEFAULT_APPROVERS)) for check in CHECK_NAMES}}


@get("/sales-policy", guards=[requires("sales.policy")], include_in_schema=False)
async def policy_form(request: Request) -> Template:
    policy = await sales.get_policy()
    return render(request, "sales_policy.html", values=_policy_values(policy), policy=policy, errors=FormErrors(),
                  checks=CHECK_NAMES, roles=APPROVER_ROLES, done=request.query_params.get("done"))


@post("/sales-policy", guards=[requires("sales.policy")], include_in_schema=False)
async def save_policy(request: Request) -> Template | Redirect:
    actor = request.user
    form = await request.form()
    values: dict[str, Any] = {
        "credit_check": form.get("credit_check") == "true", "discount_check": form.get("discount_check") == "true",
        "auto_approve": form.get("auto_approve") == "true",
        "max_discount_pct": str(form.get("max_discount_pct") or "").strip(),
        "approvers": {check: [str(r) for r in form.getall(f"approvers-{check}", [])] for check in CHECK_NAMES},
    }
    try:
        await sales.set_policy(SalesPolicyIn.model_validate(values), actor)
    except (ApiError, ValidationError) as exc:
        errors = explain(exc, FormErrors(), language_of(request))
        return render(request, "sales_policy.html", status_code=_status(exc), values=values,
                      policy=await sales.get_policy(), errors=errors, checks=CHECK_NAMES, roles=APPROVER_ROLES, done=None)
    return Redirect("/sales-policy?done=save", status_code=HTTP_303_SEE_OTHER)


SALES_HANDLERS = [sales_list, customer_defaults, new_sales_form, create_sales, approvals, edit_sales_form,
                  update_sales, sales_detail, sales_action, record_payment, plan_shipment, preview_change, preview_cancel, make_change,
                  tracking_page, customer_page, policy_form, save_policy]
