"""A supplier is asked once per RFQ and quotes once per RFQ: unique indexes rather than composite constraints (SQLite
has no ALTER TABLE … ADD CONSTRAINT, and a raw step runs before the tables of its own migration exist); quote lines
are read by quote."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-07T11:17:26:553305"
VERSION = "1.38.0"
DESCRIPTION = "rfq unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="purchasing", description=DESCRIPTION)

    async def unique_per_rfq():
        await engine_finder().run_ddl("CREATE UNIQUE INDEX rfq_supplier_once ON rfq_supplier (rfq, supplier)")
        await engine_finder().run_ddl("CREATE UNIQUE INDEX supplier_quote_once ON supplier_quote (rfq, supplier)")
        await engine_finder().run_ddl("CREATE UNIQUE INDEX rfq_line_no ON rfq_line (rfq, line_no)")

    manager.add_raw(unique_per_rfq)

    return manager
