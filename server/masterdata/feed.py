"""What devices see of master data, written to the change feed by the record service in the writer's transaction:
items everywhere, a location within its warehouse's scope. An archived record leaves every replica."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from server.masterdata.tables import Warehouse
from server.db import current_write
from sync.feed import Visibility, record_move

ITEM_FIELDS = ("code", "name", "type", "unit", "gtin", "lot_tracked", "serial_tracked", "shelf_life_days", "inspection_required")
LOCATION_FIELDS = ("code", "name", "warehouse", "kind")
# What else must follow a location that moves into another scope or out of every one (the stock lying there):
# areas above master data subscribe at start-up (server/app.py), so master data imports none of them.
LocationMoved = Callable[[str, Visibility | None, Visibility | None], Awaitable[None]]
_location_moved: list[LocationMoved] = []


def when_location_moves(listener: LocationMoved) -> None:
    if listener not in _location_moved:
        _location_moved.append(listener)


def _data(record: BaseModel, fields: tuple[str, ...]) -> dict[str, Any]:
    dumped = record.model_dump(mode="json", include=set(fields))  # only what devices get: an import dumps thousands
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


WAREHOUSE_SITES = "warehouse_sites"


async def _warehouse_visibility(warehouse: str) -> Visibility:
    """Read once per transaction and warehouse (an import of thousands of bins names a few warehouses); a warehouse
    written in the same transaction forgets it (`warehouse_changed`)."""
    sites = current_write().state.setdefault(WAREHOUSE_SITES, {})
    if warehouse not in sites:
        row = await Warehouse.select(Warehouse.site).where(Warehouse.code == warehouse).first()
        sites[warehouse] = row["site"] if row else None
    return Visibility(site=sites[warehouse], warehouse=warehouse)


async def warehouse_changed(before: BaseModel | None, after: BaseModel | None) -> None:
    current_write().state.pop(WAREHOUSE_SITES, None)


async def location_changed(before: BaseModel | None, after: BaseModel | None) -> None:
    record = after or before
    old = await _warehouse_visibility(before.warehouse) if _live(before) else None  # type: ignore[union-attr]
    new = await _warehouse_visibility(after.warehouse) if _live(after) else None  # type: ignore[union-attr]
    record_move("location", record.code, _data(after, LOCATION_FIELDS) if new else None, old, new)  # type: ignore[union-attr,arg-type]
    # A bin that did not exist before has nothing lying in it to follow.
    if old != new and before is not None:
        for listener in _location_moved:
            await listener(record.code, old, new)  # type: ignore[union-attr]
