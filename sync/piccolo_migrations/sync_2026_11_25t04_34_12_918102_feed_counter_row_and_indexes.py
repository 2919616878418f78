"""The change feed's counter row and the indexes Piccolo cannot declare: one mutation per (device, seq)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T04:34:12:918102"
VERSION = "1.38.0"
DESCRIPTION = "feed counter row and indexes"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sync", description=DESCRIPTION)

    async def create_counter_row():
        await engine_finder().run_ddl('INSERT INTO feed_counter (id, position, compacted_through) VALUES (1, 0, 0)')

    manager.add_raw(create_counter_row)

    async def unique_device_seq():
        await engine_finder().run_ddl('CREATE UNIQUE INDEX mutation_log_device_seq ON mutation_log (device_id, seq)')

    manager.add_raw(unique_device_seq)

    async def feed_device_index():
        await engine_finder().run_ddl('CREATE INDEX feed_change_device_position ON feed_change (device_id, position)')

    manager.add_raw(feed_device_index)

    return manager
