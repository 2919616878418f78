"""A change to a submitted or approved order, and a cancellation, previewed first: what the order's fields become
and what it does downstream (shipments, reservations, production), then made through `server.sales.changes`."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from litestar import Request, post
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from schemas.sales import OrderChangeIn, SalesOrderOut
from server.accounts.identity import requires
from server.actors import office_who
from server.db import trial_write, write_transaction
from server.errors import ApiError
from server.orders import changes
from server.sales import service as sales
from server.web.actions import messages
from server.web.render import render
from server.web.sales_common import LINE_FIELDS, CodePath, posted_text, refusal_status, shown
from server.web.sales_order_pages import CHANGE_LINE_FIELDS, change_values, order_page


def _change_input(order: SalesOrderOut, form: dict[str, str]) -> dict[str, Any]:
    """The change as the contract takes it: only what differs from the order as it was read."""
    current = change_values(order)
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
    """What the change would do (an htmx fragment): the order's changed fields and the impacts downstream. The change
    runs in a trial write that is always rolled back."""
    who = office_who(request)
    order = await sales.get_sales_order(code)
    form = posted_text(await request.form())
    try:
        async with trial_write():
            impact = await changes.change_order(code, OrderChangeIn.model_validate(_change_input(order, form)), who)
        impact = impact.model_copy(update={"applied": False})
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return render(request, "sales_change_impact.html", status_code=refusal_status(exc), impact=None,
                      errors=messages(request, exc), code=getattr(exc, "code", "invalid"), shown=shown)
    return render(request, "sales_change_impact.html", impact=impact, errors=[], code="", shown=shown)


@post("/sales-orders/{code:str}/cancel/preview", guards=[requires("sales.write")], include_in_schema=False)
async def preview_cancel(request: Request, code: CodePath) -> Template:
    """What cancelling would do (an htmx fragment, the same as a change's): shipments, reservations, production.
    Like a change's preview, it runs in a trial write that is always rolled back."""
    who = office_who(request)
    form = posted_text(await request.form())
    version = form.get("version", "")
    try:
        async with trial_write():
            impact = await changes.cancel_order(code, int(version) if version.isdigit() else None, form.get("reason", ""),
                                                who)
        impact = impact.model_copy(update={"applied": False})
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return render(request, "sales_change_impact.html", status_code=refusal_status(exc), impact=None,
                      errors=messages(request, exc), code=exc.code, shown=shown)
    return render(request, "sales_change_impact.html", impact=impact, errors=[], code="", shown=shown)


@post("/sales-orders/{code:str}/change", guards=[requires("sales.write")], include_in_schema=False)
async def make_change(request: Request, code: CodePath) -> Template | Redirect:
    who = office_who(request)
    order = await sales.get_sales_order(code)
    form = posted_text(await request.form())
    try:
        async with write_transaction():
            await changes.make_change(code, OrderChangeIn.model_validate(_change_input(order, form)), who)
    except (ApiError, ValidationError) as exc:
        if isinstance(exc, ApiError) and exc.code == "not_found":
            raise
        return await order_page(request, code, errors=messages(request, exc), status_code=refusal_status(exc),
                                change=form)
    return Redirect(f"/sales-orders/{code}?{urlencode({'done': 'change'})}", status_code=HTTP_303_SEE_OTHER)


SALES_CHANGE_HANDLERS = [preview_change, preview_cancel, make_change]
