"""One line per line number within a PO. A unique index rather than a composite constraint: SQLite has no
ALTER TABLE … ADD CONSTRAINT, and a raw step runs before the tables of its own migration exist."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T06:38:18:573245"
VERSION = "1.38.0"
DESCRIPTION = "line no unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="purchasing", description=DESCRIPTION)

    async def unique_line_no():
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX purchase_order_line_no ON purchase_order_line (purchase_order, line_no)"
        )

    manager.add_raw(unique_line_no)

    return manager
