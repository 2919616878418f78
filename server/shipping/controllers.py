"""REST endpoints of shipping: shipments under /api/shipments (list, read, plan from sales order lines, cancel,
re-plan a short one's pick list, change route, proof of delivery and signature, shipment label and delivery note), handling units by SSCC (with
their SSCC label) under /api/handling-units, and the proof chain's check at /api/proofs/verify.
Reading needs shipping.read, writing shipping.write."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.shipping import (
    ChainVerification,
    HandlingUnitOut,
    ProofOut,
    ShipmentAction,
    ShipmentIn,
    ShipmentOut,
    ShipmentRouteIn,
    ShipmentStatus,
)
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import not_found
from server.labels.kinds import Label, bilingual, document_label, sscc_label
from server.labels.responses import label_response
from server.masterdata.tables import Customer, Item
from server.shipping import delivery, planning, shipments

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
SsccPath = Annotated[str, Parameter(pattern=r"^\d{18}$")]
NOTE_LINES = 10  # item lines a 4 × 6 in note holds beside the header and the signature


async def _delivery_note(code: str) -> Label:
    """What the customer signs: who and where it goes to, the order, each line with the item's name, the units, and a
    line to sign on; the wording in both languages (the customer's name and address as they are written)."""
    shipment = await shipments.get_shipment(code)
    customer = await Customer.select(Customer.name, Customer.address).where(Customer.code == shipment.customer).first()
    names = {row["code"]: row["name"] for row in await Item.select(Item.code, Item.name).where(
        Item.code.is_in([line.item for line in shipment.lines] or [""]))}
    lines = [f"{bilingual('document.customer')}: {shipment.customer} {customer['name'] if customer else ''}".rstrip()]
    if customer and customer["address"]:
        lines.append(f"{bilingual('document.address')}: {' '.join(customer['address'].split())}")
    lines.append(f"{bilingual('document.order')}: {shipment.sales_order}")
    items = [f"{l.line_no} {l.item} {names.get(l.item, '')} × {format(l.packed_quantity or l.quantity, 'f')}"
             for l in shipment.lines]
    if len(items) > NOTE_LINES:
        items = [*items[:NOTE_LINES - 1], bilingual("document.more_lines", count=len(items) - NOTE_LINES + 1)]
    lines += items
    lines.append(f"{bilingual('document.units')}: SSCC × {len(shipment.handling_units)}")
    lines.append(f"{bilingual('document.signature')}: ____________________")
    return document_label("delivery_note", shipment.code, tuple(lines))


async def _shipment_label(code: str) -> Label:
    shipment = await shipments.get_shipment(code)
    return document_label("shipment", code, (shipment.customer, shipment.sales_order))


async def _unit_label(sscc: str) -> Label:
    """The SSCC at the bottom; above it, when the unit holds one item that has a GTIN, that GTIN and how many."""
    unit = await shipments.handling_unit(sscc)
    if unit is None:
        raise not_found("handling_unit", sscc)
    items = {c.item for c in unit.contents}
    gtin, count = None, None
    if len(items) == 1:
        row = await Item.select(Item.gtin).where(Item.code == next(iter(items))).first()
        total = sum(c.quantity for c in unit.contents)
        gtin = row["gtin"] if row and row["gtin"] else None
        count = int(total) if total == int(total) and 0 < total < 10**8 else None
    return sscc_label(sscc, gtin, count if gtin else None, (unit.shipment,))


class ShipmentController(Controller):
    path = "/api/shipments"
    tags = ["Shipping"]

    @get("/", guards=[requires("shipping.read")], summary="List shipments, newest first", operation_id="list_shipments")
    async def list_shipments(
        self,
        status: Annotated[ShipmentStatus | None, Parameter(description="Only shipments in this status")] = None,
        sales_order: Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)] = None,
        route: Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[ShipmentOut]:
        return Page[ShipmentOut](**await shipments.list_shipments(status=status, sales_order=sales_order, route=route,
                                                                limit=limit, offset=offset))

    @get("/{code:str}", guards=[requires("shipping.read")], summary="One shipment: lines, pick list, handling units",
         operation_id="get_shipment")
    async def get_shipment(self, code: CodePath) -> ShipmentOut:
        return await shipments.get_shipment(code)

    @post("/", guards=[requires("shipping.write")], status_code=HTTP_201_CREATED,
          summary="Plan a shipment from approved sales order lines: stock reserved, FEFO pick list made",
          operation_id="create_shipment")
    async def create_shipment(self, request: Request, data: ShipmentIn) -> ShipmentOut:
        async with write_transaction():
            return await planning.create_shipment(data, office_who(request))

    @post("/{code:str}/cancel", guards=[requires("shipping.write")], status_code=HTTP_200_OK,
          summary="Cancel a shipment nothing was packed for: its reservations are released",
          operation_id="cancel_shipment")
    async def cancel_shipment(self, request: Request, code: CodePath, data: ShipmentAction | None = None) -> ShipmentOut:
        async with write_transaction():
            return await planning.cancel_shipment(code, office_who(request), data.reason if data else "")

    @post("/{code:str}/replan", guards=[requires("shipping.write")], status_code=HTTP_200_OK,
          summary="Re-plan a short shipment's pick list: reserve, first expiry first out, what has become free since "
                  "(409 no_free_stock while nothing has)",
          operation_id="replan_shipment")
    async def replan_shipment(self, request: Request, code: CodePath) -> ShipmentOut:
        async with write_transaction():
            return await planning.replan_shipment(code, office_who(request))

    @post("/{code:str}/route", guards=[requires("shipping.write")], status_code=HTTP_200_OK,
          summary="Move an open shipment to another route (the old route's devices drop it)",
          operation_id="move_shipment_route")
    async def move_route(self, request: Request, code: CodePath, data: ShipmentRouteIn) -> ShipmentOut:
        async with write_transaction():
            return await planning.move_route(code, data.route, office_who(request))

    @get("/{code:str}/proof", guards=[requires("shipping.read")], summary="The shipment's proof of delivery",
         operation_id="get_proof_of_delivery")
    async def proof(self, code: CodePath) -> ProofOut:
        return await delivery.get_proof(code)

    @get("/{code:str}/signature.png", guards=[requires("shipping.read")], media_type="image/png",
         summary="The customer's signature on the proof of delivery", operation_id="get_delivery_signature")
    async def signature(self, code: CodePath) -> Response[bytes]:
        return Response(await delivery.signature_png(code), media_type="image/png")

    # One handler per format: each documents its own media type and operation.
    @get("/{code:str}/label.png", guards=[requires("shipping.read")], media_type="image/png",
         summary="The shipment's label: its code as Code 128, PNG")
    async def label_png(self, code: CodePath) -> Response[bytes]:
        return label_response(await _shipment_label(code), "png", code)

    @get("/{code:str}/label.svg", guards=[requires("shipping.read")], media_type="image/svg+xml",
         summary="The shipment's label, SVG")
    async def label_svg(self, code: CodePath) -> Response[str]:
        return label_response(await _shipment_label(code), "svg", code)

    @get("/{code:str}/label.zpl", guards=[requires("shipping.read")], media_type="application/x-zpl",
         summary="The shipment's label for a thermal printer (ZPL II)")
    async def label_zpl(self, code: CodePath) -> Response[str]:
        return label_response(await _shipment_label(code), "zpl", code)

    @get("/{code:str}/delivery-note.pdf", guards=[requires("shipping.read")], media_type="application/pdf",
         summary="The delivery note: customer, order, lines and units, with the shipment's code, on a 4 × 6 in page")
    async def delivery_note_pdf(self, code: CodePath) -> Response[bytes]:
        return label_response(await _delivery_note(code), "pdf", f"{code}-delivery-note")

    @get("/{code:str}/delivery-note.png", guards=[requires("shipping.read")], media_type="image/png",
         summary="The delivery note, PNG")
    async def delivery_note_png(self, code: CodePath) -> Response[bytes]:
        return label_response(await _delivery_note(code), "png", f"{code}-delivery-note")

    @get("/{code:str}/delivery-note.zpl", guards=[requires("shipping.read")], media_type="application/x-zpl",
         summary="The delivery note for a thermal printer (ZPL II)")
    async def delivery_note_zpl(self, code: CodePath) -> Response[str]:
        return label_response(await _delivery_note(code), "zpl", f"{code}-delivery-note")


