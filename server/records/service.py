"""List, read, create, update, archive, import and export any `Resource`; each write is one transaction with its audit row."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, ValidationError

from server.accounts.audit import record_audit
from server.actors import Who
from server.db import needs_write
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
    data = {name: _plain(row[name]) for name in resource.read_model.model_fields if name in row}
    if resource.children is not None:
        data[resource.children.field] = children or []
    return resource.read_model.model_validate(data)


def _child_row(resource: Resource, row: dict[str, Any]) -> dict[str, Any]:
    fields = resource.children.model.model_fields  # type: ignore[union-attr]
    return {name: _plain(row[name]) for name in fields}


async def _load_children(resource: Resource, parent_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    spec = resource.children
    if spec is None or not parent_ids:
        return {}
    parent = getattr(spec.table, spec.parent_column)
    rows = await spec.table.select().where(parent.is_in(parent_ids)).order_by(getattr(spec.table, spec.order_by)).output(
        load_json=True
    )
    grouped: dict[int, list[dict[str, Any]]] = {pid: [] for pid in parent_ids}
    for row in rows:
        grouped[row[spec.parent_column]].append(_child_row(resource, row))
    return grouped


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


async def _check_references(references: tuple[Reference, ...], values: dict[str, Any], prefix: str = "") -> None:
    for ref in references:
        code = values.get(ref.field)
        if code is None:
            continue
        row = await ref.table.select(ref.table.archived).where(ref.table.code == code).first()
        if row is None:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                "unknown_reference",
                f"{prefix}{ref.field}: no {ref.entity} with code {code!r}",
                {"field": f"{prefix}{ref.field}", "entity": ref.entity, "value": code},
            )
        if row["archived"]:
            raise ApiError(
                HTTP_422_UNPROCESSABLE_ENTITY,
                "archived_reference",
                f"{prefix}{ref.field}: {ref.entity} {code!r} is archived",
                {"field": f"{prefix}{ref.field}", "entity": ref.entity, "value": code},
            )


async def _check_unique(resource: Resource, values: dict[str, Any], own_id: int | None) -> None:
    table = resource.table
    for name in ("code", *resource.unique_fields):
        value = values.get(name)
        if value is None:
            continue
        condition = getattr(table, name) == value
        if own_id is not None:
            condition = condition & (table.id != own_id)
        if await table.exists().where(condition):
            raise duplicate(resource.entity, name, str(value))
    for names in resource.unique_together:
        condition = getattr(table, names[0]) == values.get(names[0])
        for name in names[1:]:
            condition = condition & (getattr(table, name) == values.get(name))
        if own_id is not None:
            condition = condition & (table.id != own_id)
        if await table.exists().where(condition):
            shown = ", ".join(f"{name} {values.get(name)!r}" for name in names)
            raise ApiError(
                HTTP_409_CONFLICT,
                "duplicate",
                f"A {resource.entity} with {shown} already exists",
                {"entity": resource.entity, "field": names[-1], "fields": list(names), "value": [values.get(n) for n in names]},
            )


def _check_rules(resource: Resource, values: dict[str, Any]) -> None:
    if resource.rules is not None:
        _refuse(resource.rules(values))


def _refuse(problems: list[tuple[str, str, str]]) -> None:
    if problems:
        field, code, message = problems[0]
        raise ApiError(
            HTTP_422_UNPROCESSABLE_ENTITY,
            code,
            message,
            {"errors": [{"field": f, "code": c, "message": m, "params": values_of(m)} for f, c, m in problems]},
        )


async def _validate(resource: Resource, values: dict[str, Any], own_id: int | None) -> None:
    _check_rules(resource, values)
    await _check_unique(resource, values, own_id)
    await _check_references(resource.references, values)
    spec = resource.children
    if spec is not None:
        for index, child in enumerate(values.get(spec.field) or []):
            await _check_references(spec.references, child, prefix=f"{spec.field}[{index}].")
    if resource.checks is not None:
        _refuse(await resource.checks(values))


def _columns(resource: Resource, values: dict[str, Any]) -> dict[str, Any]:
    names = {c._meta.name for c in resource.table._meta.columns}
    return {k: v for k, v in values.items() if k in names and k != "id"}


async def _write_children(resource: Resource, parent_id: int, lines: list[dict[str, Any]]) -> None:
    spec = resource.children
    if spec is None:
        return
    parent = getattr(spec.table, spec.parent_column)
    await spec.table.delete().where(parent == parent_id)
    if lines:
        await spec.table.insert(*[spec.table(**{spec.parent_column: parent_id, **line}) for line in lines])


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
    `dry_run` only checks."""
    parsed, errors = await csv_io.read_records(resource, text)
    errors += csv_io.clashes_in_file(resource, parsed)
    records = []
    for line, values, child_lines, given in parsed:
        merged, problems = await _with_stored_values(resource, line, child_lines, values, given)
        if merged is not None:
            problems += await _row_problems(resource, line, child_lines, merged)
            records.append((line, merged, child_lines))
        errors.extend(problems)
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
    created = updated = 0
    for _, values, _ in records:
        existing = await _find_record(resource, values["code"])
        if existing is None:
            await _insert(resource, values)
            after = await get_record(resource, values["code"])
            await _changed(resource, who, "import", values["code"], None, after)
            created += 1
        else:
            row_id, before = existing
            # A row equal to the stored record is no change: no write, no audit row, updated_at stays.
            stored = before.model_dump(mode="python")
            if {name: stored[name] for name in values} == values:
                continue
            await _update(resource, row_id, values)
            after = await get_record(resource, values["code"])
            await _changed(resource, who, "import", values["code"], before, after)
            updated += 1
    return {"created": created, "updated": updated, "rows": len(parsed)}


async def _with_stored_values(
    resource: Resource, line: int, child_lines: list[int], values: dict[str, Any], given: frozenset[str]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """A row of a record that exists, with the stored values of the fields the file does not state, checked again as a
    whole record (its cross-field validators); a new record's row as it is."""
    found = await _find_record(resource, values["code"])
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
    resource: Resource, line: int, child_lines: list[int], values: dict[str, Any]
) -> list[dict[str, Any]]:
    existing = await _load_row(resource, values["code"])
    try:
        await _validate(resource, values, own_id=existing["id"] if existing else None)
    except ApiError as exc:
        if exc.code == "duplicate" and exc.details.get("field") == "code":
            return []
        # A rule may report several problems at once; a reference or a duplicate reports one field.
        found = exc.details.get("errors") or [{"field": exc.details.get("field", ""), "code": exc.code, "message": exc.message,
                                               "params": _said_values(exc.details)}]
        problems = []
        for problem in found:
            row, column = csv_io.locate(resource, line, child_lines, problem["field"])
            problems.append(csv_io.row_problem(row, column, problem["code"], problem["message"],
                                               **problem.get("params", {})))
        return problems
    return []

