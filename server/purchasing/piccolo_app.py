import os

from piccolo.conf.apps import AppConfig

from server.purchasing.tables import (
    PurchaseOrder, PurchaseOrderCounter, PurchaseOrderLine, PurchasingPolicy, Rfq, RfqCounter, RfqLine, RfqSupplier,
    SupplierQuote, SupplierQuoteLine,
)

APP_CONFIG = AppConfig(
    app_name="purchasing",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "piccolo_migrations"),
    table_classes=[PurchaseOrder, PurchaseOrderLine, PurchaseOrderCounter, PurchasingPolicy, Rfq, RfqLine, RfqSupplier,
                   RfqCounter, SupplierQuote, SupplierQuoteLine],
    migration_dependencies=["server.masterdata.piccolo_app"],
    commands=[],
)
