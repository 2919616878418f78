import os

from piccolo.conf.apps import AppConfig

from server.webhooks.tables import WebhookAttempt, WebhookDelivery, WebhookSubscription

APP_CONFIG = AppConfig(
    app_name="webhooks",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[WebhookSubscription, WebhookDelivery, WebhookAttempt],
    migration_dependencies=[],
    commands=[],
)
