"""The master data resources: which table, contracts, references and rules each has."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from schemas import masterdata as md
from server.db import current_write
from server.errors import Detail
from server.masterdata.calendar import overlapping_shifts
from server.masterdata.feed import item_changed, location_changed, warehouse_changed
from server.masterdata.tables import (
    Bom,
    BomLine,
    Crew,
    Customer,
    Item,
    Location,
    Routing,
    RoutingOperation,
    Site,
    Supplier,
    SupplierItem,
    Unit,
    Warehouse,
    WorkCentre,
)
from server.records.resource import Children, Reference, Resource

Problem = tuple[str, str, str]


def item_rules(item: dict[str, Any]) -> list[Problem]:
    problems = []
    if item.get("shelf_life_days") and not item.get("lot_tracked"):
        problems.append(("shelf_life_days", "shelf_life_needs_lots", "an item with a shelf life must be lot-tracked"))
    return problems + planning_parameter_rules(item)


def planning_parameter_rules(item: dict[str, Any]) -> list[Problem]:
    """What MRP needs of an item's lot sizing besides each field's own bounds: a fixed lot has a size, and a largest
    order is no smaller than the smallest one (0 means no bound)."""
    problems = []
    if item.get("lot_rule") == "fixed" and not item.get("lot_quantity"):
        problems.append(("lot_quantity", "lot_quantity_required", "the fixed lot rule needs a lot quantity above 0"))
    maximum, minimum = item.get("order_maximum") or 0, item.get("order_minimum") or 0
    if maximum and maximum < minimum:
        problems.append(("order_maximum", "order_maximum_below_minimum",
                         Detail(f"the largest order ({maximum}) is below the smallest ({minimum})", maximum=maximum,
                                minimum=minimum)))
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
    filters=("type", "unit", "lot_tracked", "make_or_buy"),
    sort_fields=("code", "name", "type", "lead_time_days", "created_at", "updated_at"),
    references=(Reference("unit", Unit, "unit"),),
    unique_fields=("gtin",),
    rules=item_rules,
    on_change=item_changed,
    list_columns=("code", "name", "type", "make_or_buy", "unit", "gtin"),
    sections=(("planning", ("make_or_buy", "safety_stock", "lead_time_days", "lot_rule", "lot_quantity", "lot_periods",
                            "order_minimum", "order_multiple", "order_maximum", "planning_time_fence_days",
                            "setup_family")),),
)



def work_centre_rules(work_centre: dict[str, Any]) -> list[Problem]:
    shifts = work_centre.get("shifts") or []
    return [
        (f"shifts[{j}]", "shifts_overlap", Detail(f"shift {shifts[j]['name']!r} overlaps shift {shifts[i]['name']!r}",
                                                  shift=shifts[j]["name"], other=shifts[i]["name"]))
        for i, j in overlapping_shifts(shifts)
    ] + setup_matrix_rules(work_centre.get("setup_matrix") or [])


def setup_matrix_rules(matrix: list[dict[str, Any]]) -> list[Problem]:
    """A changeover from one family to another has one price on a centre: a pair listed twice is refused."""
    seen: set[tuple[str, str]] = set()
    problems = []
    for index, change in enumerate(matrix):
        pair = (change["from_family"], change["to_family"])
        if pair in seen:
            problems.append((f"setup_matrix[{index}]", "duplicate_setup_pair",
                             Detail(f"the setup from {pair[0]} to {pair[1]} is listed twice", from_family=pair[0],
                                    to_family=pair[1])))
        seen.add(pair)
    return problems


def crew_rules(crew: dict[str, Any]) -> list[Problem]:
    """A shift has one headcount in a crew: a shift listed twice is refused."""
    seen: set[str] = set()
    problems = []
    for index, entry in enumerate(crew.get("operators") or []):
        if entry["shift"] in seen:
            problems.append((f"operators[{index}].shift", "duplicate_crew_shift",
                             Detail(f"shift {entry['shift']!r} is listed twice", shift=entry["shift"])))
        seen.add(entry["shift"])
    return problems


async def crew_checks(crew: dict[str, Any]) -> list[Problem]:
    """A crew's operators work at its site: a crew moved to another site must not leave centres behind."""
    elsewhere = await WorkCentre.select(WorkCentre.code, WorkCentre.site).where(
        (WorkCentre.crew == crew["code"]) & ((WorkCentre.site != crew["site"]) | WorkCentre.site.is_null())).limit(1)
    return [("site", "crew_members_elsewhere",
             Detail(f"work centre {row['code']!r} of crew {crew['code']!r} is not at site {crew['site']!r}",
                    work_centre=row["code"], crew=crew["code"], site=crew["site"]))
            for row in elsewhere]


