import os

from piccolo.conf.apps import AppConfig

from server.inventory.tables import (
    Lot, OpeningBalance, Receipt, Reservation, SerialNumber, StockCount, StockMove, StockOnHand,
)

APP_CONFIG = AppConfig(
    app_name="inventory",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[StockMove, StockOnHand, StockCount, Lot, SerialNumber, Reservation, Receipt, OpeningBalance],
    migration_dependencies=[],
    commands=[],
)
