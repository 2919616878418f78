"""Price lists, contracts and quotes in the office: a list, a form and a detail page each. A quote's page offers
submit / approve / reject / convert (as the reader's role allows) and its PDF; a contract's shows the orders placed
under it and what they called off. Every write calls the same service function as the REST API."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.connection import ASGIConnection
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, ValidationError

from schemas.pricing import ContractIn, PriceListIn, QuoteConvert, QuoteEdit, QuoteIn
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import translate
from server.masterdata.tables import Customer, Item, Site
from server.sales import rules
from server.sales.pricing import contracts, price_lists, quotes
from server.web.actions import messages
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.forms import FormErrors, display, explain
from server.web.render import current_user, language_of, render, requires_for
from server.web.sales_common import BLANK_LINES, PAGE_SIZE, CodePath, PageNumber, action_permission, page_count


@dataclass(frozen=True)
class Input:
    name: str
    label: str  # i18n key
    kind: str = "text"  # text, date, number, decimal, select, textarea
    options: str = ""  # for a select: which list of choices the page passes ("customers", "sites")
    required: bool = False


@dataclass(frozen=True)
class FormSpec:
    """One office form: its header inputs and the columns of its lines."""

    path: str
    title: str
    fields: tuple[Input, ...]
    columns: tuple[Input, ...]


PRICE_LIST_FORM = FormSpec("/price-lists/new", "pricing.new_price_list", (
    Input("code", "field.code", required=True), Input("name", "field.name", required=True),
    Input("currency", "pricing.currency", required=True), Input("valid_from", "pricing.valid_from", "date", required=True),
    Input("valid_to", "pricing.valid_to", "date"), Input("grade_A", "pricing.grade_A", "decimal"),
    Input("grade_B", "pricing.grade_B", "decimal"), Input("grade_C", "pricing.grade_C", "decimal"),
), (Input("item", "field.item"), Input("list_price", "pricing.list_price", "decimal"),
    Input("breaks", "pricing.breaks")))
CONTRACT_FORM = FormSpec("/contracts/new", "pricing.new_contract", (
    Input("code", "field.code", required=True), Input("customer", "so.customer", "select", "customers", True),
    Input("valid_from", "pricing.valid_from", "date", required=True),
    Input("valid_to", "pricing.valid_to", "date", required=True),
    Input("payment_terms_days", "pricing.payment_terms_days", "number"), Input("notes", "so.notes", "textarea"),
), (Input("item", "field.item"), Input("agreed_price", "pricing.agreed_price", "decimal"),
    Input("agreed_quantity", "pricing.agreed_quantity", "decimal")))
QUOTE_FORM = FormSpec("/quotes/new", "quote.new", (
    Input("customer", "so.customer", "select", "customers", True), Input("site", "field.site", "select", "sites", True),
    Input("contract", "quote.contract"), Input("valid_until", "quote.valid_until", "date"),
    Input("notes", "so.notes", "textarea"),
), (Input("item", "field.item"), Input("quantity", "field.quantity", "decimal"),
    Input("unit_price", "quote.unit_price", "decimal"), Input("discount_pct", "quote.discount_pct", "decimal")))
QUOTE_ACTIONS = ("submit", "approve", "reject", "convert")


def _form_values(form: dict[str, str], spec: FormSpec) -> tuple[dict[str, str], list[dict[str, str]]]:
    values = {i.name: form.get(i.name, "") for i in spec.fields}
    rows: dict[int, dict[str, str]] = {}
    names = {c.name for c in spec.columns}
    for key, value in form.items():
        if (m := re.fullmatch(r"lines-(\d+)-(\w+)", key)) and m.group(2) in names:
            rows.setdefault(int(m.group(1)), {})[m.group(2)] = value
    lines = [rows[i] for i in sorted(rows) if any(rows[i].values())]
    return values, lines


def _breaks(text: str) -> list[dict[str, str]]:
    """'10:90, 50:80' → from 10 units 90, from 50 units 80 (left to the contract to judge)."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        start, _, unit_price = part.partition(":")
        found.append({"from_quantity": start.strip(), "unit_price": unit_price.strip()})
    return found


def _present(values: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v != ""}


def _price_list_input(values: dict[str, str], lines: list[dict[str, str]]) -> BaseModel:
    grades = {g: values[f"grade_{g}"] for g in "ABC" if values.get(f"grade_{g}")}
    head = _present({k: v for k, v in values.items() if not k.startswith("grade_")})
    items = [{"item": line.get("item", ""), "list_price": line.get("list_price", ""),
              "breaks": _breaks(line.get("breaks", ""))} for line in lines]
    return PriceListIn.model_validate({**head, "grade_discounts": grades, "items": items})


def _contract_input(values: dict[str, str], lines: list[dict[str, str]]) -> BaseModel:
    return ContractIn.model_validate({**_present(values), "items": [_present(line) for line in lines]})


