"""One line per sales order line within a shipment (unique index: see the sales app's line_no migration for why)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T07:05:22:751925"
VERSION = "1.38.0"
DESCRIPTION = "line no unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="shipping", description=DESCRIPTION)

    async def unique_line_no():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX shipment_line_no ON shipment_line (shipment, line_no)")

    manager.add_raw(unique_line_no)

    return manager
