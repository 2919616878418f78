"""The rules of webhooks as plain functions: which URLs a subscription may name, which events it may ask for, how a
delivery is signed, when a failed one is tried again and when it is given up."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

ALL_EVENTS = "*"
# Every event an area may emit, with what it means. An area that emits a new event adds it here first: emitting
# an event not listed is a programming error, and subscribing to one is refused with `unknown_event_type`.
EVENT_TYPES: dict[str, str] = {
    "ping": "An admin tests the receiver (sent only to the subscription pinged)",
    "sales_order.created": "A sales order was entered (by hand, imported, from the API or a quote)",
    "sales_order.edited": "A draft sales order was rewritten",
    "sales_order.submitted": "A sales order was submitted: its review approved it, held it or left it for an approver",
    "sales_order.approved": "An approver approved a sales order",
    "sales_order.rejected": "An approver sent a sales order back to draft",
    "sales_order.held": "A sales order was put on hold",
    "sales_order.released": "A hold on a sales order was ended",
    "sales_order.changed": "A submitted or approved sales order was changed (with what it did downstream)",
    "sales_order.status_changed": "Production or shipping moved a sales order on (in production, ready, shipped, "
                                  "delivered)",
    "sales_order.payment_recorded": "A payment against a sales order was recorded",
    "sales_order.cancelled": "A sales order was cancelled",
    "sales_order.closed": "A sales order was closed",
    "sales_order.late": "A sales order line will miss, or has missed, its due date",
}
# Only sent on request to one subscription: never matched by a subscription's list or by "*".
DIRECT_ONLY_EVENTS = frozenset({"ping"})

URL_MAX_LENGTH = 2000
RESPONSE_EXCERPT_BYTES = 1024
DEFAULT_RETRY_BASE_SECONDS = 10.0
DEFAULT_MAX_ATTEMPTS = 8
# Multiples of the base delay after the 1st, 2nd, 3rd… failed attempt: 10 s, 30 s, 2 min, 10 min, 30 min, 2 h, 6 h
# with the default base; every later retry waits as long as the last step.
RETRY_STEPS = (1, 3, 12, 60, 180, 720, 2160)
JITTER_FRACTION = 0.2


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str


def url_problem(url: str) -> Refusal | None:
    """Why a receiver URL is refused, or None. Private and loopback addresses are allowed on purpose: a factory
    runs its receivers on its own network."""
    if len(url) > URL_MAX_LENGTH:
        return Refusal("invalid_url", f"The URL is longer than {URL_MAX_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url):
        return Refusal("invalid_url", "The URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError:
        return Refusal("invalid_url", "The URL cannot be read")
    if parts.scheme not in ("http", "https"):
        return Refusal("invalid_url", "The URL must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        return Refusal("url_credentials", "The URL must not carry a user name or password: the signature authenticates us")
    if not parts.hostname:
        return Refusal("invalid_url", "The URL names no host")
    if port == 0:
        return Refusal("invalid_url", "The URL's port must be between 1 and 65535")
    if parts.fragment:
        return Refusal("invalid_url", "The URL must not have a #fragment")
    try:
        ipaddress.ip_address(parts.hostname)
    except ValueError:
        if not all(label and len(label) <= 63 for label in parts.hostname.rstrip(".").split(".")):
            return Refusal("invalid_url", "The URL's host name is not valid")
    return None


def unknown_event_types(wanted: Iterable[str]) -> list[str]:
    return [name for name in wanted if name != ALL_EVENTS and name not in EVENT_TYPES]


def normalized_event_types(wanted: str | Iterable[str]) -> list[str]:
    """A subscription's list as stored: ["*"] for everything, otherwise the names once each, sorted."""
    names = [wanted] if isinstance(wanted, str) else list(wanted)
    if ALL_EVENTS in names:
        return [ALL_EVENTS]
    return sorted(set(names))


def subscribed(event_types: Iterable[str], event_type: str) -> bool:
    if event_type in DIRECT_ONLY_EVENTS:
        return False
    types = list(event_types)
    return ALL_EVENTS in types or event_type in types


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the timestamp is signed with the body, so a
    receiver can refuse a replay of an old delivery."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay_seconds(failed_attempts: int, base_seconds: float, jitter: float) -> float:
    """How long to wait after the `failed_attempts`-th failure in a row. `jitter` in [0, 1) (a random draw by the
    caller) spreads retries by ±20 %, so receivers coming back up are not hit by every sender at the same second."""
    step = RETRY_STEPS[min(max(failed_attempts, 1), len(RETRY_STEPS)) - 1]
    return base_seconds * step * (1 - JITTER_FRACTION + 2 * JITTER_FRACTION * jitter)


def outcome(status_code: int | None) -> bool:
    """Delivered exactly when the receiver answered 2xx; any other status, a timeout or a connection error fails."""
    return status_code is not None and 200 <= status_code < 300


def status_after_attempt(delivered: bool, attempts_this_round: int, max_attempts: int) -> str:
    """A delivery's status after an attempt: `delivered`, `pending` (try again later) or `failed` (given up).
    A redelivery starts a new round with the full number of attempts."""
    if delivered:
        return "delivered"
    return "failed" if attempts_this_round >= max_attempts else "pending"


def excerpt(body: bytes, limit: int = RESPONSE_EXCERPT_BYTES) -> str:
    """At most `limit` bytes of a receiver's answer, as text (a cut multi-byte character is dropped)."""
    return body[:limit].decode("utf-8", errors="ignore").replace("\x00", "")
