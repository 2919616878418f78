"""Searching orders by any part of their code, customer reference or notes (ILIKE '%text%') without reading the
whole table: trigram indexes, on PostgreSQL when its pg_trgm extension can be had. pg_trgm is a trusted extension
(PostgreSQL 13+): a role that may create objects in the database may create it. Where it cannot (not available, or
no right to), the search still works, by scanning; nothing else depends on it. SQLite has no such index."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T10:12:08:926339"
VERSION = "1.38.0"
DESCRIPTION = "search trigrams"

COLUMNS = ("code", "customer_reference", "notes")


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)

    async def trigram_indexes():
        engine = engine_finder()
        if engine.engine_type != "postgres":
            return
        usable = await engine.run_ddl(
            "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed, "
            "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS available, "
            "has_database_privilege(current_user, current_database(), 'CREATE') AS may_create")
        state = usable[0]
        if not state["installed"]:
            if not (state["available"] and state["may_create"]):
                print("pg_trgm cannot be installed here: sales order search scans instead of using an index")
                return
            await engine.run_ddl("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in COLUMNS:
            await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS sales_order_{column}_trigram ON sales_order "
                                 f"USING gin ({column} gin_trgm_ops)")

    manager.add_raw(trigram_indexes)

    return manager
