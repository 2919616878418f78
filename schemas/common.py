"""Field types every contract uses, bounded so that no input can overflow a column or reach the database unchecked."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Callable, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, StringConstraints

# What no name or free text may hold: C0 controls and DEL (a NUL breaks PostgreSQL; an escape sequence a terminal),
# C1 controls (U+0080-U+009F, invisible, from text decoded as the wrong code page) and the bidirectional embeddings,
# overrides and isolates (U+202A-U+202E, U+2066-U+2069: they make "exe.txt" of "txt.exe" on a screen or a label).
# A multi-line text keeps tab, newline and carriage return.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CONTROL = set(chr(c) for c in range(32)) | {chr(c) for c in range(0x7F, 0xA0)} | _BIDI
_CONTROL_IN_MULTILINE = _CONTROL - {"\t", "\n", "\r"}
CONTROL_MESSAGE = "must not contain control characters"
# The same rule as a pattern, for the OpenAPI and the floor app's forms (which read patterns, not validators).
SINGLE_LINE_PATTERN = "^[^\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"
MULTILINE_PATTERN = "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069]*$"


def has_control_characters(value: str, *, multiline: bool = False) -> bool:
    return any(ch in (_CONTROL_IN_MULTILINE if multiline else _CONTROL) for ch in value)


def no_control_characters(value: str) -> str:
    """Multi-line text: tab, newline and carriage return are kept, every other control character is refused."""
    if has_control_characters(value, multiline=True):
        raise ValueError(CONTROL_MESSAGE)
    return value


def single_line(value: str) -> str:
    """One line of text (a name, a reason): no control character at all, not even a newline or a tab."""
    if has_control_characters(value):
        raise ValueError(CONTROL_MESSAGE + " (one line of text)")
    return value


# Text with no control character but tab, newline and carriage return, the rule said as a pattern too (the OpenAPI
# reads patterns, not validators): Annotated[ControlFree, StringConstraints(...)] for a field of its own bounds.
ControlFree = Annotated[str, AfterValidator(no_control_characters), Field(json_schema_extra={"pattern": MULTILINE_PATTERN})]

# A code is what a label encodes, what records use to refer to each other, and one segment of a URL (so no '/').
Code = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(single_line),
    Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN}),
]
ShortText = Annotated[
    str, StringConstraints(max_length=200), AfterValidator(single_line), Field(json_schema_extra={"pattern": SINGLE_LINE_PATTERN})
]
LongText = Annotated[
    str,
    StringConstraints(max_length=2000),
    AfterValidator(no_control_characters),
    Field(json_schema_extra={"pattern": MULTILINE_PATTERN}),
]


_ASCII_DECIMAL = re.compile(r"^\s*-?[0-9]+(\.[0-9]+)?\s*$", re.ASCII)
DECIMAL_MESSAGE = "must be written with the digits 0-9 and at most one decimal point, like 1000 or 12.5"


def ascii_decimal(value: Any) -> Any:
    """A decimal sent as text is plain ASCII notation. Python's Decimal (and so pydantic) also reads '1_000',
    '1e3', ' 5 ' and other scripts' digits ('١٠' is 10): a quantity typed or scanned that way is refused, not guessed.
    Text that is no number at all is left to the type's own check (invalid_type).

    Text and JSON numbers come out as Decimal (a number through its shortest spelling, as pydantic reads it): a JSON
    body is validated strictly (server/openapi.py), and what a validator returns is then checked as a Python value,
    which for a strict decimal must already be one. A boolean is no number and is left to be refused."""
    if isinstance(value, str):
        if _ASCII_DECIMAL.match(value):
            return Decimal(value)
        try:
            Decimal(value)
        except ArithmeticError:
            return value
        raise ValueError(DECIMAL_MESSAGE)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(str(value))
    return value


# A JSON number with a fraction is a binary float, exact to 15 significant digits whatever its size (and the embedded
# database keeps no more of a decimal either): one beyond them is sent as text. Whole numbers are exact integers.
EXACT_DIGITS = 15
FLOAT_MESSAGE = "a number with a fraction is exact to 15 digits: send one this large as text"


def decimal_input(decimal_places: int) -> Callable[[Any], Any]:
    """`ascii_decimal`, refusing a JSON number with a fraction too large for its places to be exact."""
    limit = 10 ** (EXACT_DIGITS - decimal_places)

    def read(value: Any) -> Any:
        if isinstance(value, float) and not value.is_integer() and abs(value) >= limit:
            raise ValueError(FLOAT_MESSAGE)
        return ascii_decimal(value)

    return read


def _fixed_point(value: Decimal) -> str:
    # str(Decimal) writes 1E+2 for an input of "1e2"; clients (and the documented pattern) expect plain digits.
    return format(value, "f")


# Decimals travel as strings so no client loses a digit to binary floats; a client may still send a JSON number.
# `json_schema_extra` is what Litestar puts in the OpenAPI: the string actually sent back, marked `format: decimal`
# with the bounds and the step a JSON number must keep (server/openapi.py documents a request's decimal as either).
DECIMAL_STRING = {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "format": "decimal"}
_BLANK = r"[ \t\n\r\f\v]*"  # ASCII white space around the number (ascii_decimal lets it through, Decimal drops it)


def decimal_pattern(integer_digits: int, decimal_places: int, *, positive: bool = False, at_most_100: bool = False) -> str:
    """Exactly the texts a decimal field accepts, as a pattern for the OpenAPI: digits with at most one point, at most
    `integer_digits` before it (leading zeros aside) and `decimal_places` after it (trailing zeros aside), within the
    bounds; besides, "-0" is a zero."""
    places = rf"(?:\.[0-9]{{1,{decimal_places}}}0*)?"
    tiny = rf"0\.[0-9]{{0,{decimal_places - 1}}}[1-9]0*"  # above 0, below 1
    if at_most_100:
        below = rf"[1-9][0-9]?{places}|{tiny}" if positive else rf"[0-9]{{1,2}}{places}"
        number = rf"{below}|100(?:\.0+)?"
    else:
        number = rf"[1-9][0-9]{{0,{integer_digits - 1}}}{places}|{tiny}" if positive else rf"[0-9]{{1,{integer_digits}}}{places}"
    zero = "" if positive else r"-0+(?:\.0+)?|"
    return rf"^{_BLANK}(?:{zero}0*(?:{number})){_BLANK}$"


def _decimal(integer_digits: int, decimal_places: int, description: str, **bounds: int) -> Any:
    pattern = decimal_pattern(integer_digits, decimal_places, positive="gt" in bounds, at_most_100="le" in bounds)
    # A JSON number is read through its shortest spelling (0.1 is 0.1): a multiple of the last place, below the
    # first digit too many (spelled as Litestar's attribute: its schema_extra knows no `exclusiveMaximum`).
    number: dict[str, Any] = {"multipleOf": float(f"1e-{decimal_places}")}
    if "le" not in bounds:
        number["exclusive_maximum"] = 10**integer_digits
    return Annotated[
        Decimal,
        Field(
            **({} if "gt" in bounds else {"ge": 0}),  # above 0 says at least 0 already
            max_digits=integer_digits + decimal_places,
            decimal_places=decimal_places,
            allow_inf_nan=False,
            description=description,
            json_schema_extra={**DECIMAL_STRING, "pattern": pattern, **number},
            **bounds,
        ),
        PlainSerializer(_fixed_point, return_type=str, when_used="json"),
        BeforeValidator(decimal_input(decimal_places)),  # after the bounds: they stay in the decimal's own schema
    ]


Quantity = _decimal(12, 6, "A decimal string, at least 0, up to 6 decimal places")
# Its bound is the decimal's own (not Annotated[Quantity, Field(gt=0)]), so the JSON Schema keeps it.
PositiveQuantity = _decimal(12, 6, "A decimal string above 0, up to 6 decimal places", gt=0)
Money = _decimal(14, 4, "A decimal string, at least 0, up to 4 decimal places")
Percent = _decimal(3, 4, "A decimal string from 0 to 100, up to 4 decimal places", le=100)
PositiveMoney = _decimal(14, 4, "A decimal string above 0, up to 4 decimal places", gt=0)
PositivePercent = _decimal(3, 4, "A decimal string above 0 and at most 100, up to 4 decimal places", gt=0, le=100)
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
