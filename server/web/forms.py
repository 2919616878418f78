"""Forms generated from the pydantic contracts: which widget each field gets, how posted text becomes model input,
and how a refusal (pydantic or `ApiError`) becomes a message next to the field it is about."""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from annotated_types import MaxLen
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from server.errors import ApiError, field_code
from server.i18n import DEFAULT_LANGUAGE, has_key, translate
from server.records.resource import Resource
from server.web.import_problems import word_said

# Details that only ever hold our own words (never a name from the data): without a catalog word they are not said.
OUR_WORDS_ONLY = frozenset({"entity", "status"})

LONG_TEXT = 300  # strings allowed to be longer than this get a textarea


@dataclass
class Widget:
    name: str
    kind: str  # text, number, decimal, checkbox, select, date, datetime, textarea, json, reference
    required: bool
    nullable: bool
    choices: tuple[str, ...] = ()
    reference: str | None = None  # entity whose codes the field takes
    max_length: int | None = None
    default: Any = None


@dataclass
class FormErrors:
    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        name = re.split(r"[.\[]", path, maxsplit=1)[0] if path else ""
        if name:
            already_named = path == name or message.startswith(path)
            self.fields.setdefault(name, []).append(message if already_named else f"{path}: {message}")
        else:
            self.general.append(message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The type inside `X | None`, and whether None was allowed."""
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        nullable = len(args) < len(typing.get_args(annotation))
        return (args[0] if len(args) == 1 else annotation), nullable
    return annotation, False


def _max_length(info: FieldInfo, inner: Any) -> int | None:
    # pydantic keeps a field's own constraints in info.metadata; those of `Name | None` stay inside the Annotated type.
    metadata = list(info.metadata) + list(getattr(inner, "__metadata__", ()))
    found = [m.max_length for m in metadata if isinstance(m, MaxLen) or getattr(m, "max_length", None) is not None]
    return min(found) if found else None


def _base_type(inner: Any) -> Any:
    while typing.get_origin(inner) is typing.Annotated:
        inner = typing.get_args(inner)[0]
    return inner


def widget_for(name: str, info: FieldInfo, references: dict[str, str]) -> Widget:
    inner, nullable = _unwrap(info.annotation)
    base = _base_type(inner)
    required = info.is_required() and not nullable
    default = None if info.is_required() else info.get_default(call_default_factory=True)
    spec = Widget(name=name, kind="text", required=required, nullable=nullable, default=default)
    origin = typing.get_origin(base)
    if name in references:
        spec.kind, spec.reference = "reference", references[name]
    elif origin is typing.Literal:
        spec.kind, spec.choices = "select", tuple(str(v) for v in typing.get_args(base))
    elif base is bool:
        spec.kind = "checkbox"
    elif base is int:
        spec.kind = "number"
    elif base in (Decimal, float):
        spec.kind = "decimal"
    elif base is datetime:
        spec.kind = "datetime"
    elif base is date:
        spec.kind = "date"
    elif origin in (list, dict, tuple, set) or (isinstance(base, type) and issubclass(base, BaseModel)):
        spec.kind = "json"
    else:
        spec.max_length = _max_length(info, inner)
        if spec.max_length and spec.max_length > LONG_TEXT:
            spec.kind = "textarea"
    return spec


def widgets(model: type[BaseModel], references: dict[str, str], skip: tuple[str, ...] = ()) -> list[Widget]:
    return [widget_for(name, info, references) for name, info in model.model_fields.items() if name not in skip]


def display(value: Any, kind: str) -> str:
    """A stored value as the text a form input shows."""
    if value is None:
        return ""
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")
    if isinstance(value, bool):
        return "true" if value else ""
    return str(value)


def _parse(spec: Widget, raw: str | None, errors: FormErrors, path: str, lang: str) -> tuple[bool, Any]:
    """(present, value) for one posted input; absent means 'leave to the default / unchanged'."""
    if spec.kind == "checkbox":
        return True, raw is not None
    text = (raw or "").strip() if spec.kind not in ("textarea",) else (raw or "")
    if text.strip() == "":
        if spec.nullable:
            return True, None
        if spec.kind in ("text", "textarea") and spec.default == "":
            return True, ""
        if spec.required:
            return True, ""  # let the contract say which field is missing
        return False, None
    if spec.kind == "json":
        try:
            return True, json.loads(text)
        except json.JSONDecodeError as exc:
            errors.add(path, _in_language(lang, "invalid_json", f"not valid JSON ({exc.msg}, line {exc.lineno})"))
            return False, None
    return True, text


def parse_fields(
    specs: list[Widget], form: dict[str, str | None], errors: FormErrors, prefix: str = "", lang: str = DEFAULT_LANGUAGE
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for spec in specs:
        present, value = _parse(spec, form.get(prefix + spec.name), errors, spec.name, lang)
        if present:
            values[spec.name] = value
    return values


def line_field(resource: Resource, index: int, name: str) -> str:
    return f"{resource.children.field}-{index}-{name}"  # type: ignore[union-attr]


def parse_lines(
    resource: Resource, specs: list[Widget], form: dict[str, str | None], errors: FormErrors, lang: str = DEFAULT_LANGUAGE
) -> list[dict[str, Any]]:
    """Child lines posted as `<field>-<n>-<name>`; a row left entirely blank is no line."""
    spec = resource.children
    assert spec is not None
    indexes = sorted({int(m.group(1)) for key in form if (m := re.fullmatch(rf"{spec.field}-(\d+)-\w+", key))})
    lines = []
    for index in indexes:
        prefix = f"{spec.field}-{index}-"
        if all(not (form.get(prefix + s.name) or "").strip() for s in specs if s.kind != "checkbox"):
            continue
        lines.append(parse_fields(specs, form, errors, prefix=prefix, lang=lang))
    return lines


def said_in(lang: str, code: str, message: str, params: Mapping[str, Any] | None = None) -> str:
    """A refusal in the reader's language. The contract's English message is what an English reader gets; another
    reader never gets it: the catalog's sentence for the code (`refusal.<code>`) with the refusal's details as its
    values; where the details lack a value the sentence names, the kind of problem alone (`problem.<code>`); and for a
    code neither names (one a module added since), a sentence that names the code (`error.refusal_code`).

    Details that are words of ours are said in the reader's words (`entity` 'item' is 物料, a built-in role its
    name); a kind of record or a status the catalogs have no word for is left out, so that a sentence naming it gives
    way to the kind of problem rather than showing an internal name."""
    if lang == DEFAULT_LANGUAGE:
        return message
    values = {}
    for name, value in (params or {}).items():
        if not isinstance(value, (str, int, Decimal)):
            continue
        said = word_said(lang, name, value)
        if name in OUR_WORDS_ONLY and said == value:
            continue
        values[name] = said
    if has_key(f"refusal.{code}"):
        try:
            return translate(lang, f"refusal.{code}").format(**values)
        except (KeyError, IndexError):
            pass  # this refusal's details lack a value the sentence names: the kind of problem says it
    if has_key(f"problem.{code}"):
        return translate(lang, f"problem.{code}")
    return translate(lang, "error.refusal_code", code=code)


def _in_language(lang: str, code: str, message: str, limits: Mapping[str, Any] | None = None) -> str:
    """A problem of a form's field read by pydantic (a format, a length, a missing value): the field it is on is
    named beside it, so a reader of another language gets the kind of problem in their words, with its limit where
    the catalog's sentence names one (`refusal.too_long` and pydantic's `max_length`), rather than pydantic's
    English detail; a code the catalogs lack is named as a code (`error.refusal_code`)."""
    if lang == DEFAULT_LANGUAGE:
        return message
    if limits and has_key(f"problem.{code}") and has_key(f"refusal.{code}"):
        try:
            return translate(lang, f"refusal.{code}").format(**limits)
        except (KeyError, IndexError):
            pass  # a limit the sentence does not name (a decimal's digits): the kind alone
    if has_key(f"problem.{code}"):
        return translate(lang, f"problem.{code}")
    return translate(lang, "error.refusal_code", code=code)


def explain(exc: ValidationError | ApiError, errors: FormErrors, lang: str = DEFAULT_LANGUAGE) -> FormErrors:
    """Spread a refusal over the fields it names; what names no field goes on top of the form."""
    if isinstance(exc, ValidationError):
        for problem in exc.errors():
            path = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in problem["loc"]).replace(".[", "[")
            message = problem["msg"].removeprefix("Value error, ")
            errors.add(path, _in_language(lang, field_code(problem["msg"]), message, problem.get("ctx")))
        return errors
    listed = exc.details.get("errors") if isinstance(exc.details, dict) else None
    if isinstance(listed, list) and listed and all(isinstance(e, dict) and "row" not in e for e in listed):
        for problem in listed:
            code = str(problem.get("code", exc.code))
            errors.add(str(problem.get("field", "")), said_in(lang, code, str(problem.get("message", exc.message)), problem))
    elif isinstance(exc.details, dict) and exc.details.get("field"):
        errors.add(str(exc.details["field"]), exc.text.text(lang) if exc.text is not None
                   else said_in(lang, exc.code, exc.message, exc.details))
    elif exc.text is not None:
        errors.general.append(exc.text.text(lang))
    else:
        errors.general.append(said_in(lang, exc.code, exc.message, exc.details))
    return errors
