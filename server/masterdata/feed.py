"""What devices see of master data, written to the change feed by the record service in the writer's transaction:
items everywhere, a location within its warehouse's scope. An archived record leaves every replica."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from server.inventory.stock import quantity_text, stock_key
from server.inventory.tables import StockOnHand
from server.masterdata.tables import Warehouse
from sync.feed import Visibility, record_move

ITEM_FIELDS = ("code", "name", "type", "unit", "gtin", "lot_tracked", "serial_tracked", "shelf_life_days", "inspection_required")
LOCATION_FIELDS = ("code", "name", "warehouse", "kind")


def _data(record: BaseModel, fields: tuple[str, ...]) -> dict[str, Any]:
    dumped = record.model_dump(mode="json")
    return {name: dumped.get(name) for name in fields}


def _live(record: BaseModel | None) -> bool:
    return record is not None and not getattr(record, "archived", False)


async def item_changed(before: BaseModel | None, after: BaseModel | None) -> None:
    everyone = Visibility()
    record = after or before
    record_move(
        "item", record.code,  # type: ignore[union-attr]
        _data(after, ITEM_FIELDS) if _live(after) else None,  # type: ignore[arg-type]
        everyone if _live(before) else None,
        everyone if _live(after) else None,
    )


async def _warehouse_visibility(warehouse: str) -> Visibility:
    row = await Warehouse.select(Warehouse.site).where(Warehouse.code == warehouse).first()
    return Visibility(site=row["site"] if row else None, warehouse=warehouse)


async def location_changed(before: BaseModel | None, after: BaseModel | None) -> None:
    record = after or before
    old = await _warehouse_visibility(before.warehouse) if _live(before) else None  # type: ignore[union-attr]
    new = await _warehouse_visibility(after.warehouse) if _live(after) else None  # type: ignore[union-attr]
    record_move("location", record.code, _data(after, LOCATION_FIELDS) if new else None, old, new)  # type: ignore[union-attr,arg-type]
    if old != new:
        await _stock_follows_location(record.code, old, new)  # type: ignore[union-attr]


async def _stock_follows_location(location: str, old: Visibility | None, new: Visibility | None) -> None:
    """Stock lies where its location is: a bin moved to another warehouse takes its on-hand rows out of the old
    scope and into the new one, an archived bin takes them out of every replica."""
    rows = await StockOnHand.select().where((StockOnHand.location == location) & (StockOnHand.quantity_micro != 0))
    for row in rows:
        data = {"item": row["item"], "location": location, "lot": row["lot"] or None, "status": row["status"],
                "quantity": quantity_text(row["quantity_micro"])}
        record_move("stock", stock_key(row["item"], location, row["lot"], row["status"]), data if new else None, old, new)
