"""List, read, create, update, archive, import and export any `Resource`; each write is one transaction with its audit row.

A record's checks read what they need once for a whole batch (`_read_known`): one record written at a desk is a batch
of one, an imported file a batch of thousands, checked against the same data by the same pure functions. An import
then writes its records in bulk statements (COPY on PostgreSQL, executemany on SQLite), with one audit row and the
same feed entries per record as a single write leaves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, ValidationError

from piccolo.columns import JSON, JSONB
from piccolo.columns.defaults.base import Default
from piccolo.table import Table

from server.accounts.audit import record_audit, record_audits
from server.actors import Who
from server.db import DB, json_text, needs_write, placeholders, sql_copy, sql_executemany, sql_read
from server.errors import ApiError, duplicate, field_code, not_found, values_of
from server.records import csv_io
from server.records.resource import Reference, Resource


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _plain(value: Any) -> Any:
    """PostgreSQL returns NUMERIC(18,6) 12.5 as 12.500000; clients (and CSV round trips) get 12.5 on either database."""
    if isinstance(value, Decimal) and value.is_finite():
        return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()
    return value


def _as_record(resource: Resource, row: dict[str, Any], children: list[dict[str, Any]] | None) -> BaseModel:
    data = {name: _plain(value) if type(value) is Decimal else value
            for name, value in ((name, row[name]) for name in _field_names(resource.read_model) if name in row)}
    if resource.children is not None:
        data[resource.children.field] = children or []
    return resource.read_model.model_validate(data)


@lru_cache(maxsize=None)
def _field_names(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields)


def _child_row(resource: Resource, row: dict[str, Any]) -> dict[str, Any]:
    fields = resource.children.model.model_fields  # type: ignore[union-attr]
    return {name: _plain(row[name]) for name in fields}


# Values per IN (...) of a bulk read on SQLite, well under its bound on parameters (PostgreSQL takes one array).
IN_CHUNK = 1000


def _chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _quoted(name: str) -> str:
    return f'"{name}"'


async def _rows_where_in(table: type[Table], column: str, values: Iterable[Any], *columns: str,
                         order_by: str | None = None) -> list[dict[str, Any]]:
    """The rows of `table` (these columns, or all) whose `column` is one of `values`, as the ORM reads them (JSON
    parsed), on the fast path (server/db.py): one statement on PostgreSQL, one per IN_CHUNK values on SQLite."""
    wanted = list(dict.fromkeys(value for value in values if value is not None))
    selected = [c for c in table._meta.columns if not columns or c._meta.name in columns]
    json_columns = [c._meta.name for c in selected if isinstance(c, (JSON, JSONB))]
    listed = ", ".join(f"{_quoted(c._meta.db_column_name)} AS {_quoted(c._meta.name)}" for c in selected)
    select = f"SELECT {listed} FROM {table._meta.tablename} WHERE {_quoted(column)}"
    ordered = f" ORDER BY {_quoted(order_by)}" if order_by else ""
    rows: list[dict[str, Any]] = []
    if DB.engine_type == "postgres":
        # One array: PostgreSQL plans an IN list of a thousand parameters slowly, an array as one index scan.
        if wanted:
            rows = await sql_read(f"{select} = ANY($1){ordered}", wanted)
    else:
        for chunk in _chunks(wanted):
            rows += await sql_read(f"{select} IN ({placeholders(len(chunk))}){ordered}", *chunk)
    for row in rows:
        for name in json_columns:
            if isinstance(row[name], str):
                row[name] = json.loads(row[name])
    return rows


async def _load_children(resource: Resource, parent_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    spec = resource.children
    if spec is None or not parent_ids:
        return {}
    grouped: dict[int, list[dict[str, Any]]] = {pid: [] for pid in parent_ids}
    for row in await _rows_where_in(spec.table, spec.parent_column, parent_ids, order_by=spec.order_by):
        grouped[row[spec.parent_column]].append(_child_row(resource, row))
    return grouped


async def _stored_records(resource: Resource, codes: Iterable[str]) -> dict[str, tuple[dict[str, Any], BaseModel]]:
    """The records with these codes as stored (their row, with the id writes need, and the record), read in bulk."""
    rows = await _rows_where_in(resource.table, "code", codes)
    children = await _load_children(resource, [row["id"] for row in rows])
    return {row["code"]: (row, _as_record(resource, row, children.get(row["id"]))) for row in rows}


async def _load_row(resource: Resource, code: str) -> dict[str, Any] | None:
    table = resource.table
    return await table.select().where(table.code == code).first().output(load_json=True)


async def _find_record(resource: Resource, code: str) -> tuple[int, BaseModel] | None:
    """The record with its row id (which writes need and the contract does not show), or None."""
    row = await _load_row(resource, code)
    if row is None:
        return None
    children = await _load_children(resource, [row["id"]])
    return row["id"], _as_record(resource, row, children.get(row["id"]))


async def _existing_record(resource: Resource, code: str) -> tuple[int, BaseModel]:
    found = await _find_record(resource, code)
    if found is None:
        raise not_found(resource.entity, code)
    return found


async def get_record(resource: Resource, code: str) -> BaseModel:
    return (await _existing_record(resource, code))[1]


def _where(resource: Resource, q: str | None, filters: dict[str, str], archived: bool):
    table = resource.table
    condition = table.archived == archived
    if q:
        pattern = f"%{q}%"
        search = None
        for name in resource.search_fields:
            clause = getattr(table, name).ilike(pattern)
            search = clause if search is None else (search | clause)
        condition = condition & search
    for name, value in filters.items():
        column = getattr(table, name)
        condition = condition & (column == csv_io.parse_filter(resource, name, value))
    return condition


async def list_records(
    resource: Resource,
    *,
    q: str | None = None,
    filters: dict[str, str] | None = None,
    sort: str = "code",
    archived: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    table = resource.table
    condition = _where(resource, q, filters or {}, archived)
    descending = sort.startswith("-")
    order_column = getattr(table, sort.lstrip("-"))
    rows = (
        await table.select()
        .where(condition)
        .order_by(order_column, ascending=not descending)
        .order_by(table.id, ascending=not descending)
        .limit(limit)
        .offset(offset)
        .output(load_json=True)
    )
    total = await table.count().where(condition)
    children = await _load_children(resource, [r["id"] for r in rows])
    return {
        "items": [_as_record(resource, row, children.get(row["id"])) for row in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


@dataclass
class _Known:
    """What the checks of a batch of records read from the database, each table once: whether each record they refer
    to is archived (absent: it does not exist), and which row holds each value that must stay unique."""

    archived: dict[str, dict[str, bool]] = field(default_factory=dict)  # table -> code -> archived
    holders: dict[tuple[str, ...], dict[tuple[Any, ...], int]] = field(default_factory=dict)  # fields -> values -> id


def _unique_keys(resource: Resource) -> list[tuple[str, ...]]:
    return [("code",), *((name,) for name in resource.unique_fields), *resource.unique_together]


async def _read_known(resource: Resource, records: Sequence[dict[str, Any]]) -> _Known:
    known = _Known()
    spec = resource.children
    wanted: list[tuple[Reference, list[Any]]] = [(ref, [values.get(ref.field) for values in records])
                                                 for ref in resource.references]
    if spec is not None:
        wanted += [(ref, [line.get(ref.field) for values in records for line in values.get(spec.field) or []])
                   for ref in spec.references]
    for ref, codes in wanted:
        seen = known.archived.setdefault(ref.table._meta.tablename, {})
        missing = [code for code in dict.fromkeys(codes) if code is not None and code not in seen]
        for row in await _rows_where_in(ref.table, "code", missing, "code", "archived"):
            seen[row["code"]] = bool(row["archived"])
    table = resource.table
    for names in _unique_keys(resource):
        holders = known.holders[names] = {}
        # Rows sharing the first field's value, then matched on all of them here.
        firsts = [values.get(names[0]) for values in records]
        for row in await _rows_where_in(table, names[0], firsts, "id", *names):
            holders[tuple(row[name] for name in names)] = row["id"]
    return known


def _reference_refusal(references: tuple[Reference, ...], values: dict[str, Any], known: _Known,
                       prefix: str = "") -> ApiError | None:
    for ref in references:
        code = values.get(ref.field)
        if code is None:
            continue
        archived = known.archived.get(ref.table._meta.tablename, {}).get(code)
        if archived is None:
            return ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                "unknown_reference",
                f"{prefix}{ref.field}: no {ref.entity} with code {code!r}",
                {"field": f"{prefix}{ref.field}", "entity": ref.entity, "value": code},
            )
        if archived:
            return ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                "archived_reference",
                f"{prefix}{ref.field}: {ref.entity} {code!r} is archived",
                {"field": f"{prefix}{ref.field}", "entity": ref.entity, "value": code},
            )
    return None


def _unique_refusal(resource: Resource, values: dict[str, Any], own_id: int | None, known: _Known) -> ApiError | None:
    for names in _unique_keys(resource):
        key = tuple(values.get(name) for name in names)
        if len(names) == 1 and key[0] is None:
            continue
        holder = known.holders.get(names, {}).get(key)
        if holder is None or holder == own_id:
            continue
        if len(names) == 1:
            return duplicate(resource.entity, names[0], str(key[0]))
        shown = ", ".join(f"{name} {value!r}" for name, value in zip(names, key))
        return ApiError(
            HTTP_409_CONFLICT,
            "duplicate",
            f"A {resource.entity} with {shown} already exists",
            {"entity": resource.entity, "field": names[-1], "fields": list(names), "value": list(key)},
        )
    return None


def _problems_refusal(problems: list[tuple[str, str, str]]) -> ApiError | None:
    if not problems:
        return None
    field_, code, message = problems[0]
    return ApiError(
        HTTP_422_UNPROCESSABLE_ENTITY,
        code,
        message,
        {"errors": [{"field": f, "code": c, "message": m, "params": values_of(m)} for f, c, m in problems]},
    )


async def _refusal(resource: Resource, values: dict[str, Any], own_id: int | None, known: _Known) -> ApiError | None:
    """The first kind of problem a record has, as the refusal a single write answers: its own rules, a value another
    record holds, a reference, a reference of one of its lines, then the checks that read other records."""
    refusal = (_problems_refusal(resource.rules(values) if resource.rules is not None else [])
               or _unique_refusal(resource, values, own_id, known)
               or _reference_refusal(resource.references, values, known))
    spec = resource.children
    if refusal is None and spec is not None:
        for index, child in enumerate(values.get(spec.field) or []):
            refusal = _reference_refusal(spec.references, child, known, prefix=f"{spec.field}[{index}].")
            if refusal is not None:
                break
    if refusal is None and resource.checks is not None:
        refusal = _problems_refusal(await resource.checks(values))
    return refusal


async def _validate(resource: Resource, values: dict[str, Any], own_id: int | None) -> None:
    refusal = await _refusal(resource, values, own_id, await _read_known(resource, [values]))
    if refusal is not None:
        raise refusal


@lru_cache(maxsize=None)
def _column_names(table: type[Table]) -> frozenset[str]:
    return frozenset(c._meta.name for c in table._meta.columns)


def _columns(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    names = _column_names(resource.table)
    return {k: v for k, v in values.items() if k in names and k != "id"}


async def _write_children(resource: Resource, parent_id: int, lines: list[dict[str, Any]]) -> None:
    spec = resource.children
    if spec is None:
        return
    parent = getattr(spec.table, spec.parent_column)
    await spec.table.delete().where(parent == parent_id)
    if lines:
        await spec.table.insert(*[spec.table(**{spec.parent_column: parent_id, **line}) for line in lines])


def _stored_value(column: Any, value: Any) -> Any:
    """A value as a bulk statement sends it: JSON as its text (as the ORM sends it), anything else as it is."""
    if isinstance(column, (JSON, JSONB)) and value is not None and not isinstance(value, str):
        return json_text(value)
    return value


def _default(column: Any) -> Any:
    value = column.get_default_value()
    return value.python() if isinstance(value, Default) else value


def _bulk_rows(table: type[Table], rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Rows for a bulk insert: every column but the primary key, the column's default where a row has no value (the
    defaults worked out once: the rows of one statement are written at the same moment)."""
    columns = [column for column in table._meta.columns if not column._meta.primary_key]
    pairs = [(column._meta.name, _default(column)) for column in columns]
    json_columns = [index for index, column in enumerate(columns) if isinstance(column, (JSON, JSONB))]
    out = []
    for row in rows:
        values = [row.get(name, default) for name, default in pairs]
        for index in json_columns:
            values[index] = _stored_value(columns[index], values[index])
        out.append(tuple(values))
    return [column._meta.db_column_name for column in columns], out


