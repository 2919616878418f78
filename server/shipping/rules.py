"""The shipping rules as plain functions of values: what each status allows, what a shipment may plan and the FEFO
pick list it gets, how an order line's change cuts its shipments, how a packed quantity is spread over the shipment's
lines, whether a pick broke FEFO, whose device may sign, what a signature delivered and left short, and the
proof-of-delivery hash chain (the record, canonical JSON, SHA-256, verification). No I/O here."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from server.document_rules import Refusal
from server.inventory.availability import Bin, Pick, fefo_take
from server.quantities import quantity_text, to_micro

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


def plan_line_refusal(line_no: int, seen: Collection[int], order_lines: Collection[int], sales_order: str) -> Refusal | None:
    """A shipment line names a line of its sales order, once."""
    if line_no in seen:
        return Refusal("duplicate_line", f"line {line_no} appears twice", {"value": line_no})
    if line_no not in order_lines:
        return Refusal("unknown_sales_order_line", f"{sales_order} has no line {line_no}")
    return None


def carried_per_line(lines: Iterable[tuple[int, int]]) -> dict[int, int]:
    """(line_no, micro) of the open shipments' lines: what they carry per sales order line."""
    carried: dict[int, int] = {}
    for line_no, quantity_micro in lines:
        carried[line_no] = carried.get(line_no, 0) + quantity_micro
    return carried


def over_open_refusal(line_no: int, quantity_micro: int, open_micro: int, carried_micro: int) -> Refusal | None:
    """A shipment plans no more of a line than the order still owes (`open_micro`) less what open shipments carry."""
    left_micro = open_micro - carried_micro
    if quantity_micro <= left_micro:
        return None
    left = quantity_text(max(left_micro, 0))
    return Refusal("exceeds_open_quantity", f"line {line_no} has {left} left to ship", {"line_no": line_no, "open": left})


def pick_list(line_no: int, item: str, bins: list[Bin], wanted_micro: int) -> tuple[list[dict[str, Any]], list[Bin]]:
    """The FEFO picks for one line (a `missing` row for what no bin covers) and the bins as they are left for the next
    line of the same item."""
    picks, missing = fefo_take(bins, wanted_micro)
    return pick_rows(line_no, item, picks, missing), bins_left(bins, picks)


def bins_left(bins: Sequence[Bin], picks: Iterable[Pick]) -> list[Bin]:
    """The free bins as picks leave them, for the next line of the same item."""
    taken: dict[tuple[str, str], int] = {}
    for pick in picks:
        taken[(pick.location, pick.lot)] = taken.get((pick.location, pick.lot), 0) + pick.quantity_micro
    left = [Bin(b.location, b.lot, b.expiry, b.quantity_micro - taken.get((b.location, b.lot), 0)) for b in bins]
    return [b for b in left if b.quantity_micro > 0]


def merged_picks(picks: Iterable[Pick]) -> list[Pick]:
    """One pick per bin, where the bin first appears, with the bin's quantities added up: a line that holds a bin
    twice (a top-up reserved more where it already had some) shows it once."""
    merged: dict[tuple[str, str], Pick] = {}
    for pick in picks:
        known = merged.get((pick.location, pick.lot))
        merged[(pick.location, pick.lot)] = pick if known is None else Pick(
            known.location, known.lot, known.expiry, known.quantity_micro + pick.quantity_micro)
    return list(merged.values())


def line_pick_rows(line_no: int, item: str, held: Sequence[Pick], to_pick_micro: int) -> list[dict[str, Any]]:
    """A line's pick rows as its reservations stand: a row per bin it holds, and `missing` for what it still has to
    pick (`to_pick_micro`: ordered less packed) and holds nowhere."""
    picks = merged_picks(held)
    return pick_rows(line_no, item, picks, to_pick_micro - sum(p.quantity_micro for p in picks))


