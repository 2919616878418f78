"""Every refusal leaves the server as a 4xx with {"code", "message", "details"}: one shape a client can branch on."""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
from litestar import Litestar, MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec
from litestar.routes import HTTPRoute
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_401_UNAUTHORIZED,
    HTTP_403_FORBIDDEN,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_429_TOO_MANY_REQUESTS,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from schemas.errors import ErrorBody, FieldError
from server.i18n import Message

log = logging.getLogger("floorsync.errors")


class ApiError(Exception):
    """A refusal the domain decided on: raised anywhere, rendered once by `api_error_handler`."""

    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None,
                 text: Message | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or {}
        self.text = text  # the message as a catalog entry: a page says it in its reader's language


MAX_JSON_DEPTH = 32  # the deepest contract (a push's mutation's lines and their serials) nests under 10


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether a decoded JSON value nests arrays and objects more than `limit` deep (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


class CheckedBodyRequest(Request):
    """Litestar's request, whose body refuses what its decoders let through as an exception of another kind (500s
    with a traceback): JSON nested beyond any recursion limit (msgspec raises RecursionError; nesting short of it
    would fail later, when a response or a log row is serialised) and bytes that are not UTF-8, in a JSON string or
    a form (UnicodeDecodeError)."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise _too_deep() from None
        except UnicodeDecodeError:
            raise _not_utf8() from None
        if _deeper_than(value, MAX_JSON_DEPTH):
            raise _too_deep()
        return value

    async def form(self) -> Any:
        try:
            return await super().form()
        except UnicodeDecodeError:
            raise _not_utf8() from None


def _too_deep() -> ApiError:
    return ApiError(HTTP_400_BAD_REQUEST, "invalid_json",
                    f"The request body nests arrays and objects more than {MAX_JSON_DEPTH} deep",
                    {"max_depth": MAX_JSON_DEPTH})


def _not_utf8() -> ApiError:
    return ApiError(HTTP_400_BAD_REQUEST, "invalid_encoding", "The request body is not valid UTF-8", {})


def not_found(entity: str, key: str) -> ApiError:
    return ApiError(HTTP_404_NOT_FOUND, "not_found", f"No {entity} with code {key!r}", {"entity": entity, "key": key})


def duplicate(entity: str, field: str, value: str) -> ApiError:
    return ApiError(
        HTTP_409_CONFLICT,
        "duplicate",
        f"A {entity} with {field} {value!r} already exists",
        {"entity": entity, "field": field, "value": value},
    )


# -- a problem's values: what a page needs to say it in the reader's language --------------------------------------

def problem_values(**values: Any) -> dict[str, str | int]:
    """The values a problem names (a code, a row, a limit, the text of a cell), as JSON keeps them: whole numbers as
    they are, decimals as plain digits, dates as YYYY-MM-DD, anything else as text. A page fills the catalog's sentence
    for the problem's code with them (`import_problem.<code>`, `refusal.<code>`); the English message stays as it was
    for API clients."""
    kept: dict[str, str | int] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            kept[name] = value
        elif isinstance(value, Decimal):
            kept[name] = format(value, "f")
        elif isinstance(value, date):
            kept[name] = value.isoformat()
        else:
            kept[name] = str(value)
    return kept


class Detail(str):
    """An English message that keeps the values it names, so that a problem passed on as a plain
    (field, code, message) tuple still carries them to the page that says it in another language; to everything else
    (JSON, comparisons, f-strings) it is the string it reads as."""

    values: dict[str, str | int]

    def __new__(cls, message: str, **values: Any) -> Detail:
        said = super().__new__(cls, message)
        said.values = problem_values(**values)
        return said


def values_of(message: str) -> dict[str, str | int]:
    """The values a message was written with (a `Detail`'s), or none."""
    return dict(getattr(message, "values", {}))


_BOUNDS = {"gt": ">", "ge": "≥", "lt": "<", "le": "≤"}
_LIMITS = ("max_length", "min_length", "max_digits", "decimal_places")


def validation_values(error: Mapping[str, Any], value: Any = None) -> dict[str, str | int]:
    """A pydantic error's limits as a problem's values, with the value it refused (`value`, else the error's own
    input when that is one value): `bound` says a range's limit in symbols any reader reads ('≥ 0', '≤ 100')."""
    context = error.get("ctx") or {}
    values: dict[str, Any] = {name: context[name] for name in _LIMITS if name in context}
    bounds = [f"{sign} {problem_values(limit=context[name])['limit']}" for name, sign in _BOUNDS.items() if name in context]
    if bounds:
        values["bound"] = ", ".join(bounds)
    given = value if value is not None else error.get("input")
    if isinstance(given, (str, int, float, Decimal, date)) and not isinstance(given, bool):
        values["value"] = given
    return problem_values(**values)


# The validators' messages (the only part Litestar passes on) mapped to stable codes, most specific first:
# pydantic's for bodies, msgspec's for query, path and multipart parameters.
_FIELD_CODES: list[tuple[str, str]] = [
    (r"^Field required|^Object missing required field|^Missing required", "missing_field"),
    (r"^(String|List|Value) should have at most|^Decimal input should have no more than", "too_long"),
    (r"^Expected `\w+` of length <=", "too_long"),
    (r"^(String|List|Value) should have at least|^Expected `\w+` of length >=", "too_short"),
    (r"^Input should be (greater|less) than|^Expected `\w+` [<>]=?|^Integer value out of range", "out_of_range"),
    (r"^String should match pattern|^Expected `str` matching regex", "invalid_format"),
    (r"^Extra inputs are not permitted|^Object contains unknown field", "unknown_field"),
    (r"^Input should be a valid|^Input should be an? |^Input is not a valid|^Expected `[\w |]+`, got", "invalid_type"),
    (r"^Input should be|^Invalid enum value", "invalid_value"),
    (r"^Value error, must not contain control characters", "control_character"),
    (r"^Value error, must be written with the digits 0-9", "invalid_format"),
    (r"^Value error, a number with a fraction is exact to 15 digits", "out_of_range"),
    (r"^Value error, must be an http:// or https:// URL", "invalid_url"),
    (r"^Value error, not an IANA time zone name", "unknown_timezone"),
    (r"^Value error, valid_to is before valid_from", "invalid_period"),
    (r"^Value error, a shift must end at another time than it starts", "invalid_shift"),
    (r"^Value error, not a GTIN-8/12/13/14 with a correct check digit", "invalid_check_digit"),
    (r"^Value error|^Assertion failed", "invalid_value"),
]
# Rules a well-formed request can still break, which no type or pattern of the document can say (one field against
# another, a check digit, a name in the tz database): 422 like any other business rule, so that a request the document calls valid is never
# answered "malformed".
RULE_CODES = frozenset({"invalid_period", "invalid_shift", "invalid_check_digit", "unknown_timezone"})


def field_code(message: str) -> str:
    for pattern, code in _FIELD_CODES:
        if re.search(pattern, message):
            return code
    return "invalid_value"


def _source_name(source: Any) -> str:
    # Litestar reports a parameter's location as its ParamType enum; clients want "query", "path", "header"…
    return str(getattr(source, "value", source))


def _field_errors(extra: Any) -> list[FieldError]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        errors.append(
            FieldError(
                field=str(item.get("key", "")),
                source=_source_name(item.get("source", "body")),
                code=field_code(message),
                message=message.removeprefix("Value error, "),
            )
        )
    return errors


def error_response(status_code: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body = ErrorBody(code=code, message=message, details=details or {})
    return Response(body.model_dump(mode="json"), status_code=status_code, media_type=MediaType.JSON)


def api_error_handler(_: Request, exc: ApiError) -> Response:
    response = error_response(exc.status_code, exc.code, exc.message, exc.details)
    if "retry_after_seconds" in exc.details:  # a 503 a client retries by its timer: say when, as HTTP does
        response.headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    return response


def validation_handler(_: Request, exc: ValidationException) -> Response:
    errors = _field_errors(exc.extra)
    if not errors:
        detail = str(exc.detail)
        if "JSON" in detail or "json" in detail or "decode" in detail.lower():
            return error_response(HTTP_400_BAD_REQUEST, "invalid_json", "The request body is not valid JSON")
        return error_response(HTTP_400_BAD_REQUEST, "invalid_request", detail)
    first = errors[0]
    message = f"{first.field or 'input'}: {first.message}" if len(errors) == 1 else f"{len(errors)} fields are invalid"
    status = HTTP_422_UNPROCESSABLE_ENTITY if all(e.code in RULE_CODES for e in errors) else HTTP_400_BAD_REQUEST
    return error_response(status, first.code, message, {"errors": [e.model_dump() for e in errors]})


def serialization_handler(_: Request, exc: SerializationException) -> Response:
    return error_response(HTTP_400_BAD_REQUEST, "invalid_json", "The request body is not valid JSON")


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    status = exc.status_code
    if status >= 500:
        return internal_error_handler(request, exc)
    code = _HTTP_CODES.get(status, "bad_request")
    message = str(exc.detail)
    # Litestar turns a body msgspec cannot decode (malformed, truncated, trailing bytes) into a 400 ClientException.
    if status == 400 and (isinstance(exc.__cause__, SerializationException) or "JSON is malformed" in message):
        code, message = "invalid_json", "The request body is not valid JSON"
    elif isinstance(exc, NotFoundException) and message in ("Not Found", ""):
        code, message = "route_not_found", f"No route {request.method} {request.url.path}"
    elif isinstance(exc, PermissionDeniedException) and "CSRF" in message:
        code, message = "csrf_failed", "The CSRF token is missing or wrong: reload the page and try again"
    elif isinstance(exc, NotAuthorizedException) and code == "not_authenticated":
        message = "Log in first"
    elif isinstance(exc, TooManyRequestsException):
        message = "Too many attempts: wait a minute and try again"
    response = error_response(status, code, message, exc.extra if isinstance(exc.extra, dict) else {})
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if status == 429 and "RateLimit-Reset" in (exc.headers or {}):
        response.headers["Retry-After"] = str(exc.headers["RateLimit-Reset"])
    return response


def integrity_handler(_: Request, exc: Exception) -> Response:
    # Reached only when a uniqueness check lost a race with a concurrent writer; the rows are intact.
    return error_response(HTTP_409_CONFLICT, "conflict", "The record changed or already exists: reload and retry")


def unstorable_text_handler(request: Request, exc: Exception) -> Response:
    # PostgreSQL refuses a NUL byte (or a character its encoding lacks) in any text; a parameter no contract
    # patterned got that far. Nothing was written: the transaction rolled back with the failed statement.
    log.warning("text the database cannot store on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    return error_response(HTTP_400_BAD_REQUEST, "invalid_text", "The request holds a character that cannot be stored", {})


def busy_handler(request: Request, exc: Exception) -> Response:
    # A deadlock or serialization failure rolled the whole transaction back: nothing was written, so the
    # client may simply try again (an office write has no server-side retry; a device push has its own).
    log.warning("transient database fault on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    response = error_response(HTTP_503_SERVICE_UNAVAILABLE, "unavailable", "The database is busy: try again", {})
    response.headers["Retry-After"] = "1"
    return response


def internal_error_handler(request: Request, exc: Exception) -> Response:
    log.exception("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "internal", "Internal error; it has been logged")


EXCEPTION_HANDLERS = {
    ApiError: api_error_handler,
    ValidationException: validation_handler,
    SerializationException: serialization_handler,
    HTTPException: http_exception_handler,
    sqlite3.IntegrityError: integrity_handler,
    asyncpg.exceptions.IntegrityConstraintViolationError: integrity_handler,
    asyncpg.exceptions.TransactionRollbackError: busy_handler,
    asyncpg.exceptions.LockNotAvailableError: busy_handler,
    asyncpg.exceptions.CharacterNotInRepertoireError: unstorable_text_handler,
    asyncpg.exceptions.UntranslatableCharacterError: unstorable_text_handler,
    Exception: internal_error_handler,
}


def _error_spec(description: str) -> ResponseSpec:
    return ResponseSpec(ErrorBody, description=description, generate_examples=False)


def _error_responses(handler: HTTPRouteHandler, path: str, public: bool) -> dict[int, ResponseSpec]:
    """The refusals one operation can answer with, all in the ErrorBody shape. Generous on purpose: a status
    documented but rare costs a client nothing, one undocumented breaks every generated client."""
    writes = bool(handler.http_methods - {"GET", "HEAD", "OPTIONS"})
    responses = {
        HTTP_400_BAD_REQUEST: _error_spec("The request is malformed or a field is invalid (`code` names which rule)"),
        # Public operations have credentials of their own (a password, a device token), refused the same way.
        HTTP_401_UNAUTHORIZED: _error_spec(
            "Wrong credentials or device token" if public else "Not logged in (`not_authenticated`)"
        ),
        HTTP_403_FORBIDDEN: _error_spec(
            "The role may not do this (`forbidden`), the CSRF token is missing (`csrf_failed`), or the user is limited "
            "to other sites than the one a new record is for (`site_not_allowed`)"
        ),
    }
    if "{" in path or writes:
        responses[HTTP_404_NOT_FOUND] = _error_spec("No such record (`not_found`)")
    if writes:
        responses[HTTP_409_CONFLICT] = _error_spec("A record with this code or key already exists (`duplicate`)")
        responses[HTTP_413_REQUEST_ENTITY_TOO_LARGE] = _error_spec("The request body is too large (`too_large`)")
        responses[HTTP_422_UNPROCESSABLE_ENTITY] = _error_spec(
            "A business rule refused it: an unknown or archived reference, a bad CSV row, a period ending before it "
            "starts (`invalid_period`) or a shift ending when it starts (`invalid_shift`), a GTIN's check digit "
            "(`invalid_check_digit`), a time zone the tz database lacks (`unknown_timezone`), a webhook receiver's address…"
        )
    return responses


def document_error_responses(app: Litestar, public_paths: list[str], rate_limited_paths: frozenset[str]) -> None:
    """Declare the ErrorBody refusals on every API operation, so a generic client (and schemathesis) knows them.

    Litestar only takes `responses` per handler; doing it here, once the routes exist, keeps every handler free
    of the same boilerplate and replaces Litestar's own 400 schema, which our handlers never send.
    """
    public = [re.compile(pattern) for pattern in public_paths]
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/api/"):
            continue
        for handler in route.route_handlers:
            is_public = bool(handler.opt.get("exclude_from_auth")) or any(p.search(route.path) for p in public)
            responses = _error_responses(handler, route.path, is_public)
            if route.path in rate_limited_paths:
                responses[HTTP_401_UNAUTHORIZED] = _error_spec("Wrong username or password (`invalid_credentials`)")
                responses[HTTP_429_TOO_MANY_REQUESTS] = _error_spec("Too many attempts (`rate_limited`)")
            handler.responses = {**responses, **(handler.responses or {})}


def refuse(code: str, message: str, http_status: int = HTTP_422_UNPROCESSABLE_ENTITY, /, **details: Any) -> ApiError:
    """A refusal with its code; details are any keywords (`status` among them: the HTTP status is positional)."""
    return ApiError(http_status, code, message, details)