async def work_centre_checks(work_centre: dict[str, Any]) -> list[Problem]:
    """A centre's crew is one of its own site (the operators walk between machines, not between plants)."""
    crew = work_centre.get("crew")
    if not crew:
        return []
    rows = await Crew.select(Crew.site).where(Crew.code == crew)
    if not rows or rows[0]["site"] == work_centre.get("site"):
        return []  # an unknown crew is the reference's refusal
    if not work_centre.get("site"):
        return [("crew", "crew_needs_site", Detail(f"a work centre needs a site to share crew {crew!r}", crew=crew))]
    return [("crew", "crew_of_another_site",
             Detail(f"crew {crew!r} works at site {rows[0]['site']!r}, not at {work_centre['site']!r}", crew=crew,
                    crew_site=rows[0]["site"], site=work_centre["site"]))]


def repeated_keys(lines: list[dict[str, Any]], key: str, field: str, code: str) -> list[Problem]:
    """Lines whose `key` an earlier line of the same record already has."""
    seen: set[Any] = set()
    problems = []
    for index, line in enumerate(lines):
        if line[key] in seen:
            problems.append((f"{field}[{index}].{key}", code, Detail(f"{key} {line[key]} appears twice", value=line[key])))
        seen.add(line[key])
    return problems


def bom_rules(bom: dict[str, Any]) -> list[Problem]:
    components = bom.get("components") or []
    problems = [
        (f"components[{index}].component", "bom_cycle",
         Detail(f"item {bom['item']!r} cannot be a component of itself", item=bom["item"], component=line["component"]))
        for index, line in enumerate(components)
        if line["component"] == bom["item"]
    ]
    return problems + repeated_keys(components, "line_no", "components", "duplicate_line")


def reaches(start: str, target: str, uses: Mapping[str, set[str]]) -> bool:
    """Whether item `start`, through the components of BOMs (`uses`: item → its components), needs item `target`."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        if current == target:
            return True
        if current not in seen:
            seen.add(current)
            stack.extend(uses.get(current, ()))
    return False


def indirect_cycles(bom: dict[str, Any], uses: Mapping[str, set[str]]) -> list[Problem]:
    return [
        (f"components[{index}].component", "bom_cycle",
         Detail(f"item {line['component']!r} already needs {bom['item']!r} through its own BOM", item=bom["item"],
                component=line["component"]))
        for index, line in enumerate(bom.get("components") or [])
        if reaches(line["component"], bom["item"], uses)
    ]


ACTIVE_BOM_LINES = "active_bom_lines"


@dataclass
class _BomLines:
    uses: dict[str, set[str]]  # item -> the components its active BOMs need
    edges: Counter[tuple[str, str]]  # (item, component) -> how many active BOM lines say it
    by_bom: dict[str, list[tuple[str, str]]]  # BOM code -> its (item, component) lines


async def _active_bom_lines() -> _BomLines:
    """Every active BOM's lines, read once per transaction (an import checks hundreds of BOMs against the same
    ones); a BOM written in the same transaction forgets them (`bom_changed`)."""
    state = current_write().state
    if ACTIVE_BOM_LINES not in state:
        rows = await BomLine.select(BomLine.bom.code.as_alias("bom_code"), BomLine.bom.item.as_alias("parent"),
                                    BomLine.component).where(BomLine.bom.archived == False)  # noqa: E712
        lines = _BomLines({}, Counter(), {})
        for row in rows:
            lines.uses.setdefault(row["parent"], set()).add(row["component"])
            lines.edges[(row["parent"], row["component"])] += 1
            lines.by_bom.setdefault(row["bom_code"], []).append((row["parent"], row["component"]))
        state[ACTIVE_BOM_LINES] = lines
    return state[ACTIVE_BOM_LINES]


async def bom_changed(before: BaseModel | None, after: BaseModel | None) -> None:
    current_write().state.pop(ACTIVE_BOM_LINES, None)


def _uses_of_other_boms(lines: _BomLines, code: str) -> dict[str, set[str]]:
    """What the other active BOMs need: a BOM's own stored lines are the ones being replaced."""
    uses = dict(lines.uses)
    for (parent, component), count in Counter(lines.by_bom.get(code, ())).items():
        if lines.edges[(parent, component)] == count:
            uses[parent] = uses[parent] - {component}
    return uses


