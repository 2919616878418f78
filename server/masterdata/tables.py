"""Master data tables. Records refer to each other by code (the string a label encodes); codes never change."""

from decimal import Decimal

from piccolo.columns import (
    JSON,
    Boolean,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

ZERO = Decimal(0)


class MasterRecord:
    """Columns every master table has: a code, an archive flag (history may refer to it) and timestamps."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    archived = Boolean(default=False, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class Unit(MasterRecord, Table, tablename="unit"):
    name = Varchar(length=200)
    decimals = Integer(default=0)


class Item(MasterRecord, Table, tablename="item"):
    name = Varchar(length=200, index=True)
    type = Varchar(length=20, index=True)
    unit = ForeignKey(Unit, target_column=Unit.code, on_delete=OnDelete.restrict)
    gtin = Varchar(length=14, null=True, default=None, unique=True)
    lot_tracked = Boolean(default=False)
    serial_tracked = Boolean(default=False)
    shelf_life_days = Integer(null=True, default=None)
    inspection_required = Boolean(default=False)
    safety_stock = Numeric(digits=(18, 6), default=ZERO)
    lead_time_days = Integer(default=0)
    standard_cost = Numeric(digits=(18, 4), default=ZERO)
    price = Numeric(digits=(18, 4), default=ZERO)
    description = Text(default="")
