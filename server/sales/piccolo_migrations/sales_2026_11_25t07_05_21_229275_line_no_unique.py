"""One line per line number within a sales order. A unique index rather than a composite constraint: SQLite has no
ALTER TABLE … ADD CONSTRAINT, and a raw step runs before the tables of its own migration exist."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T07:05:21:229275"
VERSION = "1.38.0"
DESCRIPTION = "line no unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def unique_line_no():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX sales_order_line_no ON sales_order_line (sales_order, line_no)")

    manager.add_raw(unique_line_no)

    return manager