class HandlingUnitController(Controller):
    path = "/api/handling-units"
    tags = ["Shipping"]
    guards = [requires("shipping.read")]

    @get("/{sscc:str}", summary="A handling unit by its SSCC: its shipment, status and contents",
         operation_id="get_handling_unit")
    async def get_unit(self, sscc: SsccPath) -> HandlingUnitOut:
        unit = await shipments.handling_unit(sscc)
        if unit is None:
            raise not_found("handling_unit", sscc)
        return unit

    @get("/{sscc:str}/label.png", media_type="image/png",
         summary="The unit's SSCC label (AI 00; with 02 and 37 when it holds one item with a GTIN), PNG")
    async def label_png(self, sscc: SsccPath) -> Response[bytes]:
        return label_response(await _unit_label(sscc), "png", sscc)

    @get("/{sscc:str}/label.svg", media_type="image/svg+xml", summary="The unit's SSCC label, SVG")
    async def label_svg(self, sscc: SsccPath) -> Response[str]:
        return label_response(await _unit_label(sscc), "svg", sscc)

    @get("/{sscc:str}/label.zpl", media_type="application/x-zpl", summary="The unit's SSCC label for a thermal printer")
    async def label_zpl(self, sscc: SsccPath) -> Response[str]:
        return label_response(await _unit_label(sscc), "zpl", sscc)


class ProofController(Controller):
    path = "/api/proofs"
    tags = ["Shipping"]

    @get("/verify", guards=[requires("shipping.read")],
         summary="Recompute the proof-of-delivery hash chain and report the first broken link",
         operation_id="verify_proofs_of_delivery")
    async def verify(self) -> ChainVerification:
        return await delivery.verify_chain()
