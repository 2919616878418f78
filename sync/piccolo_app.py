import os

from piccolo.conf.apps import AppConfig

from sync.tables import FeedChange, FeedCounter, MutationLog

APP_CONFIG = AppConfig(
    app_name="sync",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[FeedCounter, FeedChange, MutationLog],
    migration_dependencies=[],
    commands=[],
)
