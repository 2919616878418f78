"""Who is calling: the office user behind a session, and the guard that checks a permission on every endpoint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler

from server.accounts.permissions import BUILT_IN_ROLES, check_permission, permissions_for
from server.accounts.session_store import SESSION_COOKIE
from server.accounts.site_scope import bind_site_scope
from server.accounts.tables import CustomRole, User


@dataclass(frozen=True)
class OfficeUser:
    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    language: str
    # What the roles grant, read with the user on every request: a custom role changed applies at once.
    permissions: frozenset[str] = frozenset()
    department: str | None = None
    # The names of the user's custom roles, by code (a built-in role's name is in the catalogs: `role.<code>`).
    custom_role_names: tuple[tuple[str, str], ...] = ()
    # The sites whose records the user sees (server/accounts/site_scope.py); empty: every site.
    sites: tuple[str, ...] = ()

    def role_name(self, code: str) -> str | None:
        return dict(self.custom_role_names).get(code)

    def may(self, permission: str) -> bool:
        return check_permission(permission) in self.permissions


async def _custom_roles(codes: list[str]) -> list[dict[str, Any]]:
    if not codes:
        return []
    return await CustomRole.select(CustomRole.code, CustomRole.name, CustomRole.permissions).where(
        CustomRole.code.is_in(codes)).output(load_json=True)


async def load_office_user(user_id: Any) -> OfficeUser | None:
    if not isinstance(user_id, int):
        return None
    row = await User.select().where((User.id == user_id) & (User.active == True)).first().output(load_json=True)  # noqa: E712
    if row is None:
        return None
    roles = list(row["roles"] or ())
    custom = await _custom_roles([name for name in roles if name not in BUILT_IN_ROLES])
    return OfficeUser(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        roles=tuple(roles),
        language=row["language"],
        permissions=permissions_for(roles, {role["code"]: frozenset(role["permissions"] or ()) for role in custom}),
        department=row["department"],
        custom_role_names=tuple((role["code"], role["name"]) for role in custom),
        sites=tuple(sorted(row["sites"] or ())),
    )


async def retrieve_user_handler(session: dict[str, Any], _: ASGIConnection) -> OfficeUser | None:
    """The session's user, whose site scope then holds for the rest of the request (each request runs in a task
    of its own, so the scope never reaches another request)."""
    user = await load_office_user(session.get("user_id"))
    bind_site_scope(user.sites if user else None)
    return user


def requires(permission: str):
    """A Litestar guard: the caller's roles must grant `permission`, or the request ends in 403 `forbidden`."""

    def guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
        user = connection.scope.get("user")
        if not isinstance(user, OfficeUser):
            raise NotAuthorizedException("Log in first")
        if not user.may(permission):
            raise PermissionDeniedException(
                detail=f"Your role may not do this ({permission})", extra={"permission": permission}
            )

    guard.__name__ = f"requires_{permission.replace('.', '_')}"
    return guard


async def office_user_from_session(connection: ASGIConnection) -> OfficeUser | None:
    """The office user behind a connection's session cookie, read straight from the session store: for the live
    socket, which devices reach without a session and office boards with one."""
    key = connection.cookies.get(SESSION_COOKIE)
    if not key or key == "null":
        return None
    data = await connection.app.stores.get("sessions").get(key)
    if data is None:
        return None
    try:
        session = json.loads(data)
    except ValueError:
        return None
    return await load_office_user(session.get("user_id") if isinstance(session, dict) else None)
