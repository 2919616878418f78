"""The organisation an admin shapes without code: departments (a user belongs to one) and custom roles made from the
permission list, the built-in roles serving as templates. Each write runs in its entry point's transaction, audited;
what a custom role grants is read with the user on every request (server/accounts/identity.py), so a change applies
to sessions already open."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.accounts import DepartmentIn, DepartmentOut, DepartmentPatch, PermissionOut, RoleIn, RoleOut, RolePatch
from server.accounts.audit import record_audit
from server.accounts.permissions import (ALL_PERMISSIONS, BUILT_IN_ROLES, GRANTABLE_PERMISSIONS, RESERVED_PERMISSIONS,
                                         ROLE_PERMISSIONS, Role, permissions_for)
from server.accounts.tables import CustomRole, Department, User
from server.actors import Who
from server.db import DB, needs_write, placeholders, sql_fetch, sql_read
from server.errors import ApiError, duplicate, not_found


async def _lock(table: str, codes: list[str], mode: str) -> None:
    """On PostgreSQL, a role or department about to be deleted is locked FOR UPDATE, and one about to be given to a
    user FOR SHARE: a grant and a delete running at once cannot leave a user holding what no longer exists (the
    second waits for the first and then finds the role in use, or gone). SQLite has one writer at a time."""
    if DB.engine_type == "postgres" and codes:
        await sql_fetch(f"SELECT code FROM {table} WHERE code = ANY($1::text[]) FOR {mode}", codes)


def list_permissions() -> list[PermissionOut]:
    return [PermissionOut(code=code, grantable=code in GRANTABLE_PERMISSIONS) for code in sorted(ALL_PERMISSIONS)]


async def holder_counts() -> dict[str, int]:
    """How many users hold each role, and belong to each department (keys `role:<code>`, `department:<code>`)."""
    counts: dict[str, int] = {}
    for row in await User.select(User.roles, User.department).output(load_json=True):
        for role in row["roles"] or ():
            counts[f"role:{role}"] = counts.get(f"role:{role}", 0) + 1
        if row["department"]:
            counts[f"department:{row['department']}"] = counts.get(f"department:{row['department']}", 0) + 1
    return counts


async def list_roles(counts: dict[str, int] | None = None) -> list[RoleOut]:
    """Every role; `counts` (holder_counts) when the caller has read them already for the departments too."""
    counts = await holder_counts() if counts is None else counts
    built_in = [RoleOut(code=role.value, name=None, built_in=True, permissions=sorted(ROLE_PERMISSIONS[role]),
                        users=counts.get(f"role:{role.value}", 0)) for role in Role]
    custom = [RoleOut(code=row["code"], name=row["name"], built_in=False, permissions=sorted(row["permissions"] or ()),
                      users=counts.get(f"role:{row['code']}", 0))
              for row in await CustomRole.select().order_by(CustomRole.code).output(load_json=True)]
    return built_in + custom


def _checked_permissions(permissions: list[str]) -> list[str]:
    unknown = sorted(set(permissions) - ALL_PERMISSIONS)
    if unknown:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_permission", f"No such permission: {', '.join(unknown)}",
                       {"field": "permissions", "permissions": unknown})
    reserved = sorted(set(permissions) & RESERVED_PERMISSIONS)
    if reserved:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "permission_reserved",
                       f"Only the built-in admin role may grant {', '.join(reserved)}",
                       {"field": "permissions", "permissions": reserved})
    return sorted(set(permissions))


async def _custom_role(code: str) -> dict[str, Any]:
    if code in BUILT_IN_ROLES:
        raise ApiError(HTTP_409_CONFLICT, "built_in_role", f"{code} is a built-in role: copy it into a role of your own "
                       "to change what it grants", {"role": code})
    row = await CustomRole.select().where(CustomRole.code == code).first().output(load_json=True)
    if row is None:
        raise not_found("role", code)
    return row


def _role_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"code": row["code"], "name": row["name"], "permissions": sorted(row["permissions"] or ())}


@needs_write
async def create_role(data: RoleIn, who: Who) -> RoleOut:
    if data.code in BUILT_IN_ROLES or await CustomRole.exists().where(CustomRole.code == data.code):
        raise duplicate("role", "code", data.code)
    if data.permissions is not None:
        permissions = _checked_permissions(data.permissions)
    elif data.template is not None:
        if data.template not in BUILT_IN_ROLES:
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_role", f"No built-in role {data.template!r}",
                           {"field": "template", "role": data.template})
        permissions = sorted(ROLE_PERMISSIONS[Role(data.template)] & GRANTABLE_PERMISSIONS)
    else:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "permissions_required",
                       "List the role's permissions or name a built-in role to copy them from", {"field": "permissions"})
    await CustomRole.insert(CustomRole(code=data.code, name=data.name, permissions=permissions,
                                       created_at=datetime.now(timezone.utc)))
    after = {"code": data.code, "name": data.name, "permissions": permissions}
    await record_audit(who, "create", "role", data.code, None, after,
                       f"from {data.template}" if data.permissions is None else "")
    return RoleOut(**after, built_in=False, users=0)


@needs_write
async def update_role(code: str, patch: RolePatch, who: Who) -> RoleOut:
    row = await _custom_role(code)
    changes = patch.model_dump(exclude_unset=True)
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = changes["name"]
    if "permissions" in changes:
        values["permissions"] = _checked_permissions(changes["permissions"])
    if values:
        await CustomRole.update(values).where(CustomRole.code == code)
    after = _role_view({**row, **values})
    await record_audit(who, "update", "role", code, _role_view(row), after)
    return RoleOut(**after, built_in=False, users=(await holder_counts()).get(f"role:{code}", 0))


@needs_write
async def delete_role(code: str, who: Who) -> None:
    row = await _custom_role(code)
    await _lock("custom_role", [code], "UPDATE")
    holders = (await holder_counts()).get(f"role:{code}", 0)
    if holders:
        raise ApiError(HTTP_409_CONFLICT, "role_in_use", f"{holders} user(s) hold the role {code}: take it from them first",
                       {"role": code, "users": holders})
    await CustomRole.delete().where(CustomRole.code == code)
    await record_audit(who, "delete", "role", code, _role_view(row), None)


async def unknown_roles(roles: list[str]) -> list[str]:
    """The names among `roles` that are neither built-in nor custom."""
    custom = [name for name in roles if name not in BUILT_IN_ROLES]
    if not custom:
        return []
    await _lock("custom_role", custom, "SHARE")
    known = {row["code"] for row in await CustomRole.select(CustomRole.code).where(CustomRole.code.is_in(custom))}
    return sorted(set(custom) - known)


async def roles_granting(permission: str) -> list[tuple[str, str | None]]:
    """The roles that grant a permission, built-in first (admin left out: it grants everything and is never chosen)
    then custom ones by code, each with its name (None for a built-in role, whose name is in the catalogs)."""
    built_in = [(role.value, None) for role in Role if role != Role.admin and permission in ROLE_PERMISSIONS[role]]
    custom = [(row["code"], row["name"]) for row in await CustomRole.select().order_by(CustomRole.code).output(load_json=True)
              if permission in set(row["permissions"] or ()) & GRANTABLE_PERMISSIONS]
    return built_in + custom


async def custom_role_names(codes: list[str]) -> dict[str, str]:
    """The names of the custom roles among `codes`, by code."""
    custom = [code for code in codes if code not in BUILT_IN_ROLES]
    if not custom:
        return {}
    return {row["code"]: row["name"] for row in await CustomRole.select(CustomRole.code, CustomRole.name).where(
        CustomRole.code.is_in(custom))}


async def roles_lacking(roles: list[str], permission: str) -> list[str]:
    """The roles among `roles` (known ones) that do not grant `permission`."""
    custom = {row["code"]: frozenset(row["permissions"] or ()) for row in await CustomRole.select().where(
        CustomRole.code.is_in([name for name in roles if name not in BUILT_IN_ROLES] or [""])).output(load_json=True)}
    return sorted(name for name in set(roles) if permission not in permissions_for([name], custom))


async def check_user_organisation(roles: list[str] | None, department: str | None) -> None:
    """A user's roles and department must exist (422 `unknown_role`, `unknown_department`)."""
    if roles is not None:
        missing = await unknown_roles(roles)
        if missing:
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_role", f"No such role: {', '.join(missing)}",
                           {"field": "roles", "roles": missing})
    if department is not None:
        await _lock("department", [department], "SHARE")
    if department is not None and not await Department.exists().where(Department.code == department):
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_department", f"No department {department!r}",
                       {"field": "department", "department": department})


