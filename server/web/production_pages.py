"""Production orders in the office: the list (status filter, paging), an order with its operations (progress bars
and figures) and materials (required against issued, over-issue flagged), the form for a new draft, release /
cancel / close buttons for those who may, and the traveller to print. Every write calls the same
`server.production.service` function as the REST API, so it is checked, audited and fed to devices the same way;
a supervisor may also book an issue or an operation's report at a desk, as a tablet would."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.production import ProductionOrderIn, ProductionReportArgs, StockIssueArgs
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.tables import Bom, Site
from server.production import service
from server.production.execution import issue_material, report_production
from server.production.rules import ON_THE_FLOOR, ORDER_STATUSES, open_actions
from server.web.actions import posted_version, run_action
from server.web.choices import active_records
from server.web.forms import FormErrors, display, explain
from server.web.render import language_of, render

PAGE_SIZE = 25
FORM_FIELDS = ("code", "item", "quantity", "site", "due_date", "notes")
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
ACTIONS = {"release": service.release_production_order, "cancel": service.cancel_production_order,
           "close": service.close_production_order}


@get("/production-orders", guards=[requires("production.read")], include_in_schema=False)
async def production_list(
    request: Request,
    status: Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")] = None,
    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1,
) -> Template:
    user = request.user
    status = status if status in ORDER_STATUSES else None
    listing = await service.list_production_orders(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {"status": status} if status else {}
    return render(
        request, "production_list.html", orders=listing["items"], total=listing["total"], page=page,
        pages=max(1, -(-listing["total"] // PAGE_SIZE)), status=status or "", statuses=ORDER_STATUSES,
        may_write=user.may("production.write"), show=display,
        page_url=lambda number: "/production-orders?" + urlencode({**params, "page": number}),
    )


async def _detail_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200,
                       typed: dict[str, dict[str, str]] | None = None) -> Template:
    order = await service.get_production_order(code)
    open_now = open_actions(order.status, request.user.permissions)
    return render(
        request, "production_detail.html", status_code=status_code, order=order,
        actions=[name for name in open_now if name in ACTIONS], errors=errors or [],
        on_devices=order.status in ON_THE_FLOOR, show=display, done=request.query_params.get("done"), typed=typed or {},
        may_book="issue" in open_now,
    )


@get("/production-orders/{code:str}", guards=[requires("production.read")], include_in_schema=False)
async def production_detail(request: Request, code: CodePath) -> Template:
    return await _detail_page(request, code)


@post([f"/production-orders/{{code:str}}/{action}" for action in ACTIONS], guards=[requires("production.write")],
      include_in_schema=False)
async def production_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    version = posted_version(await request.form())
    return await run_action(request, lambda: ACTIONS[action](code, office_who(request), version),
                            lambda **shown: _detail_page(request, code, **shown),
                            f"/production-orders/{code}?{urlencode({'done': action})}")


async def _choices() -> dict[str, list[str]]:
    """Items that can be made (an active BOM), and sites."""
    boms = await active_records(Bom, Bom.item)
    return {"item": sorted({r["item"] for r in boms}), "site": [r["code"] for r in await active_records(Site)]}


async def _form_page(request: Request, *, values: dict[str, str], errors: FormErrors | None = None,
                     status_code: int = 200) -> Template:
    return render(request, "production_form.html", status_code=status_code, values=values, errors=errors or FormErrors(),
                  choices=await _choices())


@get("/production-orders/new", guards=[requires("production.write")], include_in_schema=False)
async def new_production_form(request: Request) -> Template:
    return await _form_page(request, values={"site": "NB1"})


@post("/production-orders/new", guards=[requires("production.write")], include_in_schema=False)
async def create_production(request: Request) -> Template | Redirect:
    who = office_who(request)
    form = {k: v.strip() if k != "notes" else v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {k: v for k, v in form.items() if k in FORM_FIELDS}
    data: dict[str, Any] = {k: v for k, v in values.items() if v or k == "notes"}
    errors = FormErrors()
    try:
        async with write_transaction():
            created = await service.create_production_order(ProductionOrderIn.model_validate(data), who)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        explain(exc, errors, language_of(request))
        return await _form_page(request, values=values, errors=errors,
                                status_code=exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/production-orders/{created.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


ISSUE_FIELDS = ("item", "lot", "location", "quantity")
REPORT_FIELDS = ("operation", "good_quantity", "scrap_quantity", "scrap_reason", "location", "lot")
BOOKINGS = {"issue": (StockIssueArgs, ISSUE_FIELDS, issue_material),
            "report": (ProductionReportArgs, REPORT_FIELDS, report_production)}


@post([f"/production-orders/{{code:str}}/{booking}" for booking in BOOKINGS], guards=[requires("production.write")],
      include_in_schema=False)
async def book_at_desk(request: Request, code: CodePath) -> Template | Redirect:
    """A supervisor books an issue or an operation's report at a desk: the same function a tablet's `stock.issue` /
    `production.report` reaches, in one transaction, audited under the supervisor's name."""
    booking = request.url.path.rsplit("/", 1)[-1]
    who = office_who(request)
    contract, fields, book = BOOKINGS[booking]
    form = await request.form()
    typed = {name: str(form.get(name) or "").strip() for name in fields}
    try:
        args = contract.model_validate({"production_order": code, **{k: v for k, v in typed.items() if v}})
        async with write_transaction():
            await book(args, who)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        problems = explain(exc, FormErrors(), language_of(request))
        messages = [*problems.general, *(f"{name}: {m}" for name, ms in problems.fields.items() for m in ms)]
        return await _detail_page(request, code, errors=messages, status_code=HTTP_422_UNPROCESSABLE_ENTITY,
                                  typed={booking: typed})
    return Redirect(f"/production-orders/{code}?{urlencode({'done': booking})}", status_code=HTTP_303_SEE_OTHER)


PRODUCTION_HANDLERS = [production_list, new_production_form, create_production, production_detail, production_action,
                       book_at_desk]
