"""The rules of webhooks as plain functions: which URLs a subscription may name, which addresses a delivery may go
to, which events it may ask for, how a delivery is signed, when a failed one is tried again and when it is given
up."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
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
    "production.behind_plan": "An operation is behind its accepted schedule by more than the planning settings allow",
}
# Only sent on request to one subscription: never matched by a subscription's list or by "*".
DIRECT_ONLY_EVENTS = frozenset({"ping"})

URL_MAX_LENGTH = 2000
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
    """Why a receiver URL's text is refused, or None. Where it leads is `target_refusal`'s to say."""
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


# -- where a delivery may go --------------------------------------------------------------------------------------

# "This network": on Linux a connection to 0.0.0.0 (or to the rest of 0/8 where it is routed) reaches the host itself.
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")
NAT64_PREFIX = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
TARGET_REFUSED = "webhook_target_refused"
# Why an attempt got no status, the only two things an attempt says beyond it.
NO_ANSWER_REASON = "no_answer"
TARGET_REFUSED_REASON = "target_refused"


@dataclass(frozen=True)
class AllowList:
    """FLOORSYNC_WEBHOOK_ALLOW read: networks (an address is a network of one) and host names, lower case."""

    networks: tuple[IPv4Network | IPv6Network, ...] = ()
    names: frozenset[str] = frozenset()


def allow_list(entries: Iterable[str]) -> AllowList:
    networks, names = [], set()
    for entry in entries:
        text = entry.strip().strip("[]").lower().rstrip(".")
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            names.add(text)
    return AllowList(tuple(networks), frozenset(names))


def _embedded_ipv4(address: IPv4Address | IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped (::ffff:127.0.0.1, which a dual-stack socket connects to
    as 127.0.0.1), IPv4-compatible (::127.0.0.1) or NAT64 (64:ff9b::7f00:1)."""
    if not isinstance(address, IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if (address in IPV4_COMPATIBLE and int(address) > 1) or address in NAT64_PREFIX:
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refused_address(address: IPv4Address | IPv6Address, allowed: AllowList) -> bool:
    """Loopback, link-local (169.254.169.254, the clouds' metadata service, among them), unspecified, multicast and
    reserved addresses are the server's own or nobody's: refused unless the allow-list names them. Private ranges
    (10/8, 172.16/12, 192.168/16, fc00::/7) are the factory's LAN, where receivers live: allowed."""
    if any(address.version == network.version and address in network for network in allowed.networks):
        return False
    embedded = _embedded_ipv4(address)
    if embedded is not None:
        return refused_address(embedded, allowed)
    return (address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast
            or address.is_reserved or address in THIS_NETWORK)


def target_refusal(host: str, addresses: Iterable[str], allowed: AllowList) -> Refusal | None:
    """Whether a receiver named `host`, which resolved to `addresses`, may be sent to. A host name on the allow-list
    is trusted wherever it points; otherwise every address it resolved to must be allowed (a name that answers
    with a LAN address and a loopback one is refused). The message names neither the addresses nor what is there."""
    if host.lower().rstrip(".") in allowed.names:
        return None
    for text in addresses:
        if refused_address(ipaddress.ip_address(text.split("%", 1)[0]), allowed):
            return Refusal(TARGET_REFUSED, "The URL leads to a loopback, link-local, unspecified, multicast or reserved "
                                           "address: webhooks may go there only when FLOORSYNC_WEBHOOK_ALLOW names it")
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
