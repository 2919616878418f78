"""The order list at scale (100,000 orders): newest first, by customer and by status, each a backward walk of an
index to the page instead of sorting the table. Plain CREATE INDEX in a raw step, the same SQL on SQLite and
PostgreSQL; no column is added, so the raw step's running first (SQLite) does not matter."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T10:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "sales order list indexes"

INDEXES = (
    "CREATE INDEX IF NOT EXISTS sales_order_created ON sales_order (created_at, id)",
    "CREATE INDEX IF NOT EXISTS sales_order_customer_created ON sales_order (customer, created_at, id)",
    "CREATE INDEX IF NOT EXISTS sales_order_status_created ON sales_order (status, created_at, id)",
)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def list_indexes():
        engine = engine_finder()
        for statement in INDEXES:
            await engine.run_ddl(statement)

    manager.add_raw(list_indexes)

    return manager