async def _insert_many(resource: Resource, records: list[dict[str, Any]]) -> None:
    """New records (not their lines) in one bulk statement: COPY on PostgreSQL, executemany on SQLite."""
    if not records:
        return
    now = _now()
    names, rows = _bulk_rows(resource.table, [{**_columns(resource, values), "created_at": now, "updated_at": now,
                                               "archived": False} for values in records])
    await sql_copy(resource.table._meta.tablename, names, rows)


async def _update_many(resource: Resource, changes: list[tuple[int, dict[str, Any]]]) -> None:
    """Changed records (not their lines), one pipelined UPDATE per record, as `_update` writes one."""
    if not changes:
        return
    table = resource.table
    columns = {column._meta.name: column for column in table._meta.columns}
    names = [name for name in _columns(resource, changes[0][1]) if name not in ("code", "created_at", "archived")]
    assignments = ", ".join(f"{columns[name]._meta.db_column_name} = ${n}"
                            for n, name in enumerate([*names, "updated_at"], start=1))
    now = _now()
    await sql_executemany(
        f"UPDATE {table._meta.tablename} SET {assignments} WHERE id = ${len(names) + 2}",
        [(*(_stored_value(columns[name], values[name]) for name in names), now, row_id) for row_id, values in changes],
    )


async def _replace_lines(resource: Resource, written: list[tuple[int, dict[str, Any]]], replaced: list[int]) -> None:
    """The lines of records written in bulk: the old lines of the `replaced` ones go, every record's lines go in."""
    spec = resource.children
    if spec is None:
        return
    parent = getattr(spec.table, spec.parent_column)
    for chunk in _chunks(replaced):
        await spec.table.delete().where(parent.is_in(list(chunk)))
    names, rows = _bulk_rows(spec.table, [{spec.parent_column: parent_id, **line}
                                          for parent_id, values in written for line in values.get(spec.field) or []])
    await sql_copy(spec.table._meta.tablename, names, rows)


