"""One announcement per order line and risk: the late-order watch of every server process inserts with ON CONFLICT
DO NOTHING and announces only what it inserted, so two processes never announce the same line twice."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T10:12:08:926338"
VERSION = "1.38.0"
DESCRIPTION = "alert unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def unique_alert():
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX sales_order_alert_once ON sales_order_alert (sales_order, line_no, risk)")

    manager.add_raw(unique_alert)

    return manager
