import os

from piccolo.conf.apps import AppConfig

from server.planning.tables import (Forecast, MrpRun, PlanException, PlannedOrder, PlanningSettings, PlanRecord, ScheduleAlert,
                                    ScheduledOperation, ScheduleRun)

APP_CONFIG = AppConfig(
    app_name="planning",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Forecast, PlanningSettings, MrpRun, PlannedOrder, PlanException, PlanRecord, ScheduleRun, ScheduledOperation,
                   ScheduleAlert],
    migration_dependencies=["server.masterdata.piccolo_app"],
    commands=[],
)
