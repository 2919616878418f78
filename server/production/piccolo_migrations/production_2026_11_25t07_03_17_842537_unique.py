"""An operation is one per order and sequence, a material one per order and item, and a work centre has at most
one open downtime: raw unique indexes (SQLite cannot add a composite constraint to an existing table; the
downtime one is partial, which both databases support)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T07:03:17:842537"
VERSION = "1.38.0"
DESCRIPTION = "production unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="production", description=DESCRIPTION)

    async def unique_identities():
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX production_operation_order_sequence ON production_operation (production_order, sequence)")
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX production_material_order_item ON production_material (production_order, item)")
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX downtime_open_per_work_centre ON downtime (work_centre) WHERE ended_at IS NULL")

    manager.add_raw(unique_identities)

    return manager
