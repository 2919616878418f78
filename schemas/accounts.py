"""Contracts of the accounts area: login, the current user, user administration and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Contract, ControlFree

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
# As long as the users table's column allows: a longer Name reached PostgreSQL as a 500 (value too long).
DisplayName = Annotated[ControlFree, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Language = Literal["en", "zh"]
RoleName = Literal[
    "admin", "sales", "sales_manager", "planner", "buyer", "warehouse", "production_supervisor", "quality", "logistics",
    "viewer",
]


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


class MePatch(Contract):
    language: Language


class UserIn(Contract):
    username: Username
    display_name: DisplayName
    password: NewPassword
    roles: list[RoleName] = Field(min_length=1, max_length=10)
    language: Language = "en"


class UserPatch(Contract):
    """Only the fields sent change. A field may be left out but never sent as null: no user lacks a name or roles."""

    display_name: DisplayName = None  # type: ignore[assignment]
    password: NewPassword = None  # type: ignore[assignment]
    roles: list[RoleName] = Field(default=None, min_length=1, max_length=10)  # type: ignore[assignment]
    language: Language = None  # type: ignore[assignment]
    active: bool = None  # type: ignore[assignment]


class UserOut(BaseModel):
    username: str
    display_name: str
    roles: list[str]
    language: str
    active: bool
    created_at: datetime


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
