"""Each session names its user, so a password change or a deactivation can end all of them. The sessions open before
this release do not say whose they are: they end here (everyone logs in once more after the upgrade)."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder
from piccolo.columns.column_types import Integer
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T01:02:08:285295"
VERSION = "1.38.0"
DESCRIPTION = "sessions name their user"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="accounts", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Session",
        tablename="web_session",
        column_name="user_id",
        db_column_name="user_id",
        column_class_name="Integer",
        column_class=Integer,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    async def end_sessions_of_unknown_users():
        await engine_finder().run_ddl("DELETE FROM web_session")

    manager.add_raw(end_sessions_of_unknown_users)

    return manager
