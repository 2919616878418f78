import os

from piccolo.conf.apps import AppConfig

from server.accounts.tables import AuditEntry, CustomRole, Department, Session, User

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[User, Session, AuditEntry, Department, CustomRole],
    migration_dependencies=[],
    commands=[],
)
