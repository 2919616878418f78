"""Requests for quotation in the office: the list, the form for a new RFQ (site, needed-by date, suppliers asked,
lines), and an RFQ's page with its lines, the quote form for a supplier asked (a price break per line on the page;
the API takes more), the comparison table with the recommended quote, the send, cancel and award buttons, and its
PDFs, the button that e-mails it to every supplier asked (or puts it in the outbox) and its message log. Every
write calls the same `server.purchasing.rfqs` function as the REST API."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.purchasing import AwardIn, QuoteIn, RfqIn
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.tables import Item, Site, Supplier
from server.mail import service as mail
from server.purchasing import rfqs, sending
from server.purchasing.rfq_rules import DRAFT, RFQ_STATUSES, SENT, open_actions
from server.web.actions import messages, posted_version, run_action
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.forms import FormErrors, display, explain
from server.web.mail_pages import send_from_page
from server.web.render import language_of, render

PAGE_SIZE = 25
BLANK_LINES = 3
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
ACTIONS = {"send": rfqs.send_rfq, "cancel": rfqs.cancel_rfq}


@get("/rfqs", guards=[requires("purchasing.read")], include_in_schema=False)
async def rfq_list(
    request: Request,
    status: Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")] = None,
    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1,
) -> Template:
    status = status if status in RFQ_STATUSES else None
    listing = await rfqs.list_rfqs(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {"status": status} if status else {}
    return render(
        request, "rfq_list.html", rfqs=listing["items"], total=listing["total"], page=page,
        pages=max(1, -(-listing["total"] // PAGE_SIZE)), status=status or "", statuses=RFQ_STATUSES,
        may_write=request.user.may("purchasing.write"),
        page_url=lambda number: "/rfqs?" + urlencode({**params, "page": number}),
    )


async def _detail_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200,
                       quote_values: dict[str, str] | None = None) -> Template:
    rfq = await rfqs.get_rfq(code)
    comparison = await rfqs.compare_quotes(code)
    return render(
        request, "rfq_detail.html", status_code=status_code, rfq=rfq, comparison=comparison,
        actions=open_actions(rfq.status, request.user.permissions), errors=errors or [],
        quote_values=quote_values or {}, show=display, done=request.query_params.get("done"),
        may_update_suppliers=request.user.may("suppliers.write"), may_write=request.user.may("purchasing.write"),
        may_mail=request.user.may("purchasing.write") and rfq.status in (DRAFT, SENT),
        messages=await mail.messages_of(rfqs.ENTITY, code),
    )


@get("/rfqs/{code:str}", guards=[requires("purchasing.read")], include_in_schema=False)
async def rfq_detail(request: Request, code: CodePath) -> Template:
    return await _detail_page(request, code)


@post([f"/rfqs/{{code:str}}/{action}" for action in ACTIONS], guards=[requires("purchasing.write")],
      include_in_schema=False)
async def rfq_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    version = posted_version(await request.form())
    return await run_action(request, lambda: ACTIONS[action](code, office_who(request), version),
                            lambda **shown: _detail_page(request, code, **shown),
                            f"/rfqs/{code}?{urlencode({'done': action})}")


@post("/rfqs/{code:str}/mail", guards=[requires("purchasing.write")], include_in_schema=False)
async def rfq_mail(request: Request, code: CodePath) -> Template | Redirect:
    version = posted_version(await request.form())
    return await send_from_page(request, lambda who: sending.send_rfq(code, who, version=version),
                                lambda **shown: _detail_page(request, code, **shown),
                                f"/rfqs/{code}?{urlencode({'done': 'mail'})}")


def _quote_input(form: dict[str, str]) -> dict[str, Any]:
    """The quote form as the contract takes it: per line `lines-<no>-unit_price`, `-min_quantity`, and one price
    break (`-break_quantity`, `-break_price`); empty fields are absent."""
    lines: dict[int, dict[str, Any]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"lines-(\d+)-(\w+)", key)) and value:
            lines.setdefault(int(m.group(1)), {"line_no": int(m.group(1))})[m.group(2)] = value
    for line in lines.values():
        quantity, price = line.pop("break_quantity", None), line.pop("break_price", None)
        if quantity or price:
            line["price_breaks"] = [{"min_quantity": quantity, "unit_price": price}]
    data: dict[str, Any] = {k: form[k] for k in ("lead_time_days", "valid_until", "notes") if form.get(k)}
    data["lines"] = [lines[n] for n in sorted(lines)]
    return data


@post("/rfqs/{code:str}/quotes", guards=[requires("purchasing.write")], include_in_schema=False)
async def rfq_quote(request: Request, code: CodePath) -> Template | Redirect:
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        async with write_transaction():
            await rfqs.record_quote(code, form.get("supplier", ""), QuoteIn.model_validate(_quote_input(form)),
                                    office_who(request))
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await _detail_page(request, code, errors=messages(request, exc), quote_values=form,
                                  status_code=exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/rfqs/{code}?{urlencode({'done': 'quote'})}", status_code=HTTP_303_SEE_OTHER)


@post("/rfqs/{code:str}/award", guards=[requires("purchasing.write")], include_in_schema=False)
async def rfq_award(request: Request, code: CodePath) -> Template | Redirect:
    form = await request.form()
    update = form.get("update_supplier_items") == "true" and request.user.may("suppliers.write")
    try:
        award = AwardIn(supplier=str(form.get("supplier") or ""), update_supplier_items=update,
                        version=posted_version(form))
    except ValidationError as exc:
        return await _detail_page(request, code, errors=messages(request, exc), status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return await run_action(request, lambda: rfqs.award_rfq(code, award, office_who(request)),
                            lambda **shown: _detail_page(request, code, **shown),
                            f"/rfqs/{code}?{urlencode({'done': 'award'})}")


async def _form_page(request: Request, *, values: dict[str, Any], lines: list[dict[str, str]],
                     errors: FormErrors | None = None, status_code: int = 200) -> Template:
    choices = {"site": [r["code"] for r in await active_records(Site)],
               "supplier": [(r["code"], r["name"]) for r in await active_records(Supplier, Supplier.name)],
               "item": [r["code"] for r in await active_records(Item, limit=MAX_ITEM_SUGGESTIONS)]}
    return render(request, "rfq_form.html", status_code=status_code, values=values, lines=lines,
                  errors=errors or FormErrors(), choices=choices)


@get("/rfqs/new", guards=[requires("purchasing.write")], include_in_schema=False)
async def new_rfq_form(request: Request) -> Template:
    return await _form_page(request, values={"site": "NB1", "suppliers": []}, lines=[{} for _ in range(BLANK_LINES)])


@post("/rfqs/new", guards=[requires("purchasing.write")], include_in_schema=False)
async def create_rfq(request: Request) -> Template | Redirect:
    form = await request.form()
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in ("site", "needed_by", "currency", "notes")}
    values["suppliers"] = [str(s) for s in form.getall("suppliers")] if "suppliers" in form else []
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        if (m := re.fullmatch(r"lines-(\d+)-(item|quantity)", key)) and isinstance(value, str):
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value.strip()
    lines = [rows[i] for i in sorted(rows) if any(rows[i].values())]
    if form.get("_action") == "more_lines":
        return await _form_page(request, values=values, lines=lines + [{} for _ in range(BLANK_LINES)])
    data = {k: v for k, v in values.items() if v or k == "notes"} | {"lines": lines}
    errors = FormErrors()
    try:
        async with write_transaction():
            saved = await rfqs.create_rfq(RfqIn.model_validate(data), office_who(request))
    except (ValidationError, ApiError) as exc:
        explain(exc, errors, language_of(request))
        return await _form_page(request, values=values, lines=lines + [{}], errors=errors,
                                status_code=exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/rfqs/{saved.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


RFQ_HANDLERS = [rfq_list, new_rfq_form, create_rfq, rfq_detail, rfq_action, rfq_mail, rfq_quote, rfq_award]
