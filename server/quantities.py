"""Quantities as every area stores them: whole micro-units (integers), so sums never drift, and the ways to read
and write them (`to_micro`, `from_micro`, the wire's plain text, how many decimals a figure uses)."""

from __future__ import annotations

from decimal import Decimal

MICRO = Decimal("0.000001")
MICRO_PER_UNIT = 1_000_000


def to_micro(quantity: Decimal) -> int:
    return int((quantity / MICRO).to_integral_value())


def from_micro(quantity_micro: int) -> Decimal:
    return (Decimal(quantity_micro) * MICRO).normalize() if quantity_micro else Decimal(0)


def quantity_text(quantity_micro: int) -> str:
    """A quantity as the wire carries it: plain digits, no exponent, no trailing zeros ('10', '2.5')."""
    return format(from_micro(quantity_micro), "f")


def decimals_used(quantity: Decimal) -> int:
    exponent = quantity.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
