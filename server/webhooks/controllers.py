"""REST endpoints of outgoing webhooks, admin only (webhooks.manage): subscriptions under /api/webhooks (CRUD,
secret rotation, ping, delivery log) and redelivery under /api/webhook-deliveries."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from schemas.common import Page
from schemas.webhooks import (
    DeliveryStatus,
    WebhookDeliveryOut,
    WebhookEventType,
    WebhookSubscriptionIn,
    WebhookSubscriptionOut,
    WebhookSubscriptionPatch,
    WebhookSubscriptionWithSecret,
)
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.webhooks import rules, service

MANAGE = [requires("webhooks.manage")]
SubscriptionId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]
DeliveryId = Annotated[str, Parameter(max_length=36, pattern=r"^[0-9a-f-]{36}$")]


class WebhookController(Controller):
    path = "/api/webhooks"
    tags = ["Webhooks"]
    guards = MANAGE

    @get("/", summary="List webhook subscriptions", operation_id="list_webhooks")
    async def list_subscriptions(self) -> list[WebhookSubscriptionOut]:
        return await service.list_subscriptions()

    @get("/event-types", summary="The events a subscription may ask for", operation_id="list_webhook_event_types")
    async def event_types(self) -> list[WebhookEventType]:
        return [WebhookEventType(type=name, description=text) for name, text in rules.EVENT_TYPES.items()]

    @post("/", status_code=HTTP_201_CREATED, operation_id="create_webhook",
          summary="Subscribe a receiver URL to events; the answer holds the signing secret, shown only this once")
    async def create_subscription(self, request: Request, data: WebhookSubscriptionIn) -> WebhookSubscriptionWithSecret:
        async with write_transaction():
            return await service.create_subscription(data, office_who(request))

    @get("/{subscription_id:int}", summary="Get one webhook subscription", operation_id="get_webhook")
    async def get_subscription(self, subscription_id: SubscriptionId) -> WebhookSubscriptionOut:
        return await service.get_subscription(subscription_id)

    @patch("/{subscription_id:int}", summary="Change a subscription's URL, events, description or active flag",
           operation_id="update_webhook")
    async def update_subscription(self, request: Request, subscription_id: SubscriptionId,
                                  data: WebhookSubscriptionPatch) -> WebhookSubscriptionOut:
        async with write_transaction():
            return await service.update_subscription(subscription_id, data, office_who(request))

    @delete("/{subscription_id:int}", status_code=HTTP_204_NO_CONTENT, operation_id="delete_webhook",
            summary="Delete a subscription with its deliveries and their log")
    async def delete_subscription(self, request: Request, subscription_id: SubscriptionId) -> None:
        async with write_transaction():
            await service.delete_subscription(subscription_id, office_who(request))

    @post("/{subscription_id:int}/rotate-secret", status_code=HTTP_200_OK, operation_id="rotate_webhook_secret",
          summary="Replace the signing secret; the new one is shown only in this answer")
    async def rotate_secret(self, request: Request, subscription_id: SubscriptionId) -> WebhookSubscriptionWithSecret:
        async with write_transaction():
            return await service.rotate_secret(subscription_id, office_who(request))

    @post("/{subscription_id:int}/ping", status_code=HTTP_202_ACCEPTED, operation_id="ping_webhook",
          summary="Queue a `ping` event to this subscription only, to test the receiver")
    async def ping(self, request: Request, subscription_id: SubscriptionId) -> WebhookDeliveryOut:
        async with write_transaction():
            delivery_id = await service.ping(subscription_id, office_who(request))
        return await service.get_delivery(delivery_id)  # its row is written at commit

    @get("/{subscription_id:int}/deliveries", operation_id="list_webhook_deliveries",
         summary="The subscription's deliveries, newest first, each with its attempts")
    async def deliveries(
        self,
        subscription_id: SubscriptionId,
        status: Annotated[DeliveryStatus | None, Parameter(description="Only deliveries in this status")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[WebhookDeliveryOut]:
        page = await service.list_deliveries(subscription_id, status=status, limit=limit, offset=offset)
        return Page[WebhookDeliveryOut](**page)


class WebhookDeliveryController(Controller):
    path = "/api/webhook-deliveries"
    tags = ["Webhooks"]
    guards = MANAGE

    @get("/{delivery_id:str}", summary="Get one delivery with its attempts", operation_id="get_webhook_delivery")
    async def get_delivery(self, delivery_id: DeliveryId) -> WebhookDeliveryOut:
        return await service.get_delivery(delivery_id)

    @post("/{delivery_id:str}/redeliver", status_code=HTTP_202_ACCEPTED, operation_id="redeliver_webhook",
          summary="Queue a delivery again now (same id and body, a fresh number of attempts)")
    async def redeliver(self, request: Request, delivery_id: DeliveryId) -> WebhookDeliveryOut:
        async with write_transaction():
            return await service.redeliver(delivery_id, office_who(request))


WEBHOOK_CONTROLLERS = [WebhookController, WebhookDeliveryController]
