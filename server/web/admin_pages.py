"""Admin screens: the audit trail (who changed what, before and after), office users (create, roles, department,
sites, active) and the organisation (custom roles made from the permission list, departments)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_400_BAD_REQUEST, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, ValidationError

from schemas.accounts import DepartmentIn, DepartmentPatch, RoleIn, RolePatch, UserIn, UserPatch
from server.accounts.identity import requires
from server.accounts import organisation
from server.accounts import service as accounts
from server.actors import Who, office_who
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import has_key, translate
from server.masterdata.resources import RESOURCES
from server.masterdata.tables import Site
from server.sales import service as sales
from server.web import order_words
from server.web.forms import FormErrors, explain
from server.web.render import language_of, render

AUDIT_PAGE_SIZE = 30
SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"


# Where each document's statuses are named in the catalogs (so.status_approved…).
STATUS_FAMILIES = {"purchase_order": "po", "production_order": "prd", "sales_order": "so", "quote": "quote",
                   "shipment": "ship", "nonconformance": "ncr", "rfq": "rfq"}
STATUS_FIELDS = ("status", "held_from", "outcome")


def changed_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field whose value differs; timestamps that move on every write are left out."""
    before, after = before or {}, after or {}
    names = [n for n in {**before, **after} if n not in ("updated_at", "created_at")]
    return [(n, before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)]


def shown_value(lang: str, entity: str, name: str, value: Any, credit_check: Any = None) -> tuple[str, bool]:
    """(text, is_code) of one value in the trail, in the reader's language: a status by its document's name for it,
    the system's own words (an actor, a kind of hold) from the catalog, a credit hold by the check that made it,
    nested records as the JSON they are."""
    if value is None:
        return "", False
    if name == "hold_reason" and value and credit_check is not None:
        return order_words.change_value(lang, name, value, credit_check), False
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str), True
    text = str(value)
    family = STATUS_FAMILIES.get(entity)
    if name in STATUS_FIELDS and family and has_key(f"{family}.status_{text}"):
        return translate(lang, f"{family}.status_{text}"), False
    for family in ("audit.value_", "choice."):  # the system's words, then a field's choices (item type raw…)
        if has_key(family + text):
            return translate(lang, family + text), False
    return text, False


def shown_key(lang: str, key: str) -> str:
    """A record's key as the trail shows it: a code as it is, the key of a one-of-a-kind record (the policies'
    `default`, the planning settings' `planning`) in the reader's words."""
    return translate(lang, f"audit.key_{key}") if has_key(f"audit.key_{key}") else key


async def shown_changes(lang: str, row: dict[str, Any]) -> list[tuple[str, tuple[str, bool], tuple[str, bool]]]:
    entity, before, after = row["entity"], row["before"] or {}, row["after"] or {}
    changes = changed_fields(before, after)
    credit_at = lambda version: None  # noqa: E731 - only a sales order's credit hold has a check behind it
    if entity == sales.ENTITY and any(name == "hold_reason" for name, _, _ in changes):
        credit_at = order_words.credit_hold_words((await sales.order_history(row["entity_key"])).reviews)
    return [(order_words.field_label(lang, name),
             shown_value(lang, entity, name, old, credit_at(before.get("version"))),
             shown_value(lang, entity, name, new, credit_at(after.get("version"))))
            for name, old, new in changes]


