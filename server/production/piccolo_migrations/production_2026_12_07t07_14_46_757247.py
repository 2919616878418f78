from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T07:14:46:757247"
VERSION = "1.38.0"
DESCRIPTION = "the parent order a production order feeds"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="production", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="ProductionOrder",
        tablename="production_order",
        column_name="parent_order",
        db_column_name="parent_order",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 40,
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

    return manager
