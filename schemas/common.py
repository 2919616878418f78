"""Field types every contract uses, bounded so that no input can overflow a column or reach the database unchecked."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_CONTROL = set(chr(c) for c in range(32)) - {"\t", "\n", "\r"} | {"\x7f"}


def _no_control_characters(value: str) -> str:
    if any(ch in _CONTROL for ch in value):
        raise ValueError("must not contain control characters")
    return value


# A code is what a label encodes and what records use to refer to each other.
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"),
]
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_control_characters)
]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_control_characters)]
LongText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_no_control_characters)]
Quantity = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=6, allow_inf_nan=False)]
Money = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4, allow_inf_nan=False)]
Days = Annotated[int, Field(ge=0, le=36500)]
Minutes = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4, allow_inf_nan=False)]


class Contract(BaseModel):
    """Base of every request body: unknown fields are refused rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
