import os

from piccolo.conf.apps import AppConfig

from server.production.tables import (
    Downtime,
    ProductionIssue,
    ProductionMaterial,
    ProductionOperation,
    ProductionOrder,
    ProductionOrderCounter,
    ProductionReport,
)

APP_CONFIG = AppConfig(
    app_name="production",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[ProductionOrder, ProductionOperation, ProductionMaterial, ProductionIssue, ProductionReport, Downtime,
                   ProductionOrderCounter],
    migration_dependencies=["server.masterdata.piccolo_app"],
    commands=[],
)
