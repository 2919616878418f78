"""The error body every 4xx carries."""

from typing import Any

from pydantic import BaseModel


class FieldError(BaseModel):
    field: str
    source: str = "body"
    code: str
    message: str


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}
