"""Sales orders and shipments in the office. Sales orders: the list, a draft form with lines, an order with
submit / approve / reject / cancel / close and a form that plans a shipment from its open lines. Shipments: the list, and a shipment with its lines, FEFO pick list, handling units (SSCC labels) and, once
signed for, the proof of delivery (signature, hash, whether the chain verifies). Every write calls the same service
function as the REST API."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.sales import SalesOrderIn, SalesOrderOut
from schemas.shipping import ShipmentIn
from server.errors import ApiError
from server.masterdata.tables import Customer, Item, Site, Warehouse
from server.sales import rules as sales_rules
from server.sales import service as sales
from server.shipping import rules as shipping_rules
from server.shipping import service as shipping
from server.web.forms import FormErrors, display, explain
from server.web.render import current_user, ensure_may, language_of, render

PAGE_SIZE = 25
BLANK_LINES = 3
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
StatusFilter = Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")]
PageNumber = Annotated[int, Parameter(ge=1, le=10**6)]
LINE_FIELDS = ("item", "quantity", "due_date")
ORDER_ACTIONS = {"submit": sales.submit, "approve": sales.approve, "reject": sales.reject,
                 "cancel": sales.cancel_sales_order, "close": sales.close_sales_order}
# Who may press each button: approving and rejecting are an approver's.
ACTION_PERMISSION = {"approve": "sales.approve", "reject": "sales.approve"}


def _messages(request: Request, exc: ApiError | ValidationError) -> list[str]:
    problems = explain(exc, FormErrors(), language_of(request))
    return [*problems.general, *(m for ms in problems.fields.values() for m in ms)]


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# -- sales orders ----------------------------------------------------------------------------------------------------
@get("/sales-orders", include_in_schema=False)
async def sales_list(request: Request, status: StatusFilter = None, page: PageNumber = 1) -> Template:
    user = ensure_may(request, "sales.read")
    status = status if status in sales_rules.SO_STATUSES else None
    listing = await sales.list_sales_orders(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {"status": status} if status else {}
    return render(request, "sales_list.html", orders=listing["items"], total=listing["total"], page=page,
                  pages=_pages(listing["total"]), status=status or "", statuses=sales_rules.SO_STATUSES,
                  may_write=user.may("sales.write"), show=display,
                  page_url=lambda number: "/sales-orders?" + urlencode({**params, "page": number}))


def _order_actions(order: SalesOrderOut, request: Request) -> list[str]:
    user = current_user(request)
    targets = sales_rules.TRANSITIONS[order.status]
    awaiting = order.awaiting_approval
    offered = {"submit": order.status == sales_rules.DRAFT, "approve": awaiting, "reject": awaiting,
               "cancel": sales_rules.CANCELLED in targets, "close": sales_rules.CLOSED in targets}
    return [name for name, shown in offered.items()
            if shown and user is not None and user.may(ACTION_PERMISSION.get(name, "sales.write"))]


async def _order_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200,
                      plan: dict[str, str] | None = None) -> Template:
    ensure_may(request, "sales.read")
    order = await sales.get_sales_order(code)
    user = current_user(request)
    shipments = (await shipping.list_shipments(sales_order=code, limit=100))["items"]
    warehouses = await Warehouse.select(Warehouse.code).where(
        (Warehouse.site == order.site) & (Warehouse.archived == False)).order_by(Warehouse.code)  # noqa: E712
    may_ship = (order.status in sales_rules.SHIPPABLE and user is not None and user.may("shipping.write"))
    return render(request, "sales_detail.html", status_code=status_code, order=order, show=display,
                  actions=_order_actions(order, request), errors=errors or [], shipments=shipments, may_ship=may_ship,
                  warehouses=[w["code"] for w in warehouses], plan=plan or {}, done=request.query_params.get("done"))


@get("/sales-orders/{code:str}", include_in_schema=False)
async def sales_detail(request: Request, code: CodePath) -> Template:
    return await _order_page(request, code)


@post([f"/sales-orders/{{code:str}}/{action}" for action in ORDER_ACTIONS], include_in_schema=False)
async def sales_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    actor = ensure_may(request, ACTION_PERMISSION.get(action, "sales.write"))
    version = str((await request.form()).get("version") or "")
    try:
        await ORDER_ACTIONS[action](code, actor, int(version) if version.isdigit() else None)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _order_page(request, code, errors=_messages(request, exc), status_code=exc.status_code)
    return Redirect(f"/sales-orders/{code}?{urlencode({'done': action})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/{code:str}/ship", include_in_schema=False)
async def plan_shipment(request: Request, code: CodePath) -> Template | Redirect:
    """The plan-a-shipment form: a quantity per open line (empty or 0 = not on this shipment)."""
    actor = ensure_may(request, "shipping.write")
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    lines = [{"line_no": m.group(1), "quantity": value} for key, value in form.items()
             if (m := re.fullmatch(r"ship-(\d+)", key)) and value and value != "0"]
    data = {"sales_order": code, "ship_from": form.get("ship_from", ""), "route": form.get("route") or None, "lines": lines}
    try:
        created = await shipping.create_shipment(ShipmentIn.model_validate(data), actor)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        status = exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY
        return await _order_page(request, code, errors=_messages(request, exc), status_code=status, plan=form)
    return Redirect(f"/shipments/{created.code}?{urlencode({'done': 'plan'})}", status_code=HTTP_303_SEE_OTHER)


async def _form_page(request: Request, values: dict[str, str], lines: list[dict[str, str]], errors: FormErrors | None = None,
                     status_code: int = 200) -> Template:
    customers = await Customer.select(Customer.code, Customer.name).where(Customer.archived == False).order_by(Customer.code)  # noqa: E712
    sites = await Site.select(Site.code).where(Site.archived == False).order_by(Site.code)  # noqa: E712
    items = await Item.select(Item.code).where(Item.archived == False).order_by(Item.code).limit(2000)  # noqa: E712
    return render(request, "sales_form.html", status_code=status_code, values=values, lines=lines,
                  errors=errors or FormErrors(), customers=customers, sites=[s["code"] for s in sites],
                  items=[i["code"] for i in items])


@get("/sales-orders/new", include_in_schema=False)
async def new_sales_form(request: Request) -> Template:
    ensure_may(request, "sales.write")
    due = (date.today() + timedelta(days=14)).isoformat()
    return await _form_page(request, {"site": "NB1"}, [{"due_date": due} for _ in range(BLANK_LINES)])


@post("/sales-orders/new", include_in_schema=False)
async def create_sales(request: Request) -> Template | Redirect:
    actor = ensure_may(request, "sales.write")
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {k: v for k, v in form.items() if k in ("customer", "site", "notes")}
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"lines-(\d+)-(\w+)", key)) and m.group(2) in LINE_FIELDS:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
    lines = [rows[i] for i in sorted(rows) if rows[i].get("item") or rows[i].get("quantity")]
    errors = FormErrors()
    try:
        data = SalesOrderIn.model_validate({**{k: v for k, v in values.items() if v or k == "notes"},
                                            "lines": [{k: v for k, v in line.items() if v} for line in lines]})
        created = await sales.create_sales_order(data, actor)
    except (ApiError, ValidationError) as exc:
        explain(exc, errors, language_of(request))
        status = exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY
        return await _form_page(request, values, lines + [{}], errors, status)
    return Redirect(f"/sales-orders/{created.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


# -- shipments -------------------------------------------------------------------------------------------------------
@get("/shipments", include_in_schema=False)
async def shipping_list(request: Request, status: StatusFilter = None, page: PageNumber = 1) -> Template:
    ensure_may(request, "shipping.read")
    status = status if status in shipping_rules.SHIPMENT_STATUSES else None
    listing = await shipping.list_shipments(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {"status": status} if status else {}
    return render(request, "shipping_list.html", shipments=listing["items"], total=listing["total"], page=page,
                  pages=_pages(listing["total"]), status=status or "", statuses=shipping_rules.SHIPMENT_STATUSES,
                  show=display, page_url=lambda number: "/shipments?" + urlencode({**params, "page": number}))


async def _shipment_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200) -> Template:
    ensure_may(request, "shipping.read")
    shipment = await shipping.get_shipment(code)
    user = current_user(request)
    proof = verification = None
    if shipment.status == shipping_rules.DELIVERED:
        proof = await shipping.get_proof(code)
        # The chain up to this proof: an edit anywhere before it, or in it, shows here.
        verification = await shipping.verify_chain(through_sequence=proof.sequence)
    may_cancel = (user is not None and user.may("shipping.write")
                  and shipping_rules.cancel_refusal(shipment.status, len(shipment.handling_units)) is None)
    packed = sum((line.packed_quantity for line in shipment.lines), Decimal(0))
    ordered = sum((line.quantity for line in shipment.lines), Decimal(0))
    return render(request, "shipping_detail.html", status_code=status_code, shipment=shipment, proof=proof,
                  verification=verification, may_cancel=may_cancel, errors=errors or [], show=display,
                  progress=int(packed * 100 / ordered) if ordered else 0, done=request.query_params.get("done"))


@get("/shipments/{code:str}", include_in_schema=False)
async def shipping_detail(request: Request, code: CodePath) -> Template:
    return await _shipment_page(request, code)


@post("/shipments/{code:str}/cancel", include_in_schema=False)
async def shipping_cancel(request: Request, code: CodePath) -> Template | Redirect:
    actor = ensure_may(request, "shipping.write")
    try:
        await shipping.cancel_shipment(code, actor)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _shipment_page(request, code, errors=_messages(request, exc), status_code=exc.status_code)
    return Redirect(f"/shipments/{code}?{urlencode({'done': 'cancel'})}", status_code=HTTP_303_SEE_OTHER)


SHIPPING_HANDLERS = [sales_list, new_sales_form, create_sales, sales_detail, sales_action, plan_shipment,
                     shipping_list, shipping_detail, shipping_cancel]
