"""CSV for records: pure functions from records to text and from text to validated values (or row errors).

Lines of a record (BOM components…) take one CSV row each, the record's own columns repeated; nested
values (contacts, shifts) travel as JSON in one cell. A file need not have every column: a record it creates takes the
contract's defaults for the columns it lacks, a record it updates keeps what it had in them (so a file saved before a
column existed imports as it did, and changes nothing of the new column). An import is read in a worker thread within the bounds of
server/spreadsheets.py; an export's text cells never start a formula (`spreadsheet_cell`).
"""

from __future__ import annotations

import csv
import io
import json
import re
import typing
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ValidationError

from server.errors import Detail, field_code, problem_values, validation_values, values_of
from server.records.resource import Resource
from server.spreadsheets import Deadline, csv_records, from_spreadsheet_cell, parse_upload, spreadsheet_cell

MAX_IMPORT_ROWS = 50_000


def _is_structured(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, dict, tuple):
        return True
    if origin is typing.Union or str(origin) == "types.UnionType":
        return any(_is_structured(a) for a in typing.get_args(annotation) if a is not type(None))
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _fields(model: type[BaseModel], skip: str | None = None) -> list[str]:
    return [name for name in model.model_fields if name != skip]


def columns(resource: Resource) -> list[str]:
    spec = resource.children
    own = _fields(resource.create_model, skip=spec.field if spec else None)
    if spec is None:
        return own
    return own + [spec.csv_prefix + name for name in _fields(spec.model)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return spreadsheet_cell(str(value))


def format_records(resource: Resource, records: list[BaseModel]) -> str:
    spec = resource.children
    header = columns(resource)
    own = _fields(resource.create_model, skip=spec.field if spec else None)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for record in records:
        data = record.model_dump(mode="json")
        base = [_cell(data.get(name)) for name in own]
        lines = data.get(spec.field) if spec else None
        if not lines:
            writer.writerow(base + ([""] * len(_fields(spec.model)) if spec else []))
            continue
        for line in lines:
            writer.writerow(base + [_cell(line.get(name)) for name in _fields(spec.model)])
    return out.getvalue()


@lru_cache(maxsize=None)
def _structured_fields(model: type[BaseModel]) -> frozenset[str]:
    """The fields whose cell holds JSON (contacts, shifts…), worked out once per model: a file asks for every cell."""
    return frozenset(name for name, info in model.model_fields.items() if _is_structured(info.annotation))


def _decode_cells(model: type[BaseModel], cells: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str, str]]]:
    values: dict[str, Any] = {}
    problems = []
    structured = _structured_fields(model)
    for name, raw in cells.items():
        text = from_spreadsheet_cell((raw or "").strip())
        if text == "":
            continue
        if name in structured:
            try:
                values[name] = json.loads(text)
            except json.JSONDecodeError:
                problems.append((name, "invalid_json", Detail("not valid JSON", column=name)))
            continue
        values[name] = text
    return values, problems


def validation_problems(exc: ValidationError, prefix: str = "") -> list[tuple[str, str, str]]:
    """(field, code, message) of each error, the message a `Detail` keeping the limit and the value refused."""
    return [
        (prefix + ".".join(str(p) for p in e["loc"]), field_code(e["msg"]),
         Detail(e["msg"].removeprefix("Value error, "), **validation_values(e)))
        for e in exc.errors()
    ]


def row_problem(row: int, field: str, code: str, message: str, /, **values: Any) -> dict[str, Any]:
    """A problem of an imported file: where (row, field), what (`code`), the English `message` API clients read, and
    the `params` it names (a `Detail` message's own, or `values`), from which a page says it in the reader's
    language."""
    return {"row": row, "field": field, "code": code, "message": message,
            "params": {**values_of(message), **problem_values(**values)}}


# A record of a file: its first row, its values, the row of each of its lines, and the fields the file states (the
# columns of its header; the lines when it has any line column).
ParsedRecord = tuple[int, dict[str, Any], list[int], frozenset[str]]


def locate(resource: Resource, line: int, child_lines: list[int], field: str) -> tuple[int, str]:
    """The CSV row and column of a problem in a record: a problem of one of its lines is on that line's own row."""
    spec = resource.children
    if spec is not None:
        match = re.match(rf"^{re.escape(spec.field)}(?:\[(\d+)\]|\.(\d+))\.(\w+)", field)
        if match and int(match.group(1) or match.group(2)) < len(child_lines):
            return child_lines[int(match.group(1) or match.group(2))], spec.csv_prefix + match.group(3)
    return line, field


