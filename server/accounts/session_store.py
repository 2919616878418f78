"""Litestar's session Store interface backed by the web_session table.

Sessions live in the database rather than in process memory so that any server process can serve any
request and a logout takes effect everywhere at once, with or without Redis.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession

from server.accounts.tables import Session
from server.db import write_transaction


SESSION_COOKIE = "floorsync_session"
ROTATE_FLAG = "floorsync_rotate_session"
ROTATED_ID = "floorsync_rotated_session_id"


RENEW_GRANULARITY = timedelta(minutes=1)


def _close(stored: datetime | None, wanted: datetime | None) -> bool:
    if stored is None or wanted is None:
        return stored is wanted
    return abs(stored - wanted) < RENEW_GRANULARITY


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _expiry(expires_in: int | timedelta | None) -> datetime | None:
    if expires_in is None:
        return None
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else expires_in
    return _now() + timedelta(seconds=seconds)


class DatabaseSessionStore(Store):
    """Litestar writes the session back on every response and renews it on every read. Here a write happens only
    when the data changed or the expiry moved by more than `RENEW_GRANULARITY`: a page view costs reads, not a
    database write (on SQLite, an fsync) per request."""

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        expires_at = _expiry(expires_in)
        row = await Session.select(Session.data, Session.expires_at).where(Session.key == key).first()
        if row is not None and bytes(row["data"]) == data and _close(row["expires_at"], expires_at):
            return
        async with write_transaction():
            updated = await Session.update({Session.data: data, Session.expires_at: expires_at}).where(
                Session.key == key
            ).returning(Session.id)
            if not updated:
                await Session.insert(Session(key=key, data=data, expires_at=expires_at))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        row = await Session.select(Session.data, Session.expires_at).where(Session.key == key).first()
        if row is None:
            return None
        if row["expires_at"] is not None and row["expires_at"] <= _now():
            await self.delete(key)
            return None
        if renew_for is not None and row["expires_at"] is not None:
            renewed = _expiry(renew_for)
            if not _close(row["expires_at"], renewed):
                await Session.update({Session.expires_at: renewed}).where(Session.key == key)
        return bytes(row["data"])

    async def delete(self, key: str) -> None:
        await Session.delete().where(Session.key == key)

    async def delete_all(self) -> None:
        await Session.delete(force=True)

    async def delete_expired(self) -> None:
        await Session.delete().where(Session.expires_at <= _now())

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        row = await Session.select(Session.expires_at).where(Session.key == key).first()
        if row is None or row["expires_at"] is None:
            return None
        return max(0, int((row["expires_at"] - _now()).total_seconds()))


class RotatingSessionBackend(ServerSideSessionBackend):
    """Litestar's server-side sessions, plus a new session id at login.

    Litestar keeps the id the browser already sends; at login that would let an id planted in the browser
    beforehand (session fixation) become a logged-in session. `rotate_session(request)` asks for a fresh id.
    """

    def get_session_id(self, connection: ASGIConnection) -> str:
        state = connection.scope.get("state", {})
        if state.get(ROTATE_FLAG):
            if ROTATED_ID not in state:
                state[ROTATED_ID] = self.generate_session_id()
            return state[ROTATED_ID]
        return super().get_session_id(connection)

    async def store_in_message(self, scope_session: ScopeSession, message: Message, connection: ASGIConnection) -> None:
        """Litestar would store an empty session under a fresh id, and set its cookie, on every request that came
        without one: a row per device push or anonymous page view. Nothing to keep and nothing to forget: skip."""
        if not scope_session and scope_session is not Empty and self.config.key not in connection.cookies:
            return
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


async def rotate_session(request: Request) -> None:
    """Drop the old session (if any) and have the response carry a new id."""
    old = request.cookies.get(SESSION_COOKIE)
    if old and old != "null":
        await request.app.stores.get("sessions").delete(old)
    request.scope.setdefault("state", {})[ROTATE_FLAG] = True
