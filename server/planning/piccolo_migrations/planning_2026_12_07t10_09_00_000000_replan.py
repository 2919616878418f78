"""A plan's rows lose their foreign key to the run and its pegging moves into the item's record (one value per item
instead of a row per peg): a large run writes its plan in a third of the time. Plans are derived data that the next
run writes again, so the old plan tables are dropped with the runs they belonged to, and created anew by the next
migration."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T10:09:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "plan tables without foreign keys; pegging by item"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planning", description=DESCRIPTION)

    async def forget_old_plans():
        for table in ("plan_peg", "planned_order", "plan_exception", "plan_record"):
            await engine_finder().run_ddl(f"DELETE FROM {table}")
        await engine_finder().run_ddl("DELETE FROM mrp_run")

    manager.add_raw(forget_old_plans)
    for class_name, tablename in (("PlanPeg", "plan_peg"), ("PlannedOrder", "planned_order"),
                                  ("PlanException", "plan_exception"), ("PlanRecord", "plan_record")):
        manager.drop_table(class_name=class_name, tablename=tablename, schema=None)
    return manager
