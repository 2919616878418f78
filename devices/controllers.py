"""Office endpoints for devices: create an enrolment (code + QR), list devices with their sync health, rename,
re-scope, revoke."""

from __future__ import annotations

from typing import Annotated

import qrcode
import qrcode.image.svg
from litestar import Controller, Request, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from devices import service
from schemas.devices import DeviceOut, DevicePatch, EnrolmentCreated
from schemas.sync import EnrolmentRequest
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction

DeviceIdPath = Annotated[str, Parameter(max_length=36, pattern=r"^[0-9a-f-]{36}$")]


def enrol_url(base_url: str, code: str) -> str:
    """What the QR encodes: opening it on a phone starts the floor app's enrolment with the code filled in."""
    return f"{base_url.rstrip('/')}/app/#enrol={code}"


def qr_svg(text: str) -> str:
    return qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10).to_string(encoding="unicode")


class DevicesController(Controller):
    path = "/api/devices"
    tags = ["Devices"]

    @post("/enrolments", guards=[requires("devices.write")], status_code=HTTP_201_CREATED,
          summary="Create a one-time enrolment code (and its QR) for a device scope")
    async def create_enrolment(self, request: Request, data: EnrolmentRequest) -> EnrolmentCreated:
        async with write_transaction():
            code, expires_at = await service.create_enrolment(data.scope, data.ttl_minutes, office_who(request))
        url = enrol_url(str(request.base_url), code)
        return EnrolmentCreated(code=code, expires_at=expires_at, enrol_url=url, qr_svg=qr_svg(url))

    @get("/", guards=[requires("devices.read")], summary="Devices with their scope, last seen, queue and sync lag")
    async def list_devices(self) -> list[DeviceOut]:
        return [DeviceOut.model_validate(d) for d in await service.list_devices()]

    @patch("/{device_id:str}", guards=[requires("devices.write")], summary="Rename or re-scope a device")
    async def update_device(self, request: Request, device_id: DeviceIdPath, data: DevicePatch) -> DeviceOut:
        async with write_transaction():
            await service.update_device(device_id, data.name, data.scope, office_who(request))
        return DeviceOut.model_validate(await service.get_device(device_id))

    @post("/{device_id:str}/revoke", guards=[requires("devices.write")], status_code=HTTP_200_OK,
          summary="Revoke a device: its token stops working at once, on every server process")
    async def revoke_device(self, request: Request, device_id: DeviceIdPath) -> DeviceOut:
        async with write_transaction():
            await service.revoke_device(device_id, office_who(request))
        return DeviceOut.model_validate(await service.get_device(device_id))
