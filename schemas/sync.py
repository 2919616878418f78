"""Sync protocol v1 on the wire (DESIGN.md section 2): enrolment, push, pull, live. Shared by the server,
the Python reference client and the PWA (exported as JSON Schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Code, Contract, Name, PositiveQuantity, Quantity

PROTOCOL_VERSION = 1
MAX_BATCH = 200

# Quantities travel as decimal strings or numbers; at most 6 decimals, as the stock ledger keeps them: the office's
# quantities (schemas/common.py), so that the OpenAPI says the same of a floor command's arguments at a desk.
CountedQuantity = Quantity

CommandName = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=r"^[a-z_]+\.[a-z_]+(@[0-9]+)?$")]


class DeviceScope(Contract):
    """What a device may see and act on: one site, and optionally only some of its warehouses, work centres, a route."""

    site: Code
    warehouses: list[Code] = Field(default_factory=list, max_length=100)
    work_centres: list[Code] = Field(default_factory=list, max_length=100)
    route: Code | None = None


class EnrolmentRequest(Contract):
    scope: DeviceScope
    ttl_minutes: int = Field(default=15, ge=1, le=24 * 60)


class EnrollRequest(Contract):
    code: Annotated[str, StringConstraints(min_length=6, max_length=64, pattern=r"^[A-Za-z0-9-]+$")]
    device_name: Name
    platform: Annotated[str, StringConstraints(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""
    app_version: Annotated[str, StringConstraints(max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$")] = ""


class EnrollResponse(BaseModel):
    device_id: str
    token: str
    scope: DeviceScope
    server_time: datetime
    protocol: int = PROTOCOL_VERSION


class Mutation(Contract):
    seq: int = Field(ge=1, le=2**62)
    id: UUID
    name: CommandName
    args: dict[str, Any]
    client_time: datetime | None = None


class PushRequest(Contract):
    protocol: int
    # At most MAX_BATCH; checked by the push endpoint rather than here, so that a longer batch gets its own
    # answer (413 batch_too_large) instead of a generic validation error.
    mutations: list[Mutation] = Field(json_schema_extra={"maxItems": MAX_BATCH})
    pending: int | None = Field(default=None, ge=0, le=10**9, description="Queue length on the device, for the office")
    app_version: Annotated[str, StringConstraints(max_length=40)] | None = None


class MutationError(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


MutationStatus = Literal["applied", "rejected", "duplicate", "gap"]


class MutationResult(BaseModel):
    seq: int
    id: UUID
    status: MutationStatus
    outcome: Literal["applied", "rejected"] | None = Field(
        default=None, description="For a duplicate: what the original attempt's outcome was"
    )
    error: MutationError | None = None
    effect: dict[str, Any] | None = None
    expected: int | None = Field(default=None, description="For a gap: the seq the server expects next")


class PushResponse(BaseModel):
    results: list[MutationResult]
    last_seq: int
    server_time: datetime


class Change(BaseModel):
    entity: str
    id: str
    op: Literal["upsert", "delete"]
    data: dict[str, Any] | None = None
    version: int = Field(description="Feed position of this change; a replica keeps the highest it applied per entity")


class PullResponse(BaseModel):
    changes: list[Change]
    cursor: int
    has_more: bool
    reset: bool = False
    head: int = Field(description="The newest feed position when this page was read, for progress during a long sync")
    last_seq: int
    server_time: datetime


class StockMoveArgs(Contract):
    item: Code
    lot: Code | None = None
    from_location: Code
    to_location: Code
    quantity: PositiveQuantity
    serials: list[Code] | None = Field(default=None, max_length=1000, description="One per unit of a serial-tracked item")
    for_order: Code | None = Field(default=None, description=(
        "The order (a shipment) whose reserved units these are: its reservation moves with them and its pick list "
        "points at the new location. 409 `no_reservation_here` when it reserves nothing of the item there, "
        "`more_than_reserved` when the quantity is more than it reserves there."))


class StockCountArgs(Contract):
    item: Code
    lot: Code | None = None
    location: Code
    counted_quantity: CountedQuantity
    reason: Annotated[str, StringConstraints(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")] | None = None
