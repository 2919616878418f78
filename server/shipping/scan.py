"""What a scan of a shipment's label (SHP-…) or of a handling unit's SSCC resolves to (server/scan/resolve.py)."""

from __future__ import annotations

import re

from schemas.scan import DocumentScan, ScanResult
from server.errors import ApiError
from server.shipping import shipments

SSCC = re.compile(r"^\d{18}$")


async def resolve_shipment(code: str) -> ScanResult | None:
    try:
        shipment = await shipments.get_shipment(code)
    except ApiError as error:
        if error.code == "not_found":
            return None  # not one of ours: the next resolver may know the code
        raise
    return DocumentScan(kind="shipment", code=code, document={
        "sales_order": shipment.sales_order, "customer": shipment.customer, "status": shipment.status,
        "ship_from": shipment.ship_from, "route": shipment.route,
        "handling_units": [unit.sscc for unit in shipment.handling_units],
    })


async def resolve_handling_unit(sscc: str) -> ScanResult | None:
    unit = await shipments.handling_unit(sscc)
    if unit is None:
        return None
    return DocumentScan(kind="handling_unit", code=sscc, document=unit.model_dump(mode="json"))


RESOLVERS = (
    ("SHP-", resolve_shipment),
    (lambda code: bool(SSCC.match(code)), resolve_handling_unit),
)
