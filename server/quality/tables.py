"""Quality tables. An inspection plan is one per item; its characteristics are a small list kept as JSON (limits
as decimal strings, so they compare exactly). Quantities are micro-units, like the stock ledger."""

from piccolo.columns import JSON, BigInt, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.masterdata.tables import Item


class InspectionPlan(Table, tablename="inspection_plan"):
    """What to check on an item and the limits that pass; `version` grows with every change (optimistic locking)."""

    id = Serial(primary_key=True)
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict, unique=True)
    description = Text(default="")
    characteristics = JSON(default=[])
    version = Integer(default=1)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    updated_by = Varchar(length=64)


class Inspection(Table, tablename="inspection"):
    """One recorded inspection: the results as measured, each with its own pass/fail, and the verdict."""

    id = Serial(primary_key=True)
    subject = Varchar(length=12)
    item = Varchar(length=40, index=True)
    lot = Varchar(length=40, default="")
    location = Varchar(length=40, default="")
    quantity_micro = BigInt(default=0)
    production_order = Varchar(length=40, default="")
    operation = Varchar(length=40, default="")
    results = JSON(default=[])
    verdict = Varchar(length=4)
    plan_version = Integer(null=True, default=None)
    note = Text(default="")
    nonconformance = Varchar(length=20, null=True, default=None)
    site = Varchar(length=40, null=True, default=None)
    inspected_at = Timestamptz(index=True)
    event_time = Timestamptz(null=True, default=None)
    mutation_id = Varchar(length=36, null=True, default=None, index=True)
    device_id = Varchar(length=36, null=True, default=None)
    username = Varchar(length=64, null=True, default=None)


class Nonconformance(Table, tablename="nonconformance"):
    """An NCR: opened by a failed inspection, closed by its disposition. `places` lists where its stock lies in
    quarantine ([{location, quantity_micro}], empty for an operation)."""

    id = Serial(primary_key=True)
    code = Varchar(length=20, unique=True)
    status = Varchar(length=8, index=True)
    disposition = Varchar(length=20)
    subject = Varchar(length=12)
    item = Varchar(length=40, index=True)
    lot = Varchar(length=40, default="")
    places = JSON(default=[])
    quantity_micro = BigInt(default=0)
    production_order = Varchar(length=40, default="")
    operation = Varchar(length=40, default="")
    inspection = Integer(null=True, default=None)
    site = Varchar(length=40, null=True, default=None)
    description = Text(default="")
    opened_at = Timestamptz()
    opened_by = Varchar(length=64)
    closed_at = Timestamptz(null=True, default=None)
    closed_by = Varchar(length=64, null=True, default=None)
    disposition_note = Text(default="")


class NonconformanceCounter(Table, tablename="nonconformance_counter"):
    """The last number handed out per year: NCR-2026-0001, NCR-2026-0002…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)
