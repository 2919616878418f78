"""One opening balance per item, location, lot and status: a raw unique index, as for lots and serials (SQLite cannot
add a composite constraint to a table with ALTER TABLE)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T11:34:10:000000"
VERSION = "1.38.0"
DESCRIPTION = "one opening balance per place"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inventory", description=DESCRIPTION)

    async def one_opening_balance_per_place():
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX opening_balance_place ON opening_balance (item, location, lot, status)")

    manager.add_raw(one_opening_balance_per_place)

    return manager
