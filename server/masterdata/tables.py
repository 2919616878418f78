"""Master data tables. Records refer to each other by code (the string a label encodes); codes never change."""

from decimal import Decimal

from piccolo.columns import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.constraints import Unique
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
    receipt_tolerance_pct = Numeric(digits=(7, 4), null=True, default=None)
    # Planning parameters, read by MRP (server/planning/mrp.py): whether it plans production or a purchase, how it
    # sizes an order (lot_rule: lot_for_lot | fixed, whole multiples of lot_quantity | period, one order covering
    # lot_periods periods), the bounds every order keeps (0: none), and the days from today inside which it plans
    # nothing by itself.
    make_or_buy = Varchar(length=4, default="make")
    lot_rule = Varchar(length=12, default="lot_for_lot")
    lot_quantity = Numeric(digits=(18, 6), default=ZERO)
    lot_periods = Integer(default=1)
    order_minimum = Numeric(digits=(18, 6), default=ZERO)
    order_multiple = Numeric(digits=(18, 6), default=ZERO)
    order_maximum = Numeric(digits=(18, 6), default=ZERO)
    planning_time_fence_days = Integer(default=0)
    # Which setup family the item belongs to (empty: none of its own, the item code stands for it), for the
    # sequence-dependent setups of a work centre's `setup_matrix` (server/planning/schedule_snapshot.py).
    setup_family = Varchar(length=40, default="")


class Site(MasterRecord, Table, tablename="site"):
    name = Varchar(length=200, index=True)
    address = Text(default="")
    timezone = Varchar(length=64)


class Warehouse(MasterRecord, Table, tablename="warehouse"):
    name = Varchar(length=200, index=True)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)


class Location(MasterRecord, Table, tablename="location"):
    """A barcoded bin: its code is what the label encodes."""

    name = Varchar(length=200)
    warehouse = ForeignKey(Warehouse, target_column=Warehouse.code, on_delete=OnDelete.restrict)
    kind = Varchar(length=20, index=True)


class Crew(MasterRecord, Table, tablename="crew"):
    """Operators of one site shared by the work centres that name it (`WorkCentre.crew`): an operation at any of
    them needs one of these operators for as long as it runs, so the centres together run no more operations at
    once than the crew has operators then (server/planning/scheduling.py).

    How many operators it has is JSON on the crew, `[{shift, operators}]` by the name of a shift of its centres'
    calendars, with `default_operators` for a shift it does not list: the simplest storage that holds what a
    planner says ("three on the early shift, two on the late one"), read and written whole with the crew (its REST
    body, office form and CSV row carry it as a work centre's carry its shifts), and never queried by shift. A
    table of lines would add a child resource for a list of a few entries; a headcount per work centre instead
    could not say that two centres draw on the same people. Membership is the centre's `crew` code rather than a
    list on the crew, so a centre is in one crew at most and its form says which."""

    name = Varchar(length=200, index=True)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    operators = JSON(default=[])
    default_operators = Integer(default=1)


class WorkCentre(MasterRecord, Table, tablename="work_centre"):
    """Machines or stations of one kind; the capacity calendar (shifts, working days, holidays) is kept as JSON.

    So is its setup matrix, `[{from_family, to_family, minutes}]`: the changeover minutes on this centre from an
    item of one setup family to one of another (a pair it does not list costs nothing). JSON like the calendar,
    not a table of lines: it describes the centre, is read and written only whole with it (its REST body, office
    form and CSV row carry it as they carry the shifts; the scheduler reads it in the row it reads the calendar
    from) and is never looked up by family across centres."""

    name = Varchar(length=200, index=True)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict, null=True, default=None)
    parallel_capacity = Integer(default=1)
    efficiency_pct = Numeric(digits=(7, 4), default=Decimal(100))
    shifts = JSON(default=[])
    working_days = JSON(default=[])
    holidays = JSON(default=[])
    setup_matrix = JSON(default=[])
    # Where material is backflushed from when an operation here is reported (a location code; none: no backflush).
    issue_location = Varchar(length=40, null=True, default=None)
    # The crew whose operators its operations need (a crew code of the centre's site; none: its machines need no
    # shared crew).
    crew = Varchar(length=40, null=True, default=None)


class Bom(MasterRecord, Table, tablename="bom"):
    """One version of an item's bill of materials; its components are `BomLine`s."""

    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    version = Integer(default=1)
    description = Text(default="")
    valid_from = Date(null=True, default=None)
    bom_item_version_unique = Unique([item, version])


class BomLine(Table, tablename="bom_line"):
    id = Serial(primary_key=True)
    bom = ForeignKey(Bom, on_delete=OnDelete.cascade)
    line_no = Integer()
    component = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity = Numeric(digits=(18, 6))
    scrap_pct = Numeric(digits=(7, 4), default=ZERO)
    # How the component gets onto a production order (server/production/rules.py ISSUE_METHODS) and at which
    # routing operation it is consumed (none: the first).
    issue_method = Varchar(length=12, default="manual")
    operation = Integer(null=True, default=None)
    bom_line_no_unique = Unique([bom, line_no])


class Routing(MasterRecord, Table, tablename="routing"):
    """One version of how an item is made: operations on work centres, in sequence."""

    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    version = Integer(default=1)
    description = Text(default="")
    # Good output per unit started, in %: MRP starts 100 / yield_pct times what it needs.
    yield_pct = Numeric(digits=(7, 4), default=Decimal(100))
    routing_item_version_unique = Unique([item, version])


class RoutingOperation(Table, tablename="routing_operation"):
    id = Serial(primary_key=True)
    routing = ForeignKey(Routing, on_delete=OnDelete.cascade)
    sequence = Integer()
    work_centre = ForeignKey(WorkCentre, target_column=WorkCentre.code, on_delete=OnDelete.restrict)
    description = Text(default="")
    setup_minutes = Numeric(digits=(12, 4), default=ZERO)
    run_minutes_per_unit = Numeric(digits=(12, 4), default=ZERO)
    routing_operation_sequence_unique = Unique([routing, sequence])


class Customer(MasterRecord, Table, tablename="customer"):
    name = Varchar(length=200, index=True)
    grade = Varchar(length=1, default="B", index=True)
    credit_limit = Numeric(digits=(18, 4), default=ZERO)
    currency = Varchar(length=3)
    payment_terms_days = Integer(default=30)
    address = Text(default="")
    contacts = JSON(default=[])


class Supplier(MasterRecord, Table, tablename="supplier"):
    name = Varchar(length=200, index=True)
    currency = Varchar(length=3)
    payment_terms_days = Integer(default=30)
    address = Text(default="")
    contacts = JSON(default=[])
    receipt_tolerance_pct = Numeric(digits=(7, 4), null=True, default=None)
    # Where purchase documents are e-mailed (empty: the first contact's e-mail), and in which language they are
    # written (null: the sender's).
    order_email = Varchar(length=200, default="")
    language = Varchar(length=2, null=True, default=None)


class SupplierItem(Table, tablename="supplier_item"):
    """An item a supplier sells us, at its price and lead time."""

    id = Serial(primary_key=True)
    supplier = ForeignKey(Supplier, on_delete=OnDelete.cascade)
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    supplier_item_code = Varchar(length=40, default="")
    price = Numeric(digits=(18, 4), default=ZERO)
    lead_time_days = Integer(default=0)
    min_order_quantity = Numeric(digits=(18, 6), default=ZERO)
    preferred = Boolean(default=False)  # planning drafts purchases of the item to a preferred supplier first
    supplier_item_unique = Unique([supplier, item])
