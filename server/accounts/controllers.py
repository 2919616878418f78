"""HTTP endpoints of the accounts area: login/logout, the current user, users, roles and departments (admin) and the
audit trail."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, delete, get, patch, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import (HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_422_UNPROCESSABLE_ENTITY,
                                   HTTP_429_TOO_MANY_REQUESTS)
from litestar.utils.scope.state import ScopeState

from schemas.accounts import (AuditEntryOut, CsrfToken, DepartmentCode, DepartmentIn, DepartmentOut, DepartmentPatch, LoginRequest,
                              Me, MePatch, PasswordChange, PermissionOut, RoleIn, RoleName, RoleOut, RolePatch, UserIn, UserOut,
                              UserPatch)
from schemas.common import Page
from schemas.errors import ErrorBody
from server.accounts import organisation, service
from server.accounts.identity import OfficeUser, load_office_user, requires
from server.db import write_transaction
from server.accounts.session_store import rotate_session
from server.actors import office_who
from server.errors import ApiError

LOGIN_PATHS = frozenset({"/api/auth/login", "/login"})


def _csrf_token(request: Request) -> str:
    return ScopeState.from_scope(request.scope).csrf_token


def me_view(user: OfficeUser) -> Me:
    return Me(
        username=user.username,
        display_name=user.display_name,
        roles=list(user.roles),
        language=user.language,
        permissions=sorted(user.permissions),
        department=user.department,
        sites=list(user.sites),
    )


async def start_session(request: Request, user_id: int) -> OfficeUser:
    # A fresh session id on every login, so an id planted in the browser before login is worth nothing after it.
    await rotate_session(request)
    request.set_session({"user_id": user_id})
    user = await load_office_user(user_id)
    assert user is not None
    return user


class AuthController(Controller):
    path = "/api/auth"
    tags = ["Accounts"]

    @post("/login", status_code=HTTP_200_OK, summary="Log in with username and password; sets the session cookie")
    async def login(self, request: Request, data: LoginRequest) -> Me:
        user_id = await service.authenticate(data.username, data.password)
        return me_view(await start_session(request, user_id))

    @get("/csrf", exclude_from_auth=True, summary="The CSRF token to send as X-CSRFToken with every write")
    async def csrf(self, request: Request) -> CsrfToken:
        return CsrfToken(csrf_token=_csrf_token(request))

    @post("/logout", status_code=HTTP_200_OK, summary="End the session")
    async def logout(self, request: Request) -> None:
        request.clear_session()

    @post("/password", status_code=HTTP_200_OK,
          summary="Change one's own password: every session of the user ends, this one goes on under a new id",
          responses={HTTP_429_TOO_MANY_REQUESTS: ResponseSpec(ErrorBody, generate_examples=False, description=(
              "The current password was guessed at too often: locked like a login (`rate_limited`)"))})
    async def change_password(self, request: Request, data: PasswordChange) -> Me:
        user: OfficeUser = request.user
        try:
            await service.authenticate(user.username, data.current_password)  # counted like a login: no guessing here
        except ApiError as exc:
            if exc.code != "invalid_credentials":
                raise
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "wrong_password", "The current password is wrong",
                           {"field": "current_password"}) from exc
        async with write_transaction():
            await service.change_own_password(user, data.new_password)
        return me_view(await start_session(request, user.id))

    @get("/me", summary="The logged-in user, with roles and permissions")
    async def me(self, request: Request) -> Me:
        return me_view(request.user)

    @patch("/me", summary="Change the logged-in user's language")
    async def change_me(self, request: Request, data: MePatch) -> Me:
        async with write_transaction():
            await service.set_language(request.user, data.language)
        user = await load_office_user(request.user.id)
        return me_view(user)  # type: ignore[arg-type]


UsernamePath = Annotated[str, Parameter(max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")]


class UsersController(Controller):
    path = "/api/users"
    tags = ["Accounts"]

    @get("/", guards=[requires("users.read")], summary="List office users")
    async def list_users(self) -> list[UserOut]:
        return await service.list_users()

    @post("/", guards=[requires("users.write")], status_code=HTTP_201_CREATED, summary="Create an office user")
    async def create_user(self, request: Request, data: UserIn) -> UserOut:
        async with write_transaction():
            return await service.create_user(data, office_who(request))

    @patch("/{username:str}", guards=[requires("users.write")], summary="Change a user (roles, password, active…)")
    async def update_user(self, request: Request, username: UsernamePath, data: UserPatch) -> UserOut:
        async with write_transaction():
            return await service.update_user(username, data, office_who(request))


RolePath = Annotated[RoleName, Parameter(max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]
DepartmentPath = Annotated[DepartmentCode, Parameter(max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class RolesController(Controller):
    """Roles: the built-in ones (templates, read-only) and those an admin makes from the permission list."""

    path = "/api/roles"
    tags = ["Accounts"]

    @get("/", guards=[requires("users.read")], summary="Every role, built-in and custom, with what it grants")
    async def list_roles(self) -> list[RoleOut]:
        return await organisation.list_roles()

    @get("/permissions", guards=[requires("users.read")], summary="The permissions a role may grant")
    async def list_permissions(self) -> list[PermissionOut]:
        return organisation.list_permissions()

    @post("/", guards=[requires("users.write")], status_code=HTTP_201_CREATED,
          summary="Make a role from permissions, or from a built-in role as template")
    async def create_role(self, request: Request, data: RoleIn) -> RoleOut:
        async with write_transaction():
            return await organisation.create_role(data, office_who(request))

    @patch("/{code:str}", guards=[requires("users.write")], summary="Rename a custom role or change what it grants")
    async def update_role(self, request: Request, code: RolePath, data: RolePatch) -> RoleOut:
        async with write_transaction():
            return await organisation.update_role(code, data, office_who(request))

    @delete("/{code:str}", guards=[requires("users.write")], status_code=HTTP_204_NO_CONTENT,
            summary="Delete a custom role nobody holds")
    async def delete_role(self, request: Request, code: RolePath) -> None:
        async with write_transaction():
            await organisation.delete_role(code, office_who(request))


class DepartmentsController(Controller):
    path = "/api/departments"
    tags = ["Accounts"]

    @get("/", guards=[requires("users.read")], summary="Departments, with how many users each has")
    async def list_departments(self) -> list[DepartmentOut]:
        return await organisation.list_departments()

    @post("/", guards=[requires("users.write")], status_code=HTTP_201_CREATED, summary="Create a department")
    async def create_department(self, request: Request, data: DepartmentIn) -> DepartmentOut:
        async with write_transaction():
            return await organisation.create_department(data, office_who(request))

    @patch("/{code:str}", guards=[requires("users.write")], summary="Rename a department")
    async def update_department(self, request: Request, code: DepartmentPath, data: DepartmentPatch) -> DepartmentOut:
        async with write_transaction():
            return await organisation.update_department(code, data, office_who(request))

    @delete("/{code:str}", guards=[requires("users.write")], status_code=HTTP_204_NO_CONTENT,
            summary="Delete a department nobody belongs to")
    async def delete_department(self, request: Request, code: DepartmentPath) -> None:
        async with write_transaction():
            await organisation.delete_department(code, office_who(request))


class AuditController(Controller):
    path = "/api/audit"
    tags = ["Accounts"]

    @get("/", guards=[requires("audit.read")], summary="The audit trail of office writes, newest first")
    async def list_audit(
        self,
        entity: Annotated[str | None, Parameter(max_length=64, pattern=r"^[a-z_]*$")] = None,
        entity_key: Annotated[str | None, Parameter(max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
        username: Annotated[str | None, Parameter(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[AuditEntryOut]:
        page = await service.list_audit(entity=entity, entity_key=entity_key, username=username, limit=limit, offset=offset)
        return Page[AuditEntryOut](**page)
