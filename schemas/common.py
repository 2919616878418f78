"""Field types every contract uses, bounded so that no input can overflow a column or reach the database unchecked."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

_CONTROL = set(chr(c) for c in range(32)) - {"\t", "\n", "\r"} | {"\x7f"}


def no_control_characters(value: str) -> str:
    if any(ch in _CONTROL for ch in value):
        raise ValueError("must not contain control characters")
    return value


# A code is what a label encodes, what records use to refer to each other, and one segment of a URL (so no '/').
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(no_control_characters)
]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(no_control_characters)]
LongText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(no_control_characters)]


def _fixed_point(value: Decimal) -> str:
    # str(Decimal) writes 1E+2 for an input of "1e2"; clients (and the documented pattern) expect plain digits.
    return format(value, "f")


# Decimals travel as strings so no client loses a digit to binary floats; a client may still send a JSON number.
# `json_schema_extra` is what Litestar puts in the OpenAPI, so the documented type is the string actually sent back.
DECIMAL_STRING = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}


def _decimal(integer_digits: int, decimal_places: int, description: str, **bounds: int) -> Any:
    return Annotated[
        Decimal,
        Field(
            ge=0,
            max_digits=integer_digits + decimal_places,
            decimal_places=decimal_places,
            allow_inf_nan=False,
            description=description,
            json_schema_extra=DECIMAL_STRING,
            **bounds,
        ),
        PlainSerializer(_fixed_point, return_type=str, when_used="json"),
    ]


Quantity = _decimal(12, 6, "A decimal string, at least 0, up to 6 decimal places")
Money = _decimal(14, 4, "A decimal string, at least 0, up to 4 decimal places")
Percent = _decimal(3, 4, "A decimal string from 0 to 100, up to 4 decimal places", le=100)
Minutes = _decimal(8, 4, "A decimal string of minutes, at least 0, up to 4 decimal places")
Days = Annotated[int, Field(ge=0, le=36500)]


class Contract(BaseModel):
    """Base of every request body: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
