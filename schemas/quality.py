"""Contracts of quality: inspection plans (office), the `quality.record` command (a device, or a desk), holds and
releases at a desk, and nonconformances with their disposition. Decimals travel as strings (schemas/common.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, Field, PlainSerializer, StringConstraints

from schemas.common import Code, Contract, ControlFree, LongText, Quantity, ShortText, decimal_input
from schemas.masterdata import PositiveQuantity

CharacteristicKind = Literal["numeric", "pass_fail"]
InspectionSubject = Literal["receipt", "lot", "operation"]
PassFail = Literal["pass", "fail"]
NcrStatus = Literal["open", "closed"]
DISPOSITIONS = ("return_to_supplier", "rework", "scrap", "use_as_is")

CharacteristicName = Annotated[ControlFree, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Unit = Annotated[ControlFree, StringConstraints(strip_whitespace=True, max_length=20)]
# A measured value or a limit: may be negative (a temperature), exact to 6 places, plain digits on the wire; like the
# other decimals (schemas/common.py), text (ASCII digits, white space around) or a JSON number, 12 digits before the point.
Measure = Annotated[
    Decimal,
    Field(gt=-(10**12), lt=10**12, max_digits=18, decimal_places=6, allow_inf_nan=False,
          json_schema_extra={"type": "string", "format": "decimal", "multipleOf": 1e-06,
                             "pattern": r"^[ \t\n\r\f\v]*-?0*[0-9]{1,12}(?:\.[0-9]{1,6}0*)?[ \t\n\r\f\v]*$"}),
    BeforeValidator(decimal_input(6)),
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
]
Version = Annotated[int, Field(ge=1, le=2**31 - 1, description="The version read; a stale one is refused (409)")]


class CharacteristicIn(Contract):
    name: CharacteristicName
    kind: CharacteristicKind
    unit: Unit = ""
    lower_limit: Measure | None = Field(default=None, description="numeric only; the value may equal it")
    upper_limit: Measure | None = Field(default=None, description="numeric only; the value may equal it")
    required: bool = Field(default=True, description="A result must be given for it")


Characteristics = Annotated[list[CharacteristicIn], Field(min_length=1, max_length=100)]


class InspectionPlanIn(Contract):
    item: Code
    description: LongText = ""
    characteristics: Characteristics


class InspectionPlanUpdate(Contract):
    """Replaces the plan's description and characteristics; refused (409) when `version` is not the current one."""

    version: Version
    description: LongText = ""
    characteristics: Characteristics


class CharacteristicOut(BaseModel):
    name: str
    kind: CharacteristicKind
    unit: str
    lower_limit: Measure | None
    upper_limit: Measure | None
    required: bool


class InspectionPlanOut(BaseModel):
    item: str
    description: str
    characteristics: list[CharacteristicOut]
    version: int
    created_at: datetime
    updated_at: datetime
    updated_by: str


ResultValue = Annotated[
    Measure | PassFail,
    Field(description="A number for a numeric characteristic, 'pass' or 'fail' for a pass/fail one"),
]


class InspectionResultIn(Contract):
    characteristic: CharacteristicName
    value: ResultValue


class QualityRecordArgs(Contract):
    """`quality.record`: results against the item's plan. For a receipt or a lot the held stock at `location` (or,
    for a lot without a location, all its held stock in scope) is released on pass and quarantined on fail.
    An item without a plan takes the inspector's `verdict` instead of results."""

    subject: InspectionSubject
    item: Code
    lot: Code | None = None
    location: Code | None = Field(default=None, description="Required for a receipt; optional for a lot or operation")
    quantity: PositiveQuantity | None = Field(default=None, description="Empty: all held there (needs a location)")
    production_order: Code | None = Field(default=None, description="An operation's production order")
    operation: Code | None = Field(default=None, description="An operation's code (as the traveller prints it)")
    results: Annotated[list[InspectionResultIn], Field(max_length=100)] = Field(default_factory=list)
    verdict: PassFail | None = Field(
        default=None, description="Without a plan: the verdict. With one: 'fail' may overrule a pass, never the reverse")
    note: LongText = ""


class HoldIn(Contract):
    """Put available stock on hold, or release held stock, where it lies."""

    item: Code
    lot: Code | None = None
    location: Code
    quantity: PositiveQuantity
    note: ShortText = ""


class DispositionIn(Contract):
    disposition: Annotated[str, StringConstraints(max_length=40)] = Field(
        description="return_to_supplier, rework, scrap or use_as_is (anything else: 422 invalid_disposition)")
    note: LongText = ""


class ResultOut(BaseModel):
    characteristic: str
    kind: CharacteristicKind | None
    value: str
    unit: str = ""
    passed: bool


class PlaceQuantity(BaseModel):
    location: str
    quantity: Quantity


class InspectionOut(BaseModel):
    id: int
    subject: InspectionSubject
    item: str
    lot: str | None
    location: str | None
    quantity: Quantity
    production_order: str | None
    operation: str | None
    results: list[ResultOut]
    verdict: PassFail
    plan_version: int | None
    note: str
    nonconformance: str | None
    inspected_at: datetime
    by: str


class NonconformanceOut(BaseModel):
    code: str
    status: NcrStatus
    disposition: str = Field(description="pending until decided")
    subject: InspectionSubject
    item: str
    lot: str | None
    places: list[PlaceQuantity]
    quantity: Quantity
    production_order: str | None
    operation: str | None
    inspection: int | None
    site: str | None
    description: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    disposition_note: str


class HeldStock(BaseModel):
    item: str
    location: str
    lot: str | None
    status: str
    quantity: Quantity
