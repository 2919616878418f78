"""Webhook subscriptions, their deliveries (the outbox: one row per event and subscription, written in the
transaction of the change it announces) and every attempt to send one."""

from piccolo.columns import JSON, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class WebhookSubscription(Table, tablename="webhook_subscription"):
    """A receiver URL and the events it wants. The secret signs every delivery, so it is kept as is (not hashed);
    the API shows it once, when created or rotated."""

    id = Serial(primary_key=True)
    url = Varchar(length=2000)
    event_types = JSON()
    secret = Varchar(length=100)
    active = Boolean(default=True)
    description = Varchar(length=200, default="")
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One event for one subscription. `body` is the exact JSON sent, fixed at emit time, so every retry carries
    the same bytes; `delivery_id` is the Floorsync-Delivery header a receiver dedupes on. A sender holds a lease
    by pushing `next_attempt_at` past its send's timeout, so no two processes send one delivery at once."""

    id = Serial(primary_key=True)
    delivery_id = Varchar(length=36, unique=True)
    subscription = ForeignKey(WebhookSubscription, on_delete=OnDelete.cascade, index=True)
    event_id = Varchar(length=36)
    event_type = Varchar(length=60)
    body = Text()
    status = Varchar(length=12, default="pending")
    attempts = Integer(default=0)
    # Attempts made before the last redelivery: the retry budget counts from there.
    attempts_at_requeue = Integer(default=0)
    next_attempt_at = Timestamptz(index=True)
    created_at = Timestamptz()
    delivered_at = Timestamptz(null=True, default=None)


class WebhookAttempt(Table, tablename="webhook_attempt"):
    id = Serial(primary_key=True)
    delivery = ForeignKey(WebhookDelivery, on_delete=OnDelete.cascade, index=True)
    attempt_no = Integer()
    started_at = Timestamptz()
    duration_ms = Integer()
    status_code = Integer(null=True, default=None)
    # Why no status came, in our words only (rules.NO_ANSWER_REASON, rules.TARGET_REFUSED_REASON), or empty. Nothing
    # of the receiver's answer is kept: a receiver URL must not read what the server can reach.
    error = Varchar(length=500, default="")
