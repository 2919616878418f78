"""A forecast is one per site, item and period, a planned order one per run and key, and a site has one MRP run
under way at a time (two server processes starting one at once: the second insert fails): raw unique indexes (SQLite
cannot add a composite constraint to a table; a unique index is enforced the same way by both databases)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T07:05:40:000000"
VERSION = "1.38.0"
DESCRIPTION = "planning unique indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planning", description=DESCRIPTION)

    async def unique_identities():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX planned_order_run_key ON planned_order (run, key)")
        await engine_finder().run_ddl(
            "CREATE UNIQUE INDEX forecast_site_item_period ON forecast (site, item, period_start)")
        await engine_finder().run_ddl("CREATE UNIQUE INDEX mrp_run_one_running ON mrp_run (site) WHERE status = 'running'")
        # a plan's pegging is read by run and demand (what serves it) and by run and supply (what it serves)
        await engine_finder().run_ddl("CREATE INDEX plan_peg_run_demand ON plan_peg (run, demand)")
        await engine_finder().run_ddl("CREATE INDEX plan_peg_run_supply ON plan_peg (run, supply)")

    manager.add_raw(unique_identities)

    return manager