def _dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="python")


async def _insert(resource: Resource, values: dict[str, Any]) -> int:
    now = _now()
    table = resource.table
    row = {**_columns(resource, values), "created_at": now, "updated_at": now, "archived": False}
    inserted = await table.insert(table(**row)).returning(table.id)
    parent_id = inserted[0]["id"]
    if resource.children is not None:
        await _write_children(resource, parent_id, values.get(resource.children.field) or [])
    return parent_id


async def _update(resource: Resource, row_id: int, values: dict[str, Any]) -> None:
    table = resource.table
    columns = {k: v for k, v in _columns(resource, values).items() if k not in ("code", "created_at", "archived")}
    columns["updated_at"] = _now()
    await table.update(columns).where(table.id == row_id)
    if resource.children is not None and resource.children.field in values:
        await _write_children(resource, row_id, values[resource.children.field] or [])


def _audit_view(record: BaseModel | None) -> dict[str, Any] | None:
    return None if record is None else record.model_dump(mode="json")


async def _changed(
    resource: Resource, who: Who, action: str, code: str, before: BaseModel | None, after: BaseModel | None
) -> None:
    """Everything a record write leaves behind besides the row itself: its audit entry, and what devices see."""
    await record_audit(who, action, resource.entity, code, _audit_view(before), _audit_view(after))
    if resource.on_change is not None:
        await resource.on_change(before, after)


