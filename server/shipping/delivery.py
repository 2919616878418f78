"""Delivery: the customer's signature on the driver's device kept as a tamper-evident proof of delivery (each proof
hashes its predecessor's), what was delivered and fell short booked on the sales order, and the chain's check."""

from __future__ import annotations

import base64
import json
from typing import Any

from schemas.shipping import ChainBreak, ChainVerification, DeliverySignArgs, ProofOut
from server.db import sql_execute, sql_fetch
from server.documents import utc_now
from server.errors import not_found
from server.inventory.availability import release_reservations
from server.errors import refuse
from server.quantities import quantity_text, to_micro
from server.sales import service as sales
from server.actors import Who
from server.shipping import rules
from server.shipping.rules import Refusal
from server.shipping.shipments import (
    RESERVATION_KIND,
    SHIPMENTS,
    conflict,
    device_scope,
    dock,
    publish,
    scope_refusal,
    shipment_lines,
    shipment_row,
)
from server.shipping.tables import HandlingUnit, ProofChainHead, ProofOfDelivery, Shipment, ShipmentLine

VERIFY_PAGE = 200


def _image(text: str | None, *, what: str, magic: bytes, limit: int) -> bytes | None:
    data = rules.decoded_image(text, what=what, magic=magic, limit=limit)
    if isinstance(data, Refusal):
        raise refuse(data.code, data.message, **data.details)
    return data


async def _chain_head() -> tuple[int, str]:
    """This proof's sequence and its predecessor's hash; the head row stays locked until commit."""
    rows = await sql_fetch(
        "INSERT INTO proof_chain_head (id, last_sequence, last_hash) VALUES (1, 1, $1) "
        "ON CONFLICT (id) DO UPDATE SET last_sequence = proof_chain_head.last_sequence + 1 "
        "RETURNING last_sequence, last_hash",
        rules.GENESIS_HASH,
    )
    return rows[0]["last_sequence"], rows[0]["last_hash"]


async def sign(args: DeliverySignArgs, who: Who) -> dict[str, Any]:
    scope = device_scope(who)
    row = await shipment_row(args.shipment, for_device=True, lock=True)
    if scope is not None and not rules.may_sign(scope, row["site"], row["ship_from"], row["route"]):
        raise scope_refusal(row["code"])
    refusal = rules.sign_refusal(row["status"])
    if refusal is not None:
        raise conflict(refusal, shipment=row["code"], shipment_status=row["status"])
    if not args.signature_png:
        raise refuse("signature_required", "The customer's signature is missing")
    signature = _image(args.signature_png, what="signature", magic=rules.PNG_MAGIC, limit=rules.SIGNATURE_MAX_BYTES)
    photo = _image(args.photo_jpeg, what="photo", magic=rules.JPEG_MAGIC, limit=rules.PHOTO_MAX_BYTES)
    lines = {line["line_no"]: line for line in await shipment_lines(row["id"])}
    packed = {no: line["packed_quantity_micro"] for no, line in lines.items()}
    short = rules.shortfalls_by_line(((s.line_no, to_micro(s.quantity)) for s in args.shortfalls), packed, row["code"])
    if isinstance(short, Refusal):
        raise refuse(short.code, short.message, **short.details)
    outcome = rules.delivery_by_line(packed, short)
    sequence, previous_hash = await _chain_head()
    position = None
    if args.position is not None:
        position = rules.position_record(args.position.lat, args.position.lon, args.position.accuracy_m)
    record = rules.proof_record(
        sequence=sequence, shipment=row["code"], sales_order=row["sales_order"], signer_name=args.signer_name,
        signed_at=args.signed_at, recorded_at=utc_now(), signature=signature, photo=photo, position=position,
        shortfalls=[(s.line_no, to_micro(s.quantity), s.reason) for s in args.shortfalls],
        delivered=[(no, line["item"], outcome[no][0]) for no, line in lines.items()],
        device_id=who.device_id, previous_hash=previous_hash,
    )
    digest = rules.proof_hash(record)
    await ProofOfDelivery.insert(ProofOfDelivery(
        **{k: v for k, v in record.items() if k not in ("position", "shortfalls", "delivered")},
        position=json.dumps(position) if position is not None else None,
        shortfalls=json.dumps(record["shortfalls"]), delivered=json.dumps(record["delivered"]),
        signature_png=base64.b64encode(signature).decode(), photo_jpeg=base64.b64encode(photo).decode() if photo else None,
        mutation_id=who.mutation_id, hash=digest,
    ))
    await sql_execute("UPDATE proof_chain_head SET last_hash = $1 WHERE id = 1", digest)
    now = utc_now()
    for no, line in lines.items():
        delivered_micro, short_micro = outcome[no]
        await ShipmentLine.update({ShipmentLine.delivered_quantity_micro: delivered_micro,
                                   ShipmentLine.shortfall_quantity_micro: short_micro}).where(ShipmentLine.id == line["id"])
    await HandlingUnit.update({HandlingUnit.status: rules.UNIT_DELIVERED}).where(HandlingUnit.shipment == row["id"])
    await Shipment.update({Shipment.status: rules.DELIVERED, Shipment.delivered_at: now, Shipment.updated_at: now}).where(
        Shipment.id == row["id"])
    await release_reservations(RESERVATION_KIND, row["code"])
    order = await sales.book_delivery(row["sales_order"], outcome)
    await publish(row, row["code"])
    dock("deliver", row["code"], sales_order=row["sales_order"], status=rules.DELIVERED, sequence=sequence,
         shortfall=any(short.values()))
    return {"shipment": row["code"], "status": rules.DELIVERED, "proof": {"sequence": sequence, "hash": digest},
            "sales_order": order["sales_order"], "sales_order_status": order["status"],
            "shortfalls": [{"line_no": no, "quantity": quantity_text(q)} for no, q in sorted(short.items()) if q]}