def with_line_rows(rows: Sequence[dict[str, Any]], line_no: int, line_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A pick list whose rows of one line are replaced, where that line's rows were (at the end when it had none)."""
    others = [row for row in rows if row["line_no"] != line_no]
    at = next((index for index, row in enumerate(rows) if row["line_no"] == line_no), len(others))
    return [*others[:at], *line_rows, *others[at:]]


def missing_by_line(rows: Iterable[dict[str, Any]]) -> dict[int, int]:
    """Per line, what a pick list marks `missing` (micro-units): what the shipment is short of."""
    missing: dict[int, int] = {}
    for row in rows:
        if row.get("missing"):
            missing[row["line_no"]] = missing.get(row["line_no"], 0) + to_micro(Decimal(row["quantity"]))
    return missing


def replan_refusal(status: str, short: Collection[int]) -> Refusal | None:
    """A pick list is planned again while the shipment is open and short somewhere."""
    if status not in OPEN:
        return _closed(status)
    if not short:
        return Refusal("shipment_not_short", "Every line of this shipment has its stock reserved: nothing to re-plan")
    return None


def pick_rows(line_no: int, item: str, picks: Sequence[Pick], missing_micro: int) -> list[dict[str, Any]]:
    """A line's rows of a pick list: one per bin to pick from, then a `missing` row for what no bin covers."""
    rows = [{"line_no": line_no, "item": item, "location": p.location, "lot": p.lot or None,
             "expiry": p.expiry.isoformat() if p.expiry else None, "quantity": quantity_text(p.quantity_micro),
             "missing": False} for p in picks]
    if missing_micro > 0:
        rows.append({"line_no": line_no, "item": item, "location": None, "lot": None, "expiry": None,
                     "quantity": quantity_text(missing_micro), "missing": True})
    return rows


@dataclass(frozen=True)
class CarriedLine:
    shipment: str
    quantity_micro: int
    packed_micro: int


@dataclass(frozen=True)
class Cut:
    shipment: str
    cut_micro: int
    left_micro: int  # what the shipment's line carries after the cut


def cuts_to_fit(lines: Sequence[CarriedLine], allowed_micro: int) -> tuple[list[Cut], int]:
    """How open shipments' lines (newest first) shrink so that together they carry no more than `allowed_micro`: only
    what is not packed yet comes off, newest shipment first. Returns the cuts and what is still over (packed; 0 when
    nothing is)."""
    excess = sum(line.quantity_micro for line in lines) - allowed_micro
    cuts: list[Cut] = []
    for line in lines:
        if excess <= 0:
            continue
        cut = min(excess, line.quantity_micro - line.packed_micro)
        excess -= cut
        if cut > 0:
            cuts.append(Cut(line.shipment, cut, line.quantity_micro - cut))
    return cuts, max(excess, 0)


def cut_effect(left_micro: int, lines_remaining: int) -> str:
    """What a cut did to its shipment: the last line gone cancels it."""
    if not lines_remaining:
        return "shipment_cancelled"
    return "shipment_line_removed" if not left_micro else "shipment_line_reduced"


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


def share_serials(serials: Sequence[str], spread: Iterable[tuple[int, int]]) -> list[list[str]]:
    """The serials each line of a spread takes, in order: serial-tracked items count in whole units."""
    shares: list[list[str]] = []
    rest = list(serials)
    for _line_no, portion_micro in spread:
        units = portion_micro // 1_000_000
        shares.append(rest[:units])
        rest = rest[units:]
    return shares


def is_fefo_deviation(picked_lot: str, picked_expiry: date | None, usable: Iterable[Bin]) -> bool:
    """A pick breaks first-expiry-first-out when usable stock of another lot that expires sooner is left behind in
    the warehouse (a lot without an expiry counts as expiring last)."""
    picked = picked_expiry or date.max
    return any(b.expiry is not None and b.expiry < picked for b in usable if b.lot != picked_lot)


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


def shortfalls_by_line(shortfalls: Iterable[tuple[int, int]], packed_micro: Mapping[int, int],
                       shipment: str) -> dict[int, int] | Refusal:
    """(line_no, micro) the driver reported short, summed per line: on a line of the shipment, no more than it carried."""
    short: dict[int, int] = {}
    for index, (line_no, quantity_micro) in enumerate(shortfalls):
        if line_no not in packed_micro:
            return Refusal("unknown_shipment_line", f"Shipment {shipment} has no line {line_no}",
                           {"line_no": line_no, "index": index})
        short[line_no] = short.get(line_no, 0) + quantity_micro
        if short[line_no] > packed_micro[line_no]:
            return Refusal("shortfall_exceeds_shipment", f"Line {line_no} carried {quantity_text(packed_micro[line_no])}",
                           {"line_no": line_no, "index": index})
    return short


def delivery_by_line(packed_micro: Mapping[int, int], short_micro: Mapping[int, int]) -> dict[int, tuple[int, int]]:
    """Per line, (delivered, short): what was packed arrived but for its shortfall, which the order keeps as a
    backorder."""
    return {no: (packed - short_micro.get(no, 0), short_micro.get(no, 0)) for no, packed in packed_micro.items()}


def decoded_image(text: str | None, *, what: str, magic: bytes, limit: int) -> bytes | Refusal | None:
    """A base64 signature or photo as bytes (None when absent), refused when it is not base64, too large, or not
    the image kind its `magic` bytes announce."""
    if not text:
        return None
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return Refusal(f"invalid_{what}", f"The {what} is not valid base64")
    if len(data) > limit:
        return Refusal(f"{what}_too_large", f"The {what} is {len(data)} bytes; at most {limit} are kept",
                       {"size": len(data), "limit": limit})
    if not data.startswith(magic):
        return Refusal(f"invalid_{what}", f"The {what} is not a {'PNG' if what == 'signature' else 'JPEG'} image")
    return data


# -- proof of delivery ------------------------------------------------------------------------------------------
def canonical_json(record: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 as is: the one text a record hashes to, on every machine."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


HASHED_FIELDS = ("sequence", "shipment", "sales_order", "signer_name", "signed_at", "recorded_at", "signature_sha256",
                 "photo_sha256", "position", "shortfalls", "delivered", "device_id", "previous_hash")


def utc_text(moment: datetime) -> str:
    """ISO 8601 in UTC; a naive time is taken as UTC already."""
    moment = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return moment.isoformat()


def position_record(lat: Decimal, lon: Decimal, accuracy_m: Decimal | None) -> dict[str, str | None]:
    return {"lat": format(lat, "f"), "lon": format(lon, "f"),
            "accuracy_m": format(accuracy_m, "f") if accuracy_m is not None else None}


def proof_record(*, sequence: int, shipment: str, sales_order: str, signer_name: str, signed_at: datetime,
                 recorded_at: datetime, signature: bytes, photo: bytes | None, position: dict[str, Any] | None,
                 shortfalls: Iterable[tuple[int, int, str]], delivered: Iterable[tuple[int, str, int]],
                 device_id: str | None, previous_hash: str) -> dict[str, Any]:
    """The proof of delivery as it is hashed and kept: shortfalls (line_no, micro, reason) in a fixed order,
    delivered (line_no, item, micro) by line, the signature and photo by their SHA-256."""
    return {
        "sequence": sequence, "shipment": shipment, "sales_order": sales_order, "signer_name": signer_name,
        "signed_at": utc_text(signed_at), "recorded_at": utc_text(recorded_at),
        "signature_sha256": sha256_hex(signature), "photo_sha256": sha256_hex(photo) if photo else None,
        "position": position,
        "shortfalls": sorted(({"line_no": no, "quantity": quantity_text(micro), "reason": reason}
                              for no, micro, reason in shortfalls), key=lambda s: (s["line_no"], s["reason"], s["quantity"])),
        "delivered": [{"line_no": no, "item": item, "quantity": quantity_text(micro)}
                      for no, item, micro in sorted(delivered)],
        "device_id": device_id, "previous_hash": previous_hash,
    }


def proof_hash(record: dict[str, Any]) -> str:
    """SHA-256 of the canonical record: every hashed field (the signature and photo by their own SHA-256), the
    previous proof's hash included, so changing any proof changes every hash after it."""
    return sha256_hex(canonical_json({name: record[name] for name in HASHED_FIELDS}).encode())


def stored_proof(row: dict[str, Any]) -> dict[str, Any]:
    """A proof row as the record that was hashed (JSON columns parsed back), plus its signature and photo bytes."""
    def raw(text: str | None) -> bytes:
        try:
            return base64.b64decode(text or "", validate=True)
        except (binascii.Error, ValueError):
            return b""

    return {**row, "position": json.loads(row["position"]) if row["position"] else None,
            "shortfalls": json.loads(row["shortfalls"] or "[]"), "delivered": json.loads(row["delivered"] or "[]"),
            "signature_bytes": raw(row["signature_png"]), "photo_bytes": raw(row["photo_jpeg"]) if row["photo_jpeg"] else None}


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
