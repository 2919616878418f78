"""The device-facing HTTP and websocket endpoints of sync protocol v1 (DESIGN.md section 2)."""

from __future__ import annotations

from datetime import datetime, timezone
from urllib.parse import urlsplit
from typing import Annotated

from litestar import Controller, MediaType, Request, Response, WebSocket, get, post, websocket
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_401_UNAUTHORIZED, HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_503_SERVICE_UNAVAILABLE

from devices import service as devices
from devices.tables import Device
from schemas.errors import ErrorBody
from schemas.sync import MAX_BATCH, PROTOCOL_VERSION, DeviceScope, EnrollRequest, EnrollResponse, PullResponse, PushRequest, PushResponse
from server.accounts.identity import office_user_from_session
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.tables import Warehouse, WorkCentre
from sync import live
from sync.pull import MAX_PAGE, pull
from sync.push import TransientFault, push
from sync.registry import DeviceIdentity

DEVICE_KEY = "floorsync_device"
PUSH_MAX_BODY_BYTES = 2 * 1024 * 1024


def bearer_token(headers) -> str | None:
    value = headers.get("authorization", "")
    return value[7:].strip() if value.lower().startswith("bearer ") else None


async def device_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Every device call is authenticated first (before its body is even read): 401 with a code otherwise."""
    token = bearer_token(connection.headers)
    if not token:
        raise ApiError(HTTP_401_UNAUTHORIZED, "missing_token", "Send the device token as 'Authorization: Bearer …'")
    connection.scope[DEVICE_KEY] = await devices.authenticate(token)  # type: ignore[literal-required]


def check_protocol(protocol: int) -> None:
    if protocol != PROTOCOL_VERSION:
        raise ApiError(
            426, "unsupported_protocol", "This app speaks another sync protocol version: reload the app to update it",
            {"supported": [PROTOCOL_VERSION], "received": protocol},
        )


# Every call names its protocol version; a device on another one is told to reload the app (DESIGN.md section 2).
UNSUPPORTED_PROTOCOL = {
    426: ResponseSpec(ErrorBody, generate_examples=False, description=(
        "Another sync protocol version than the server's (`unsupported_protocol`; details: `supported`, "
        "`received`): reload the app to update it")),
}


def the_device(request: Request) -> DeviceIdentity:
    return request.scope[DEVICE_KEY]  # type: ignore[literal-required]


class SyncController(Controller):
    path = "/api/sync"
    tags = ["Sync (devices)"]
    guards = [device_guard]
    security = [{"deviceToken": []}]

    @post("/push", status_code=HTTP_200_OK, request_max_body_size=PUSH_MAX_BODY_BYTES,
          summary="Push queued mutations; each is applied exactly once", responses=UNSUPPORTED_PROTOCOL)
    async def push(self, request: Request, data: PushRequest) -> PushResponse:
        check_protocol(data.protocol)
        if len(data.mutations) > MAX_BATCH:
            raise ApiError(HTTP_413_REQUEST_ENTITY_TOO_LARGE, "batch_too_large",
                           f"At most {MAX_BATCH} mutations per push: send the rest in the next one", {"max": MAX_BATCH})
        try:
            return await push(the_device(request), data)
        except TransientFault as exc:
            raise ApiError(HTTP_503_SERVICE_UNAVAILABLE, "unavailable", str(exc), {"retry_after_seconds": 2}) from exc

    @get("/pull", summary="Pull the next page of changes in this device's scope", responses=UNSUPPORTED_PROTOCOL)
    async def pull(
        self,
        request: Request,
        protocol: int,
        cursor: Annotated[int, Parameter(ge=0, le=2**62)] = 0,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE)] = 500,
    ) -> PullResponse:
        check_protocol(protocol)
        # The page comes as the JSON bytes of a PullResponse (the feed's stored JSON spliced in, sync/pull.py).
        return Response(await pull(the_device(request), cursor, limit), media_type=MediaType.JSON)  # type: ignore[return-value]


@post("/api/sync/enroll", status_code=HTTP_200_OK, tags=["Sync (devices)"], exclude_from_auth=True,
      summary="Exchange a one-time enrolment code for a device token")
async def enroll(data: EnrollRequest) -> EnrollResponse:
    async with write_transaction():
        device_id, token, scope = await devices.enroll(data)
    return EnrollResponse(device_id=device_id, token=token, scope=scope, server_time=datetime.now(timezone.utc))


@websocket("/api/sync/live", exclude_from_auth=True)
async def live_socket(socket: WebSocket) -> None:
    """Pokes for a device; or, when the first message is {"type": "subscribe", "topics": [...]} on an office
    session, a supervisor's board. A device's token comes in the Authorization header, or (browsers cannot set headers
    on a websocket) as the first message {"type": "hello", "token": ...}, never in the URL where logs would keep it."""
    await socket.accept()
    token = bearer_token(socket.headers)
    if token is None:
        first = await live.strangers.first_message(socket)  # within the hello timeout, a few per address at a time
        if first is None:
            return
        if isinstance(first, dict) and first.get("type") == "subscribe":
            await board_socket(socket, first.get("topics"))
            return
        token = first.get("token") if isinstance(first, dict) else None
    try:
        device = await devices.authenticate(token or "")
    except ApiError as exc:
        await socket.send_json({"type": "error", "code": exc.code, "message": exc.message})
        await socket.close(code=4401, reason=exc.code)
        return

    async def heartbeat(message: dict) -> bool:
        """Last seen (and the pending count the device reports); False once the device has been revoked."""
        async with write_transaction():
            values = {Device.last_seen_at: datetime.now(timezone.utc)}
            if isinstance(message.get("pending"), int) and 0 <= message["pending"] < 10**9:
                values[Device.pending_reported] = message["pending"]
            seen = await Device.update(values).where(
                (Device.device_id == device.device_id) & Device.revoked_at.is_null()
            ).returning(Device.device_id)
        return bool(seen)

    async def current_scope() -> DeviceScope | None:
        try:
            return (await devices.authenticate(token or "")).scope
        except ApiError:
            return None

    await live.serve_device_socket(socket, device.device_id, device.scope, heartbeat, current_scope)


async def _boards_of_other_sites(topics: list[str], sites: tuple[str, ...]) -> bool:
    """Whether a warehouse's or work centre's board among `topics` is at a site outside the user's (the order and
    dock boards are the whole factory's)."""
    for kind, table in (("warehouse", Warehouse), ("workcentre", WorkCentre)):
        codes = [t.split(":", 2)[2] for t in topics if t.startswith(f"board:{kind}:")]
        if codes and await table.exists().where(table.code.is_in(codes) & table.site.not_in(list(sites))):
            return True
    return False


