"""Piccolo's configuration: the engine comes from FLOORSYNC_DATABASE_URL (see server/db.py)."""

from piccolo.conf.apps import AppRegistry

from server.db import DB  # noqa: F401  (Piccolo looks the engine up by this name)

APP_REGISTRY = AppRegistry(
    apps=[
        "server.accounts.piccolo_app",
        "server.masterdata.piccolo_app",
        "devices.piccolo_app",
        "sync.piccolo_app",
        "server.inventory.piccolo_app",
        "server.purchasing.piccolo_app",
        "server.production.piccolo_app",
        "server.quality.piccolo_app",
        "server.sales.piccolo_app",
        "server.shipping.piccolo_app",
        "server.webhooks.piccolo_app",
        "server.planning.piccolo_app",
        "server.mail.piccolo_app",
    ]
)