def _quote_input(values: dict[str, str], lines: list[dict[str, str]]) -> BaseModel:
    due = (date.today() + timedelta(days=quotes.DUE_IN_DAYS)).isoformat()
    return QuoteIn.model_validate({**_present(values), "lines": [{**_present(line), "due_date": due} for line in lines]})


async def _choices() -> dict[str, list[tuple[str, str]]]:
    customers = await active_records(Customer, Customer.name)
    sites = await active_records(Site)
    return {"customers": [(c["code"], f"{c['code']} · {c['name']}") for c in customers],
            "sites": [(s["code"], s["code"]) for s in sites]}


async def _form_page(request: Request, spec: FormSpec, values: dict[str, str], lines: list[dict[str, str]],
                     errors: FormErrors | None = None, status_code: int = 200,
                     hidden: dict[str, str] | None = None) -> Template:
    items = await active_records(Item, limit=MAX_ITEM_SUGGESTIONS)
    return render(request, "pricing_form.html", status_code=status_code, spec=spec, values=values,
                  lines=lines + [{} for _ in range(max(1, BLANK_LINES - len(lines)))], errors=errors or FormErrors(),
                  choices=await _choices(), items=[i["code"] for i in items], hidden=hidden or {})


FORMS = {"/price-lists/new": (PRICE_LIST_FORM, "sales.pricing", _price_list_input, price_lists.create_price_list,
                              "/price-lists"),
         "/contracts/new": (CONTRACT_FORM, "sales.pricing", _contract_input, contracts.create_contract, "/contracts"),
         "/quotes/new": (QUOTE_FORM, "sales.write", _quote_input, quotes.create_quote, "/quotes")}


def _form_permission(connection: ASGIConnection) -> str:
    return FORMS[connection.url.path][1]


@get(list(FORMS), guards=[requires_for(_form_permission)], include_in_schema=False)
async def new_form(request: Request) -> Template:
    spec, *_ = FORMS[request.url.path]
    today = date.today()
    defaults = {"/price-lists/new": {"currency": "CNY", "valid_from": today.isoformat()},
                "/contracts/new": {"valid_from": today.isoformat(), "valid_to": (today + timedelta(days=365)).isoformat()},
                "/quotes/new": {"site": "NB1", "valid_until": (today + timedelta(days=quotes.VALID_DAYS)).isoformat()}}
    return await _form_page(request, spec, defaults[request.url.path], [])


