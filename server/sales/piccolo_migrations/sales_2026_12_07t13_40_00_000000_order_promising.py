"""Order promising: each sales order line keeps its promise (date, the date stock and receipts alone give, how it
was worked out, and why as a catalog key with its values, and when), and the review policy may hold a promise later
than the requested date for an approver."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON, Boolean, Date, Timestamptz, Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-07T13:40:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "order promising"


def _params(**extra):
    return {"null": False, "primary_key": False, "unique": False, "index": False, "index_method": IndexMethod.btree,
            "choices": None, "db_column_name": None, "secret": False, **extra}


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="sales", description=DESCRIPTION)
    columns = [
        ("promise_date", "Date", Date, _params(default=None, null=True)),
        ("promise_atp_date", "Date", Date, _params(default=None, null=True)),
        ("promise_method", "Varchar", Varchar, _params(default="", length=3)),
        ("promise_reason", "Varchar", Varchar, _params(default="", length=60)),
        ("promise_params", "JSON", JSON, _params(default="{}")),
        ("promised_at", "Timestamptz", Timestamptz, _params(default=None, null=True)),
    ]
    for name, class_name, column_class, params in columns:
        manager.add_column(table_class_name="SalesOrderLine", tablename="sales_order_line", column_name=name,
                           db_column_name=name, column_class_name=class_name, column_class=column_class,
                           params=params, schema=None)
    manager.add_column(table_class_name="SalesPolicy", tablename="sales_policy", column_name="promise_check",
                       db_column_name="promise_check", column_class_name="Boolean", column_class=Boolean,
                       params=_params(default=False), schema=None)
    return manager
