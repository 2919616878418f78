"""The sales order entry form: a new order, or a draft rewritten whole, with Save & submit; the terms fields filled
from the chosen customer. Saving calls the same `server.sales` functions as the REST API."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from schemas.sales import SalesOrderEdit, SalesOrderIn, SalesOrderOut
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.tables import Customer, Item, Site
from server.sales import rules
from server.sales import service as sales
from server.web.actions import messages
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.forms import FormErrors, display, explain
from server.web.render import language_of, render
from server.web.sales_common import (
    BLANK_LINES,
    LINE_FIELDS,
    CodeFilter,
    CodePath,
    posted_text,
    refusal_status,
)
from server.web.sales_order_pages import order_page

HEADER_FIELDS = ("customer", "site", "customer_reference", "delivery_address", "payment_terms_days", "notes")


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
    who = office_who(request)
    form = posted_text(await request.form())
    values = {k: v for k, v in form.items() if k in HEADER_FIELDS or k == "version"}
    lines = _posted_lines(form)
    order = await sales.get_sales_order(code) if code else None
    if form.get("_action") == "more_lines":
        return await _form_page(request, order=order, values=values, lines=lines + [{} for _ in range(BLANK_LINES)])
    errors, data = FormErrors(), _contract_input(values, lines)
    try:
        async with write_transaction():
            if code is None:
                saved = await sales.create_sales_order(SalesOrderIn.model_validate(data), who)
            else:
                data.pop("customer", None)
                data["version"] = values.get("version") or "0"
                saved = await sales.edit_draft(code, SalesOrderEdit.model_validate(data), who)
    except (ValidationError, ApiError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        explain(exc, errors, language_of(request))
        return await _form_page(request, order=order, values=values, lines=lines + [{}], errors=errors,
                                status_code=refusal_status(exc))
    # Save & submit is two actions, so two transactions: a review that refuses the submission keeps the saved draft.
    if form.get("_action") == "submit":
        try:
            async with write_transaction():
                await sales.submit(saved.code, who, saved.version)
        except ApiError as exc:  # saved, but the review would not take it: the order page says why
            return await order_page(request, saved.code, errors=messages(request, exc), status_code=exc.status_code)
        return Redirect(f"/sales-orders/{saved.code}?{urlencode({'done': 'submit'})}", status_code=HTTP_303_SEE_OTHER)
    return Redirect(f"/sales-orders/{saved.code}?{urlencode({'done': 'save'})}", status_code=HTTP_303_SEE_OTHER)


@post("/sales-orders/new", guards=[requires("sales.write")], include_in_schema=False)
async def create_sales(request: Request) -> Template | Redirect:
    return await _save(request, None)


@post("/sales-orders/{code:str}/edit", guards=[requires("sales.write")], include_in_schema=False)
async def update_sales(request: Request, code: CodePath) -> Template | Redirect:
    return await _save(request, code)


SALES_ENTRY_HANDLERS = [customer_defaults, new_sales_form, create_sales, edit_sales_form, update_sales]
