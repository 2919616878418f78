"""Webhook subscriptions (admin CRUD, secret rotation, ping), the delivery log and redelivery, and `emit`: the
transactional outbox an area writes its events into, inside the write transaction of the change they announce."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.webhooks import (
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookSubscriptionIn,
    WebhookSubscriptionOut,
    WebhookSubscriptionPatch,
    WebhookSubscriptionWithSecret,
)
from server.accounts.audit import record_audit
from server.actors import Who
from server.db import (
    DB, FinalStage, WriteContext, current_write, defer_insert, json_text, sql_execute, sql_fetch, needs_write,
)
from server.errors import ApiError
from server.webhooks import dispatcher, rules, targets
from server.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookSubscription

ENTITY = "webhook"
EMITTED_KEY = "webhooks:emitted"
SUBSCRIPTIONS_KEY = "webhooks:subscriptions"
DELIVERY_COLUMNS = ("delivery_id", "subscription", "event_id", "event_type", "body", "status", "attempts",
                    "attempts_at_requeue", "next_attempt_at", "created_at")


def _now() -> datetime:
    return datetime.now(timezone.utc)


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _event_types(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


# -- emitting ---------------------------------------------------------------------------------------------------

async def _active_subscriptions(write: WriteContext) -> list[tuple[int, list[str]]]:
    """The active subscriptions, read once per transaction. On PostgreSQL they are share-locked until commit, so
    one deleted meanwhile cannot make this transaction's delivery rows (and the business write) fail."""
    if SUBSCRIPTIONS_KEY not in write.state:
        lock = " FOR KEY SHARE" if DB.engine_type == "postgres" else ""
        rows = await sql_fetch(f"SELECT id, event_types FROM webhook_subscription WHERE active{lock}")
        write.state[SUBSCRIPTIONS_KEY] = [(row["id"], _event_types(row["event_types"])) for row in rows]
    return write.state[SUBSCRIPTIONS_KEY]


async def emit(event_type: str, payload: dict[str, Any], *, subscription_id: int | None = None) -> list[str]:
    """Queue `event_type` for every active subscription that wants it (or for `subscription_id` only), in the
    current write transaction: the deliveries exist exactly when the change they announce committed, and a step
    rolled back to its savepoint takes its events with it. Returns the delivery ids; the dispatcher is woken after
    commit."""
    if event_type not in rules.EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {event_type!r}: add it to server/webhooks/rules.py EVENT_TYPES")
    write = current_write()
    subscriptions = await _active_subscriptions(write)
    if subscription_id is not None:
        targets = [sid for sid, _ in subscriptions if sid == subscription_id]
    else:
        targets = [sid for sid, types in subscriptions if rules.subscribed(types, event_type)]
    if not targets:
        return []
    now = _now()
    event_id = str(uuid.uuid4())
    body = json_text({"id": event_id, "type": event_type, "created_at": now.isoformat(), "data": payload})
    delivery_ids = []
    for target in targets:
        delivery_id = str(uuid.uuid4())
        defer_insert("webhook_delivery", DELIVERY_COLUMNS,
                     (delivery_id, target, event_id, event_type, body, "pending", 0, 0, now, now))
        delivery_ids.append(delivery_id)
    write.buffer(EMITTED_KEY).extend(delivery_ids)
    return delivery_ids


async def _wake_dispatcher(write: WriteContext) -> None:
    if write.buffers.get(EMITTED_KEY):
        dispatcher.wake()


WAKE_STAGE = FinalStage(after_commit=_wake_dispatcher)


# -- subscriptions ----------------------------------------------------------------------------------------------

def _subscription_out(row: dict[str, Any]) -> WebhookSubscriptionOut:
    return WebhookSubscriptionOut(
        id=row["id"], url=row["url"], event_types=_event_types(row["event_types"]), description=row["description"],
        active=row["active"], created_by=row["created_by"], created_at=row["created_at"], updated_at=row["updated_at"],
    )


def _with_secret(row: dict[str, Any]) -> WebhookSubscriptionWithSecret:
    return WebhookSubscriptionWithSecret(**_subscription_out(row).model_dump(), secret=row["secret"])