@needs_write
async def create_record(resource: Resource, data: BaseModel, who: Who) -> BaseModel:
    values = _dump(data)
    await _validate(resource, values, own_id=None)
    await _insert(resource, values)
    created = await get_record(resource, values["code"])
    await _changed(resource, who, "create", values["code"], None, created)
    return created


@needs_write
async def update_record(resource: Resource, code: str, patch: BaseModel, who: Who) -> BaseModel:
    changes = patch.model_dump(mode="python", exclude_unset=True)
    row_id, before = await _existing_record(resource, code)
    merged = {**_dump(before), **changes}
    # The merged record must still satisfy the create contract (cross-field validators included).
    try:
        values = _dump(resource.create_model.model_validate({k: merged[k] for k in resource.create_model.model_fields}))
    except ValidationError as exc:
        raise _contract_error(exc) from None
    await _validate(resource, values, own_id=row_id)
    await _update(resource, row_id, {k: values[k] for k in changes if k in values})
    after = await get_record(resource, code)
    await _changed(resource, who, "update", code, before, after)
    return after


@needs_write
async def set_archived(resource: Resource, code: str, archived: bool, who: Who) -> BaseModel:
    table = resource.table
    before = await get_record(resource, code)
    await table.update({table.archived: archived, table.updated_at: _now()}).where(table.code == code)
    after = await get_record(resource, code)
    await _changed(resource, who, "archive" if archived else "restore", code, before, after)
    return after


def _contract_error(exc: ValidationError) -> ApiError:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "code": field_code(e["msg"]), "message": e["msg"]}
        for e in exc.errors()
    ]
    first = errors[0]
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, first["code"], f"{first['field']}: {first['message']}", {"errors": errors})


async def export_csv(resource: Resource) -> str:
    table = resource.table
    rows = await table.select().order_by(table.code).output(load_json=True)
    children = await _load_children(resource, [r["id"] for r in rows])
    records = [_as_record(resource, row, children.get(row["id"])) for row in rows]
    return csv_io.format_records(resource, records)


