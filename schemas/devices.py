"""Contracts of the office's device endpoints: an enrolment made (code, link and QR), a device with its sync health,
and a rename or re-scope."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from schemas.common import Contract, Name
from schemas.sync import DeviceScope


class EnrolmentCreated(BaseModel):
    code: str
    expires_at: datetime
    enrol_url: str
    qr_svg: str


class DeviceOut(BaseModel):
    device_id: str
    name: str
    platform: str
    app_version: str
    scope: DeviceScope
    enrolled_by: str
    created_at: datetime
    revoked: bool
    last_seen_at: datetime | None
    last_seq: int
    pending: int
    sync_lag: int


class DevicePatch(Contract):
    name: Name | None = None
    scope: DeviceScope | None = None
