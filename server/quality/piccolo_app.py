import os

from piccolo.conf.apps import AppConfig

from server.quality.tables import Inspection, InspectionPlan, Nonconformance, NonconformanceCounter

APP_CONFIG = AppConfig(
    app_name="quality",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[InspectionPlan, Inspection, Nonconformance, NonconformanceCounter],
    migration_dependencies=["server.masterdata.piccolo_app"],
    commands=[],
)
