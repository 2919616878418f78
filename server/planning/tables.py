"""Planning tables: forecasts, the planner's settings, each MRP run's plan (its records, planned orders, pegging
and exceptions), kept run by run so that a plan can be compared with the one before it, and the schedules: each
proposed schedule of a site with its operations' places, one of them accepted at a time."""

from decimal import Decimal

from piccolo.columns import JSON, BigInt, Boolean, Date, ForeignKey, Integer, Numeric, OnDelete, Serial, Text, Timestamptz, Varchar
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
    frozen_hours = Integer(default=4)  # operations starting within this window keep their place
    downtime_minutes = Integer(default=120)  # how long a work centre reported down is expected to stay down
    behind_minutes = Integer(default=60)  # an operation this far behind its accepted schedule raises an alert
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
    became, so that firming twice creates nothing twice.

    A plan's rows (planned orders, records, exceptions) name their run by number without a foreign key: a run writes
    hundreds of thousands of them at once, a key check each would double the time, and they are deleted by run
    (`prune_runs`); the index is the migration's: (run, key), unique."""

    id = Serial(primary_key=True)
    run = Integer()
    key = Varchar(length=60)  # ITEM@period, stable from run to run for the same need
    item = Varchar(length=40)
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


class PlanException(Table, tablename="plan_exception"):
    id = Serial(primary_key=True)
    run = Integer()  # indexed (run, item) in the migration
    item = Varchar(length=40)
    period = Integer()
    code = Varchar(length=30)
    quantity_micro = BigInt(default=0)
    details = JSON(default="{}")  # the message's values and the demands it concerns


class PlanRecord(Table, tablename="plan_record"):
    """One item's time-phased record in a run: the six rows of the classic MRP table, as lists of micro-units, its
    BOM components (where its planned orders' dependent demand went), and its pegging: each supply of the item and
    the demand it serves, as [item, demand, demand_kind, demand_period, supply, supply_kind, supply_period,
    quantity] (the engine's Peg).
    An item's pegs are read together (a planned order's, a sales line's, the item's record), so they are one value
    per item rather than a row each: a large plan has hundreds of thousands of them. Unique per (run, item)."""

    id = Serial(primary_key=True)
    run = Integer()
    item = Varchar(length=40)
    low_level_code = Integer(default=0)
    on_hand_micro = BigInt(default=0)
    rows = JSON(default="{}")
    components = JSON(default="[]")
    pegs = JSON(default="[]")


class ScheduleRun(Table, tablename="schedule_run"):
    """One schedule of a site's production orders, as the solver proposed it. A planner accepts one (the previous
    accepted one becomes `superseded`) or discards it; a proposal made against an accepted schedule that has since
    been replaced (`based_on`) can no longer be accepted."""

    id = Serial(primary_key=True)
    site = Varchar(length=40, index=True)
    status = Varchar(length=12, default="proposed")  # proposed | accepted | superseded | discarded
    reason = Varchar(length=12, default="office")  # office | downtime | command
    based_on = Integer(null=True, default=None)  # the accepted run it started from
    origin = Timestamptz()  # minute 0 of the engine's axis (Monday 00:00 of the week, site-local), as an instant
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    decided_by = Varchar(length=64, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    engine_status = Varchar(length=10)  # optimal | feasible | list
    seconds = Numeric(digits=(10, 3))
    weighted_tardiness = BigInt(default=0)
    setup_minutes = BigInt(default=0)
    flow_time = BigInt(default=0)
    makespan = BigInt(default=0)
    bound = BigInt(default=0)
    gap = Numeric(digits=(10, 6), default=Decimal(0))
    list_weighted_tardiness = BigInt(default=0)
    list_setup_minutes = BigInt(default=0)
    operations = Integer(default=0)
    late_orders = Integer(default=0)
    moved = Integer(default=0)  # operations whose start or machine differ from the run it started from
    pins = JSON(default="[]")
    problems = JSON(default="[]")  # what the snapshot could not keep in place (a calendar changed under it...)


class ScheduledOperation(Table, tablename="scheduled_operation"):
    """Where one operation runs in one schedule; named by its production order's code and routing sequence.
    Indexed (run, production_order) in the migration; no foreign key to the run (written and deleted whole)."""

    id = Serial(primary_key=True)
    run = Integer()
    production_order = Varchar(length=40)
    sequence = Integer()
    item = Varchar(length=40)
    work_centre = Varchar(length=40)
    machine = Integer(default=0)
    start_at = Timestamptz()
    end_at = Timestamptz()
    minutes = Integer()  # working minutes (open time), without its setup
    quantity_micro = BigInt(default=0)  # the order's quantity, and its good quantity reported when scheduled: the
    good_micro = BigInt(default=0)  # minutes are for what was left, progress is measured against that
    setup_minutes = Integer(default=0)
    due_at = Timestamptz()
    late = Integer(default=0)  # minutes its order ends after its due time (on the order's last operation)
    frozen = Boolean(default=False)  # kept in place (started, or within the frozen window)


class ScheduleAlert(Table, tablename="schedule_alert"):
    """An operation found behind its accepted schedule, announced once per schedule (`production.behind_plan`).
    Unique on (run, operation) in the migration."""

    id = Serial(primary_key=True)
    run = Integer()
    operation = Varchar(length=48)
    work_centre = Varchar(length=40)
    behind_minutes = Integer()
    first_seen_at = Timestamptz()
