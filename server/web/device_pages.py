"""Devices in the office: enrol one (a one-time code shown large and as a QR image), see each device's sync health
(last seen, last seq, pending queue, lag), rename, re-scope and revoke (after a confirmation page, no script)."""

from __future__ import annotations

import base64
from datetime import datetime, timezone
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from devices import service as devices
from devices.controllers import enrol_url, qr_svg
from schemas.devices import DevicePatch
from schemas.sync import EnrolmentRequest
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import translate
from server.masterdata.tables import Site, Warehouse
from server.web.choices import active_records
from server.web.forms import FormErrors, explain
from server.web.render import language_of, render

DeviceId = Annotated[str, Parameter(max_length=36, pattern=r"^[0-9a-f-]{36}$")]
DEFAULT_TTL_MINUTES = 15


def seen_ago(moment: datetime | None, lang: str, now: datetime | None = None) -> str:
    """'3 min ago' / '3 分钟前': how long since the device last called, in the reader's words."""
    if moment is None:
        return translate(lang, "devices.never")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = max(0, int(((now or datetime.now(timezone.utc)) - moment).total_seconds()))
    if seconds < 60:
        return translate(lang, "time.just_now")
    if seconds < 3600:
        return translate(lang, "time.minutes_ago", n=seconds // 60)
    if seconds < 86400:
        return translate(lang, "time.hours_ago", n=seconds // 3600)
    return translate(lang, "time.days_ago", n=seconds // 86400)


def qr_data_uri(text: str) -> str:
    """The QR as an image source: `img-src data:` is allowed by the CSP, and an <img> cannot carry script or style."""
    return "data:image/svg+xml;base64," + base64.b64encode(qr_svg(text).encode()).decode()


async def _places() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    sites = await active_records(Site, Site.name)
    warehouses = await active_records(Warehouse, Warehouse.name, Warehouse.site, order_by=(Warehouse.site,))
    return sites, warehouses


def _posted_scope(form: FormMultiDict, keep: dict[str, Any] | None = None) -> dict[str, Any]:
    """Site and warehouses from the form; work centres and route (not edited here) stay as they were while the site
    does, and go with the old site when it changes (they were that site's: a scope never spans two)."""
    site = str(form.get("site") or "").strip()
    kept = {**(keep or {})}
    if kept and kept.get("site") != site:
        kept |= {"work_centres": [], "route": None}
    return {
        **kept,
        "site": site,
        "warehouses": [str(w) for w in form.getall("warehouses")] if "warehouses" in form else [],
    }


def _one_list(errors: FormErrors, lang: str) -> list[str]:
    """A refusal's messages as lines; a field named by the contract is said in the reader's words."""
    named = [f"{translate(lang, 'devices.' + name.removeprefix('scope.').split('.')[0])}: {m}"
             for name, ms in errors.fields.items() for m in ms]
    return [*errors.general, *named]


async def _devices_page(request: Request, *, status_code: int = 200, enrolment: dict[str, Any] | None = None,
                        enrol_errors: list[str] | None = None, enrol_values: dict[str, Any] | None = None) -> Template:
    sites, warehouses = await _places()
    listed = await devices.list_devices()
    lang = language_of(request)
    now = datetime.now(timezone.utc)
    for device in listed:
        device["seen_ago"] = seen_ago(device["last_seen_at"], lang, now)
    default_site = sites[0]["code"] if len(sites) == 1 else ""
    return render(
        request,
        "devices.html",
        status_code=status_code,
        devices=listed,
        sites=sites,
        warehouses=warehouses,
        enrolment=enrolment,
        enrol_errors=enrol_errors or [],
        enrol_values=enrol_values or {"site": default_site, "warehouses": [], "ttl_minutes": DEFAULT_TTL_MINUTES},
        revoked=request.query_params.get("revoked"),
        saved=request.query_params.get("saved"),
    )


@get("/devices", guards=[requires("devices.read")], include_in_schema=False)
async def device_list(request: Request) -> Template:
    return await _devices_page(request)


@post("/devices/enrolments", guards=[requires("devices.write")], include_in_schema=False, status_code=200)
async def enrol_device(request: Request) -> Template:
    who = office_who(request)
    form = await request.form()
    values = {**_posted_scope(form), "ttl_minutes": str(form.get("ttl_minutes") or DEFAULT_TTL_MINUTES).strip()}
    lang = language_of(request)
    try:
        wanted = EnrolmentRequest.model_validate(
            {"scope": {"site": values["site"], "warehouses": values["warehouses"]}, "ttl_minutes": values["ttl_minutes"]}
        )
        async with write_transaction():
            code, expires_at = await devices.create_enrolment(wanted.scope, wanted.ttl_minutes, who)
    except (ValidationError, ApiError) as exc:
        problems = _one_list(explain(exc, FormErrors(), lang), lang)
        return await _devices_page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, enrol_errors=problems,
                                   enrol_values=values)
    # The code is a secret for its few minutes: it is shown on this response only, never put in a URL.
    url = enrol_url(str(request.base_url), code)
    enrolment = {"code": code, "expires_at": expires_at, "url": url, "qr": qr_data_uri(url), "scope": wanted.scope,
                 "ttl_minutes": wanted.ttl_minutes}
    return await _devices_page(request, enrolment=enrolment, enrol_values=values)


@get("/devices/enrolments", guards=[requires("devices.read")], include_in_schema=False)
async def back_to_devices(request: Request) -> Redirect:
    """An enrolment is shown at the form's address; switching language there (or reloading) comes back to the list."""
    return Redirect("/devices", status_code=HTTP_303_SEE_OTHER)


async def _edit_page(request: Request, device: dict[str, Any], *, status_code: int = 200, errors: list[str] | None = None,
                     values: dict[str, Any] | None = None) -> Template:
    sites, warehouses = await _places()
    return render(
        request,
        "device_edit.html",
        status_code=status_code,
        device=device,
        seen=seen_ago(device["last_seen_at"], language_of(request)),
        sites=sites,
        warehouses=warehouses,
        errors=errors or [],
        values=values or {"name": device["name"], "site": device["scope"]["site"],
                          "warehouses": device["scope"].get("warehouses", [])},
    )


@get("/devices/{device_id:str}", guards=[requires("devices.read")], include_in_schema=False)
async def device_detail(request: Request, device_id: DeviceId) -> Template:
    return await _edit_page(request, await devices.get_device(device_id))


@post("/devices/{device_id:str}", guards=[requires("devices.write")], include_in_schema=False)
async def update_device(request: Request, device_id: DeviceId) -> Template | Redirect:
    who = office_who(request)
    device = await devices.get_device(device_id)
    form = await request.form()
    values = {"name": str(form.get("name") or "").strip(), **_posted_scope(form)}
    lang = language_of(request)
    try:
        wanted = DevicePatch.model_validate(
            {"name": values["name"], "scope": _posted_scope(form, keep=device["scope"])}
        )
        async with write_transaction():
            await devices.update_device(device_id, wanted.name, wanted.scope, who)
    except (ValidationError, ApiError) as exc:
        problems = _one_list(explain(exc, FormErrors(), lang), lang)
        return await _edit_page(request, device, status_code=HTTP_422_UNPROCESSABLE_ENTITY, errors=problems, values=values)
    return Redirect("/devices?" + urlencode({"saved": values["name"]}), status_code=HTTP_303_SEE_OTHER)


@get("/devices/{device_id:str}/revoke", guards=[requires("devices.write")], include_in_schema=False)
async def confirm_revoke(request: Request, device_id: DeviceId) -> Template:
    return render(request, "device_revoke.html", device=await devices.get_device(device_id))


@post("/devices/{device_id:str}/revoke", guards=[requires("devices.write")], include_in_schema=False)
async def revoke_device(request: Request, device_id: DeviceId) -> Redirect:
    who = office_who(request)
    async with write_transaction():
        revoked = await devices.revoke_device(device_id, who)
    return Redirect("/devices?" + urlencode({"revoked": revoked["name"]}), status_code=HTTP_303_SEE_OTHER)


DEVICE_HANDLERS = [device_list, enrol_device, back_to_devices, device_detail, update_device, confirm_revoke, revoke_device]
