"""Production orders, the operations and materials copied onto them at release, what the floor reported against
them, and downtime on work centres. Quantities are integers of micro-units, like the stock ledger
(server/inventory/stock.py `to_micro`), so reported, issued and required compare exactly."""

from piccolo.columns import BigInt, Boolean, Date, ForeignKey, Integer, Numeric, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.masterdata.tables import Item, Site, WorkCentre


class ProductionOrder(Table, tablename="production_order"):
    """An order to make `quantity` of `item` at `site`; `version` grows with every change, for optimistic locking."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    due_date = Date()
    status = Varchar(length=20, index=True)
    notes = Text(default="")
    bom = Varchar(length=40, default="")  # the BOM and routing copied at release
    routing = Varchar(length=40, default="")
    received_micro = BigInt(default=0)  # finished goods booked into stock by the last operation
    lots_made = Integer(default=0)  # lots generated so far: <code>-1, <code>-2…
    over_issued = Boolean(default=False)  # some material went beyond its requirement: the supervisor looks
    # Made to order: the sales order line it is made for (production moves that order to in production).
    sales_order = Varchar(length=40, null=True, default=None, index=True)
    sales_order_line = Integer(null=True, default=None)
    # The order this one's output feeds (a semi-finished part made for a parent order: MRP firming links them).
    parent_order = Varchar(length=40, null=True, default=None, index=True)
    created_by = Varchar(length=64)
    released_by = Varchar(length=64, null=True, default=None)
    released_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class ProductionOperation(Table, tablename="production_operation"):
    """A routing operation as released onto the order, with what the floor reported so far."""

    id = Serial(primary_key=True)
    production_order = ForeignKey(ProductionOrder, on_delete=OnDelete.cascade, index=True)
    sequence = Integer()
    work_centre = ForeignKey(WorkCentre, target_column=WorkCentre.code, on_delete=OnDelete.restrict)
    description = Text(default="")
    planned_minutes = Numeric(digits=(14, 4))
    good_micro = BigInt(default=0)
    scrap_micro = BigInt(default=0)
    status = Varchar(length=12, default="pending")  # pending | in_progress | completed


class ProductionMaterial(Table, tablename="production_material"):
    """A component the order consumes: the BOM's quantity per unit × order quantity (with its scrap allowance)."""

    id = Serial(primary_key=True)
    production_order = ForeignKey(ProductionOrder, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    required_micro = BigInt()
    issued_micro = BigInt(default=0)
    issue_method = Varchar(length=12, default="manual")  # copied from the BOM line at release
    operation = Integer(null=True, default=None)  # the operation whose reports consume it (none: the first)
    consumed_micro = BigInt(default=0)  # its share of what that operation reported: issued below it is under-issue


class ProductionIssue(Table, tablename="production_issue"):
    """Append-only: one row per issue of material to an order (which lot went into which order)."""

    id = Serial(primary_key=True)
    at = Timestamptz()
    production_order = Varchar(length=40, index=True)
    item = Varchar(length=40)
    lot = Varchar(length=40, default="")
    location = Varchar(length=40)
    quantity_micro = BigInt()
    over_issue = Boolean(default=False)
    mutation_id = Varchar(length=36, null=True, default=None)
    device_id = Varchar(length=36, null=True, default=None)
    username = Varchar(length=64, null=True, default=None)
    event_time = Timestamptz(null=True, default=None)


class ProductionReport(Table, tablename="production_report"):
    """Append-only: one row per report of good and scrap on an operation (and the lot it made, on the last one)."""

    id = Serial(primary_key=True)
    at = Timestamptz()
    production_order = Varchar(length=40, index=True)
    sequence = Integer()
    work_centre = Varchar(length=40)
    good_micro = BigInt()
    scrap_micro = BigInt()
    scrap_reason = Text(default="")
    location = Varchar(length=40, null=True, default=None)
    lot = Varchar(length=40, default="")
    mutation_id = Varchar(length=36, null=True, default=None)
    device_id = Varchar(length=36, null=True, default=None)
    username = Varchar(length=64, null=True, default=None)
    event_time = Timestamptz(null=True, default=None)


class Downtime(Table, tablename="downtime"):
    """A stop of a work centre, open until `ended_at`; at most one open per work centre (a partial unique index)."""

    id = Serial(primary_key=True)
    work_centre = Varchar(length=40, index=True)
    reason = Text()
    production_order = Varchar(length=40, null=True, default=None)
    started_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    started_by = Varchar(length=64)  # a device's id or a username
    ended_by = Varchar(length=64, null=True, default=None)
    start_event_time = Timestamptz(null=True, default=None)
    end_event_time = Timestamptz(null=True, default=None)


class ProductionOrderCounter(Table, tablename="production_order_counter"):
    """The last number handed out per year: PRD-2026-0001, PRD-2026-0002…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)
