"""Account actions: authenticate, manage users, read the audit trail. Each write runs in its entry point's transaction, audited."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_401_UNAUTHORIZED, HTTP_409_CONFLICT

from schemas.accounts import UserIn, UserOut, UserPatch
from server.accounts.audit import record_audit
from server.accounts.identity import OfficeUser
from server.accounts.organisation import check_user_organisation, check_user_sites
from server.accounts import login_throttle
from server.accounts.password_policy import check_new_password
from server.accounts.passwords import hash_password, needs_rehash, verify_password
from server.accounts.session_store import end_sessions_of
from server.accounts.tables import AuditEntry, User
from server.actors import Who
from server.db import DB, needs_write, sql_fetch
from server.errors import ApiError, duplicate, not_found


async def authenticate(username: str, password: str) -> int:
    """The user id for a correct username and password of an active user; the same refusal for every other case.
    A username guessed at too often is locked for a while, whatever the password (server/accounts/login_throttle.py)."""
    async with login_throttle.attempt(username):
        row = await User.select(User.id, User.password_hash, User.active).where(User.username == username).first()
        ok = await verify_password(row["password_hash"] if row else None, password)
        if not ok or row is None or not row["active"]:
            raise ApiError(HTTP_401_UNAUTHORIZED, "invalid_credentials", "Wrong username or password")
    if needs_rehash(row["password_hash"]):
        await User.update({User.password_hash: await hash_password(password)}).where(User.id == row["id"])
    return row["id"]


def _user_view(row: dict[str, Any]) -> UserOut:
    return UserOut.model_validate(row)


async def _user_row(username: str) -> dict[str, Any]:
    row = await User.select().where(User.username == username).first().output(load_json=True)
    if row is None:
        raise not_found("user", username)
    return row


async def list_users() -> list[UserOut]:
    rows = await User.select().order_by(User.username).output(load_json=True)
    return [_user_view(r) for r in rows]


@needs_write
async def create_user(data: UserIn, who: Who) -> UserOut:
    if await User.exists().where(User.username == data.username):
        raise duplicate("user", "username", data.username)
    check_new_password(data.password, data.username, data.display_name)
    await check_user_organisation(list(data.roles), data.department)
    sites = await check_user_sites(list(data.sites))
    await User.insert(
        User(
            username=data.username,
            display_name=data.display_name,
            password_hash=await hash_password(data.password),
            roles=list(data.roles),
            language=data.language,
            active=True,
            created_at=datetime.now(timezone.utc),
            department=data.department,
            sites=sites,
        )
    )
    created = _user_view(await _user_row(data.username))
    await record_audit(who, "create", "user", data.username, None, created.model_dump(mode="json"))
    return created


@needs_write
async def update_user(username: str, patch: UserPatch, who: Who) -> UserOut:
    changes = patch.model_dump(exclude_unset=True)
    row = await _user_row(username)
    before = _user_view(row)
    values: dict[str, Any] = {k: v for k, v in changes.items() if k in ("display_name", "roles", "language", "active",
                                                                       "department")}
    await check_user_organisation(values.get("roles"), values.get("department"))
    if changes.get("sites") is not None:
        values["sites"] = await check_user_sites(changes["sites"])
    if "password" in changes:
        check_new_password(changes["password"], username, changes.get("display_name", before.display_name))
        values["password_hash"] = await hash_password(changes["password"])
    await _keep_an_active_admin(before, values)
    if values:
        await User.update(values).where(User.username == username)
    if "password" in changes or (before.active and values.get("active") is False):
        # A reset password or a deactivated user: whoever holds one of the old sessions is out, on every process.
        await end_sessions_of(row["id"])
    after = _user_view(await _user_row(username))
    summary = "password changed" if "password" in changes else ""
    await record_audit(who, "update", "user", username, before.model_dump(mode="json"), after.model_dump(mode="json"), summary)
    return after


async def _keep_an_active_admin(before: UserOut, values: dict[str, Any]) -> None:
    """The last active admin may not be demoted or deactivated, by anyone, themselves included: nobody could manage
    users any more. On PostgreSQL the active users are locked first, so two admins demoting each other at once
    cannot both pass: the second waits for the first and then counts again."""
    stays_admin = values.get("active", before.active) and "admin" in values.get("roles", before.roles)
    if stays_admin or not before.active or "admin" not in before.roles:
        return
    if DB.engine_type == "postgres":
        await sql_fetch("SELECT id FROM app_user WHERE active FOR UPDATE")
    active = await User.select(User.username, User.roles).where(User.active == True).output(load_json=True)  # noqa: E712
    if not any(row["username"] != before.username and "admin" in (row["roles"] or ()) for row in active):
        raise ApiError(HTTP_409_CONFLICT, "last_admin", f"{before.username} is the last active admin: make another "
                       "user admin first, or nobody could manage users any more", {"field": "roles", "username": before.username})


@needs_write
async def set_language(user: OfficeUser, language: str) -> None:
    await User.update({User.language: language}).where(User.id == user.id)
    await record_audit(Who.office(user), "update", "user", user.username, {"language": user.language},
                       {"language": language})


@needs_write
async def change_own_password(user: OfficeUser, password: str) -> None:
    """The user's own new password (the current one was checked by the entry point); every session of theirs ends."""
    check_new_password(password, user.username, user.display_name, field="new_password")
    await User.update({User.password_hash: await hash_password(password)}).where(User.id == user.id)
    await end_sessions_of(user.id)
    await record_audit(Who.office(user), "update", "user", user.username, None, None, "password changed")


async def list_audit(
    *, entity: str | None, entity_key: str | None, username: str | None, limit: int, offset: int
) -> dict[str, Any]:
    condition = AuditEntry.id > 0
    if entity:
        condition = condition & (AuditEntry.entity == entity)
    if entity_key:
        condition = condition & (AuditEntry.entity_key == entity_key)
    if username:
        condition = condition & (AuditEntry.username == username)
    rows = (
        await AuditEntry.select()
        .where(condition)
        .order_by(AuditEntry.id, ascending=False)
        .limit(limit)
        .offset(offset)
        .output(load_json=True)
    )
    total = await AuditEntry.count().where(condition)
    return {"items": rows, "total": total, "limit": limit, "offset": offset}
