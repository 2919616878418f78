"""The floor commands' argument contracts by wire name (DESIGN.md section 3), newest version of each: what
`python -m schemas.export` hands the PWA. The server registers each with its handler (sync/registry.py); a test
checks that both name the same models."""

from __future__ import annotations

from pydantic import BaseModel

from schemas.inventory import ReceiptArgs
from schemas.production import ProductionDowntimeArgs, ProductionReportArgs, StockIssueArgs
from schemas.quality import QualityRecordArgs
from schemas.shipping import DeliverySignArgs, ShipmentLoadArgs, ShipmentPackArgs
from schemas.sync import StockCountArgs, StockMoveArgs

FLOOR_COMMANDS: dict[str, type[BaseModel]] = {
    "receipt.receive": ReceiptArgs,
    "stock.issue": StockIssueArgs,
    "stock.move": StockMoveArgs,
    "stock.count": StockCountArgs,
    "production.report": ProductionReportArgs,
    "production.downtime": ProductionDowntimeArgs,
    "quality.record": QualityRecordArgs,
    "shipment.pack": ShipmentPackArgs,
    "shipment.load": ShipmentLoadArgs,
    "delivery.sign": DeliverySignArgs,
}
