"""The plan tables' indexes (what the reads of a plan need, no more: each index is paid for by every row a run
writes; the plan page's filter by item reads the run's planned orders through (run, key)), and on PostgreSQL lz4 for the pegging and record values where the server has it (faster than the default
pglz at a similar size)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine

ID = "2026-12-07T10:09:37:000000"
VERSION = "1.38.0"
DESCRIPTION = "plan indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="planning", description=DESCRIPTION)

    async def indexes():
        engine = engine_finder()
        await engine.run_ddl("CREATE UNIQUE INDEX planned_order_run_key ON planned_order (run, key)")
        await engine.run_ddl("CREATE UNIQUE INDEX plan_record_run_item ON plan_record (run, item)")
        await engine.run_ddl("CREATE INDEX plan_exception_run_item ON plan_exception (run, item)")
        if isinstance(engine, PostgresEngine):
            await engine.run_ddl("SAVEPOINT plan_lz4")  # the migration is one transaction
            try:
                for column in ("pegs", "rows"):
                    await engine.run_ddl(f"ALTER TABLE plan_record ALTER COLUMN {column} SET COMPRESSION lz4")
            except Exception:  # noqa: BLE001 - a server built without lz4 keeps pglz
                await engine.run_ddl("ROLLBACK TO SAVEPOINT plan_lz4")
            else:
                await engine.run_ddl("RELEASE SAVEPOINT plan_lz4")

    manager.add_raw(indexes)
    return manager