async def _load(subscription_id: int) -> dict[str, Any]:
    row = await WebhookSubscription.select().where(WebhookSubscription.id == subscription_id).first()
    if row is None:
        raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"No webhook subscription {subscription_id}",
                       {"entity": ENTITY, "key": str(subscription_id)})
    return row


async def _checked_url(url: str) -> str:
    """The contract's pattern says the scheme and the characters; what it cannot (a host name's labels, the port,
    credentials, where the name leads) is a rule of the receiver: 422 with its code."""
    refusal = rules.url_problem(url) or await targets.url_refusal(url)
    if refusal is not None:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, refusal.code, refusal.message, {"field": "url"})
    return url


def _checked_event_types(wanted: str | Iterable[str]) -> list[str]:
    names = rules.normalized_event_types(wanted)
    unknown = rules.unknown_event_types(names)
    if unknown:
        # An unknown name in the catalogue GET /api/webhooks/event-types serves, like any unknown reference: 422.
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_event_type", f"Unknown event type {unknown[0]!r}",
                       {"field": "event_types", "unknown": unknown, "known": sorted(rules.EVENT_TYPES)})
    return names


async def list_subscriptions() -> list[WebhookSubscriptionOut]:
    rows = await WebhookSubscription.select().order_by(WebhookSubscription.id)
    return [_subscription_out(row) for row in rows]


async def get_subscription(subscription_id: int) -> WebhookSubscriptionOut:
    return _subscription_out(await _load(subscription_id))


@needs_write
async def create_subscription(data: WebhookSubscriptionIn, who: Who) -> WebhookSubscriptionWithSecret:
    url = await _checked_url(data.url)
    event_types = _checked_event_types(data.event_types)
    now = _now()
    inserted = await WebhookSubscription.insert(WebhookSubscription(
        url=url, event_types=event_types, secret=new_secret(), active=data.active, description=data.description,
        created_by=who.name, created_at=now, updated_at=now,
    )).returning(WebhookSubscription.id)
    row = await _load(inserted[0]["id"])
    await record_audit(who, "create", ENTITY, str(row["id"]), None, _subscription_out(row).model_dump(mode="json"),
                       f"webhook to {url}")
    return _with_secret(row)


@needs_write
async def update_subscription(subscription_id: int, data: WebhookSubscriptionPatch,
                              who: Who) -> WebhookSubscriptionOut:
    changes: dict[Any, Any] = {}
    if data.url is not None:
        changes[WebhookSubscription.url] = await _checked_url(data.url)
    if data.event_types is not None:
        changes[WebhookSubscription.event_types] = _checked_event_types(data.event_types)
    if data.description is not None:
        changes[WebhookSubscription.description] = data.description
    if data.active is not None:
        changes[WebhookSubscription.active] = data.active
    before = await _load(subscription_id)
    if changes:
        changes[WebhookSubscription.updated_at] = _now()
        await WebhookSubscription.update(changes).where(WebhookSubscription.id == subscription_id)
    after = await _load(subscription_id)
    await record_audit(who, "update", ENTITY, str(subscription_id), _subscription_out(before).model_dump(mode="json"),
                       _subscription_out(after).model_dump(mode="json"))
    if after["active"] and not before["active"]:
        current_write().after_commit.append(_wake)  # deliveries held while it was inactive are due, once committed
    return _subscription_out(after)


@needs_write
async def delete_subscription(subscription_id: int, who: Who) -> None:
    """Its deliveries and their log go with it."""
    before = await _load(subscription_id)
    await WebhookSubscription.delete().where(WebhookSubscription.id == subscription_id)
    await record_audit(who, "delete", ENTITY, str(subscription_id), _subscription_out(before).model_dump(mode="json"),
                       None, f"webhook to {before['url']}")


@needs_write
async def rotate_secret(subscription_id: int, who: Who) -> WebhookSubscriptionWithSecret:
    """A new secret signs every attempt from now on, retries of older deliveries included."""
    await _load(subscription_id)
    await WebhookSubscription.update({WebhookSubscription.secret: new_secret(), WebhookSubscription.updated_at: _now()}).where(
        WebhookSubscription.id == subscription_id)
    row = await _load(subscription_id)
    await record_audit(who, "rotate_secret", ENTITY, str(subscription_id), None, None, "webhook secret rotated")
    return _with_secret(row)


