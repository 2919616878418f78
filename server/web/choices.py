"""What a form offers to choose from (a <select>, a datalist): the active records of a master table, by code. One
query for every page, so an archived customer, site or item is offered nowhere."""

from __future__ import annotations

from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Combinable
from piccolo.table import Table

from server.accounts.site_scope import within_scope
from server.masterdata.tables import Site

# Items are many: a datalist of more than this helps nobody type one.
MAX_ITEM_SUGGESTIONS = 2000


async def active_records(table: type[Table], *columns: Column, where: Combinable | None = None,
                         order_by: tuple[Column, ...] = (), limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of `table` not archived (its code and `columns`, optionally narrowed by `where`), ordered by `order_by`
    and then by code; at most `limit` of them. Sites are those the office user may work for (a form offers no other:
    server/accounts/site_scope.py)."""
    condition = table.archived == False  # type: ignore[attr-defined]  # noqa: E712
    if table is Site:
        condition = within_scope(condition, Site.code)
    query = table.select(table.code, *columns).where(condition if where is None else condition & where)  # type: ignore[attr-defined]
    for column in (*order_by, table.code):  # type: ignore[attr-defined]
        query = query.order_by(column)
    return await (query.limit(limit) if limit is not None else query)
