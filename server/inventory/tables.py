"""Stock tables. Quantities are integers of micro-units (10^-6 of the item's unit): exact on SQLite and
PostgreSQL alike, so sums in SQL never drift the way REAL arithmetic would."""

from piccolo.columns import BigInt, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table


class StockMove(Table, tablename="stock_move"):
    """Append-only: one row per change of on-hand at one place. Never updated, never deleted."""

    id = Serial(primary_key=True)
    at = Timestamptz(index=True)
    item = Varchar(length=40, index=True)
    location = Varchar(length=40, index=True)
    lot = Varchar(length=40, default="")
    status = Varchar(length=12, default="available")
    quantity_micro = BigInt()
    reason = Varchar(length=20)
    note = Text(default="")
    mutation_id = Varchar(length=36, null=True, default=None, index=True)
    device_id = Varchar(length=36, null=True, default=None)
    username = Varchar(length=64, null=True, default=None)
    event_time = Timestamptz(null=True, default=None)


class StockOnHand(Table, tablename="stock_on_hand"):
    """The projection: the sum of the ledger per item, location, lot and status ('' when not lot-tracked)."""

    id = Serial(primary_key=True)
    item = Varchar(length=40)
    location = Varchar(length=40, index=True)
    lot = Varchar(length=40, default="")
    status = Varchar(length=12, default="available")
    quantity_micro = BigInt(default=0)


class StockCount(Table, tablename="stock_count"):
    id = Serial(primary_key=True)
    at = Timestamptz()
    item = Varchar(length=40)
    location = Varchar(length=40)
    lot = Varchar(length=40, default="")
    counted_micro = BigInt()
    expected_micro = BigInt()
    reason = Text(default="")
    mutation_id = Varchar(length=36, null=True, default=None)
    device_id = Varchar(length=36, null=True, default=None)
