import os

from piccolo.conf.apps import AppConfig

from devices.tables import Device, Enrolment

APP_CONFIG = AppConfig(
    app_name="devices",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Enrolment, Device],
    migration_dependencies=[],
    commands=[],
)
