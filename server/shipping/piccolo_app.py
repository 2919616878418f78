import os

from piccolo.conf.apps import AppConfig

from server.shipping.tables import (
    HandlingUnit,
    HandlingUnitContent,
    ProofChainHead,
    ProofOfDelivery,
    Shipment,
    ShipmentCounter,
    ShipmentLine,
    SsccCounter,
)

APP_CONFIG = AppConfig(
    app_name="shipping",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[Shipment, ShipmentLine, ShipmentCounter, HandlingUnit, HandlingUnitContent, SsccCounter,
                   ProofOfDelivery, ProofChainHead],
    migration_dependencies=["server.masterdata.piccolo_app", "server.sales.piccolo_app"],
    commands=[],
)
