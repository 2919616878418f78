"""Every refusal leaves the server as a 4xx with {"code", "message", "details"}: one shape a client can branch on."""

from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

import asyncpg
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_500_INTERNAL_SERVER_ERROR,
)

from schemas.errors import ErrorBody, FieldError

log = logging.getLogger("floorsync.errors")


class ApiError(Exception):
    """A refusal the domain decided on: raised anywhere, rendered once by `api_error_handler`."""

    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or {}


def not_found(entity: str, key: str) -> ApiError:
    return ApiError(HTTP_404_NOT_FOUND, "not_found", f"No {entity} with code {key!r}", {"entity": entity, "key": key})


def duplicate(entity: str, field: str, value: str) -> ApiError:
    return ApiError(
        HTTP_409_CONFLICT,
        "duplicate",
        f"A {entity} with {field} {value!r} already exists",
        {"entity": entity, "field": field, "value": value},
    )


# Pydantic's messages (the only part Litestar passes on) mapped to stable codes, most specific first.
_FIELD_CODES: list[tuple[str, str]] = [
    (r"^Field required", "missing_field"),
    (r"^(String|List|Value) should have at most|^Decimal input should have no more than", "too_long"),
    (r"^(String|List|Value) should have at least", "too_short"),
    (r"^Input should be (greater|less) than", "out_of_range"),
    (r"^String should match pattern", "invalid_format"),
    (r"^Extra inputs are not permitted", "unknown_field"),
    (r"^Input should be a valid|^Input should be an? |^Input is not a valid", "invalid_type"),
    (r"^Input should be", "invalid_value"),
    (r"^Value error|^Assertion failed", "invalid_value"),
]


def field_code(message: str) -> str:
    for pattern, code in _FIELD_CODES:
        if re.search(pattern, message):
            return code
    return "invalid_value"


def _field_errors(extra: Any) -> list[FieldError]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", ""))
        errors.append(
            FieldError(
                field=str(item.get("key", "")),
                source=str(item.get("source", "body")),
                code=field_code(message),
                message=message.removeprefix("Value error, "),
            )
        )
    return errors


def error_response(status_code: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    body = ErrorBody(code=code, message=message, details=details or {})
    return Response(body.model_dump(mode="json"), status_code=status_code, media_type=MediaType.JSON)


def api_error_handler(_: Request, exc: ApiError) -> Response:
    return error_response(exc.status_code, exc.code, exc.message, exc.details)


def validation_handler(_: Request, exc: ValidationException) -> Response:
    errors = _field_errors(exc.extra)
    if not errors:
        detail = str(exc.detail)
        if "JSON" in detail or "json" in detail or "decode" in detail.lower():
            return error_response(HTTP_400_BAD_REQUEST, "invalid_json", "The request body is not valid JSON")
        return error_response(HTTP_400_BAD_REQUEST, "invalid_request", detail)
    first = errors[0]
    message = f"{first.field or 'input'}: {first.message}" if len(errors) == 1 else f"{len(errors)} fields are invalid"
    return error_response(
        HTTP_400_BAD_REQUEST, first.code, message, {"errors": [e.model_dump() for e in errors]}
    )


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
    if status == 400 and "JSON is malformed" in message:
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
    Exception: internal_error_handler,
}