@needs_write
async def import_csv(resource: Resource, text: str, who: Who, *, dry_run: bool = False) -> dict[str, int]:
    """All or nothing: every row is checked first; one bad row means a 422 listing them all and nothing written.
    `dry_run` only checks. The records the file names, and everything their checks read, are read once for the whole
    file; the writes are bulk statements, with one audit row and the feed entries of each record written."""
    parsed, errors = await csv_io.read_records(resource, text)
    errors += csv_io.clashes_in_file(resource, parsed)
    stored = await _stored_records(resource, [values["code"] for _, values, _, _ in parsed])
    merged_records = []
    for line, values, child_lines, given in parsed:
        merged, problems = _with_stored_values(resource, line, child_lines, values, given, stored.get(values["code"]))
        if merged is not None:
            merged_records.append((line, child_lines, merged))
        errors.extend(problems)
    known = await _read_known(resource, [merged for _, _, merged in merged_records])
    for line, child_lines, merged in merged_records:
        found = stored.get(merged["code"])
        errors += await _row_problems(resource, line, child_lines, merged, found[0]["id"] if found else None, known)
    if errors:
        errors.sort(key=lambda e: e["row"])
        raise ApiError(
            HTTP_422_UNPROCESSABLE_ENTITY,
            "csv_invalid",
            f"{len(errors)} problem(s) in the file; nothing was imported",
            {"errors": errors},
        )
    if dry_run:
        return {"created": 0, "updated": 0, "rows": len(parsed), "dry_run": True}
    new_records, changed = [], []
    for _, _, values in merged_records:
        found = stored.get(values["code"])
        if found is None:
            new_records.append(values)
            continue
        # A row equal to the stored record is no change: no write, no audit row, updated_at stays.
        before = found[1].model_dump(mode="python")
        if {name: before[name] for name in values} != values:
            changed.append((found[0]["id"], values))
    await _insert_many(resource, new_records)
    await _update_many(resource, changed)
    written = [(values["code"], values) for values in new_records] + [(values["code"], values) for _, values in changed]
    rows = {row["code"]: row for row in await _rows_where_in(resource.table, "code", [code for code, _ in written])}
    await _replace_lines(resource, [(rows[code]["id"], values) for code, values in written],
                         replaced=[row_id for row_id, _ in changed])
    children = await _load_children(resource, [row["id"] for row in rows.values()])
    after = {code: _as_record(resource, row, children.get(row["id"])) for code, row in rows.items()}
    changes = [(code, stored[code][1] if code in stored else None, after[code])
               for code in (values["code"] for _, _, values in merged_records) if code in after]
    await record_audits(who, "import", resource.entity, [
        (code, None if before is None else before.model_dump_json(), record.model_dump_json())
        for code, before, record in changes])
    if resource.on_change is not None:
        for _, before, record in changes:
            await resource.on_change(before, record)
    return {"created": len(new_records), "updated": len(changed), "rows": len(parsed)}


def _with_stored_values(
    resource: Resource, line: int, child_lines: list[int], values: dict[str, Any], given: frozenset[str],
    found: tuple[dict[str, Any], BaseModel] | None,
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A row of a record that exists, with the stored values of the fields the file does not state, checked again as a
    whole record (its cross-field validators); a new record's row as it is."""
    if found is None:
        return values, []
    stored = _dump(found[1])
    merged = {name: values[name] if name in given else stored[name] for name in resource.create_model.model_fields}
    try:
        return _dump(resource.create_model.model_validate(merged)), []
    except ValidationError as exc:
        located = [(csv_io.locate(resource, line, child_lines, field), code, message)
                   for field, code, message in csv_io.validation_problems(exc)]
        return None, [csv_io.row_problem(row, column, code, message) for (row, column), code, message in located]


def _said_values(details: dict[str, Any]) -> dict[str, Any]:
    """What a reference or a uniqueness refusal names (the kind of record, the value), as an import problem's values."""
    values = {name: details[name] for name in ("entity", "value") if name in details}
    if isinstance(values.get("value"), list):
        values["value"] = " / ".join(str(part) for part in values["value"])
    return values


async def _row_problems(
    resource: Resource, line: int, child_lines: list[int], values: dict[str, Any], own_id: int | None, known: _Known
) -> list[dict[str, Any]]:
    refusal = await _refusal(resource, values, own_id, known)
    if refusal is None:
        return []
    # A rule may report several problems at once; a reference or a duplicate reports one field.
    found = refusal.details.get("errors") or [{"field": refusal.details.get("field", ""), "code": refusal.code,
                                               "message": refusal.message, "params": _said_values(refusal.details)}]
    problems = []
    for problem in found:
        row, column = csv_io.locate(resource, line, child_lines, problem["field"])
        problems.append(csv_io.row_problem(row, column, problem["code"], problem["message"],
                                           **problem.get("params", {})))
    return problems
