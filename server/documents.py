"""The database side of what the document areas (purchase, production and sales orders, shipments,
nonconformances) do alike: load a header by its code with its lines, lock it, write it with the next version
(409 `version_conflict` when someone else did first), take the next per-year code (PO-2026-0001), refuse a form's
problems all at once, audit a change. Everything here runs inside the caller's write transaction; the pure rules
the areas share (refusals, status lifecycles, line numbering) are in `server/document_rules.py`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from piccolo.columns import Column
from piccolo.table import Table
from pydantic import BaseModel

from server.accounts.audit import record_audit
from server.accounts.site_scope import check_site_allowed, within_scope
from server.actors import Who
from server.db import DB, sql_fetch
from server.document_rules import Lifecycle, Problem, Refusal, document_code, repeated_line_numbers
from server.errors import ApiError, not_found
from server.quantities import decimals_used
from server.masterdata.tables import Item, Site, Unit

Rows = list[dict[str, Any]]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def rows_by_parent(parent: Column, parent_ids: list[int], order_by: Column | None = None) -> dict[int, Rows]:
    """The rows of a child table (lines, operations, units…) of each parent id, through its foreign key `parent`."""
    grouped: dict[int, Rows] = {parent_id: [] for parent_id in parent_ids}
    if parent_ids:
        query = parent._meta.table.select().where(parent.is_in(parent_ids))
        if order_by is not None:
            query = query.order_by(order_by)
        for row in await query:
            grouped[row[parent._meta.name]].append(row)
    return grouped


@dataclass(frozen=True)
class DocumentTable:
    """One area's document header table (columns id, code, version, updated_at), its lines and its per-year counter
    (columns year, last_number), with the wording its refusals use."""

    entity: str  # in the audit trail, the change feed and error details: "purchase_order"
    label: str  # in messages: "Purchase order"
    header: type[Table]
    code_prefix: str = ""  # PO, PRD, SO, SHP, NCR
    counter: type[Table] | None = None
    line_parent: Column | None = None  # the lines' foreign key to the header, when it has numbered lines
    lifecycle: Lifecycle | None = None  # which status may follow which, when the office moves it on
    # The header belongs to a site (its `site` column): a user limited to other sites finds no such document.
    site_bound: bool = False

    async def find(self, code: str) -> dict[str, Any] | None:
        """The header, if it exists and (for a site-bound document) its site is one the office user may see: every
        read and every write of a document starts here, so one of another site is not found, exactly like an
        unknown code (server/accounts/site_scope.py)."""
        condition = self.header.code == code
        if self.site_bound:
            condition = within_scope(condition, self.header.site)  # type: ignore[attr-defined]
        return await self.header.select().where(condition).first()

    async def load(self, code: str) -> dict[str, Any]:
        """The header, or 404 `not_found` (also for a document of a site the user may not see)."""
        row = await self.find(code)
        if row is None:
            raise not_found(self.entity, code)
        return row

    async def lines_of(self, header_ids: list[int]) -> dict[int, Rows]:
        assert self.line_parent is not None
        return await rows_by_parent(self.line_parent, header_ids, self.line_parent._meta.table.line_no)

    async def load_with_lines(self, code: str) -> tuple[dict[str, Any], Rows]:
        row = await self.load(code)
        return row, (await self.lines_of([row["id"]]))[row["id"]]

    async def lock(self, code: str) -> None:
        """Writers of one document queue behind each other until commit on PostgreSQL (SQLite already serialises
        writers), so the second reads what the first wrote instead of failing on its version."""
        if DB.engine_type == "postgres":
            await sql_fetch(f"SELECT id FROM {self.header._meta.tablename} WHERE code = $1 FOR UPDATE", code)

    def version_conflict(self, code: str, current: int, sent: int) -> ApiError:
        return ApiError(HTTP_409_CONFLICT, "version_conflict",
                        f"{self.label} {code!r} was changed by someone else (version {current}, you had {sent}): "
                        "reload it",
                        {"entity": self.entity, "key": code, "version": current, "sent_version": sent})

    def check_version(self, row: dict[str, Any], sent: int | None) -> None:
        """The version the client read must still be the header's (None: the client did not say)."""
        if sent is not None and sent != row["version"]:
            raise self.version_conflict(row["code"], row["version"], sent)

    def state_conflict(self, code: str, refusal: Refusal, status: str) -> ApiError:
        return ApiError(HTTP_409_CONFLICT, refusal.code, refusal.message,
                        {"entity": self.entity, "key": code, "status": status})

    def check_transition(self, row: dict[str, Any], target: str) -> None:
        """409 with the lifecycle's refusal when the header may not move to `target`."""
        assert self.lifecycle is not None
        refusal = self.lifecycle.transition_refusal(row["status"], target)
        if refusal is not None:
            raise self.state_conflict(row["code"], refusal, row["status"])

    async def bump(self, row: dict[str, Any], columns: dict[Any, Any]) -> None:
        """Write the header with the next version, only if nobody else did in between (else `version_conflict`)."""
        table = self.header
        updated = await table.update(
            {**columns, table.version: row["version"] + 1, table.updated_at: utc_now()}
        ).where((table.id == row["id"]) & (table.version == row["version"])).returning(table.id)
        if not updated:
            current = await table.select(table.version).where(table.id == row["id"]).first()
            raise self.version_conflict(row["code"], current["version"], row["version"])

    async def next_code(self, year: int) -> str:
        """The next free <prefix>-<year>-NNNN from the year's counter; a number someone typed by hand is skipped."""
        assert self.counter is not None
        counter, header = self.counter._meta.tablename, self.header._meta.tablename
        while True:
            rows = await sql_fetch(
                f"INSERT INTO {counter} (year, last_number) VALUES ($1, 1) ON CONFLICT (year) "
                f"DO UPDATE SET last_number = {counter}.last_number + 1 RETURNING last_number",
                year,
            )
            code = document_code(self.code_prefix, year, rows[0]["last_number"])
            if not await sql_fetch(f"SELECT 1 AS taken FROM {header} WHERE code = $1", code):
                return code


