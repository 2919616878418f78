"""Shipments in the office: the list, and a shipment with its lines, FEFO pick list, handling units (SSCC labels)
and, once signed for, the proof of delivery (signature, hash, whether the chain verifies). Every write calls the
same service function as the REST API. Shipments are planned from the sales order page (server/web/sales_pages.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.shipping import rules as shipping_rules
from server.shipping import delivery, planning, shipments
from server.web.forms import FormErrors, display, explain
from server.web.render import current_user, language_of, render

PAGE_SIZE = 25
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
StatusFilter = Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")]
PageNumber = Annotated[int, Parameter(ge=1, le=10**6)]


def _messages(request: Request, exc: ApiError | ValidationError) -> list[str]:
    problems = explain(exc, FormErrors(), language_of(request))
    return [*problems.general, *(m for ms in problems.fields.values() for m in ms)]


def _pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


# -- shipments -------------------------------------------------------------------------------------------------------
@get("/shipments", guards=[requires("shipping.read")], include_in_schema=False)
async def shipping_list(request: Request, status: StatusFilter = None, page: PageNumber = 1) -> Template:
    status = status if status in shipping_rules.SHIPMENT_STATUSES else None
    listing = await shipments.list_shipments(status=status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {"status": status} if status else {}
    return render(request, "shipping_list.html", shipments=listing["items"], total=listing["total"], page=page,
                  pages=_pages(listing["total"]), status=status or "", statuses=shipping_rules.SHIPMENT_STATUSES,
                  show=display, page_url=lambda number: "/shipments?" + urlencode({**params, "page": number}))


async def _shipment_page(request: Request, code: str, *, errors: list[str] | None = None, status_code: int = 200) -> Template:
    shipment = await shipments.get_shipment(code)
    user = current_user(request)
    proof = verification = None
    if shipment.status == shipping_rules.DELIVERED:
        proof = await delivery.get_proof(code)
        # The chain up to this proof: an edit anywhere before it, or in it, shows here.
        verification = await delivery.verify_chain(through_sequence=proof.sequence)
    may_write = user is not None and user.may("shipping.write")
    may_cancel = may_write and shipping_rules.cancel_refusal(shipment.status, len(shipment.handling_units)) is None
    short = any(pick.missing for pick in shipment.pick_list)
    may_replan = may_write and short and shipment.status in shipping_rules.OPEN
    packed = sum((line.packed_quantity for line in shipment.lines), Decimal(0))
    ordered = sum((line.quantity for line in shipment.lines), Decimal(0))
    return render(request, "shipping_detail.html", status_code=status_code, shipment=shipment, proof=proof,
                  verification=verification, may_cancel=may_cancel, may_replan=may_replan, short=short,
                  errors=errors or [], show=display,
                  progress=int(packed * 100 / ordered) if ordered else 0, done=request.query_params.get("done"))


@get("/shipments/{code:str}", guards=[requires("shipping.read")], include_in_schema=False)
async def shipping_detail(request: Request, code: CodePath) -> Template:
    return await _shipment_page(request, code)


@post("/shipments/{code:str}/cancel", guards=[requires("shipping.write")], include_in_schema=False)
async def shipping_cancel(request: Request, code: CodePath) -> Template | Redirect:
    who = office_who(request)
    try:
        async with write_transaction():
            await planning.cancel_shipment(code, who)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _shipment_page(request, code, errors=_messages(request, exc), status_code=exc.status_code)
    return Redirect(f"/shipments/{code}?{urlencode({'done': 'cancel'})}", status_code=HTTP_303_SEE_OTHER)


@post("/shipments/{code:str}/replan", guards=[requires("shipping.write")], include_in_schema=False)
async def shipping_replan(request: Request, code: CodePath) -> Template | Redirect:
    """A short shipment's pick list planned again from what has become free: the same call as the API's."""
    who = office_who(request)
    try:
        async with write_transaction():
            await planning.replan_shipment(code, who)
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await _shipment_page(request, code, errors=_messages(request, exc), status_code=exc.status_code)
    return Redirect(f"/shipments/{code}?{urlencode({'done': 'replan'})}", status_code=HTTP_303_SEE_OTHER)


SHIPPING_HANDLERS = [shipping_list, shipping_detail, shipping_cancel, shipping_replan]
