"""Planning tables: forecasts, the planner's settings, and each MRP run's plan (its records, planned orders, pegging
and exceptions), kept run by run so that a plan can be compared with the one before it."""

from piccolo.columns import JSON, BigInt, Date, ForeignKey, Integer, Numeric, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.masterdata.tables import Item, Site


class Forecast(Table, tablename="forecast"):
    """Expected demand of an item at a site in one period (the bucket starting `period_start`); orders in the same
    period consume it, so only what the orders have not yet claimed is planned for."""

    id = Serial(primary_key=True)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    period_start = Date()
    quantity_micro = BigInt()
    updated_by = Varchar(length=64)
    updated_at = Timestamptz()
    # unique per site, item and period_start (an index of the migration)


class PlanningSettings(Table, tablename="planning_settings"):
    """One row: how MRP buckets time, how far it looks, and how often the server runs it by itself (0: never)."""

    id = Serial(primary_key=True)
    bucket = Varchar(length=4, default="week")  # day | week
    horizon = Integer(default=26)
    auto_run_minutes = Integer(default=0)
    updated_by = Varchar(length=64, default="")
    updated_at = Timestamptz()


class MrpRun(Table, tablename="mrp_run"):
    id = Serial(primary_key=True)
    site = Varchar(length=40, index=True)
    status = Varchar(length=12, default="running")  # running | completed | failed
    trigger = Varchar(length=10, default="office")  # office | schedule | command
    bucket = Varchar(length=4)
    horizon = Integer()
    start_date = Date()
    started_by = Varchar(length=64)
    started_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)
    seconds = Numeric(digits=(10, 3), null=True, default=None)
    planned_orders = Integer(default=0)
    exceptions = Integer(default=0)
    error = Text(default="")


class PlannedOrder(Table, tablename="planned_order"):
    """A planned receipt of one run: made (production) or bought (purchase), and once firmed the draft order it
    became, so that firming twice creates nothing twice."""

    id = Serial(primary_key=True)
    run = ForeignKey(MrpRun, on_delete=OnDelete.cascade, index=True)
    key = Varchar(length=60)  # ITEM@period, stable from run to run for the same need
    item = Varchar(length=40, index=True)
    kind = Varchar(length=10)  # production | purchase
    quantity_micro = BigInt()
    release_period = Integer()
    receipt_period = Integer()
    release_date = Date()
    receipt_date = Date()
    supplier = Varchar(length=40, null=True, default=None)
    firmed_as = Varchar(length=40, null=True, default=None)
    firmed_by = Varchar(length=64, null=True, default=None)
    firmed_at = Timestamptz(null=True, default=None)
    # unique per run and key (an index of the migration)


class PlanPeg(Table, tablename="plan_peg"):
    """`quantity_micro` of a supply (on hand, a scheduled receipt, a planned order) serves a demand (a sales order
    line, a forecast, a production order's material, a parent's planned order)."""

    id = Serial(primary_key=True)
    # indexed by (run, demand) and (run, supply) in the migration: a plan's hundreds of thousands of rows are
    # written with as few indexes as its reads need
    run = ForeignKey(MrpRun, on_delete=OnDelete.cascade)
    item = Varchar(length=40)
    demand = Varchar(length=120)
    demand_kind = Varchar(length=12)
    demand_period = Integer()
    supply = Varchar(length=120)
    supply_kind = Varchar(length=10)
    supply_period = Integer()
    quantity_micro = BigInt()


class PlanException(Table, tablename="plan_exception"):
    id = Serial(primary_key=True)
    run = ForeignKey(MrpRun, on_delete=OnDelete.cascade, index=True)
    item = Varchar(length=40, index=True)
    period = Integer()
    code = Varchar(length=30, index=True)
    quantity_micro = BigInt(default=0)
    details = JSON(default="{}")  # the message's values and the demands it concerns


class PlanRecord(Table, tablename="plan_record"):
    """One item's time-phased record in a run: the six rows of the classic MRP table, as lists of micro-units."""

    id = Serial(primary_key=True)
    run = ForeignKey(MrpRun, on_delete=OnDelete.cascade, index=True)
    item = Varchar(length=40, index=True)
    low_level_code = Integer(default=0)
    on_hand_micro = BigInt(default=0)
    rows = JSON(default="{}")
