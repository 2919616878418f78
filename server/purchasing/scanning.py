"""A purchase order's label scanned on the floor: the PO with its open lines, so the receipt screen can start."""

from __future__ import annotations

from schemas.scan import DocumentScan
from server.errors import ApiError
from server.purchasing import service


async def resolve_purchase_order(code: str) -> DocumentScan | None:
    try:
        order = await service.get_purchase_order(code)
    except ApiError:
        return None
    return DocumentScan(kind="purchase_order", code=order.code, document=order.model_dump(mode="json"))


RESOLVERS = (("PO-", resolve_purchase_order),)