async def bom_checks(bom: dict[str, Any]) -> list[Problem]:
    """A BOM must not close a loop through other active BOMs (a chair needing a seat needing a chair), or explosion
    and MRP would never end. The BOM being saved is left out: its lines are the ones being replaced."""
    if not bom.get("components"):
        return []
    uses = _uses_of_other_boms(await _active_bom_lines(), bom["code"])
    return indirect_cycles(bom, uses) + await _tracked_backflush(bom)


async def _tracked_backflush(bom: dict[str, Any]) -> list[Problem]:
    """A backflush takes material without anyone scanning it: a lot- or serial-tracked component must be issued
    by scan (which lot or serial went into the order is the point of tracking it)."""
    lines = [(index, line) for index, line in enumerate(bom["components"]) if line.get("issue_method") == "backflush"]
    if not lines:
        return []
    tracked = {row["code"] for row in await Item.select(Item.code).where(
        Item.code.is_in([line["component"] for _, line in lines])
        & ((Item.lot_tracked == True) | (Item.serial_tracked == True)))}  # noqa: E712
    return [(f"components[{index}].issue_method", "backflush_tracked_item",
             Detail(f"item {line['component']!r} is lot- or serial-tracked: issue it by scan", item=line["component"]))
            for index, line in lines if line["component"] in tracked]


def routing_rules(routing: dict[str, Any]) -> list[Problem]:
    return repeated_keys(routing.get("operations") or [], "sequence", "operations", "duplicate_sequence")


def supplier_rules(supplier: dict[str, Any]) -> list[Problem]:
    return repeated_keys(supplier.get("items") or [], "item", "items", "duplicate_line")


SITES = Resource(
    entity="site",
    path="sites",
    title="Sites",
    table=Site,
    create_model=md.SiteIn,
    update_model=md.SitePatch,
    read_model=md.SiteOut,
    search_fields=("code", "name", "address"),
    filters=("timezone",),
    list_columns=("code", "name", "timezone"),
)

WAREHOUSES = Resource(
    entity="warehouse",
    path="warehouses",
    title="Warehouses",
    table=Warehouse,
    create_model=md.WarehouseIn,
    update_model=md.WarehousePatch,
    read_model=md.WarehouseOut,
    filters=("site",),
    sort_fields=("code", "name", "site", "created_at", "updated_at"),
    references=(Reference("site", Site, "site"),),
    list_columns=("code", "name", "site"),
    on_change=warehouse_changed,
)

LOCATIONS = Resource(
    entity="location",
    path="locations",
    title="Locations",
    table=Location,
    create_model=md.LocationIn,
    update_model=md.LocationPatch,
    read_model=md.LocationOut,
    filters=("warehouse", "kind"),
    sort_fields=("code", "name", "warehouse", "kind", "created_at", "updated_at"),
    references=(Reference("warehouse", Warehouse, "warehouse"),),
    list_columns=("code", "name", "warehouse", "kind"),
    on_change=location_changed,
)

