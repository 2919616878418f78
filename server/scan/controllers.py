"""`POST /api/scan/resolve`, for office users (permission `scan.resolve`) and for enrolled devices (their token)."""

from __future__ import annotations

from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from devices import service as devices
from schemas.errors import ErrorBody
from schemas.scan import ScanRequest, ScanResult
from server.accounts.identity import office_user_from_session, requires
from server.scan.resolve import resolve_scan
from sync.controllers import DEVICE_KEY, bearer_token


def office_permission_or_device(permission: str):
    """A guard for endpoints the floor calls with its device token and the office with its session: a Bearer token
    must be a live device's (401 otherwise); without one, the session's user must hold `permission`."""
    office_guard = requires(permission)

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        token = bearer_token(connection.headers)
        if token is not None:
            connection.scope[DEVICE_KEY] = await devices.authenticate(token)  # type: ignore[literal-required]
            return
        user = await office_user_from_session(connection)
        if user is None:
            raise NotAuthorizedException("Log in first")
        connection.scope["user"] = user
        office_guard(connection, handler)

    guard.__name__ = f"office_{permission.replace('.', '_')}_or_device"
    return guard


class ScanController(Controller):
    path = "/api/scan"
    tags = ["Scanning"]
    guards = [office_permission_or_device("scan.resolve")]
    security = [{"sessionCookie": []}, {"deviceToken": []}]  # an office session or a device token (the guard's)

    # Session auth and CSRF are the guard's business here: a device has neither cookie. Skipping CSRF is safe
    # because resolving writes nothing, and another site's page cannot read the answer (no CORS).
    @post("/resolve", status_code=HTTP_200_OK, exclude_from_auth=True, exclude_from_csrf=True,
          summary="What a scanned string identifies: an item with lot, expiry, serial and quantity; a location; "
                  "a handling unit (SSCC); a device; or a document",
          responses={
              HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False,
                                               description="Nothing has this GTIN or code (`unknown_gtin`, `unknown_code`)"),
              HTTP_409_CONFLICT: ResponseSpec(ErrorBody, generate_examples=False, description=(
                  "A device scanned a location outside its scope (`out_of_scope`)")),
              HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(ErrorBody, generate_examples=False, description=(
                  "Not readable: `bad_check_digit` (details: the AI and value, or the GTIN), `invalid_gs1`, "
                  "`invalid_symbology`, `control_character`, or nothing but wedge noise (`empty_scan`)")),
          })
    async def resolve(self, request: Request, data: ScanRequest) -> ScanResult:
        device = request.scope.get(DEVICE_KEY)  # type: ignore[call-overload]
        return await resolve_scan(data.code, request.app.state.settings.scan_gs_standin, device.scope if device else None)
