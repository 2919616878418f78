"""Enrolment, tokens, scope and revocation of devices. Codes and tokens are random; only their SHA-256 is stored
(they are long random secrets, so a fast hash is enough: there is nothing to brute-force)."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY

from devices.tables import Device, Enrolment
from schemas.sync import DeviceScope, EnrollRequest
from server.accounts.audit import record_audit
from server.actors import Who
from server.db import current_write, needs_write, sql_read
from server.errors import ApiError
from server.masterdata.tables import Site, Warehouse, WorkCentre
from sync import live
from sync.feed import head_position
from sync.registry import DeviceIdentity

# Unambiguous characters for a code typed by hand from a screen (no 0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_enrolment_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


_SCOPE_ENTITIES = {"scope.site": "site", "scope.warehouses": "warehouse", "scope.work_centres": "work_centre",
                   "scope.route": "route"}


def _scope_refusal(field: str, code: str, value: str, message: str) -> ApiError:
    """The entity is named too, so that a page can say which kind of record the value is (refusal.<code>)."""
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, code, f"{field}: {message}",
                    {"field": field, "value": value, "entity": _SCOPE_ENTITIES[field]})


async def check_scope(scope: DeviceScope) -> None:
    """A scope names one site, and only warehouses, work centres and a route of that site: a device must not reach
    another plant through a place it was given by mistake. Unknown or archived places are `unknown_reference`,
    places of another site `wrong_site`."""
    site = await Site.select(Site.archived).where(Site.code == scope.site).first()
    if site is None or site["archived"]:
        raise _scope_refusal("scope.site", "unknown_reference", scope.site, f"no site {scope.site!r}")
    for field, table, kind, codes in (("scope.warehouses", Warehouse, "warehouse", scope.warehouses),
                                      ("scope.work_centres", WorkCentre, "work centre", scope.work_centres)):
        for code in codes:
            row = await table.select(table.site, table.archived).where(table.code == code).first()
            if row is None or row["archived"]:
                raise _scope_refusal(field, "unknown_reference", code, f"no {kind} {code!r}")
            if row["site"] not in (None, scope.site):  # a work centre of no site serves any
                raise _scope_refusal(field, "wrong_site", code, f"{kind} {code!r} is not at site {scope.site!r}")
    if scope.route:
        sites = {row["site"] for row in await sql_read("SELECT DISTINCT site FROM shipment WHERE route = $1", scope.route)}
        if sites and scope.site not in sites:  # a route nothing ships on yet may be a new one of this site
            raise _scope_refusal("scope.route", "wrong_site", scope.route,
                                 f"route {scope.route!r} carries shipments of another site only")


@needs_write
async def create_enrolment(scope: DeviceScope, ttl_minutes: int, who: Who) -> tuple[str, datetime]:
    code = new_enrolment_code()
    expires_at = _now() + timedelta(minutes=ttl_minutes)
    await check_scope(scope)
    await Enrolment.insert(
        Enrolment(code_hash=digest(code), scope=scope.model_dump(), created_by=who.name,
                  created_at=_now(), expires_at=expires_at)
    )
    await record_audit(who, "create", "enrolment", expires_at.isoformat(), None, {"scope": scope.model_dump()})
    return code, expires_at


@needs_write
async def enroll(request: EnrollRequest) -> tuple[str, str, DeviceScope]:
    """Exchange a one-time code for a device token. The code is consumed by a conditional update, so two
    devices racing with the same code cannot both win."""
    now = _now()
    token = secrets.token_urlsafe(32)
    device_id = str(uuid.uuid4())
    claimed = await Enrolment.raw(
        "UPDATE device_enrolment SET used_at = {}, device_id = {} "
        "WHERE code_hash = {} AND used_at IS NULL AND expires_at > {} RETURNING scope, created_by",
        now, device_id, digest(request.code.upper()), now,
    )
    if not claimed:
        raise await _why_code_refused(request.code.upper())
    scope = DeviceScope.model_validate(_json(claimed[0]["scope"]))
    await Device.insert(
        Device(device_id=device_id, name=request.device_name, platform=request.platform, app_version=request.app_version,
               token_hash=digest(token), scope=scope.model_dump(), enrolled_by=claimed[0]["created_by"], created_at=now,
               last_seen_at=now)
    )
    return device_id, token, scope


def _json(value: Any) -> Any:
    # RETURNING through raw SQL gives JSON columns back as text.
    return json.loads(value) if isinstance(value, str) else value


async def _why_code_refused(code: str) -> ApiError:
    row = await Enrolment.select(Enrolment.used_at).where(Enrolment.code_hash == digest(code)).first()
    if row is None:
        return ApiError(HTTP_401_UNAUTHORIZED, "invalid_enrolment_code", "This enrolment code is not known")
    if row["used_at"] is not None:
        return ApiError(HTTP_401_UNAUTHORIZED, "enrolment_code_used", "This enrolment code has already been used")
    return ApiError(HTTP_401_UNAUTHORIZED, "enrolment_code_expired", "This enrolment code has expired: ask for a new one")


async def authenticate(token: str) -> DeviceIdentity:
    # Every push and pull starts here: one indexed read on the fast path, not through the ORM.
    rows = await sql_read("SELECT device_id, name, scope, revoked_at FROM device WHERE token_hash = $1", digest(token))
    row = rows[0] if rows else None
    if row is None:
        raise ApiError(HTTP_401_UNAUTHORIZED, "invalid_token", "Unknown device token: enrol this device again")
    if row["revoked_at"] is not None:
        raise ApiError(HTTP_401_UNAUTHORIZED, "device_revoked", "This device has been revoked: ask the office to enrol it again")
    return DeviceIdentity(device_id=row["device_id"], name=row["name"], scope=DeviceScope.model_validate_json(row["scope"]))


async def _device_row(device_id: str) -> dict[str, Any]:
    row = await Device.select().where(Device.device_id == device_id).first().output(load_json=True)
    if row is None:
        raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"No device {device_id!r}", {"entity": "device", "key": device_id})
    return row


def device_view(row: dict[str, Any], head: int) -> dict[str, Any]:
    return {
        "device_id": row["device_id"], "name": row["name"], "platform": row["platform"], "app_version": row["app_version"],
        "scope": row["scope"], "enrolled_by": row["enrolled_by"], "created_at": row["created_at"],
        "revoked": row["revoked_at"] is not None, "last_seen_at": row["last_seen_at"], "last_seq": row["last_seq"],
        "pending": row["pending_reported"], "sync_lag": max(0, head - row["last_pull_cursor"]),
    }


async def get_device(device_id: str) -> dict[str, Any]:
    return device_view(await _device_row(device_id), await head_position())


async def list_devices() -> list[dict[str, Any]]:
    head = await head_position()
    rows = await Device.select().order_by(Device.created_at, ascending=False).output(load_json=True)
    return [device_view(r, head) for r in rows]


@needs_write
async def update_device(device_id: str, name: str | None, scope: DeviceScope | None, who: Who) -> dict[str, Any]:
    write = current_write()
    before = await _device_row(device_id)
    values: dict[Any, Any] = {}
    if name is not None:
        values[Device.name] = name
    if scope is not None and scope.model_dump() != before["scope"]:
        await check_scope(scope)
        values[Device.scope] = scope.model_dump()
        values[Device.reset_required] = True  # the device re-snapshots what it may now see
    if values:
        await Device.update(values).where(Device.device_id == device_id)
        if Device.scope in values:
            write.after_commit.append(lambda: live.announce_device_changed(device_id))  # open sockets take the new scope
    after = await _device_row(device_id)
    await record_audit(who, "update", "device", device_id, {"name": before["name"], "scope": before["scope"]},
                       {"name": after["name"], "scope": after["scope"]})
    return after


@needs_write
async def revoke_device(device_id: str, who: Who) -> dict[str, Any]:
    write = current_write()
    await _device_row(device_id)
    await Device.update({Device.revoked_at: _now()}).where((Device.device_id == device_id) & Device.revoked_at.is_null())
    after = await _device_row(device_id)
    write.after_commit.append(lambda: live.announce_device_changed(device_id))  # its open sockets close at once
    await record_audit(who, "revoke", "device", device_id, None, {"revoked_at": after["revoked_at"].isoformat()})
    return after