WORK_CENTRES = Resource(
    entity="work_centre",
    path="work_centres",
    title="Work centres",
    table=WorkCentre,
    create_model=md.WorkCentreIn,
    update_model=md.WorkCentrePatch,
    read_model=md.WorkCentreOut,
    filters=("site",),
    sort_fields=("code", "name", "site", "parallel_capacity", "created_at", "updated_at"),
    references=(Reference("site", Site, "site"), Reference("issue_location", Location, "location"),
                Reference("crew", Crew, "crew")),
    rules=work_centre_rules,
    checks=work_centre_checks,
    list_columns=("code", "name", "site", "parallel_capacity", "crew"),
)

CREWS = Resource(
    entity="crew",
    path="crews",
    title="Crews",
    table=Crew,
    create_model=md.CrewIn,
    update_model=md.CrewPatch,
    read_model=md.CrewOut,
    filters=("site",),
    sort_fields=("code", "name", "site", "default_operators", "created_at", "updated_at"),
    references=(Reference("site", Site, "site"),),
    rules=crew_rules,
    checks=crew_checks,
    list_columns=("code", "name", "site", "default_operators"),
)

BOMS = Resource(
    entity="bom",
    path="boms",
    title="Bills of materials",
    table=Bom,
    create_model=md.BomIn,
    update_model=md.BomPatch,
    read_model=md.BomOut,
    search_fields=("code", "item", "description"),
    filters=("item",),
    sort_fields=("code", "item", "version", "valid_from", "created_at", "updated_at"),
    references=(Reference("item", Item, "item"),),
    unique_together=(("item", "version"),),
    children=Children(
        field="components",
        table=BomLine,
        parent_column="bom",
        model=md.BomLineIn,
        order_by="line_no",
        csv_prefix="component_",
        references=(Reference("component", Item, "item"),),
    ),
    rules=bom_rules,
    checks=bom_checks,
    on_change=bom_changed,
    list_columns=("code", "item", "version", "valid_from"),
)

ROUTINGS = Resource(
    entity="routing",
    path="routings",
    title="Routings",
    table=Routing,
    create_model=md.RoutingIn,
    update_model=md.RoutingPatch,
    read_model=md.RoutingOut,
    search_fields=("code", "item", "description"),
    filters=("item",),
    sort_fields=("code", "item", "version", "created_at", "updated_at"),
    references=(Reference("item", Item, "item"),),
    unique_together=(("item", "version"),),
    children=Children(
        field="operations",
        table=RoutingOperation,
        parent_column="routing",
        model=md.RoutingOperationIn,
        order_by="sequence",
        csv_prefix="operation_",
        references=(Reference("work_centre", WorkCentre, "work_centre"),),
    ),
    rules=routing_rules,
    list_columns=("code", "item", "version"),
)

CUSTOMERS = Resource(
    entity="customer",
    path="customers",
    title="Customers",
    table=Customer,
    create_model=md.CustomerIn,
    update_model=md.CustomerPatch,
    read_model=md.CustomerOut,
    search_fields=("code", "name", "address"),
    filters=("grade", "currency"),
    sort_fields=("code", "name", "grade", "credit_limit", "created_at", "updated_at"),
    list_columns=("code", "name", "grade", "currency", "credit_limit"),
)

SUPPLIERS = Resource(
    entity="supplier",
    path="suppliers",
    title="Suppliers",
    table=Supplier,
    create_model=md.SupplierIn,
    update_model=md.SupplierPatch,
    read_model=md.SupplierOut,
    search_fields=("code", "name", "address"),
    filters=("currency",),
    sort_fields=("code", "name", "payment_terms_days", "created_at", "updated_at"),
    children=Children(
        field="items",
        table=SupplierItem,
        parent_column="supplier",
        model=md.SupplierItemIn,
        order_by="item",
        csv_prefix="supplied_",
        references=(Reference("item", Item, "item"),),
    ),
    rules=supplier_rules,
    list_columns=("code", "name", "currency"),
)

# In dependency order: a record's references come before it (the order a CSV import of everything must follow).
RESOURCES: tuple[Resource, ...] = (
    UNITS,
    SITES,
    WAREHOUSES,
    LOCATIONS,
    CREWS,
    WORK_CENTRES,
    ITEMS,
    BOMS,
    ROUTINGS,
    CUSTOMERS,
    SUPPLIERS,
)
