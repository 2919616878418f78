"""Webhooks in the office (admin): subscribe a receiver (its signing secret shown once, on the answer to the form),
ping it, rotate its secret, pause or resume it, and read its delivery log with every attempt; redeliver from there.
Every action calls the same service function as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.webhooks import WebhookSubscriptionIn, WebhookSubscriptionPatch
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.web.forms import FormErrors, explain
from server.web.render import language_of, render
from server.webhooks import rules, service

SubscriptionId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[str, Parameter(max_length=36, pattern=r"^[0-9a-f-]{36}$")]
PAGE_SIZE = 20
MANAGE = "webhooks.manage"
DONE = ("ping", "paused", "resumed", "redeliver")  # what the page confirms after an action (webhooks.done_*)
SUBSCRIBABLE = [name for name in rules.EVENT_TYPES if name not in rules.DIRECT_ONLY_EVENTS]


def _problems(exc: Exception, lang: str) -> list[str]:
    errors = explain(exc, FormErrors(), lang)
    return [*errors.general, *(m for messages in errors.fields.values() for m in messages)]


async def _list_page(request: Request, *, status_code: int = 200, created: Any = None, errors: list[str] | None = None,
                     values: dict[str, Any] | None = None) -> Template:
    return render(
        request, "webhooks.html", status_code=status_code,
        subscriptions=await service.list_subscriptions(),
        event_types=SUBSCRIBABLE,
        created=created,
        errors=errors or [],
        values=values or {"url": "", "event_types": [rules.ALL_EVENTS], "description": ""},
    )


@get("/webhooks", guards=[requires(MANAGE)], include_in_schema=False)
async def webhook_list(request: Request) -> Template:
    return await _list_page(request)


@post("/webhooks", guards=[requires(MANAGE)], include_in_schema=False, status_code=200)
async def create_webhook(request: Request) -> Template:
    who = office_who(request)
    form = await request.form()
    values = {"url": str(form.get("url") or "").strip(), "event_types": [str(e) for e in form.getall("event_types")]
              if "event_types" in form else [], "description": str(form.get("description") or "").strip()}
    try:
        wanted = WebhookSubscriptionIn.model_validate(values)
        async with write_transaction():
            created = await service.create_subscription(wanted, who)
    except (ValidationError, ApiError) as exc:
        return await _list_page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, values=values,
                                errors=_problems(exc, language_of(request)))
    # The secret is shown on this answer only, never put in a URL.
    return await _list_page(request, created=created)


async def _detail_page(request: Request, subscription_id: int, *, page: int = 1, secret: str | None = None) -> Template:
    subscription = await service.get_subscription(subscription_id)
    log = await service.list_deliveries(subscription_id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render(
        request, "webhook_detail.html",
        subscription=subscription, deliveries=log["items"], total=log["total"], page=page,
        pages=max(1, -(-log["total"] // PAGE_SIZE)), secret=secret,
        page_url=lambda number: f"/webhooks/{subscription_id}?" + urlencode({"page": number}),
        done=request.query_params.get("done") if request.query_params.get("done") in DONE else None,
    )


@get("/webhooks/{subscription_id:int}", guards=[requires(MANAGE)], include_in_schema=False)
async def webhook_detail(request: Request, subscription_id: SubscriptionId,
                         page: Annotated[int, Parameter(ge=1, le=10**6)] = 1) -> Template:
    return await _detail_page(request, subscription_id, page=page)


def _back(subscription_id: int, done: str) -> Redirect:
    return Redirect(f"/webhooks/{subscription_id}?" + urlencode({"done": done}), status_code=HTTP_303_SEE_OTHER)


@post("/webhooks/{subscription_id:int}/ping", guards=[requires(MANAGE)], include_in_schema=False)
async def ping_webhook(request: Request, subscription_id: SubscriptionId) -> Redirect:
    async with write_transaction():
        await service.ping(subscription_id, office_who(request))
    return _back(subscription_id, "ping")


@post("/webhooks/{subscription_id:int}/rotate-secret", guards=[requires(MANAGE)], include_in_schema=False,
      status_code=200)
async def rotate_webhook_secret(request: Request, subscription_id: SubscriptionId) -> Template:
    async with write_transaction():
        rotated = await service.rotate_secret(subscription_id, office_who(request))
    return await _detail_page(request, subscription_id, secret=rotated.secret)


@post("/webhooks/{subscription_id:int}/active", guards=[requires(MANAGE)], include_in_schema=False)
async def toggle_webhook(request: Request, subscription_id: SubscriptionId) -> Redirect:
    who = office_who(request)
    active = (await request.form()).get("active") == "1"
    async with write_transaction():  # resuming wakes the dispatcher after commit
        await service.update_subscription(subscription_id, WebhookSubscriptionPatch(active=active), who)
    return _back(subscription_id, "resumed" if active else "paused")


@post("/webhook-deliveries/{delivery_id:str}/redeliver", guards=[requires(MANAGE)], include_in_schema=False)
async def redeliver_webhook(request: Request, delivery_id: DeliveryId) -> Redirect:
    async with write_transaction():
        delivery = await service.redeliver(delivery_id, office_who(request))
    return _back(delivery.subscription, "redeliver")


WEBHOOK_HANDLERS = [webhook_list, create_webhook, webhook_detail, ping_webhook, rotate_webhook_secret, toggle_webhook,
                    redeliver_webhook]
