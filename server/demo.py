"""Demo data: a small office-chair factory in Ningbo. Loaded by `make run` (and `floorsync demo`) into an empty database.

Every record goes through the same record service as the office API, so the demo is validated and audited like
anything a user types in; the audit trail shows it as written by "system".
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel

from schemas import masterdata as md
from schemas.accounts import UserIn
from schemas.production import ProductionOrderIn
from schemas.purchasing import PurchaseOrderIn, PurchaseOrderLineIn
from schemas.quality import CharacteristicIn, InspectionPlanIn
from schemas.sales import SalesOrderIn, SalesOrderLineIn
from server.accounts.service import create_user
from server.accounts.tables import User
from server.actors import Who
from server.db import write_transaction
from server.masterdata.resources import (
    BOMS,
    CUSTOMERS,
    ITEMS,
    LOCATIONS,
    ROUTINGS,
    SITES,
    SUPPLIERS,
    UNITS,
    WAREHOUSES,
    WORK_CENTRES,
)
from server.production import service as production
from server.purchasing import service as purchasing
from server.quality import service as quality
from server.records.resource import Resource
from server.records.service import create_record
from server.sales import service as sales

DEMO_PASSWORD = "floorsync-demo"
DEMO_LOGINS: list[tuple[str, str, str]] = [
    ("admin", DEMO_PASSWORD, "admin"),
    ("sales", DEMO_PASSWORD, "sales"),
    ("manager", DEMO_PASSWORD, "sales_manager"),
    ("planner", DEMO_PASSWORD, "planner"),
    ("buyer", DEMO_PASSWORD, "buyer"),
    ("warehouse", DEMO_PASSWORD, "warehouse"),
    ("supervisor", DEMO_PASSWORD, "production_supervisor"),
    ("quality", DEMO_PASSWORD, "quality"),
    ("logistics", DEMO_PASSWORD, "logistics"),
    ("viewer", DEMO_PASSWORD, "viewer"),
]

D = Decimal
SITE = "NB1"

UNITS_DATA = [
    md.UnitIn(code="PCS", name="Piece", decimals=0),
    md.UnitIn(code="M", name="Metre", decimals=2),
    md.UnitIn(code="KG", name="Kilogram", decimals=3),
]

SITES_DATA = [
    md.SiteIn(code=SITE, name="Ningbo chair plant", address="88 Chuangye Road, Beilun District, Ningbo, Zhejiang",
              timezone="Asia/Shanghai"),
]

WAREHOUSES_DATA = [
    md.WarehouseIn(code="RM", name="Raw materials store", site=SITE),
    md.WarehouseIn(code="PRD", name="Shop floor", site=SITE),
    md.WarehouseIn(code="FG", name="Finished goods store", site=SITE),
]

# Location codes are printed on the bin labels (Code 128): aisle-rack-level for storage bins.
LOCATIONS_DATA = [
    md.LocationIn(code="RCV-01", name="Receiving dock 1", warehouse="RM", kind="receiving"),
    md.LocationIn(code="QC-01", name="Quarantine cage", warehouse="RM", kind="quarantine"),
    md.LocationIn(code="RM-A-01-01", name="Aisle A, rack 1, level 1", warehouse="RM", kind="storage"),
    md.LocationIn(code="RM-A-01-02", name="Aisle A, rack 1, level 2", warehouse="RM", kind="storage"),
    md.LocationIn(code="RM-A-02-01", name="Aisle A, rack 2, level 1", warehouse="RM", kind="storage"),
    md.LocationIn(code="RM-B-01-01", name="Aisle B, rack 1, level 1 (fabric rolls)", warehouse="RM", kind="storage"),
    md.LocationIn(code="RM-B-01-02", name="Aisle B, rack 1, level 2 (foam)", warehouse="RM", kind="storage"),
    md.LocationIn(code="PRD-CUT", name="Cutting line-side store", warehouse="PRD", kind="production"),
    md.LocationIn(code="PRD-SEW", name="Upholstery line-side store", warehouse="PRD", kind="production"),
    md.LocationIn(code="PRD-ASM", name="Assembly line-side store", warehouse="PRD", kind="production"),
    md.LocationIn(code="FG-01-01", name="Finished goods, rack 1, level 1", warehouse="FG", kind="storage"),
    md.LocationIn(code="FG-01-02", name="Finished goods, rack 1, level 2", warehouse="FG", kind="storage"),
    md.LocationIn(code="FG-02-01", name="Finished goods, rack 2, level 1", warehouse="FG", kind="storage"),
    md.LocationIn(code="SHP-01", name="Shipping dock 1", warehouse="FG", kind="shipping"),
    md.LocationIn(code="SHP-02", name="Shipping dock 2", warehouse="FG", kind="shipping"),
]

MON_TO_FRI, MON_TO_SAT = [1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 6]
# National Day golden week 2026 and Spring Festival 2027: the plant is closed.
PLANT_HOLIDAYS = [date(2026, 10, d) for d in range(1, 8)] + [date(2027, 2, d) for d in range(6, 13)]
TWO_SHIFTS = [md.Shift(name="Early", start="06:00", end="14:00"), md.Shift(name="Late", start="14:00", end="22:00")]
DAY_SHIFT = [md.Shift(name="Day", start="08:00", end="17:00")]


def _changes(*entries: tuple[str, str, int]) -> list[md.SetupChange]:
    return [md.SetupChange(from_family=a, to_family=b, minutes=m) for a, b, m in entries]


# Setup families (server/planning/schedule_snapshot.py): seat and backrest parts in mesh or wool, and mesh or
# upholstered chairs. The cutter loads another marker for another part (10 minutes); for another fabric it also
# changes blade and roll (30), and from wool back to mesh clears the lint off the table (45). The assembly line
# swaps its jig between mesh and upholstered chairs.
MESH_SEAT, MESH_BACK, WOOL_SEAT, WOOL_BACK = "MESH-SEAT", "MESH-BACK", "WOOL-SEAT", "WOOL-BACK"
MESH_CHAIR, WOOL_CHAIR = "MESH-CHAIR", "WOOL-CHAIR"
FABRIC_CHANGE_MINUTES = {("MESH", "WOOL"): 30, ("WOOL", "MESH"): 45}
CUTTING_CHANGES = _changes(*[(a, b, FABRIC_CHANGE_MINUTES.get((a[:4], b[:4]), 10))
                             for a in (MESH_SEAT, MESH_BACK, WOOL_SEAT, WOOL_BACK)
                             for b in (MESH_SEAT, MESH_BACK, WOOL_SEAT, WOOL_BACK) if a != b])
WORK_CENTRES_DATA = [
    md.WorkCentreIn(code="CUT", name="Fabric cutting", site=SITE, parallel_capacity=2, efficiency_pct=D("92"),
                    shifts=TWO_SHIFTS, working_days=MON_TO_FRI, holidays=PLANT_HOLIDAYS,
                    setup_matrix=CUTTING_CHANGES),
    md.WorkCentreIn(code="SEW", name="Sewing and upholstery", site=SITE, parallel_capacity=6, efficiency_pct=D("85"),
                    shifts=DAY_SHIFT, working_days=MON_TO_FRI, holidays=PLANT_HOLIDAYS),
    md.WorkCentreIn(code="ASM", name="Chair assembly line", site=SITE, parallel_capacity=4, efficiency_pct=D("90"),
                    shifts=TWO_SHIFTS, working_days=MON_TO_SAT, holidays=PLANT_HOLIDAYS,
                    setup_matrix=_changes((MESH_CHAIR, WOOL_CHAIR, 20), (WOOL_CHAIR, MESH_CHAIR, 20))),
    md.WorkCentreIn(code="PACK", name="Packing", site=SITE, parallel_capacity=2, efficiency_pct=D("95"),
                    shifts=DAY_SHIFT, working_days=MON_TO_SAT, holidays=PLANT_HOLIDAYS),
]


def _raw(code: str, name: str, unit: str = "PCS", **fields) -> md.ItemIn:
    return md.ItemIn(code=code, name=name, type="raw", unit=unit, **fields)


# GTINs where the goods really carry one: bought-in branded parts and our own chairs (company prefix 692345600);
# fabric by the metre, screws and boards in bulk have none. Check digits are valid (the contract refuses others).
ITEMS_DATA = [
    _raw("CST-50", "Nylon twin-wheel caster, 50 mm", gtin="6921103001012", lead_time_days=14, safety_stock=D(500),
         standard_cost=D("1.20")),
    _raw("BASE-NY5", "Nylon five-star base, 680 mm", gtin="6921103002019", lead_time_days=14, safety_stock=D(60),
         standard_cost=D("18.50")),
    _raw("ARM-2D", "2D adjustable armrests (pair)", gtin="6921103003016", lead_time_days=21, safety_stock=D(40),
         standard_cost=D("26.00")),
    _raw("GAS-C4", "Gas lift, class 4, 100 mm stroke", gtin="4006381005012", lead_time_days=28, safety_stock=D(60),
         standard_cost=D("22.00"), lot_tracked=True, inspection_required=True,
         description="Safety part (EN 1335): every lot is inspected before use"),
    _raw("MECH-SYN", "Synchro tilt mechanism", gtin="4006381005029", lead_time_days=28, safety_stock=D(30),
         standard_cost=D("48.00"), inspection_required=True),
    _raw("SCR-M6-20", "Screw M6 x 20, zinc plated", lead_time_days=7, safety_stock=D(2000), standard_cost=D("0.04")),
    _raw("FRAME-BACK", "Backrest frame, glass-fibre nylon", lead_time_days=21, safety_stock=D(40),
         standard_cost=D("15.00")),
    _raw("PLY-SEAT", "Seat board, 12 mm plywood", lead_time_days=10, safety_stock=D(50), standard_cost=D("6.50")),
    _raw("FOAM-SEAT", "Moulded seat foam, 50 kg/m3", lead_time_days=10, safety_stock=D(50), standard_cost=D("9.00"),
         lot_tracked=True),
    _raw("FOAM-BACK", "Moulded backrest foam, 40 kg/m3", lead_time_days=10, safety_stock=D(40),
         standard_cost=D("7.00"), lot_tracked=True),
    _raw("FAB-MESH-BK", "Mesh fabric, black, 1.4 m wide", unit="M", lead_time_days=15, safety_stock=D(100),
         standard_cost=D("12.00"), lot_tracked=True, description="Lot = dye batch; do not mix batches in one order"),
    _raw("FAB-WOOL-GR", "Wool-blend fabric, grey, 1.4 m wide", unit="M", lead_time_days=20, safety_stock=D(80),
         standard_cost=D("21.00"), lot_tracked=True, description="Lot = dye batch; do not mix batches in one order"),
    _raw("GLUE-PU", "Water-based upholstery adhesive", unit="KG", gtin="6922204001017", lead_time_days=7,
         safety_stock=D(20), standard_cost=D("14.00"), lot_tracked=True, shelf_life_days=180),
    _raw("CARTON-L", "Shipping carton, chair size", lead_time_days=7, safety_stock=D(100), standard_cost=D("3.20")),
    md.ItemIn(code="SA-MESH", name="Seat assembly, black mesh", type="semi_finished", unit="PCS", lead_time_days=1,
              standard_cost=D("32.00"), setup_family=MESH_SEAT),
    md.ItemIn(code="SA-WOOL", name="Seat assembly, grey upholstered", type="semi_finished", unit="PCS",
              lead_time_days=1, standard_cost=D("41.00"), setup_family=WOOL_SEAT),
    md.ItemIn(code="BA-MESH", name="Backrest assembly, black mesh", type="semi_finished", unit="PCS", lead_time_days=1,
              standard_cost=D("26.00"), setup_family=MESH_BACK),
    md.ItemIn(code="BA-WOOL", name="Backrest assembly, grey upholstered", type="semi_finished", unit="PCS",
              lead_time_days=1, standard_cost=D("40.00"), setup_family=WOOL_BACK),
    md.ItemIn(code="CH-ERGO", name="Ergo mesh task chair", type="finished", unit="PCS", gtin="6923456000018",
              serial_tracked=True, lead_time_days=3, safety_stock=D(20), standard_cost=D("215.00"), price=D("899.00"),
              setup_family=MESH_CHAIR),
    md.ItemIn(code="CH-EXEC", name="Executive chair, grey wool", type="finished", unit="PCS", gtin="6923456000025",
              serial_tracked=True, lead_time_days=3, safety_stock=D(10), standard_cost=D("240.00"),
              price=D("1299.00"), setup_family=WOOL_CHAIR),
    md.ItemIn(code="CH-TASK", name="Basic task chair, grey", type="finished", unit="PCS", gtin="6923456000032",
              lead_time_days=3, safety_stock=D(30), standard_cost=D("150.00"), price=D("499.00"), setup_family=WOOL_CHAIR),
]


def _bom(item: str, components: list[tuple[str, str, str]], description: str) -> md.BomIn:
    """components: (item code, quantity per parent, scrap %)."""
    return md.BomIn(
        code=f"BOM-{item}",
        item=item,
        version=1,
        valid_from=date(2026, 1, 1),
        description=description,
        components=[
            md.BomLineIn(line_no=10 * (n + 1), component=code, quantity=D(qty), scrap_pct=D(scrap))
            for n, (code, qty, scrap) in enumerate(components)
        ],
    )


# Two levels: chairs are built from seat and backrest assemblies (made here) and bought-in parts.
CHAIR_HARDWARE = [("BASE-NY5", "1", "0"), ("CST-50", "5", "0"), ("GAS-C4", "1", "0"), ("CARTON-L", "1", "0")]
BOMS_DATA = [
    _bom("SA-MESH", [("PLY-SEAT", "1", "0"), ("FOAM-SEAT", "1", "2"), ("FAB-MESH-BK", "0.8", "5"),
                     ("GLUE-PU", "0.05", "0"), ("SCR-M6-20", "4", "1")], "Mesh seat"),
    _bom("SA-WOOL", [("PLY-SEAT", "1", "0"), ("FOAM-SEAT", "1", "2"), ("FAB-WOOL-GR", "0.9", "8"),
                     ("GLUE-PU", "0.06", "0")], "Upholstered seat"),
    _bom("BA-MESH", [("FRAME-BACK", "1", "0"), ("FAB-MESH-BK", "0.7", "5")], "Mesh backrest"),
    _bom("BA-WOOL", [("FRAME-BACK", "1", "0"), ("FOAM-BACK", "1", "2"), ("FAB-WOOL-GR", "0.8", "8"),
                     ("GLUE-PU", "0.05", "0")], "Upholstered backrest"),
    _bom("CH-ERGO", [("SA-MESH", "1", "0"), ("BA-MESH", "1", "0"), ("MECH-SYN", "1", "0"), ("ARM-2D", "1", "0"),
                     *CHAIR_HARDWARE, ("SCR-M6-20", "12", "2")], "Ergo mesh chair"),
    _bom("CH-EXEC", [("SA-WOOL", "1", "0"), ("BA-WOOL", "1", "0"), ("MECH-SYN", "1", "0"), ("ARM-2D", "1", "0"),
                     *CHAIR_HARDWARE, ("SCR-M6-20", "12", "2")], "Executive chair"),
    _bom("CH-TASK", [("SA-WOOL", "1", "0"), ("BA-WOOL", "1", "0"), *CHAIR_HARDWARE, ("SCR-M6-20", "8", "2")],
         "Basic task chair, fixed backrest, no armrests"),
]


def _routing(item: str, operations: list[tuple[str, str, str, str]]) -> md.RoutingIn:
    """operations: (work centre, what is done, setup minutes, run minutes per unit)."""
    return md.RoutingIn(
        code=f"RTG-{item}",
        item=item,
        version=1,
        operations=[
            md.RoutingOperationIn(sequence=10 * (n + 1), work_centre=wc, description=text, setup_minutes=D(setup),
                                  run_minutes_per_unit=D(run))
            for n, (wc, text, setup, run) in enumerate(operations)
        ],
    )


ASSEMBLE_AND_PACK = [("ASM", "Assemble chair, function test", "20", "9"), ("PACK", "Bag, carton, label", "5", "2.5")]
ROUTINGS_DATA = [
    _routing("SA-MESH", [("CUT", "Cut mesh panels", "15", "1.5"), ("SEW", "Stretch mesh, glue foam, staple", "10", "6")]),
    _routing("SA-WOOL", [("CUT", "Cut wool panels", "15", "2"), ("SEW", "Sew cover, upholster seat", "10", "9")]),
    _routing("BA-MESH", [("CUT", "Cut mesh panels", "15", "1.2"), ("SEW", "Stretch mesh onto frame", "10", "5")]),
    _routing("BA-WOOL", [("CUT", "Cut wool panels", "15", "1.8"), ("SEW", "Sew cover, upholster backrest", "10", "8")]),
    _routing("CH-ERGO", ASSEMBLE_AND_PACK),
    _routing("CH-EXEC", ASSEMBLE_AND_PACK),
    _routing("CH-TASK", [("ASM", "Assemble chair, function test", "20", "6"), ("PACK", "Bag, carton, label", "5", "2")]),
]

CUSTOMERS_DATA = [
    md.CustomerIn(code="C-BJYB", name="北京优办家具有限公司", grade="A", credit_limit=D(800000), currency="CNY",
                  payment_terms_days=60, address="北京市朝阳区建国路 88 号",
                  contacts=[md.Contact(name="王芳", role="采购经理", phone="+86 10 6500 1234", email="wang.fang@youban.example.cn")]),
    md.CustomerIn(code="C-SHWK", name="上海维客办公设备有限公司", grade="B", credit_limit=D(300000), currency="CNY",
                  payment_terms_days=30, address="上海市浦东新区张江路 500 号",
                  contacts=[md.Contact(name="李强", role="采购", phone="+86 21 5080 6688", email="li.qiang@weike.example.cn"),
                            md.Contact(name="陈静", role="财务", phone="+86 21 5080 6689", email="chen.jing@weike.example.cn")]),
    md.CustomerIn(code="C-GZHX", name="广州华信贸易有限公司", grade="C", credit_limit=D(50000), currency="CNY",
                  payment_terms_days=0, address="广州市天河区体育西路 12 号",
                  contacts=[md.Contact(name="黄伟", role="老板", phone="+86 20 3888 1020")]),
    md.CustomerIn(code="C-BUEROWELT", name="Bürowelt GmbH", grade="A", credit_limit=D(150000), currency="EUR",
                  payment_terms_days=45, address="Hafenstraße 17, 20457 Hamburg, Germany",
                  contacts=[md.Contact(name="Anna Schmidt", role="Einkauf", phone="+49 40 3030 4400",
                                       email="a.schmidt@buerowelt.example.de")]),
    md.CustomerIn(code="C-ERGOWORKS", name="ErgoWorks Inc.", grade="B", credit_limit=D(120000), currency="USD",
                  payment_terms_days=30, address="410 Market Street, San Francisco, CA 94105, USA",
                  contacts=[md.Contact(name="Michael Chen", role="Sourcing manager", phone="+1 415 555 0142",
                                       email="m.chen@ergoworks.example.com")]),
]


def _supplied(item: str, price: str, lead_time_days: int, moq: str, supplier_code: str = "") -> md.SupplierItemIn:
    return md.SupplierItemIn(item=item, supplier_item_code=supplier_code, price=D(price), lead_time_days=lead_time_days,
                             min_order_quantity=D(moq))


SUPPLIERS_DATA = [
    md.SupplierIn(code="S-NBCASTOR", name="宁波恒力脚轮五金有限公司", currency="CNY", payment_terms_days=60,
                  address="宁波市鄞州区工业园 3 号",
                  contacts=[md.Contact(name="周敏", role="销售", phone="+86 574 8811 2233", email="zhou.min@hengli.example.cn")],
                  items=[_supplied("CST-50", "1.15", 14, "1000", "HL-C50"), _supplied("BASE-NY5", "18.00", 14, "100", "HL-B680"),
                         _supplied("ARM-2D", "25.50", 21, "100", "HL-A2D"), _supplied("SCR-M6-20", "0.035", 7, "5000")]),
    md.SupplierIn(code="S-LIFTTEC", name="Lift-Tec Gasfedern GmbH", currency="EUR", payment_terms_days=30,
                  address="Industriestraße 5, 56070 Koblenz, Germany",
                  contacts=[md.Contact(name="Jonas Weber", role="Key account", phone="+49 261 8090 100",
                                       email="j.weber@lift-tec.example.de")],
                  items=[_supplied("GAS-C4", "2.80", 28, "500", "LT-4-100"), _supplied("MECH-SYN", "6.10", 28, "200", "LT-SYN3")]),
    md.SupplierIn(code="S-SXTEXTILE", name="绍兴织锦纺织有限公司", currency="CNY", payment_terms_days=45,
                  address="绍兴市柯桥区纺织城 21 号",
                  contacts=[md.Contact(name="孙丽", role="业务员", phone="+86 575 8512 7788", email="sun.li@zhijin.example.cn")],
                  items=[_supplied("FAB-MESH-BK", "11.50", 15, "200", "ZJ-M140-BK"),
                         _supplied("FAB-WOOL-GR", "20.00", 20, "150", "ZJ-W140-GR")]),
    md.SupplierIn(code="S-FSFOAM", name="Foshan Comfort Foam & Frame Co., Ltd.", currency="CNY", payment_terms_days=30,
                  address="Shunde District, Foshan, Guangdong",
                  contacts=[md.Contact(name="Liang Hao", role="Sales", phone="+86 757 2233 4455",
                                       email="liang.hao@comfortfoam.example.cn")],
                  items=[_supplied("FOAM-SEAT", "8.60", 10, "200"), _supplied("FOAM-BACK", "6.70", 10, "200"),
                         _supplied("FRAME-BACK", "14.50", 21, "100"), _supplied("PLY-SEAT", "6.20", 10, "200"),
                         _supplied("GLUE-PU", "13.50", 7, "50"), _supplied("CARTON-L", "3.00", 7, "500")]),
]

# In reference order: a record's references are created before it.
DEMO_RECORDS: list[tuple[Resource, list[BaseModel]]] = [
    (UNITS, UNITS_DATA),
    (SITES, SITES_DATA),
    (WAREHOUSES, WAREHOUSES_DATA),
    (LOCATIONS, LOCATIONS_DATA),
    (WORK_CENTRES, WORK_CENTRES_DATA),
    (ITEMS, ITEMS_DATA),
    (BOMS, BOMS_DATA),
    (ROUTINGS, ROUTINGS_DATA),
    (CUSTOMERS, CUSTOMERS_DATA),
    (SUPPLIERS, SUPPLIERS_DATA),
]



def _purchase_order(supplier: str, notes: str, lines: list[tuple[str, str, str, int]]) -> PurchaseOrderIn:
    """lines: (item, quantity, unit price, days until due); due dates count from the day the demo is loaded."""
    return PurchaseOrderIn(supplier=supplier, site=SITE, notes=notes, lines=[
        PurchaseOrderLineIn(item=item, quantity=D(qty), unit_price=D(price), due_date=date.today() + timedelta(days=days))
        for item, qty, price, days in lines
    ])


# (purchase order, approve it): the approved ones are on the NB1 tablets, open for receiving (lot-tracked items).
PURCHASE_ORDERS_DATA = [
    (_purchase_order("S-LIFTTEC", "Gas lifts are inspected per lot on arrival",
                     [("GAS-C4", "500", "2.80", 7), ("MECH-SYN", "200", "6.10", 7)]), True),
    (_purchase_order("S-SXTEXTILE", "One dye batch per roll delivery",
                     [("FAB-MESH-BK", "300", "11.50", 5), ("FAB-WOOL-GR", "150", "20.00", 10)]), True),
    (_purchase_order("S-NBCASTOR", "Waiting for the quarterly price list",
                     [("CST-50", "2000", "1.15", 14), ("BASE-NY5", "100", "18.00", 14)]), False),
]

# Released, so the NB1 tablets at ASM and PACK have an order to issue to and report on.
PRODUCTION_ORDERS_DATA = [
    ProductionOrderIn(item="CH-ERGO", quantity=D(20), site=SITE, due_date=date.today() + timedelta(days=5),
                      notes="Weekly batch for the Bürowelt framework order"),
]

# Submitted through the review: the first is approved (no finished goods in stock yet: its shipment is planned once
# the chair order above reports them); the second is over the customer's credit limit and held; the third's
# discount waits for the sales manager.
SALES_ORDERS_DATA = [
    SalesOrderIn(customer="C-BUEROWELT", site=SITE, notes="Framework order, call-off 1", customer_reference="BW-4711",
                 lines=[SalesOrderLineIn(item="CH-ERGO", quantity=D(20), unit_price=D("189.00"),
                                         due_date=date.today() + timedelta(days=10))]),
    SalesOrderIn(customer="C-GZHX", site=SITE, notes="Trade fair stock", lines=[
        SalesOrderLineIn(item="CH-TASK", quantity=D(200), unit_price=D("320.00"), due_date=date.today() + timedelta(days=21)),
    ]),
    SalesOrderIn(customer="C-SHWK", site=SITE, notes="Showroom fit-out, 15 % agreed by phone", lines=[
        SalesOrderLineIn(item="CH-EXEC", quantity=D(10), unit_price=D("1280.00"), discount_pct=D(15),
                         due_date=date.today() + timedelta(days=14)),
    ]),
]


# The two safety parts arrive on hold (inspection_required): these plans are what a tablet checks them against.
INSPECTION_PLANS_DATA = [
    InspectionPlanIn(item="GAS-C4", description="EN 1335 incoming check, per lot", characteristics=[
        CharacteristicIn(name="Stroke", kind="numeric", unit="mm", lower_limit=D("98"), upper_limit=D("102")),
        CharacteristicIn(name="Extended length", kind="numeric", unit="mm", lower_limit=D("414"), upper_limit=D("420")),
        CharacteristicIn(name="Certificate of conformity", kind="pass_fail"),
        CharacteristicIn(name="Surface", kind="pass_fail", required=False),
    ]),
    InspectionPlanIn(item="MECH-SYN", description="Function check, sample of five", characteristics=[
        CharacteristicIn(name="Tilt lock", kind="pass_fail"),
        CharacteristicIn(name="Tension force", kind="numeric", unit="N", lower_limit=D("180"), upper_limit=D("260")),
    ]),
]


async def load_demo(only_if_empty: bool) -> list[tuple[str, str, str]] | None:
    """The demo users and factory, in one transaction; with only_if_empty, nothing when the database already has
    users."""
    if only_if_empty and await User.count() > 0:
        return None
    system = Who.system()
    async with write_transaction():  # the demo factory comes whole or not at all
        for username, password, role in DEMO_LOGINS:
            await create_user(
                UserIn(username=username, display_name=username.title(), password=password, roles=[role]), who=system
            )
        for resource, records in DEMO_RECORDS:
            for record in records:
                await create_record(resource, record, who=system)
        for order, approve in PURCHASE_ORDERS_DATA:
            created = await purchasing.create_purchase_order(order, who=system)
            if approve:
                await purchasing.approve_purchase_order(created.code, who=system)
        for order in PRODUCTION_ORDERS_DATA:
            made = await production.create_production_order(order, who=system)
            await production.release_production_order(made.code, who=system)
        for order in SALES_ORDERS_DATA:
            taken = await sales.create_sales_order(order, who=system)
            await sales.submit(taken.code, who=system)
        for plan in INSPECTION_PLANS_DATA:
            await quality.create_plan(plan, who=system)
    return DEMO_LOGINS
