from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Boolean
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T07:10:21:773639"
VERSION = "1.38.0"
DESCRIPTION = "a preferred supplier per item"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="masterdata", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="SupplierItem",
        tablename="supplier_item",
        column_name="preferred",
        db_column_name="preferred",
        column_class_name="Boolean",
        column_class=Boolean,
        params={
            "default": False,
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
