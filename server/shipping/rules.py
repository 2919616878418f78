"""The shipping rules as plain functions of values: what each status allows, how a packed quantity is spread over
the shipment's lines, whether a pick broke FEFO, whose device may sign, and the proof-of-delivery hash chain
(canonical JSON, SHA-256, verification). No I/O here."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from server.document_rules import Refusal

PLANNED, PICKING, PACKED, LOADED, DELIVERED, CANCELLED = "planned", "picking", "packed", "loaded", "delivered", "cancelled"
SHIPMENT_STATUSES = (PLANNED, PICKING, PACKED, LOADED, DELIVERED, CANCELLED)
UNIT_PACKED, UNIT_LOADED, UNIT_DELIVERED = "packed", "loaded", "delivered"
# Shipments in these are work in progress: their reservations hold stock and they are on devices.
OPEN = frozenset({PLANNED, PICKING, PACKED, LOADED})
GENESIS_HASH = "0" * 64
SIGNATURE_MAX_BYTES = 200 * 1024
PHOTO_MAX_BYTES = 2 * 1024 * 1024
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def _closed(status: str) -> Refusal | None:
    if status == CANCELLED:
        return Refusal("shipment_cancelled", "The shipment is cancelled")
    if status == DELIVERED:
        return Refusal("shipment_delivered", "The shipment was delivered and signed for")
    return None


def pack_refusal(status: str) -> Refusal | None:
    """Packing goes on until the truck is loaded."""
    if status == LOADED:
        return Refusal("shipment_loaded", "The shipment is loaded: nothing more can be packed into it")
    return _closed(status)


def load_refusal(status: str) -> Refusal | None:
    if status == PLANNED:
        return Refusal("nothing_packed", "Nothing of this shipment is packed yet")
    return _closed(status)


def sign_refusal(status: str) -> Refusal | None:
    if status in (PLANNED, PICKING, PACKED):
        return Refusal("shipment_not_loaded", "The shipment is not loaded yet: there is nothing to sign for")
    return _closed(status)


def cancel_refusal(status: str, units: int) -> Refusal | None:
    if status in (PLANNED, PICKING) and units == 0:
        return None
    return _closed(status) or Refusal("shipment_has_packed_units", "Goods of this shipment are packed: unpack them first")


@dataclass(frozen=True)
class LineLeft:
    line_no: int
    item: str
    left_micro: int  # ordered on the shipment, not yet packed


def spread_over_lines(lines: Sequence[LineLeft], item: str, quantity_micro: int) -> list[tuple[int, int]] | Refusal:
    """Which lines a packed quantity of `item` fills, in line order: [(line_no, micro)]. Refused when the item is not
    on the shipment (`not_on_shipment`) or more is packed than is left to pack (`exceeds_shipment`)."""
    candidates = [line for line in lines if line.item == item]
    if not candidates:
        return Refusal("not_on_shipment", f"{item!r} is not on this shipment")
    if quantity_micro > sum(line.left_micro for line in candidates):
        return Refusal("exceeds_shipment", f"More {item!r} than the shipment still needs")
    taken: list[tuple[int, int]] = []
    missing = quantity_micro
    for line in candidates:
        take = min(line.left_micro, missing)
        if take > 0:
            taken.append((line.line_no, take))
            missing -= take
    return taken


def status_after_pack(lines: Iterable[tuple[int, int]]) -> str:
    """(ordered, packed) per line: packed when every line is, picking otherwise."""
    return PACKED if all(packed >= ordered for ordered, packed in lines) else PICKING


def is_fefo_deviation(picked_expiry: date | None, other_expiries: Iterable[date | None]) -> bool:
    """A pick breaks first-expiry-first-out when usable stock that expires sooner was left in the warehouse (a lot
    without an expiry counts as expiring last)."""
    picked = picked_expiry or date.max
    return any(expiry is not None and expiry < picked for expiry in other_expiries)


def status_after_load(units: Iterable[str], shipment_status: str) -> str:
    """Loaded once the whole shipment is packed and every unit is on the vehicle."""
    return LOADED if shipment_status == PACKED and all(status == UNIT_LOADED for status in units) else shipment_status


@dataclass(frozen=True)
class Scope:
    site: str
    warehouses: frozenset[str]
    route: str | None


def may_sign(scope: Scope, site: str, ship_from: str, route: str | None) -> bool:
    """A driver's device (one with a route) signs for shipments on its route; a device without a route signs for
    shipments from a warehouse in its scope (all of its site's when it names none)."""
    if scope.site != site:
        return False
    if scope.route:
        return scope.route == route
    return not scope.warehouses or ship_from in scope.warehouses


def may_handle(scope: Scope, site: str, ship_from: str, route: str | None) -> bool:
    """Packing and loading: a device of the site whose warehouses (if it names any) include the one shipped from, and
    whose route (if it has one) is the shipment's."""
    if scope.site != site or (scope.warehouses and ship_from not in scope.warehouses):
        return False
    return not (scope.route and route and scope.route != route)


# -- proof of delivery ------------------------------------------------------------------------------------------
def canonical_json(record: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 as is: the one text a record hashes to, on every machine."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


HASHED_FIELDS = ("sequence", "shipment", "sales_order", "signer_name", "signed_at", "recorded_at", "signature_sha256",
                 "photo_sha256", "position", "shortfalls", "delivered", "device_id", "previous_hash")


def proof_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the canonical record: every hashed field (the signature and photo by their own SHA-256), the
    previous proof's hash included, so changing any proof changes every hash after it."""
    return sha256_hex(canonical_json({name: record[name] for name in HASHED_FIELDS}).encode())


@dataclass(frozen=True)
class ChainBreak:
    sequence: int
    shipment: str
    reason: str


def first_break(proofs: Sequence[dict[str, Any]], *, previous_hash: str = GENESIS_HASH,
                expected_sequence: int = 1) -> ChainBreak | None:
    """The first proof (in sequence order) whose stored hash is not what its record hashes to, whose previous hash is
    not its predecessor's, whose signature or photo no longer matches its digest, or that follows a gap. A long
    chain is checked a page at a time: the page starts after the proof with `previous_hash`."""
    for proof in proofs:
        reason = None
        if proof["sequence"] != expected_sequence:
            reason = "sequence_gap"
        elif proof["previous_hash"] != previous_hash:
            reason = "previous_hash_mismatch"
        elif proof_hash(proof) != proof["hash"]:
            reason = "hash_mismatch"
        elif proof["signature_sha256"] != sha256_hex(proof["signature_bytes"]):
            reason = "signature_mismatch"
        elif proof["photo_sha256"] is not None and proof["photo_sha256"] != sha256_hex(proof["photo_bytes"] or b""):
            reason = "photo_mismatch"
        if reason:
            return ChainBreak(proof["sequence"], proof["shipment"], reason)
        previous_hash, expected_sequence = proof["hash"], proof["sequence"] + 1
    return None
