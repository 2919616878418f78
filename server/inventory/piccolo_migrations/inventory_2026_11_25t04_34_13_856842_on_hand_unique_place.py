"""One projection row per item, location, lot and status: the ON CONFLICT target of every stock post."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T04:34:13:856842"
VERSION = "1.38.0"
DESCRIPTION = "on hand unique place"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="inventory", description=DESCRIPTION)

    async def unique_on_hand():
        await engine_finder().run_ddl('CREATE UNIQUE INDEX stock_on_hand_place ON stock_on_hand (item, location, lot, status)')

    manager.add_raw(unique_on_hand)

    return manager
