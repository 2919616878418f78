"""The master data resources: which table, contracts, references and rules each has."""

from __future__ import annotations

from typing import Any

from schemas import masterdata as md
from server.masterdata.tables import Item, Unit
from server.records.resource import Reference, Resource


def item_rules(item: dict[str, Any]) -> list[tuple[str, str, str]]:
    problems = []
    if item.get("shelf_life_days") and not item.get("lot_tracked"):
        problems.append(("shelf_life_days", "shelf_life_needs_lots", "an item with a shelf life must be lot-tracked"))
    return problems


UNITS = Resource(
    entity="unit",
    path="units",
    title="Units",
    table=Unit,
    create_model=md.UnitIn,
    update_model=md.UnitPatch,
    read_model=md.UnitOut,
    list_columns=("code", "name", "decimals"),
)

ITEMS = Resource(
    entity="item",
    path="items",
    title="Items",
    table=Item,
    create_model=md.ItemIn,
    update_model=md.ItemPatch,
    read_model=md.ItemOut,
    search_fields=("code", "name", "gtin"),
    filters=("type", "unit", "lot_tracked"),
    sort_fields=("code", "name", "type", "lead_time_days", "created_at", "updated_at"),
    references=(Reference("unit", Unit, "unit"),),
    unique_fields=("gtin",),
    rules=item_rules,
    list_columns=("code", "name", "type", "unit", "gtin"),
)

RESOURCES: tuple[Resource, ...] = (UNITS, ITEMS)
