"""What every office page needs: the reader's language, `t(...)`, the navigation they may use, and the page itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Template
from litestar.types import Guard

from server.accounts.identity import OfficeUser, requires
from server.i18n import LANGUAGES, anonymous_language, translate
from server.masterdata.resources import RESOURCES
from server.records.resource import Resource
from server.sales.rules import check_message
from server.web import order_words

LANGUAGE_COOKIE = "lang"


def current_user(request: Request) -> OfficeUser | None:
    user = request.scope.get("user")
    return user if isinstance(user, OfficeUser) else None


def language_of(request: Request) -> str:
    user = current_user(request)
    if user is not None and user.language in LANGUAGES:
        return user.language
    return anonymous_language(request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language"))


def readable_resources(user: OfficeUser | None) -> list[Resource]:
    return [r for r in RESOURCES if user is not None and user.may(r.read_permission)]


def requires_for(permission_of: Callable[[ASGIConnection], str]) -> Guard:
    """The guard of a route whose paths need different permissions (one path per action or per form, a master data
    resource named in the path): `requires` with the permission `permission_of` gives for the request."""

    def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        requires(permission_of(connection))(connection, handler)

    return guard


def _check_text(lang: str, check: Any) -> str:
    """A review check (a contract model or its stored dict) in the reader's language."""
    if isinstance(check, dict):
        return check_message(lang, check["code"], check.get("details") or {})
    return check_message(lang, check.code, check.details)


def render(request: Request, template: str, *, status_code: int = 200, lang: str | None = None, **context: Any) -> Template:
    lang = lang or language_of(request)
    user = current_user(request)

    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    return Template(
        template,
        status_code=status_code,
        context={
            "t": t,
            # Words the system stores as codes and values, said in the reader's language when shown.
            "check_text": lambda check: _check_text(lang, check),
            "change_field": lambda name: order_words.change_field(lang, name),
            "change_value": lambda name, value, credit_check=None: order_words.change_value(lang, name, value, credit_check),
            "reason_text": lambda reason: order_words.reason_text(lang, reason),
            "impact_details": lambda impact: order_words.impact_details(lang, impact.effect, impact.details),
            # The loader and background jobs act as "system": no person, so named in the reader's language.
            "actor": lambda name: t("audit.value_system") if name == "system" else name,
            "lang": lang,
            "user": user,
            "nav_resources": readable_resources(user),
            "current_path": request.url.path,
            **context,
        },
    )
