"""Contracts of shipping: shipments made from sales order lines (office), the floor's `shipment.pack`,
`shipment.load` and `delivery.sign`, handling units by SSCC and the tamper-evident proof of delivery."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Code, Contract, Name, Quantity, ShortText
from schemas.masterdata import LineNumber
from schemas.sync import PositiveQuantity

ShipmentStatus = Literal["planned", "picking", "packed", "loaded", "delivered", "cancelled"]
HandlingUnitStatus = Literal["packed", "loaded", "delivered"]
Sscc = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{18}$")]
# Base64 text. The limits a business rule enforces (a signature's 200 KB, a photo's 2 MB) are checked by the
# command so a device gets `signature_too_large` rather than a schema error; these bounds only stop abuse.
Base64Text = Annotated[str, StringConstraints(max_length=4_000_000, pattern=r"^[A-Za-z0-9+/=\s]*$")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")]


# -- office -------------------------------------------------------------------------------------------------------
class ShipmentLineIn(Contract):
    line_no: LineNumber = Field(description="The sales order line shipped")
    quantity: PositiveQuantity


class ShipmentIn(Contract):
    sales_order: Code
    ship_from: Code = Field(description="The warehouse it is picked in: its devices get the shipment and its pick list")
    route: Code | None = Field(default=None, description="The delivery route; its drivers' devices get the shipment once loaded")
    lines: Annotated[list[ShipmentLineIn], Field(min_length=1, max_length=500)]


class ShipmentRouteIn(Contract):
    route: Code


class ShipmentAction(Contract):
    reason: ShortText = ""


class PickOut(BaseModel):
    line_no: int
    item: str
    location: str | None
    lot: str | None
    expiry: date | None
    quantity: Quantity
    missing: bool = Field(default=False, description="No usable stock for this part when the shipment was planned")


class ShipmentLineOut(BaseModel):
    line_no: int
    item: str
    quantity: Quantity
    packed_quantity: Quantity
    delivered_quantity: Quantity
    shortfall_quantity: Quantity


class HandlingUnitContentOut(BaseModel):
    line_no: int
    item: str
    lot: str | None
    location: str
    quantity: Quantity
    serials: list[str]
    fefo_deviation: bool


class HandlingUnitOut(BaseModel):
    sscc: str
    shipment: str
    status: HandlingUnitStatus
    vehicle: str | None
    packed_at: datetime
    loaded_at: datetime | None
    contents: list[HandlingUnitContentOut]


class ShipmentOut(BaseModel):
    code: str
    sales_order: str
    customer: str
    site: str
    ship_from: str
    route: str | None
    vehicle: str | None
    status: ShipmentStatus
    created_by: str
    created_at: datetime
    updated_at: datetime
    lines: list[ShipmentLineOut]
    pick_list: list[PickOut]
    handling_units: list[HandlingUnitOut]


class ShortfallOut(BaseModel):
    line_no: int
    quantity: str
    reason: str


class ProofOut(BaseModel):
    sequence: int
    shipment: str
    sales_order: str
    signer_name: str
    signed_at: str = Field(description="The device's time, as signed (ISO 8601, UTC)")
    recorded_at: str
    signature_sha256: str
    photo_sha256: str | None
    position: dict[str, str | None] | None
    shortfalls: list[ShortfallOut]
    delivered: list[dict[str, str | int]]
    device_id: str | None
    hash: str
    previous_hash: str


class ChainBreak(BaseModel):
    sequence: int
    shipment: str
    reason: Literal["hash_mismatch", "previous_hash_mismatch", "signature_mismatch", "photo_mismatch", "sequence_gap"]


class ChainVerification(BaseModel):
    ok: bool
    proofs: int = Field(description="How many proofs were checked")
    first_broken: ChainBreak | None = None


# -- floor commands ---------------------------------------------------------------------------------------------
class PackContent(Contract):
    item: Code
    lot: Code | None = None
    location: Code = Field(description="Where it was picked from")
    quantity: PositiveQuantity
    serials: list[Code] | None = Field(default=None, max_length=1000, description="One per unit of a serial-tracked item")


class ShipmentPackArgs(Contract):
    """`shipment.pack`: stock picked from bins into one handling unit (new, or one this shipment already has)."""

    shipment: Code
    sscc: Sscc | None = Field(default=None, description="A pre-printed SSCC label; absent: the server numbers one")
    contents: Annotated[list[PackContent], Field(min_length=1, max_length=200)]


class ShipmentLoadArgs(Contract):
    """`shipment.load`: a handling unit scanned onto a vehicle."""

    shipment: Code
    sscc: Sscc
    vehicle: Code
    route: Code | None = Field(default=None, description="Absent: the shipment's planned route")


class Shortfall(Contract):
    line_no: LineNumber
    quantity: PositiveQuantity
    reason: Reason


class Position(Contract):
    lat: Annotated[Decimal, Field(ge=-90, le=90, max_digits=12, decimal_places=8, allow_inf_nan=False)]
    lon: Annotated[Decimal, Field(ge=-180, le=180, max_digits=12, decimal_places=8, allow_inf_nan=False)]
    accuracy_m: Annotated[Decimal, Field(ge=0, le=100_000, max_digits=10, decimal_places=2, allow_inf_nan=False)] | None = None


class DeliverySignArgs(Contract):
    """`delivery.sign`: the customer signed for the shipment on the driver's device."""

    shipment: Code
    signer_name: Name
    signature_png: Base64Text | None = Field(default=None, description="The signature as a PNG, base64; at most 200 KB")
    shortfalls: Annotated[list[Shortfall], Field(max_length=500)] = Field(default_factory=list)
    photo_jpeg: Base64Text | None = Field(default=None, description="A photo of the delivery as a JPEG, base64; at most 2 MB")
    position: Position | None = None
    signed_at: datetime = Field(description="The device's clock when the customer signed")
