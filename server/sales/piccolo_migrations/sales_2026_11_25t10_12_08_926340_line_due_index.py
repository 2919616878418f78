"""Late and at-risk lines are read earliest due first, only as far as the longest lead time reaches: an index on the
lines' due date keeps that a short walk over 500,000 lines. Plain CREATE INDEX, the same on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T10:12:08:926340"
VERSION = "1.38.0"
DESCRIPTION = "line due index"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def due_index():
        await engine_finder().run_ddl("CREATE INDEX IF NOT EXISTS sales_order_line_due ON sales_order_line (due_date, id)")

    manager.add_raw(due_index)

    return manager
