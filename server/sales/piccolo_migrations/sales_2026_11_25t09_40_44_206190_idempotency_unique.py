"""One order per API client's Idempotency-Key. A unique index of its own: SQLite cannot add a UNIQUE column, and a
raw step runs before the columns of its own migration exist. NULLs (orders entered by hand) never collide."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T09:40:44:206190"
VERSION = "1.38.0"
DESCRIPTION = "idempotency key unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def unique_idempotency_key():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX sales_order_idempotency_key ON sales_order (idempotency_key)")

    manager.add_raw(unique_idempotency_key)

    return manager