def _refuse_inactive(row: dict[str, Any]) -> None:
    if not row["active"]:
        raise ApiError(HTTP_409_CONFLICT, "subscription_inactive",
                       "The subscription is inactive: nothing is sent to it until it is activated",
                       {"subscription": row["id"]})


@needs_write
async def ping(subscription_id: int, who: Who) -> str:
    """Queue a `ping` to this subscription only: how an admin tests a receiver. Returns the delivery's id: its row is
    written at commit, so it is read once the entry point's transaction has committed."""
    row = await _load(subscription_id)
    _refuse_inactive(row)
    [delivery_id] = await emit("ping", {"subscription": subscription_id, "url": row["url"], "by": who.name},
                               subscription_id=subscription_id)
    await record_audit(who, "ping", ENTITY, str(subscription_id), None, None, f"ping {delivery_id}")
    return delivery_id


# -- deliveries -------------------------------------------------------------------------------------------------

def _attempt_out(row: dict[str, Any]) -> WebhookAttemptOut:
    return WebhookAttemptOut(**{name: row[name] for name in ("attempt_no", "started_at", "duration_ms", "status_code",
                                                             "error")})


def _delivery_out(row: dict[str, Any], attempts: list[dict[str, Any]]) -> WebhookDeliveryOut:
    return WebhookDeliveryOut(
        id=row["delivery_id"], subscription=row["subscription"], event_id=row["event_id"], event_type=row["event_type"],
        status=row["status"], attempt_count=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if row["status"] == "pending" else None,
        created_at=row["created_at"], delivered_at=row["delivered_at"],
        attempts=[_attempt_out(a) for a in attempts],
    )


async def _with_attempts(rows: list[dict[str, Any]]) -> list[WebhookDeliveryOut]:
    grouped: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in rows}
    if grouped:
        for attempt in await WebhookAttempt.select().where(WebhookAttempt.delivery.is_in(list(grouped))).order_by(
                WebhookAttempt.attempt_no):
            grouped[attempt["delivery"]].append(attempt)
    return [_delivery_out(row, grouped[row["id"]]) for row in rows]


async def _load_delivery(delivery_id: str) -> dict[str, Any]:
    row = await WebhookDelivery.select().where(WebhookDelivery.delivery_id == delivery_id).first()
    if row is None:
        raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"No webhook delivery {delivery_id}",
                       {"entity": "webhook_delivery", "key": delivery_id})
    return row


async def get_delivery(delivery_id: str) -> WebhookDeliveryOut:
    return (await _with_attempts([await _load_delivery(delivery_id)]))[0]


async def list_deliveries(subscription_id: int, *, status: str | None = None, limit: int = 50,
                          offset: int = 0) -> dict[str, Any]:
    """A subscription's deliveries, newest first, each with its attempts."""
    await _load(subscription_id)
    condition = WebhookDelivery.subscription == subscription_id
    if status:
        condition = condition & (WebhookDelivery.status == status)
    rows = await WebhookDelivery.select().where(condition).order_by(WebhookDelivery.id, ascending=False).limit(
        limit).offset(offset)
    total = await WebhookDelivery.count().where(condition)
    return {"items": await _with_attempts(rows), "total": total, "limit": limit, "offset": offset}


@needs_write
async def redeliver(delivery_id: str, who: Who) -> WebhookDeliveryOut:
    """Queue a delivery again, now, with a fresh retry budget; its id (and body) stay, so a receiver that did get
    it can tell."""
    write = current_write()
    row = await _load_delivery(delivery_id)
    _refuse_inactive(await _load(row["subscription"]))
    await sql_execute("UPDATE webhook_delivery SET status = 'pending', next_attempt_at = $1, "
                      "attempts_at_requeue = attempts, delivered_at = NULL WHERE id = $2", _now(), row["id"])
    await record_audit(who, "redeliver", ENTITY, str(row["subscription"]), None, None, f"redeliver {delivery_id}")
    write.after_commit.append(_wake)
    return await get_delivery(delivery_id)


async def _wake() -> None:
    dispatcher.wake()