@get("/audit", guards=[requires("audit.read")], include_in_schema=False)
async def audit_trail(
    request: Request,
    entity: Annotated[str | None, Parameter(max_length=64, pattern=r"^[a-z_]*$")] = None,
    entity_key: Annotated[str | None, Parameter(max_length=128, pattern=SAFE_TEXT)] = None,
    username: Annotated[str | None, Parameter(max_length=64, pattern=SAFE_TEXT)] = None,
    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1,
) -> Template:
    listing = await accounts.list_audit(
        entity=entity or None,
        entity_key=entity_key or None,
        username=username or None,
        limit=AUDIT_PAGE_SIZE,
        offset=(page - 1) * AUDIT_PAGE_SIZE,
    )
    params = {k: v for k, v in {"entity": entity, "entity_key": entity_key, "username": username}.items() if v}
    lang = language_of(request)
    entries = [{**row, "changes": await shown_changes(lang, row), "key_said": shown_key(lang, row["entity_key"])}
               for row in listing["items"]]
    return render(
        request,
        "audit.html",
        entries=entries,
        total=listing["total"],
        page=page,
        pages=max(1, -(-listing["total"] // AUDIT_PAGE_SIZE)),
        filters={"entity": entity or "", "entity_key": entity_key or "", "username": username or ""},
        entities=sorted({"user", *(resource.entity for resource in RESOURCES)}),
        page_url=lambda number: "/audit?" + urlencode({**params, "page": number}),
    )


async def _sites() -> list[dict[str, Any]]:
    """The sites a user may be limited to; offered only where the factory has several."""
    rows = await Site.select(Site.code, Site.name).where(Site.archived == False).order_by(Site.code)  # noqa: E712
    return rows if len(rows) > 1 else []


def _posted_sites(form: Any) -> list[str]:
    return [str(code) for code in form.getall("sites")] if "sites" in form else []


async def _users_page(request: Request, *, errors: FormErrors | None = None, values: dict[str, Any] | None = None,
                      status_code: int = 200) -> Template:
    counts = await organisation.holder_counts()  # one read of the users for both lists
    return render(
        request,
        "users.html",
        status_code=status_code,
        users=await accounts.list_users(),
        roles=await organisation.list_roles(counts),
        departments=await organisation.list_departments(counts),
        sites=await _sites(),
        errors=errors or FormErrors(),
        values=values or {"roles": [], "language": "en", "sites": []},
        saved=request.query_params.get("saved"),
    )


@get("/users", guards=[requires("users.read")], include_in_schema=False)
async def users(request: Request) -> Template:
    return await _users_page(request)


@post("/users", guards=[requires("users.write")], include_in_schema=False)
async def create_user(request: Request) -> Template | Redirect:
    who = office_who(request)
    form = await request.form()
    values = {
        "username": str(form.get("username") or ""),
        "display_name": str(form.get("display_name") or ""),
        "password": str(form.get("password") or ""),
        "roles": [str(r) for r in form.getall("roles")] if "roles" in form else [],
        "language": str(form.get("language") or "en"),
        "department": str(form.get("department") or "") or None,
        "sites": _posted_sites(form),
    }
    try:
        async with write_transaction():
            created = await accounts.create_user(UserIn.model_validate(values), who)
    except (ValidationError, ApiError) as exc:
        shown = {**values, "password": ""}
        errors = explain(exc, FormErrors(), language_of(request))
        return await _users_page(request, errors=errors, values=shown, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/users?{urlencode({'saved': created.username})}", status_code=HTTP_303_SEE_OTHER)


@post("/users/update", guards=[requires("users.write")], include_in_schema=False)
async def update_user(request: Request) -> Template | Redirect:
    who = office_who(request)
    form = await request.form()
    username = str(form.get("username") or "")[:64]
    patch: dict[str, Any] = {
        "display_name": str(form.get("display_name") or ""),
        "roles": [str(r) for r in form.getall("roles")] if "roles" in form else [],
        "active": form.get("active") is not None,
        "department": str(form.get("department") or "") or None,
    }
    if form.get("sites_shown"):  # the row offered the sites: none ticked lifts the limit
        patch["sites"] = _posted_sites(form)
    if form.get("password"):
        patch["password"] = str(form.get("password"))
    try:
        async with write_transaction():
            await accounts.update_user(username, UserPatch.model_validate(patch), who)
    except (ValidationError, ApiError) as exc:
        problems = explain(exc, FormErrors(), language_of(request))
        # The row forms share one page, so each message says which user it is about.
        errors = FormErrors(general=[f"{username}: {m}" for m in [*problems.general, *sum(problems.fields.values(), [])]])
        return await _users_page(request, errors=errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/users?{urlencode({'saved': username})}", status_code=HTTP_303_SEE_OTHER)


async def _organisation_page(request: Request, *, errors: FormErrors | None = None, status_code: int = 200) -> Template:
    counts = await organisation.holder_counts()  # one read of the users for both lists
    return render(
        request,
        "organisation.html",
        status_code=status_code,
        roles=await organisation.list_roles(counts),
        permissions=organisation.list_permissions(),
        departments=await organisation.list_departments(counts),
        errors=errors or FormErrors(),
        saved=request.query_params.get("saved"),
    )


@get("/organisation", guards=[requires("users.read")], include_in_schema=False)
async def organisation_page(request: Request) -> Template:
    return await _organisation_page(request)


# What each form of the organisation page does: the contract its fields make (None: the code alone), and the
# service that takes it, called as run(data, code, who).
_ORGANISATION_ACTIONS: dict[str, tuple[type[BaseModel] | None, Callable[[Any, str, Who], Awaitable[Any]]]] = {
    "create_role": (RoleIn, lambda data, code, who: organisation.create_role(data, who)),
    "update_role": (RolePatch, lambda data, code, who: organisation.update_role(code, data, who)),
    "delete_role": (None, lambda data, code, who: organisation.delete_role(code, who)),
    "create_department": (DepartmentIn, lambda data, code, who: organisation.create_department(data, who)),
    "update_department": (DepartmentPatch, lambda data, code, who: organisation.update_department(code, data, who)),
    "delete_department": (None, lambda data, code, who: organisation.delete_department(code, who)),
}


def _organisation_fields(action: str, form: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {"name": str(form.get("name") or "")}
    if action.startswith("create"):
        fields["code"] = str(form.get("code") or "")
    if action.endswith("_role"):
        if form.get("template"):
            fields["template"] = str(form.get("template"))
        else:
            fields["permissions"] = [str(p) for p in form.getall("permissions")] if "permissions" in form else []
    return fields


@post("/organisation", guards=[requires("users.write")], include_in_schema=False)
async def change_organisation(request: Request) -> Template | Redirect:
    """Every form of the page posts here with its `action`; a refusal shows the page again with the reason."""
    form = await request.form()
    action = str(form.get("action") or "")
    if action not in _ORGANISATION_ACTIONS:
        raise ApiError(HTTP_400_BAD_REQUEST, "unknown_action", "No such action on this page", {"field": "action"})
    contract, run = _ORGANISATION_ACTIONS[action]
    code = str(form.get("code") or "")[:32]
    try:
        data = contract.model_validate(_organisation_fields(action, form)) if contract is not None else None
        async with write_transaction():
            await run(data, code, office_who(request))
    except (ValidationError, ApiError) as exc:
        problems = explain(exc, FormErrors(), language_of(request))
        errors = FormErrors(general=[f"{code}: {m}" if code else m
                                     for m in [*problems.general, *sum(problems.fields.values(), [])]])
        return await _organisation_page(request, errors=errors, status_code=HTTP_422_UNPROCESSABLE_ENTITY)
    return Redirect(f"/organisation?{urlencode({'saved': code})}", status_code=HTTP_303_SEE_OTHER)


ADMIN_HANDLERS = [audit_trail, users, create_user, update_user, organisation_page, change_organisation]
