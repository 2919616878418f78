"""Contracts of the accounts area: login, the current user, user administration and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Code, Contract, ControlFree

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
# As long as the users table's column allows: a longer Name reached PostgreSQL as a 500 (value too long).
DisplayName = Annotated[ControlFree, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Language = Literal["en", "zh"]
# A built-in role (admin, sales, sales_manager, planner, buyer, warehouse, production_supervisor, quality, logistics,
# viewer) or a custom one an admin made; one that does not exist is refused with `unknown_role`.
RoleName = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
DepartmentCode = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                                  pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
PermissionName = Annotated[str, StringConstraints(min_length=3, max_length=64, pattern=r"^[a-z_]+\.[a-z_]+$")]
RoleTitle = Annotated[ControlFree, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
DepartmentName = Annotated[ControlFree, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class LoginRequest(Contract):
    # Not the Username pattern: a login with any other name is a wrong login (401), not a malformed one. But no
    # control characters, which PostgreSQL refuses in text (a NUL would otherwise reach the query as a 500).
    username: Annotated[ControlFree, StringConstraints(min_length=1, max_length=64)]
    password: Password


class PasswordChange(Contract):
    """One's own password: the current one again, and the new one (which every password policy rule applies to)."""

    current_password: Password
    new_password: NewPassword


class CsrfToken(BaseModel):
    csrf_token: str


class Me(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    language: str
    permissions: list[str]
    department: str | None = None
    # The sites whose orders and stock the user sees; empty: every site.
    sites: list[str] = []


class MePatch(Contract):
    language: Language


class UserIn(Contract):
    username: Username
    display_name: DisplayName
    password: NewPassword
    roles: list[RoleName] = Field(min_length=1, max_length=10)
    language: Language = "en"
    department: DepartmentCode | None = None
    # The sites whose orders and stock the user sees and works for (site codes); empty: every site.
    sites: list[Code] = Field(default_factory=list, max_length=50)


class UserPatch(Contract):
    """Only the fields sent change. A field may be left out but never sent as null: no user lacks a name or roles."""

    display_name: DisplayName = None  # type: ignore[assignment]
    password: NewPassword = None  # type: ignore[assignment]
    roles: list[RoleName] = Field(default=None, min_length=1, max_length=10)  # type: ignore[assignment]
    language: Language = None  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]
    # A department's code, or null for none.
    department: DepartmentCode | None = None
    # The sites the user is limited to; [] lifts the limit (every site).
    sites: list[Code] = Field(default=None, max_length=50)  # type: ignore[assignment]


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    language: str
    active: bool
    created_at: datetime
    department: str | None = None
    sites: list[str] = []


class RoleIn(Contract):
    """A custom role: its permissions listed, or copied from a built-in role (`template`) when left out."""

    code: RoleName
    name: RoleTitle
    permissions: list[PermissionName] | None = Field(default=None, max_length=100)
    template: RoleName | None = None


class RolePatch(Contract):
    name: RoleTitle = None  # type: ignore[assignment]
    permissions: list[PermissionName] = Field(default=None, max_length=100)  # type: ignore[assignment]


class RoleOut(BaseModel):
    code: str
    # A custom role's name as its admin wrote it; a built-in role's is in the catalogs (`role.<code>`), here null.
    name: str | None
    built_in: bool
    permissions: list[str]
    users: int


class PermissionOut(BaseModel):
    code: str
    # Whether a custom role may grant it (user administration stays with the built-in admin role).
    grantable: bool


class DepartmentIn(Contract):
    code: DepartmentCode
    name: DepartmentName


class DepartmentPatch(Contract):
    name: DepartmentName


class DepartmentOut(BaseModel):
    code: str
    name: str
    users: int


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    username: str
    action: str
    entity: str
    entity_key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    summary: str
