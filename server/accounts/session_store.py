"""Litestar's session Store interface backed by the web_session table.

Sessions live in the database rather than in process memory so that any server process can serve any
request and a logout takes effect everywhere at once, with or without Redis. Each row names its user, so that a
password change or a deactivation ends all of that user's sessions, and a session that ends is announced to the
live sockets (sync/live.py) so that a board opened on it closes at once, on every process.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from litestar.types import Empty, Message, ScopeSession

from server.accounts.tables import Session
from server.db import current_write, needs_write, write_transaction
from sync import live


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


def _user_of(data: bytes) -> int | None:
    try:
        session = json.loads(data)
    except ValueError:
        return None
    user_id = session.get("user_id") if isinstance(session, dict) else None
    return user_id if isinstance(user_id, int) else None


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
        user_id = _user_of(data)
        async with write_transaction():
            updated = await Session.update(
                {Session.data: data, Session.expires_at: expires_at, Session.user_id: user_id}
            ).where(Session.key == key).returning(Session.id)
            if not updated:
                await Session.insert(Session(key=key, data=data, expires_at=expires_at, user_id=user_id))

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
        ended = await Session.delete().where(Session.key == key).returning(Session.user_id)
        for row in ended:
            if row["user_id"] is not None:
                await live.announce_user_changed(row["user_id"])  # its boards re-check, and close

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
        if not scope_session and scope_session is not Empty and connection.cookies.get(self.config.key) in (None, "null"):
            return
        await super().store_in_message(scope_session, message, connection)


class RotatingSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend


async def rotate_session(request: Request) -> None:
    """Drop the old session (if any) and have the response carry a new id."""
    old = request.cookies.get(SESSION_COOKIE)
    if old and old != "null":
        await request.app.stores.get("sessions").delete(old)
    state = request.scope.setdefault("state", {})
    state[ROTATE_FLAG] = True
    # Chosen now rather than when the cookie is written, so the CSRF token of the response can be bound to it.
    state[ROTATED_ID] = secrets.token_hex(32)


def session_key_of_request(scope: dict) -> str:
    """The id of the logged-in session a request comes with, '' for none (an anonymous visitor's session, if any,
    grants nothing, and its id may change under it). The CSRF token is bound to it (server/accounts/csrf.py)."""
    session = scope.get("session")
    if not isinstance(session, dict) or "user_id" not in session:
        return ""
    key = ASGIConnection(scope).cookies.get(SESSION_COOKIE) or ""
    return "" if key == "null" else key


def session_key_of_response(scope: dict) -> str:
    """The logged-in session the browser will hold once this response reaches it: a new one after a login, none after
    a logout, otherwise the one it came with."""
    state = scope.get("state", {})
    if state.get(ROTATE_FLAG):
        return state[ROTATED_ID]
    return session_key_of_request(scope)


@needs_write
async def end_sessions_of(user_id: int) -> None:
    """End every session of a user (a password changed, the user deactivated), and, once that has committed, tell
    the live sockets so that the user's boards close on every process."""
    await Session.delete().where(Session.user_id == user_id)
    current_write().after_commit.append(lambda: live.announce_user_changed(user_id))