async def _proof_row(shipment: str, *columns: Any) -> dict[str, Any]:
    """The proof of a shipment the office user may see: one of a shipment of another site is not found, like it."""
    row = None
    if await SHIPMENTS.find(shipment) is not None:
        row = await ProofOfDelivery.select(*columns).where(ProofOfDelivery.shipment == shipment).first()
    if row is None:
        raise not_found("proof_of_delivery", shipment)
    return row


async def get_proof(shipment: str) -> ProofOut:
    row = await _proof_row(shipment)
    record = rules.stored_proof(row)
    return ProofOut(**{k: record[k] for k in ProofOut.model_fields})


async def signature_png(shipment: str) -> bytes:
    row = await _proof_row(shipment, ProofOfDelivery.signature_png)
    return base64.b64decode(row["signature_png"] or "")


async def verify_chain(through_sequence: int | None = None) -> ChainVerification:
    """Recompute every proof's hash in sequence order (a page at a time) and report the first broken link."""
    checked, previous_hash, expected = 0, rules.GENESIS_HASH, 1
    while True:
        condition = ProofOfDelivery.sequence >= expected
        if through_sequence is not None:
            condition = condition & (ProofOfDelivery.sequence <= through_sequence)
        rows = await ProofOfDelivery.select().where(condition).order_by(ProofOfDelivery.sequence).limit(VERIFY_PAGE)
        if not rows:
            return await _missing_tail(checked, expected) if through_sequence is None else ChainVerification(ok=True, proofs=checked)
        broken = rules.first_break([rules.stored_proof(r) for r in rows], previous_hash=previous_hash, expected_sequence=expected)
        if broken is not None:
            return ChainVerification(ok=False, proofs=checked + sum(1 for r in rows if r["sequence"] < broken.sequence),
                                     first_broken=ChainBreak(sequence=broken.sequence, shipment=broken.shipment, reason=broken.reason))
        checked += len(rows)
        previous_hash, expected = rows[-1]["hash"], rows[-1]["sequence"] + 1


async def _missing_tail(checked: int, expected: int) -> ChainVerification:
    """Proofs deleted from the end leave no gap behind them: the chain's head still counts them."""
    head = await ProofChainHead.select(ProofChainHead.last_sequence).where(ProofChainHead.id == 1).first()
    if head is not None and head["last_sequence"] >= expected:
        return ChainVerification(ok=False, proofs=checked,
                                 first_broken=ChainBreak(sequence=expected, shipment="", reason="sequence_gap"))
    return ChainVerification(ok=True, proofs=checked)
