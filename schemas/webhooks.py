"""Contracts of outgoing webhooks: subscriptions (the secret appears only in the answer that creates or rotates
it), deliveries with their attempts, and the event catalogue."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from schemas.common import Contract, ShortText

EventTypeName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
EventTypes = Annotated[list[EventTypeName], Field(min_length=1, max_length=50)] | Literal["*"]
# http:// or https:// (any case) and no white space, control character or #fragment, said as a pattern for the
# OpenAPI and checked with a message a person reads (400 invalid_url); the rest of what a receiver's URL must be (a
# host name, a port, no credentials, an address outside the server's own) is refused with 422.
RECEIVER_URL_PATTERN = r"^\s*[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00-\x1f\x7f-\x9f#]+\s*$"
URL_MESSAGE = "must be an http:// or https:// URL without spaces, control characters or a #fragment"


def _http_url(value: str) -> str:
    if not re.match(RECEIVER_URL_PATTERN, value):
        raise ValueError(URL_MESSAGE)
    return value


ReceiverUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
                        AfterValidator(_http_url), Field(json_schema_extra={"pattern": RECEIVER_URL_PATTERN})]
DeliveryStatus = Literal["pending", "delivered", "failed"]

EVENT_TYPES_DESCRIPTION = 'The events wanted: a list of names from GET /api/webhooks/event-types, or "*" for all'


class WebhookSubscriptionIn(Contract):
    url: ReceiverUrl = Field(description="http:// or https://, without a user name or password")
    event_types: EventTypes = Field(description=EVENT_TYPES_DESCRIPTION)
    description: ShortText = ""
    active: bool = True


class WebhookSubscriptionPatch(Contract):
    url: ReceiverUrl | None = None
    event_types: EventTypes | None = Field(default=None, description=EVENT_TYPES_DESCRIPTION)
    description: ShortText | None = None
    active: bool | None = None


class WebhookSubscriptionOut(BaseModel):
    id: int
    url: str
    event_types: list[str] = Field(description='["*"]: every event')
    description: str
    active: bool
    created_by: str
    created_at: datetime
    updated_at: datetime


class WebhookSubscriptionWithSecret(WebhookSubscriptionOut):
    secret: str = Field(description="Signs every delivery (Floorsync-Signature). Shown only in this answer: keep it now")


class WebhookEventType(BaseModel):
    type: str
    description: str


class WebhookAttemptOut(BaseModel):
    attempt_no: int
    started_at: datetime
    duration_ms: int
    status_code: int | None = Field(description="The receiver's HTTP status; empty when no answer came")
    error: Literal["", "no_answer", "target_refused"] = Field(
        description="Why no status came: `no_answer` (no connection, or no answer in time: one reason for every way "
                    "of failing), `target_refused` (the receiver's address is not allowed: FLOORSYNC_WEBHOOK_ALLOW); "
                    "empty when the receiver answered. Nothing of the answer's body is kept")


class WebhookDeliveryOut(BaseModel):
    id: str = Field(description="The Floorsync-Delivery header: the same on every retry and redelivery")
    subscription: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempt_count: int
    next_attempt_at: datetime | None = Field(description="When it is tried next, while pending")
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[WebhookAttemptOut] = Field(description="Every attempt, oldest first")
