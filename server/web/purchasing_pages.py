"""Purchase orders in the office: the list (status filter, paging), a PO with its lines and receipt progress, the
form for a draft with its lines, and approve / cancel / close buttons for those who may; its PDF, the button that
sends it to the supplier (e-mail or outbox) with the message log, and the form recording the supplier's confirmation
per line (a confirmation that differs from the order is marked on its line). Every write calls the same
`server.purchasing.service` function as the REST API, so it is checked, audited and fed to devices the same way."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.purchasing import ConfirmationIn, PurchaseOrderIn, PurchaseOrderOut, PurchaseOrderPatch
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.tables import Item, Site, Supplier
from server.mail import service as mail
from server.purchasing import sending, service
from server.purchasing.rules import ACTION_PERMISSION, LINE_OPEN, PO_STATUSES, RECEIVABLE, open_actions, send_refusal
from server.web.actions import messages, posted_version, run_action
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.forms import FormErrors, display, explain
from server.web.mail_pages import send_from_page
from server.web.render import language_of, render, requires_for

PAGE_SIZE = 25
BLANK_LINES = 3
HEADER_FIELDS = ("code", "supplier", "site", "currency", "notes", "allow_unlisted_item")
LINE_FIELDS = ("line_no", "item", "quantity", "unit_price", "due_date", "sales_order", "production_order")
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
ACTIONS = {"approve": service.approve_purchase_order, "cancel": service.cancel_purchase_order,
           "close": service.close_purchase_order}


def _progress(po: PurchaseOrderOut) -> dict[str, Any]:
    ordered = sum(line.quantity for line in po.lines)
    received = sum(line.received_quantity for line in po.lines)
    return {"ordered": display(ordered, "decimal"), "received": display(received, "decimal"),
            "pct": int(min(received, ordered) * 100 / ordered) if ordered else 0}


@get("/purchase-orders", guards=[requires("purchasing.read")], include_in_schema=False)
async def purchase_list(
    request: Request,
    status: Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")] = None,
    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1,
) -> Template:
    user = request.user
    status = status if status in PO_STATUSES else None
    listing = await service.list_purchase_orders(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {"status": status} if status else {}
    return render(
        request, "purchase_list.html",
        orders=[(po, _progress(po)) for po in listing["items"]],
        total=listing["total"], page=page, pages=max(1, -(-listing["total"] // PAGE_SIZE)),
        status=status or "", statuses=PO_STATUSES, may_write=user.may("purchasing.write"),
        page_url=lambda number: "/purchase-orders?" + urlencode({**params, "page": number}),
        done=request.query_params.get("done"),
    )


async def _detail_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200,
                       confirmation: dict[str, str] | None = None) -> Template:
    po = await service.get_purchase_order(code)
    open_now = open_actions(po.status, request.user.permissions)
    may_write = request.user.may("purchasing.write")
    goes_out = send_refusal(po.status) is None
    return render(
        request, "purchase_detail.html", status_code=status_code, po=po, progress=_progress(po),
        actions=[name for name in open_now if name in ACTIONS], errors=errors or [], on_devices=po.status in RECEIVABLE,
        may_edit="edit" in open_now, may_write=may_write, may_send=may_write and goes_out,
        may_confirm=may_write and goes_out and any(line.status == LINE_OPEN for line in po.lines),
        confirmation=confirmation or {}, messages=await mail.messages_of(service.ENTITY, code),
        show=display, done=request.query_params.get("done"),
    )


@get("/purchase-orders/{code:str}", guards=[requires("purchasing.read")], include_in_schema=False)
async def purchase_detail(request: Request, code: CodePath) -> Template:
    return await _detail_page(request, code)


def _action_permission(connection: ASGIConnection) -> str:
    return ACTION_PERMISSION.get(connection.url.path.rsplit("/", 1)[-1], "purchasing.write")


@post([f"/purchase-orders/{{code:str}}/{action}" for action in ACTIONS], guards=[requires_for(_action_permission)],
      include_in_schema=False)
async def purchase_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    version = posted_version(await request.form())
    return await run_action(request, lambda: ACTIONS[action](code, office_who(request), version),
                            lambda **shown: _detail_page(request, code, **shown),
                            f"/purchase-orders/{code}?{urlencode({'done': action})}")


@post("/purchase-orders/{code:str}/mail", guards=[requires("purchasing.write")], include_in_schema=False)
async def purchase_mail(request: Request, code: CodePath) -> Template | Redirect:
    version = posted_version(await request.form())
    return await send_from_page(request, lambda who: sending.send_purchase_order(code, who, version=version),
                                lambda **shown: _detail_page(request, code, **shown),
                                f"/purchase-orders/{code}?{urlencode({'done': 'mail'})}")


def _confirmation_input(form: dict[str, str]) -> dict[str, Any]:
    """Per line `confirm-<no>-quantity` and `confirm-<no>-date`; a line left blank is not confirmed."""
    lines: dict[int, dict[str, Any]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"confirm-(\d+)-(quantity|date)", key)) and value:
            lines.setdefault(int(m.group(1)), {"line_no": int(m.group(1))})[f"confirmed_{m.group(2)}"] = value
    return {"lines": [lines[n] for n in sorted(lines)], "version": form.get("version") or None}


@post("/purchase-orders/{code:str}/confirmation", guards=[requires("purchasing.write")], include_in_schema=False)
async def purchase_confirmation(request: Request, code: CodePath) -> Template | Redirect:
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        data = ConfirmationIn.model_validate(_confirmation_input(form))
    except ValidationError as exc:
        return await _detail_page(request, code, errors=messages(request, exc), confirmation=form,
                                  status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return await run_action(request, lambda: service.confirm_purchase_order(code, data, office_who(request)),
                            lambda **shown: _detail_page(request, code, confirmation=form, **shown),
                            f"/purchase-orders/{code}?{urlencode({'done': 'confirm'})}")


async def _choices() -> dict[str, list[str]]:
    suppliers = await active_records(Supplier)
    sites = await active_records(Site)
    items = await active_records(Item, limit=MAX_ITEM_SUGGESTIONS)
    return {"supplier": [r["code"] for r in suppliers], "site": [r["code"] for r in sites], "item": [r["code"] for r in items]}


async def _form_page(request: Request, *, code: str | None, values: dict[str, str], lines: list[dict[str, str]],
                     errors: FormErrors | None = None, status_code: int = 200) -> Template:
    return render(request, "purchase_form.html", status_code=status_code, code=code, values=values, lines=lines,
                  errors=errors or FormErrors(), choices=await _choices())


def _line_text(po: PurchaseOrderOut) -> list[dict[str, str]]:
    return [{name: display(getattr(line, name), "decimal") for name in LINE_FIELDS} for line in po.lines]


@get("/purchase-orders/new", guards=[requires("purchasing.write")], include_in_schema=False)
async def new_purchase_form(request: Request) -> Template:
    return await _form_page(request, code=None, values={"site": "NB1"}, lines=[{} for _ in range(BLANK_LINES)])


@get("/purchase-orders/{code:str}/edit", guards=[requires("purchasing.write")], include_in_schema=False)
async def edit_purchase_form(request: Request, code: CodePath) -> Template | Redirect:
    po = await service.get_purchase_order(code)
    if po.status != "draft":
        return Redirect(f"/purchase-orders/{code}", status_code=HTTP_303_SEE_OTHER)
    values = {name: display(getattr(po, name), "text") for name in HEADER_FIELDS if hasattr(po, name)} | {"version": str(po.version)}
    return await _form_page(request, code=code, values=values, lines=_line_text(po) + [{}])


def _posted_lines(form: dict[str, str]) -> list[dict[str, str]]:
    """Rows posted as lines-<n>-<field>, in order; a row left blank is no line."""
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if m := re.fullmatch(r"lines-(\d+)-(\w+)", key):
            if m.group(2) in LINE_FIELDS:
                rows.setdefault(int(m.group(1)), {})[m.group(2)] = value.strip()
    return [rows[i] for i in sorted(rows) if any(rows[i].values())]


def _contract_input(values: dict[str, str], lines: list[dict[str, str]]) -> dict[str, Any]:
    """Posted text as the contract takes it: empty optional fields are absent (or None), never ''."""
    data: dict[str, Any] = {k: v for k, v in values.items() if k in HEADER_FIELDS and (v or k == "notes")}
    data["lines"] = [{k: v for k, v in line.items() if v} for line in lines]
    return data


async def _save(request: Request, code: str | None) -> Template | Redirect:
    who = office_who(request)
    form = {k: v.strip() if k != "notes" else v for k, v in (await request.form()).items() if isinstance(v, str)}
    values = {k: v for k, v in form.items() if not k.startswith(("lines-", "_"))}
    lines = _posted_lines(form)
    if form.get("_action") == "more_lines":
        return await _form_page(request, code=code, values=values, lines=lines + [{} for _ in range(BLANK_LINES)])
    errors, data = FormErrors(), _contract_input(values, lines)
    try:
        async with write_transaction():
            if code is None:
                saved = await service.create_purchase_order(PurchaseOrderIn.model_validate(data), who)
            else:
                data.pop("code", None)
                data["version"] = values.get("version") or "0"
                saved = await service.update_purchase_order(code, PurchaseOrderPatch.model_validate(data), who)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        explain(exc, errors, language_of(request))
        return await _form_page(request, code=code, values=values, lines=lines + [{}], errors=errors,
                                status_code=exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/purchase-orders/{saved.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


@post("/purchase-orders/new", guards=[requires("purchasing.write")], include_in_schema=False)
async def create_purchase(request: Request) -> Template | Redirect:
    return await _save(request, None)


@post("/purchase-orders/{code:str}/edit", guards=[requires("purchasing.write")], include_in_schema=False)
async def update_purchase(request: Request, code: CodePath) -> Template | Redirect:
    return await _save(request, code)


PURCHASING_HANDLERS = [purchase_list, new_purchase_form, create_purchase, purchase_detail, edit_purchase_form,
                       update_purchase, purchase_action, purchase_mail, purchase_confirmation]