async def check_user_sites(sites: list[str] | None) -> list[str] | None:
    """The sites a user is limited to, each an existing site (422 `unknown_site`), sorted and once each."""
    if sites is None:
        return None
    chosen = sorted(set(sites))
    # by SQL: accounts sit below master data in the layers (server.masterdata imports accounts through records)
    known = {row["code"] for row in await sql_read(
        f"SELECT code FROM site WHERE code IN ({placeholders(len(chosen))})", *chosen)} if chosen else set()
    missing = [code for code in chosen if code not in known]
    if missing:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_site", f"No such site: {', '.join(missing)}",
                       {"field": "sites", "sites": missing})
    return chosen


# -- departments -------------------------------------------------------------------------------------------------------

async def list_departments(counts: dict[str, int] | None = None) -> list[DepartmentOut]:
    counts = await holder_counts() if counts is None else counts
    return [DepartmentOut(code=row["code"], name=row["name"], users=counts.get(f"department:{row['code']}", 0))
            for row in await Department.select(Department.code, Department.name).order_by(Department.code)]


async def _department(code: str) -> dict[str, Any]:
    row = await Department.select(Department.code, Department.name).where(Department.code == code).first()
    if row is None:
        raise not_found("department", code)
    return row


@needs_write
async def create_department(data: DepartmentIn, who: Who) -> DepartmentOut:
    if await Department.exists().where(Department.code == data.code):
        raise duplicate("department", "code", data.code)
    await Department.insert(Department(code=data.code, name=data.name, created_at=datetime.now(timezone.utc)))
    await record_audit(who, "create", "department", data.code, None, {"code": data.code, "name": data.name})
    return DepartmentOut(code=data.code, name=data.name, users=0)


@needs_write
async def update_department(code: str, patch: DepartmentPatch, who: Who) -> DepartmentOut:
    before = await _department(code)
    await Department.update({Department.name: patch.name}).where(Department.code == code)
    after = {"code": code, "name": patch.name}
    await record_audit(who, "update", "department", code, dict(before), after)
    return DepartmentOut(**after, users=(await holder_counts()).get(f"department:{code}", 0))


@needs_write
async def delete_department(code: str, who: Who) -> None:
    before = await _department(code)
    await _lock("department", [code], "UPDATE")
    members = (await holder_counts()).get(f"department:{code}", 0)
    if members:
        raise ApiError(HTTP_409_CONFLICT, "department_in_use", f"{members} user(s) belong to {code}: move them first",
                       {"department": code, "users": members})
    await Department.delete().where(Department.code == code)
    await record_audit(who, "delete", "department", code, dict(before), None)
