"""Account actions: authenticate, manage users, read the audit trail. Each write runs in its entry point's transaction, audited."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_401_UNAUTHORIZED

from schemas.accounts import UserIn, UserOut, UserPatch
from server.accounts.audit import record_audit
from server.accounts.identity import OfficeUser
from server.accounts.passwords import hash_password, needs_rehash, verify_password
from server.accounts.tables import AuditEntry, User
from server.actors import Who
from server.db import needs_write
from server.errors import ApiError, duplicate, not_found


async def authenticate(username: str, password: str) -> int:
    """The user id for a correct username and password of an active user; the same refusal for every other case."""
    row = await User.select(User.id, User.password_hash, User.active).where(User.username == username).first()
    ok = verify_password(row["password_hash"] if row else None, password)
    if not ok or row is None or not row["active"]:
        raise ApiError(HTTP_401_UNAUTHORIZED, "invalid_credentials", "Wrong username or password")
    if needs_rehash(row["password_hash"]):
        await User.update({User.password_hash: hash_password(password)}).where(User.id == row["id"])
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
    await User.insert(
        User(
            username=data.username,
            display_name=data.display_name,
            password_hash=hash_password(data.password),
            roles=list(data.roles),
            language=data.language,
            active=True,
            created_at=datetime.now(timezone.utc),
        )
    )
    created = _user_view(await _user_row(data.username))
    await record_audit(who, "create", "user", data.username, None, created.model_dump(mode="json"))
    return created


@needs_write
async def update_user(username: str, patch: UserPatch, who: Who) -> UserOut:
    changes = patch.model_dump(exclude_unset=True)
    before = _user_view(await _user_row(username))
    values: dict[str, Any] = {k: v for k, v in changes.items() if k in ("display_name", "roles", "language", "active")}
    if "password" in changes:
        values["password_hash"] = hash_password(changes["password"])
    if values:
        await User.update(values).where(User.username == username)
    after = _user_view(await _user_row(username))
    summary = "password changed" if "password" in changes else ""
    await record_audit(who, "update", "user", username, before.model_dump(mode="json"), after.model_dump(mode="json"), summary)
    return after


@needs_write
async def set_language(user: OfficeUser, language: str) -> None:
    await User.update({User.language: language}).where(User.id == user.id)
    await record_audit(Who.office(user), "update", "user", user.username, {"language": user.language},
                       {"language": language})


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
