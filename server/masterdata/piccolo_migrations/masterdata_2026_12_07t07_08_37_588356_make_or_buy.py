"""Items made before planning parameters existed are made or bought as their type says: a raw material is bought,
a semi-finished or finished good made (the columns of the migration before arrive as "make" for every row)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T07:08:37:588356"
VERSION = "1.38.0"
DESCRIPTION = "make or buy by item type"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="masterdata", description=DESCRIPTION)

    async def make_or_buy_by_type():
        await engine_finder().run_ddl(
            "UPDATE item SET make_or_buy = CASE WHEN type = 'raw' THEN 'buy' ELSE 'make' END")

    manager.add_raw(make_or_buy_by_type)

    return manager
