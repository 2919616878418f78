"""Outgoing webhooks: subscriptions, a transactional outbox of deliveries, and the dispatcher that signs and sends
them with retries. Areas announce business events with `emit` inside their write transaction."""

from server.webhooks.service import emit

__all__ = ["emit"]
