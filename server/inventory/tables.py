"""Stock tables. Quantities are integers of micro-units (10^-6 of the item's unit): exact on SQLite and
PostgreSQL alike, so sums in SQL never drift the way REAL arithmetic would."""

from piccolo.columns import JSON, BigInt, Date, Integer, Numeric, Serial, Text, Timestamptz, Varchar
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


class Lot(Table, tablename="lot"):
    """A lot of an item: what its label's AI 10 names, with its expiry (AI 17). Created by the receipt or the
    production report that first brings it in (or a count that finds it)."""

    id = Serial(primary_key=True)
    item = Varchar(length=40, index=True)
    code = Varchar(length=40, index=True)
    expiry = Date(null=True, default=None, index=True)
    production_date = Date(null=True, default=None)
    supplier = Varchar(length=40, null=True, default=None)
    supplier_lot = Varchar(length=40, default="")
    source = Varchar(length=20)  # receipt | production | count
    created_at = Timestamptz()


class SerialNumber(Table, tablename="serial_number"):
    """One unit of a serial-tracked item: where it is and what became of it."""

    id = Serial(primary_key=True)
    item = Varchar(length=40)
    serial = Varchar(length=40)
    lot = Varchar(length=40, default="")
    location = Varchar(length=40, null=True, default=None)
    status = Varchar(length=12)  # in_stock | issued | shipped | scrapped
    updated_at = Timestamptz()


class Reservation(Table, tablename="stock_reservation"):
    """Stock of one bin (location and lot; '' for both when promised from anywhere) promised to an order line: what
    open reservations hold is offered to nobody else (server/inventory/availability.py)."""

    id = Serial(primary_key=True)
    item = Varchar(length=40, index=True)
    quantity_micro = BigInt()
    order_kind = Varchar(length=20)  # sales_order | production_order | shipment
    order_code = Varchar(length=40, index=True)
    line_no = Integer(default=0)
    location = Varchar(length=40, default="")
    lot = Varchar(length=40, default="")
    created_at = Timestamptz()
    released_at = Timestamptz(null=True, default=None)


class Receipt(Table, tablename="receipt"):
    """Goods received against a purchase order line: what came in, where, in which lot, and whether it waits for
    inspection (status hold) or went straight to stock."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    purchase_order = Varchar(length=40, index=True)
    line_no = Integer()
    item = Varchar(length=40)
    lot = Varchar(length=40, default="")
    location = Varchar(length=40)
    quantity_micro = BigInt()
    status = Varchar(length=12)  # the stock status it was booked into: available | hold
    serials = JSON(default=[])
    mutation_id = Varchar(length=36, null=True, default=None, unique=True)
    device_id = Varchar(length=36, null=True, default=None)
    username = Varchar(length=64, null=True, default=None)
    received_at = Timestamptz()


class OpeningBalance(Table, tablename="opening_balance"):
    """Stock a factory brought with it on its first day, as loaded from its old system (server/inventory/opening.py):
    one row per item, location, lot and status, beside the ledger row (reason `opening_balance`) that put it into
    stock, with the unit cost it was valued at. A place has one opening balance: a file loaded again changes nothing."""

    id = Serial(primary_key=True)
    item = Varchar(length=40)
    location = Varchar(length=40, index=True)
    lot = Varchar(length=40, default="")
    status = Varchar(length=12, default="available")
    quantity_micro = BigInt()
    unit_cost = Numeric(digits=(18, 4), null=True, default=None)
    serials = JSON(default=[])
    source = Varchar(length=200, default="")  # the file it came from
    username = Varchar(length=64, null=True, default=None)
    at = Timestamptz()
    # Unique per item, location, lot and status: an index made by its migration.
