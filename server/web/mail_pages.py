"""Sending documents from the office: the send buttons of RFQ and purchase order pages (`send_from_page`), retrying
a failed message, and the outbox page where the buyer downloads what the server could not e-mail itself (no SMTP
configured), each message whole (.eml) or its PDF; a download by someone who may send marks it downloaded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from schemas.mail import MessageOut
from server.accounts.identity import requires
from server.actors import Who, office_who
from server.errors import ApiError
from server.mail import service as mail
from server.settings import smtp_from_env
from server.web.actions import run_action
from server.web.render import render

DOCUMENT_PAGES = {"rfq": "/rfqs/", "purchase_order": "/purchase-orders/"}
MessageId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]


def document_url(message: MessageOut) -> str:
    return DOCUMENT_PAGES.get(message.entity, "/") + message.document


async def send_from_page(request: Request, send: Callable[[Who], Awaitable[list[int]]],
                         page: Callable[..., Awaitable[Template]], done: str) -> Template | Redirect:
    """A page's send: the messages made in one transaction (a refusal shows the page again, explained), then,
    committed, e-mailed when SMTP is configured; the document's page shows each outcome in its message log."""
    who, made = office_who(request), []

    async def make() -> None:
        made.extend(await send(who))

    shown = await run_action(request, make, page, done)
    if made:
        await mail.deliver(made, who)
    return shown


@post("/messages/{message_id:int}/retry", guards=[requires("purchasing.write")], include_in_schema=False)
async def retry_message(request: Request, message_id: MessageId) -> Redirect:
    message = await mail.get_message(message_id)
    back = document_url(MessageOut(**{k: message[k] for k in MessageOut.model_fields}))
    try:
        await mail.retry(message_id, office_who(request))
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return Redirect(f"{back}?done=retry_refused", status_code=HTTP_303_SEE_OTHER)
    return Redirect(f"{back}?done=retry", status_code=HTTP_303_SEE_OTHER)


@get("/outbox", guards=[requires("purchasing.read")], include_in_schema=False)
async def outbox_page(request: Request, all: bool = False) -> Template:
    return render(request, "outbox.html", messages=await mail.outbox(waiting_only=not all), waiting_only=not all,
                  smtp=smtp_from_env() is not None, document_url=document_url)


MAIL_HANDLERS = [retry_message, outbox_page]