async def read_records(resource: Resource, text: str) -> tuple[list[ParsedRecord], list[dict[str, Any]]]:
    """`parse_records` in a worker thread, within the upload bounds (server/spreadsheets.py)."""
    return await parse_upload(lambda deadline: parse_records(resource, text, deadline))


def parse_records(resource: Resource, text: str, deadline: Deadline) -> tuple[list[ParsedRecord], list[dict[str, Any]]]:
    """Rows to validated record values. Returns (records with their first line number and the line number of each of
    their lines, errors by line and field)."""
    spec = resource.children
    expected = columns(resource)
    rows = csv_records(text.lstrip("\ufeff"), deadline)
    errors: list[dict[str, Any]] = []
    header = next(rows, (1, []))[1]
    unknown = [name for name in header if name not in expected]
    if "code" not in header or unknown:
        message = "unknown columns: " + ", ".join(unknown) if unknown else "the header has no 'code' column"
        return [], [row_problem(1, ",".join(unknown) or "code", "invalid_header", message, columns=", ".join(expected))]

    own = _fields(resource.create_model, skip=spec.field if spec else None)
    given = {name for name in own if name in header}
    if spec is not None and any(name.startswith(spec.csv_prefix) for name in header):
        given.add(spec.field)
    groups: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for line, cells in rows:
        if not cells:
            continue
        if line > MAX_IMPORT_ROWS + 1:
            errors.append(row_problem(line, "", "too_many_rows", f"at most {MAX_IMPORT_ROWS} rows", max_rows=MAX_IMPORT_ROWS))
            break
        if len(cells) > len(header):
            errors.append(row_problem(line, "", "invalid_row", "more cells than columns", columns=len(header)))
            continue
        row = dict(zip(header, cells))
        code = (row.get("code") or "").strip()
        own_cells = {name: row.get(name, "") for name in own if name in header}
        group = groups.get(code)
        if group is None:
            group = groups[code] = {"line": line, "cells": own_cells, "lines": []}
            order.append(code)
        elif spec is None:
            errors.append(row_problem(line, "code", "duplicate_in_file", f"code {code!r} appears twice", value=code,
                                      row=group["line"]))
            continue
        elif group["cells"] != own_cells:
            errors.append(row_problem(line, "code", "inconsistent_rows", f"rows of {code!r} disagree", value=code,
                                      row=group["line"]))
            continue
        if spec is not None:
            child_cells = {name: row.get(spec.csv_prefix + name, "") for name in _fields(spec.model)}
            if any((v or "").strip() for v in child_cells.values()):
                group["lines"].append((line, child_cells))

    parsed: list[ParsedRecord] = []
    for code in order:
        deadline.check()
        group = groups[code]
        child_lines = [line for line, _ in group["lines"]]
        values, problems = _decode_cells(resource.create_model, group["cells"])
        if spec is not None:
            values[spec.field] = []
            for index, (_, child_cells) in enumerate(group["lines"]):
                child, child_problems = _decode_cells(spec.model, child_cells)
                problems += [(f"{spec.field}[{index}].{f}", c, m) for f, c, m in child_problems]
                values[spec.field].append(child)
        try:
            record = resource.create_model.model_validate(values) if not problems else None
        except ValidationError as exc:
            problems += validation_problems(exc)
            record = None
        for field, code_, message in problems:
            row, column = locate(resource, group["line"], child_lines, field)
            errors.append(row_problem(row, column, code_, message))
        if record is not None:
            parsed.append((group["line"], record.model_dump(mode="python"), child_lines, frozenset(given)))
    return parsed, errors


def clashes_in_file(resource: Resource, parsed: list[ParsedRecord]) -> list[dict[str, Any]]:
    """Records of one file that would share a value that must be unique (a GTIN, a BOM's item and version): the
    database check sees neither of them yet, so the file itself is checked."""
    errors = []
    for names in [(name,) for name in resource.unique_fields] + list(resource.unique_together):
        first_row: dict[tuple[Any, ...], int] = {}
        for line, values, _, _ in parsed:
            key = tuple(values.get(name) for name in names)
            if any(part is None for part in key):
                continue
            if key in first_row:
                shown = ", ".join(f"{name} {value!r}" for name, value in zip(names, key))
                errors.append(row_problem(line, names[-1], "duplicate_in_file", f"{shown} is also on row {first_row[key]}",
                                          value=" / ".join(str(part) for part in key), row=first_row[key]))
            else:
                first_row[key] = line
    return errors


def parse_filter(resource: Resource, name: str, value: Any) -> Any:
    column = getattr(resource.table, name)
    if column.value_type is bool and isinstance(value, str):
        return value.lower() in ("1", "true", "yes")
    return value