@post(list(FORMS), guards=[requires_for(_form_permission)], include_in_schema=False)
async def create_from_form(request: Request) -> Template | Redirect:
    spec, _, to_input, create, base = FORMS[request.url.path]
    who = office_who(request)
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    values, lines = _form_values(form, spec)
    errors = FormErrors()
    try:
        async with write_transaction():
            created = await create(to_input(values, lines), who)
    except (ApiError, ValidationError) as exc:
        explain(exc, errors, language_of(request))
        status = exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY
        return await _form_page(request, spec, values, lines, errors, status)
    return Redirect(f"{base}/{created.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


# -- lists ----------------------------------------------------------------------------------------------------------

def _listing(request: Request, *, title: str, base: str, new_permission: str, headings: list[str],
             rows: list[tuple[str, list[Any]]], total: int, page: int) -> Template:
    user = current_user(request)
    return render(request, "pricing_list.html", title=title, base=base, headings=headings, rows=rows, total=total,
                  page=page, pages=page_count(total), may_create=user is not None and user.may(new_permission),
                  page_url=lambda number: f"{base}?" + urlencode({"page": number}))


@get("/price-lists", guards=[requires("sales.read")], include_in_schema=False)
async def price_list_list(request: Request, page: PageNumber = 1) -> Template:
    found = await price_lists.list_price_lists(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    rows = [(p.code, [p.code, p.name, p.currency, p.valid_from, p.valid_to or "—", len(p.items)]) for p in found["items"]]
    return _listing(request, title="nav.price_lists", base="/price-lists", new_permission="sales.pricing",
                    headings=["field.code", "field.name", "pricing.currency", "pricing.valid_from", "pricing.valid_to",
                              "pricing.items"], rows=rows, total=found["total"], page=page)


@get("/contracts", guards=[requires("sales.read")], include_in_schema=False)
async def contract_list(request: Request, page: PageNumber = 1) -> Template:
    found = await contracts.list_contracts(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    rows = [(c.code, [c.code, c.customer, c.valid_from, c.valid_to, len(c.items), len(c.orders)]) for c in found["items"]]
    return _listing(request, title="nav.contracts", base="/contracts", new_permission="sales.pricing",
                    headings=["field.code", "so.customer", "pricing.valid_from", "pricing.valid_to", "pricing.items",
                              "pricing.orders"], rows=rows, total=found["total"], page=page)


@get("/quotes", guards=[requires("sales.read")], include_in_schema=False)
async def quote_list(request: Request, page: PageNumber = 1) -> Template:
    found = await quotes.list_quotes(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    lang = language_of(request)
    rows = [(q.code, [q.code, q.customer, translate(lang, f"quote.status_{q.status}"), q.valid_until,
                      f"{display(q.value, 'decimal')} {q.currency}", q.sales_order or "—"]) for q in found["items"]]
    return _listing(request, title="nav.quotes", base="/quotes", new_permission="sales.write",
                    headings=["field.code", "so.customer", "so.status", "quote.valid_until", "so.value",
                              "quote.sales_order"], rows=rows, total=found["total"], page=page)


# -- details ------------------------------------------------------------------------------------------------------

@get("/price-lists/{code:str}", guards=[requires("sales.read")], include_in_schema=False)
async def price_list_detail(request: Request, code: CodePath) -> Template:
    return render(request, "price_list_detail.html", price_list=await price_lists.get_price_list(code), show=display,
                  done=request.query_params.get("done"))


@get("/contracts/{code:str}", guards=[requires("sales.read")], include_in_schema=False)
async def contract_detail(request: Request, code: CodePath) -> Template:
    return render(request, "contract_detail.html", contract=await contracts.get_contract(code), show=display,
                  done=request.query_params.get("done"))


async def _quote_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200) -> Template:
    quote = await quotes.get_quote(code)
    open_now = rules.quote_open_actions(quote.status, request.user.permissions)
    return render(request, "quote_detail.html", status_code=status_code, quote=quote, show=display,
                  actions=[name for name in open_now if name in QUOTE_ACTIONS], errors=errors or [],
                  may_edit="edit" in open_now,
                  done=request.query_params.get("done"))


@get("/quotes/{code:str}", guards=[requires("sales.read")], include_in_schema=False)
async def quote_detail(request: Request, code: CodePath) -> Template:
    return await _quote_page(request, code)


@post([f"/quotes/{{code:str}}/{action}" for action in QUOTE_ACTIONS], guards=[requires_for(action_permission)],
      include_in_schema=False)
async def quote_action(request: Request, code: CodePath) -> Template | Redirect:
    action = request.url.path.rsplit("/", 1)[-1]
    who = office_who(request)
    version = str((await request.form()).get("version") or "")
    sent = int(version) if version.isdigit() else None
    try:
        async with write_transaction():
            if action == "submit":
                await quotes.submit_quote(code, who, sent)
            elif action == "convert":
                order = await quotes.convert_quote(code, QuoteConvert(version=sent), who)
                return Redirect(f"/sales-orders/{order.code}?{urlencode({'done': 'save'})}",
                                status_code=HTTP_303_SEE_OTHER)
            else:
                await quotes.decide_quote(code, "approved" if action == "approve" else "rejected", who, sent)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _quote_page(request, code, errors=messages(request, exc), status_code=exc.status_code)
    return Redirect(f"/quotes/{code}?{urlencode({'done': action})}", status_code=HTTP_303_SEE_OTHER)


def _quote_edit_spec(code: str) -> FormSpec:
    """The quote form for a draft or rejected quote: its customer stays; the rest is rewritten whole."""
    return FormSpec(f"/quotes/{code}/edit", "quote.edit", tuple(i for i in QUOTE_FORM.fields if i.name != "customer"),
                    QUOTE_FORM.columns)


@get("/quotes/{code:str}/edit", guards=[requires("sales.write")], include_in_schema=False)
async def edit_quote_form(request: Request, code: CodePath) -> Template:
    quote = await quotes.get_quote(code)
    values = {"site": quote.site, "contract": quote.contract or "", "valid_until": quote.valid_until.isoformat(),
              "notes": quote.notes}
    lines = [{"item": line.item, "quantity": display(line.quantity, "decimal"),
              "unit_price": display(line.unit_price, "decimal"), "discount_pct": display(line.discount_pct, "decimal")}
             for line in quote.lines]
    return await _form_page(request, _quote_edit_spec(code), values, lines, hidden={"version": str(quote.version)})


@post("/quotes/{code:str}/edit", guards=[requires("sales.write")], include_in_schema=False)
async def edit_quote(request: Request, code: CodePath) -> Template | Redirect:
    who = office_who(request)
    spec = _quote_edit_spec(code)
    form = {k: v.strip() for k, v in (await request.form()).items() if isinstance(v, str)}
    values, lines = _form_values(form, spec)
    due = (date.today() + timedelta(days=quotes.DUE_IN_DAYS)).isoformat()
    errors = FormErrors()
    try:
        data = QuoteEdit.model_validate({**_present(values), "version": form.get("version", ""),
                                         "lines": [{**_present(line), "due_date": due} for line in lines]})
        async with write_transaction():
            await quotes.edit_quote(code, data, who)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        explain(exc, errors, language_of(request))
        status = exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY
        return await _form_page(request, spec, values, lines, errors, status, hidden={"version": form.get("version", "")})
    return Redirect(f"/quotes/{code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


PRICING_HANDLERS = [new_form, create_from_form, price_list_list, contract_list, quote_list, price_list_detail,
                    contract_detail, quote_detail, quote_action, edit_quote_form, edit_quote]
