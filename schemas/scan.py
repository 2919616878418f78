"""What `POST /api/scan/resolve` takes and answers: a raw scanned string in, the thing it identifies out.
The response is one of several shapes told apart by `kind`; refusals are the usual ErrorBody."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, PlainSerializer

from schemas.common import Contract

MAX_SCAN_CHARS = 512

# Quantities and weights as decimal strings, like every quantity on the wire.
ScannedDecimal = Annotated[Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")]


class ScanRequest(Contract):
    code: str = Field(min_length=1, max_length=MAX_SCAN_CHARS, description="Exactly what the scanner sent, symbology identifier and "
                      "wedge suffix included; FNC1 as GS (\\u001d) or the configured stand-in")


class GS1Fields(BaseModel):
    """What a GS1 element string said, besides the identifier: `elements` holds every AI as sent."""

    gtin: str | None = None
    lot: str | None = None
    serial: str | None = None
    production_date: date | None = None
    best_before: date | None = None
    expiry: date | None = None
    quantity: ScannedDecimal | None = None
    net_weight_kg: ScannedDecimal | None = None
    order_number: str | None = None
    elements: dict[str, str] = Field(default_factory=dict)


class ScannedItem(BaseModel):
    code: str
    name: str
    unit: str
    lot_tracked: bool
    serial_tracked: bool


class ItemScan(GS1Fields):
    kind: Literal["item"] = "item"
    item: ScannedItem


class ScannedLocation(BaseModel):
    code: str
    name: str
    warehouse: str
    kind: str


class LocationScan(BaseModel):
    kind: Literal["location"] = "location"
    location: ScannedLocation


class SsccScan(GS1Fields):
    """A handling unit's label: the SSCC, and what the label says it holds (AI 02 and 37) when it says so."""

    kind: Literal["sscc"] = "sscc"
    sscc: str
    content_gtin: str | None = None


class ScannedDevice(BaseModel):
    device_id: str
    name: str
    revoked: bool


class DeviceScan(BaseModel):
    """A device's own label (its id), or an enrolment QR (the code it carries: enrolling still needs the code)."""

    kind: Literal["device"] = "device"
    device: ScannedDevice | None = None
    enrolment_code: str | None = None


class DocumentScan(BaseModel):
    """A document's label (its code in Code 128 or QR), answered by the resolver its area registers."""

    kind: Literal["purchase_order", "production_order", "shipment", "handling_unit", "lot"]
    code: str
    document: dict[str, Any] = Field(default_factory=dict)


ScanResult = Annotated[Union[ItemScan, LocationScan, SsccScan, DeviceScan, DocumentScan], Field(discriminator="kind")]
