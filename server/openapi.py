"""The OpenAPI document says what the server does, no more and no less: a client (or schemathesis) generated from it
sends nothing the server refuses as malformed and is refused whatever the document forbids.

Litestar writes the document from the handlers' signatures but drops part of what pydantic enforces (unknown fields
refused, constraints inside `X | None`, a list's minimum length inside a union) and cannot say that an operation is
public. Both are settled here, once, for every operation: `ContractSchemaPlugin` while each model's schema is made,
`DocumentRenderPlugin` on the finished document, the first time it is served.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

import msgspec
from litestar import Litestar, Request
from litestar._signature.types import ExtendedMsgSpecValidationError
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import OpenAPIType, Reference, Schema
from litestar.plugins.pydantic import PydanticInitPlugin, PydanticSchemaPlugin
from litestar.plugins.pydantic.plugins.init import is_pydantic_v2_model_class
from litestar.routes import HTTPRoute
from pydantic import BaseModel, ValidationError

from schemas.common import EXACT_DIGITS, Contract
from server.accounts.session_store import SESSION_COOKIE

SESSION_SCHEME = "sessionCookie"
DEVICE_SCHEME = "deviceToken"
SECURITY_SCHEMES = {
    SESSION_SCHEME: {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The office session that POST /api/auth/login sets. Every write also sends the CSRF token: "
        "the `floorsync_csrf` cookie and the same value in the `X-CSRFToken` header (GET /api/auth/csrf), "
        "or it is refused with 403 `csrf_failed`.",
    },
    DEVICE_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": "A device token from POST /api/sync/enroll, as `Authorization: Bearer <token>`.",
    },
}
OPTIONAL_ACTION_BODY = (
    "Optional. Without a body, or without `version`, the action applies to the record's current version; with "
    "`version`, it is refused with 409 when someone changed the record since that version was read."
)

# JSON Schema keywords that narrow a value: pydantic enforces them, so the document must carry them.
_CONSTRAINTS = {
    "minimum": "minimum",
    "maximum": "maximum",
    "exclusiveMinimum": "exclusive_minimum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minItems": "min_items",
    "maxItems": "max_items",
    "multipleOf": "multiple_of",
    "uniqueItems": "unique_items",
    "enum": "enum",
}


def _type_name(schema: Schema) -> str | None:
    kind = schema.type
    return getattr(kind, "value", kind) if kind is not None and not isinstance(kind, list) else None


def _constrain(target: Schema | Reference, source: dict[str, Any], request: bool) -> None:
    """Copy onto Litestar's schema of one value the constraints pydantic's schema of the same value has, branch by
    branch of a union (matched by type), and into a list's items; a request's decimal takes a JSON number too."""
    if not isinstance(target, Schema) or "$ref" in source:
        return
    if request and source.get("format") == "decimal":
        _decimal_text_or_number(target, source)
        return
    branches = target.one_of or target.any_of
    if branches and "anyOf" in source:
        for index, option in enumerate(source["anyOf"]):
            same = [b for b in branches if isinstance(b, Schema) and _type_name(b) == option.get("type")]
            if len(same) == 1:
                _constrain(same[0], option, request)
            elif len(branches) == len(source["anyOf"]):  # two of a kind (a decimal or a word): both keep their order
                _constrain(branches[index], option, request)
        return
    for keyword, attribute in _CONSTRAINTS.items():
        if keyword in source and getattr(target, attribute) is None:
            setattr(target, attribute, source[keyword])
    if isinstance(source.get("items"), dict) and target.items is not None:
        _constrain(target.items, source["items"], request)  # type: ignore[arg-type]
    values = target.additional_properties
    if isinstance(source.get("additionalProperties"), dict) and isinstance(values, Schema):
        _constrain(values, source["additionalProperties"], request)
        # A mapping keyed by a choice (a grade, a kind of approval): its keys are the properties it may have.
        names = source.get("propertyNames", {}).get("enum")
        if names:
            target.properties = {name: values for name in names}
            target.additional_properties = False


_NUMBER_KEYWORDS = {"minimum": "minimum", "exclusiveMinimum": "exclusive_minimum", "maximum": "maximum",
                    "exclusiveMaximum": "exclusive_maximum", "exclusive_maximum": "exclusive_maximum",
                    "multipleOf": "multiple_of"}


def _decimal_text_or_number(target: Schema, source: dict[str, Any]) -> None:
    """A request's decimal (`format: decimal`, schemas/common.py) as what the server reads: its text, a whole JSON
    number, or one with a fraction, within the same bounds and places and, with a fraction, the digits a binary float
    keeps exactly (schemas/common.py: EXACT_DIGITS). pydantic's schema of it holds them all: the text's pattern, the
    number's bounds (in its own number branch) and step."""
    number = {**next((b for b in source.get("anyOf", ()) if b.get("type") == "number"), {}), **source}
    bounds = {attribute: number[keyword] for keyword, attribute in _NUMBER_KEYWORDS.items() if keyword in number}
    whole = {k: v for k, v in bounds.items() if k != "multiple_of"}
    exact = 10 ** (EXACT_DIGITS - round(-math.log10(bounds["multiple_of"])))
    fraction = {**bounds, "exclusive_maximum": min(bounds.get("exclusive_maximum", exact), exact)}
    if fraction.get("exclusive_minimum", 0) < -exact:
        fraction["exclusive_minimum"] = -exact
    target.any_of = [Schema(type=OpenAPIType.STRING, format="decimal", pattern=source["pattern"]),  # type: ignore[arg-type]
                     Schema(type=OpenAPIType.INTEGER, **whole), Schema(type=OpenAPIType.NUMBER, **fraction)]
    for attribute in ("type", "format", "pattern", *set(_NUMBER_KEYWORDS.values())):
        setattr(target, attribute, None)