# -- forms ---------------------------------------------------------------------------------------------------------

def refuse_problems(problems: list[Problem], status: int = HTTP_422_UNPROCESSABLE_ENTITY) -> None:
    """All problems at once (a form shows each next to its field); the first one's code is the answer's code."""
    if problems:
        field, code, message = problems[0]
        raise ApiError(status, code, f"{field}: {message}" if field else message,
                       {"field": field, "errors": [{"field": f, "code": c, "message": m} for f, c, m in problems]})


async def master_problems(field: str, table: type[Table], code: str, entity: str) -> list[Problem]:
    """A reference to master data (a supplier, site, item…) must name an active record."""
    row = await table.select(table.archived).where(table.code == code).first()
    if row is None:
        return [(field, f"unknown_{entity}", f"no {entity} with code {code!r}")]
    if row["archived"]:
        return [(field, f"archived_{entity}", f"{entity} {code!r} is archived")]
    return []


async def site_problems(site: str) -> list[Problem]:
    """The site a new or rewritten document is for: one the office user may work for (else 403 `site_not_allowed`
    at once: server/accounts/site_scope.py), and an active site."""
    check_site_allowed(site)
    return await master_problems("site", Site, site, "site")


async def item_units(codes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each item's archive flag and the decimals its unit allows."""
    codes = list(set(codes))
    if not codes:
        return {}
    items = await Item.select(Item.code, Item.archived, Item.unit).where(Item.code.is_in(codes))
    units = {u["code"]: u["decimals"] for u in await Unit.select(Unit.code, Unit.decimals)}
    return {row["code"]: {**row, "decimals": units.get(row["unit"], 6)} for row in items}


def line_problems(index: int, line: dict[str, Any], item: dict[str, Any] | None, *, today: date) -> list[Problem]:
    """An order line's item (as `item_units` gives it, None when unknown), quantity and due date."""
    where, problems = f"lines[{index}]", []
    if item is None:
        problems.append((f"{where}.item", "unknown_item", f"no item with code {line['item']!r}"))
    elif item["archived"]:
        problems.append((f"{where}.item", "archived_item", f"item {line['item']!r} is archived"))
    elif decimals_used(line["quantity"]) > item["decimals"]:
        problems.append((f"{where}.quantity", "too_many_decimals",
                         f"item {line['item']!r} allows {item['decimals']} decimals"))
    if line["due_date"] is not None and line["due_date"] < today:
        problems.append((f"{where}.due_date", "due_date_in_past", f"due date {line['due_date']} is before today"))
    return problems


async def lines_problems(lines: list[dict[str, Any]], *, today: date) -> list[Problem]:
    """The problems of a document's lines (a quote's, a contract's call-off, a sales or purchase order's) in line
    order: a line number an earlier line has, then the line's item, quantity and due date."""
    items = await item_units(line["item"] for line in lines)
    repeated = set(repeated_line_numbers(line["line_no"] for line in lines))
    problems: list[Problem] = []
    for index, line in enumerate(lines):
        if index in repeated:
            problems.append((f"lines[{index}].line_no", "duplicate_line", f"line {line['line_no']} appears twice"))
        problems += line_problems(index, line, items.get(line["item"]), today=today)
    return problems


async def audit_change(who: Who, action: str, entity: str, key: str, before: BaseModel | None,
                       after: BaseModel | None, summary: str = "") -> None:
    """The audit row of an office change: the document as it was and as it is, in their API shape."""
    await record_audit(who, action, entity, key, before.model_dump(mode="json") if before else None,
                       after.model_dump(mode="json") if after else None, summary)
