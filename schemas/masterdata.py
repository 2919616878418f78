"""Contracts of master data records: what a client sends to create or change one, and what it gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from schemas.common import Code, Contract, Days, LongText, Money, Name, Quantity


def gtin_is_valid(digits: str) -> bool:
    """GS1 check digit (mod 10, weights 3 and 1 from the right) of a GTIN-8/12/13/14."""
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _gtin(value: str) -> str:
    if not gtin_is_valid(value):
        raise ValueError("not a GTIN-8/12/13/14 with a correct check digit")
    return value.zfill(14)


Gtin = Annotated[str, Field(min_length=8, max_length=14, pattern=r"^[0-9]+$"), AfterValidator(_gtin)]
ItemType = Literal["raw", "semi_finished", "finished"]


class Stamped(BaseModel):
    archived: bool
    created_at: datetime
    updated_at: datetime


class UnitIn(Contract):
    code: Code
    name: Name
    decimals: int = Field(default=0, ge=0, le=6, description="Decimal places quantities in this unit may have")


class UnitPatch(Contract):
    name: Name | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)


class UnitOut(UnitIn, Stamped):
    pass


class ItemIn(Contract):
    code: Code
    name: Name
    type: ItemType
    unit: Code
    gtin: Gtin | None = None
    lot_tracked: bool = False
    serial_tracked: bool = False
    shelf_life_days: Days | None = None
    inspection_required: bool = False
    safety_stock: Quantity = Field(default=0)
    lead_time_days: Days = 0
    standard_cost: Money = Field(default=0)
    price: Money = Field(default=0)
    description: LongText = ""


class ItemPatch(Contract):
    name: Name | None = None
    type: ItemType | None = None
    unit: Code | None = None
    gtin: Gtin | None = None
    lot_tracked: bool | None = None
    serial_tracked: bool | None = None
    shelf_life_days: Days | None = None
    inspection_required: bool | None = None
    safety_stock: Quantity | None = None
    lead_time_days: Days | None = None
    standard_cost: Money | None = None
    price: Money | None = None
    description: LongText | None = None


class ItemOut(ItemIn, Stamped):
    pass
