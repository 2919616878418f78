"""A lot is one per item and code, a serial one per item: the identities receipts and reports check against.
Raw unique indexes, as for stock_on_hand: SQLite cannot add a composite constraint to an existing table."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T06:57:38:601659"
VERSION = "1.38.0"
DESCRIPTION = "lot and serial unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inventory", description=DESCRIPTION)

    async def unique_identities():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX lot_item_code ON lot (item, code)")
        await engine_finder().run_ddl("CREATE UNIQUE INDEX serial_number_item_serial ON serial_number (item, serial)")

    manager.add_raw(unique_identities)

    return manager