async def board_socket(socket: WebSocket, topics: object) -> None:
    """A supervisor's board: an office session (cookie) subscribes to board topics and receives progress events."""

    async def refuse(close_code: int, code: str, message: str) -> None:
        await socket.send_json({"type": "error", "code": code, "message": message})
        await socket.close(code=close_code, reason=code)

    origin = socket.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != socket.headers.get("host"):
        # A cookie-authenticated socket opened by another site's page (cross-site websocket hijacking).
        return await refuse(4403, "forbidden_origin", "Boards open only from this server's own pages")
    user = await office_user_from_session(socket)
    if user is None:
        return await refuse(4401, "not_authenticated", "Log in first")
    if (not isinstance(topics, list) or not 1 <= len(topics) <= live.MAX_BOARD_TOPICS
            or not all(isinstance(t, str) and live.BOARD_TOPIC.match(t) for t in topics)):
        return await refuse(4400, "invalid_topics", f"Send 1 to {live.MAX_BOARD_TOPICS} topics like 'board:warehouse:FG'")
    if any(t.startswith("board:warehouse:") for t in topics) and not user.may("stock.read"):
        return await refuse(4403, "forbidden", "Your role may not watch stock boards")
    if user.sites and await _boards_of_other_sites(list(topics), user.sites):
        return await refuse(4403, "site_not_allowed", "You may not watch the boards of another site")

    async def still_signed_in() -> bool:
        return await office_user_from_session(socket) is not None

    await live.serve_board_socket(socket, list(dict.fromkeys(topics)), user.id, still_signed_in)


SYNC_HANDLERS = [SyncController, enroll, live_socket]