class ContractSchemaPlugin(PydanticSchemaPlugin):
    """Litestar's pydantic schema plugin, completed from pydantic's own JSON Schema of each model: a model that
    refuses unknown fields says `additionalProperties: false`, constraints Litestar loses come back, and a request's
    decimals take a JSON number too."""

    def to_openapi_schema(self, field_definition: Any, schema_creator: Any) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        model = field_definition.annotation
        if isinstance(schema, Schema) and isinstance(model, type) and issubclass(model, BaseModel):
            if model.model_config.get("extra") == "forbid":
                schema.additional_properties = False
            own = model.model_json_schema(by_alias=False, mode="validation").get("properties", {})
            for name, target in (schema.properties or {}).items():
                if name in own:
                    _constrain(target, own[name], issubclass(model, Contract))
        return schema


def _as_json(model: type[BaseModel], value: Any) -> BaseModel:
    """A request body validated the way the document reads it: as JSON, strictly. pydantic's lax mode (what Litestar
    uses) takes 0/1 for a boolean, seconds for a date and "12" for an integer, none of which the document's types
    admit; strict JSON mode refuses them and still reads what JSON can only spell as text (dates, UUIDs, enums,
    decimal strings). Office pages, CSV and spreadsheet imports validate the same contracts from text, laxly, on
    their own; floor command arguments (an object in the push) are validated by the push, as before."""
    try:
        return model.model_validate_json(msgspec.json.encode(_whole_numbers_as_integers(value)), strict=True)
    except ValidationError as error:
        hidden = model.model_config.get("hide_input_in_errors", False)
        raise ExtendedMsgSpecValidationError(errors=error.errors(include_input=not hidden)) from error  # type: ignore[arg-type]


def _whole_numbers_as_integers(value: Any) -> Any:
    """JSON (and JSON Schema) has one kind of number: 2.0 is the integer 2, which strict mode alone would refuse."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, dict):
        return {key: _whole_numbers_as_integers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_integers(item) for item in value]
    return value


class StrictJsonBodies(PydanticInitPlugin):
    """Litestar's pydantic plugin (serialisation, decoding), with JSON bodies validated by `_as_json`."""

    @classmethod
    def decoders(cls, validate_strict: bool = False) -> list[tuple[Callable[[Any], bool], Callable[[Any, Any], Any]]]:
        return [(is_pydantic_v2_model_class, _as_json)]


def _optional_body(handler: Any) -> bool:
    data = handler.parsed_fn_signature.parameters.get("data")
    return data is not None and (data.has_default or data.is_optional)


def finish_document(app: Litestar, document: dict[str, Any], public_paths: list[str]) -> None:
    """Authentication the OpenAPI way, and optional bodies said to be optional. A handler's own `security` (devices,
    or session-or-device) stands; a public operation (its handler opts out of the session, or a public path) gets
    `security: []`; every other operation is the office's, under the document's `sessionCookie`."""
    public = [re.compile(pattern) for pattern in public_paths]
    components = document.setdefault("components", {})
    components["securitySchemes"] = {**components.get("securitySchemes", {}), **SECURITY_SCHEMES}
    document["security"] = [{SESSION_SCHEME: []}]
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format not in document.get("paths", {}):
            continue
        path_item = document["paths"][route.path_format]
        for handler in route.route_handlers:
            for method in handler.http_methods:
                operation = path_item.get(method.lower())
                if operation is None:
                    continue
                if "security" not in operation and (
                    handler.opt.get("exclude_from_auth") or any(p.search(route.path_format) for p in public)
                ):
                    operation["security"] = []
                body = operation.get("requestBody")
                if body is not None and _optional_body(handler):
                    body["required"] = False
                    body.setdefault("description", OPTIONAL_ACTION_BODY)


class DocumentRenderPlugin(JsonRenderPlugin):
    """/schema/openapi.json, finished by `finish_document` the first time it is served (Litestar builds the document
    lazily, once, and keeps it)."""

    def __init__(self, public_paths: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.public_paths = public_paths
        self.finished = False

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        if not self.finished:
            finish_document(request.app, openapi_schema, self.public_paths)
            self.finished = True
        return super().render(request, openapi_schema)


def fix_allow_headers(app: Litestar) -> None:
    """Litestar answers OPTIONS with the methods of the first controller that registered a path: a second controller
    on the same path (list and create, read and write) rebuilds the route but keeps the first OPTIONS handler, bound to
    the old route. Point each at its route, so `Allow` lists every method the path has."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.http_methods != {"OPTIONS"} or handler.fn.__name__ != "options_handler":
                continue
            for cell in handler.fn.__closure__ or ():
                if isinstance(cell.cell_contents, HTTPRoute) and cell.cell_contents is not route:
                    cell.cell_contents = route
