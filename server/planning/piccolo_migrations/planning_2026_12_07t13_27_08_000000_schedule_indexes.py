"""The schedules' indexes: a schedule's operations read by run (and order); one accepted schedule per site,
whatever two planners do at once (a partial unique index, on both databases); an alert once per operation and
schedule."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T13:27:08:000000"
VERSION = "1.38.0"
DESCRIPTION = "schedule indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planning", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        await engine.run_ddl("CREATE INDEX scheduled_operation_run_order ON scheduled_operation (run, production_order)")
        await engine.run_ddl("CREATE UNIQUE INDEX schedule_run_one_accepted ON schedule_run (site) WHERE status = 'accepted'")
        await engine.run_ddl("CREATE UNIQUE INDEX schedule_alert_run_operation ON schedule_alert (run, operation)")

    manager.add_raw(indexes)
    return manager
