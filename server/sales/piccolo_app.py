import os

from piccolo.conf.apps import AppConfig

from server.sales.tables import (
    SalesOrder, SalesOrderAlert, SalesOrderCounter, SalesOrderLine, SalesOrderReview, SalesOrderRevision, SalesPayment,
    SalesPolicy,
)

APP_CONFIG = AppConfig(
    app_name="sales",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[SalesOrder, SalesOrderLine, SalesOrderCounter, SalesOrderRevision, SalesOrderReview, SalesPayment,
                   SalesPolicy, SalesOrderAlert],
    migration_dependencies=["server.masterdata.piccolo_app"],
    commands=[],
)
