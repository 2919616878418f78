"""Which sites an office user may see: the one place that says it, and the helpers every query of site-bound records
(sales, production and purchase orders, shipments, stock, MRP plans) applies.

A user is limited to a *set* of sites (`app_user.sites`, empty = every site) rather than to one: a buyer or planner
who looks after two plants of three is common, one site is the set of one, and the column has the shape of `roles`.

The scope is bound once per request, when the session's user is read (server/accounts/identity.py), and read here by
the services, so that no controller or page has to remember to pass it on: a query can only forget to apply it, and
the document loader (server/documents.py `DocumentTable.find`) applies it for every site-bound document. A record of
a site outside the scope answers as if it did not exist (404 `not_found`, the same as an unknown code), so nothing
tells a user what another site holds. Devices, the system and unlimited users see every site (a device is limited by
its own scope: server/actors.py `Who.allowed_site`)."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any

from litestar.status_codes import HTTP_403_FORBIDDEN

from server.errors import ApiError
from server.i18n import Message

_visible_sites: ContextVar[frozenset[str] | None] = ContextVar("floorsync_visible_sites", default=None)


def bind_site_scope(sites: Iterable[str] | None) -> None:
    """The sites the request's user may see (None or empty: all), for the rest of the request."""
    chosen = frozenset(sites or ())
    _visible_sites.set(chosen or None)


def visible_sites() -> frozenset[str] | None:
    """The sites the current office user may see; None = every site."""
    return _visible_sites.get()


def sees_site(site: str | None) -> bool:
    """Whether a record of `site` is visible (a record of no site is, to everyone)."""
    sites = visible_sites()
    return sites is None or site is None or site in sites


def within_scope(condition: Any, site_column: Any) -> Any:
    """A Piccolo where-condition narrowed to the visible sites through `site_column` (the condition unchanged when
    the user sees every site)."""
    sites = visible_sites()
    if sites is None:
        return condition
    return condition & site_column.is_in(sorted(sites))


def site_sql(column: str, args: list[Any]) -> str:
    """The same for a SQL query with numbered parameters: " AND <column> IN (...)" with the sites appended to
    `args`, or "" when the user sees every site."""
    sites = visible_sites()
    if sites is None:
        return ""
    start = len(args) + 1
    args.extend(sorted(sites))
    return f" AND {column} IN ({', '.join(f'${n}' for n in range(start, start + len(sites)))})"


def site_not_allowed(site: str) -> ApiError:
    # No `field` in the details: a page then says the catalog sentence alone, in its reader's language.
    return ApiError(HTTP_403_FORBIDDEN, "site_not_allowed", f"You may not work for site {site!r}", {"site": site},
                    text=Message("refusal.site_not_allowed", {"site": site}))


def check_site_allowed(site: str | None) -> None:
    """A new record for a site outside the user's scope is refused: 403 `site_not_allowed`. (An existing record of
    such a site is not found instead, so that its existence is not told.)"""
    if not sees_site(site):
        raise site_not_allowed(str(site))
