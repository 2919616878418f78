"""Contracts of the accounts area: login, the current user, user administration and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from schemas.common import Contract, Name

Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=256)]
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=256)]
Language = Literal["en", "zh"]
RoleName = Literal[
    "admin", "sales", "planner", "buyer", "warehouse", "production_supervisor", "quality", "logistics", "viewer"
]


class LoginRequest(Contract):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Password


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
    display_name: Name
    password: NewPassword
    roles: list[RoleName] = Field(min_length=1, max_length=9)
    language: Language = "en"


class UserPatch(Contract):
    display_name: Name | None = None
    password: NewPassword | None = None
    roles: list[RoleName] | None = Field(default=None, min_length=1, max_length=9)
    language: Language | None = None
    active: bool | None = None


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
