"""Shipments, their lines, handling units (by SSCC) and what each holds, and the proof-of-delivery chain.
Quantities are integers of micro-units like the stock ledger's."""

from piccolo.columns import BigInt, Boolean, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.masterdata.tables import Item, Site, Warehouse
from server.sales.tables import SalesOrder


class Shipment(Table, tablename="shipment"):
    """Goods for one sales order, picked in one warehouse, driven on one route. `pick_list` is the FEFO plan made
    when the shipment was planned (JSON text), what the pickers' devices show."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    sales_order = ForeignKey(SalesOrder, target_column=SalesOrder.code, on_delete=OnDelete.restrict, index=True)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    ship_from = ForeignKey(Warehouse, target_column=Warehouse.code, on_delete=OnDelete.restrict)
    route = Varchar(length=40, null=True, default=None, index=True)
    vehicle = Varchar(length=40, null=True, default=None)
    status = Varchar(length=20, index=True)
    pick_list = Text(default="[]")
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    loaded_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)


class ShipmentLine(Table, tablename="shipment_line"):
    """One sales order line (same line number) as far as this shipment carries it."""

    id = Serial(primary_key=True)
    shipment = ForeignKey(Shipment, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()
    packed_quantity_micro = BigInt(default=0)
    delivered_quantity_micro = BigInt(default=0)
    shortfall_quantity_micro = BigInt(default=0)


class ShipmentCounter(Table, tablename="shipment_counter"):
    """The last number handed out per year: SHP-2026-0001…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)


class HandlingUnit(Table, tablename="handling_unit"):
    """A pallet or carton, known by the SSCC on its label."""

    id = Serial(primary_key=True)
    sscc = Varchar(length=18, unique=True)
    shipment = ForeignKey(Shipment, on_delete=OnDelete.restrict, index=True)
    status = Varchar(length=12)
    vehicle = Varchar(length=40, null=True, default=None)
    packed_at = Timestamptz()
    loaded_at = Timestamptz(null=True, default=None)
    device_id = Varchar(length=64, null=True, default=None)


class HandlingUnitContent(Table, tablename="handling_unit_content"):
    id = Serial(primary_key=True)
    handling_unit = ForeignKey(HandlingUnit, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    lot = Varchar(length=40, default="")
    location = Varchar(length=40)
    quantity_micro = BigInt()
    serials = Text(default="[]")
    fefo_deviation = Boolean(default=False)
    mutation_id = Varchar(length=64, null=True, default=None)


class SsccCounter(Table, tablename="sscc_counter"):
    """The last SSCC serial reference this server handed out (one row): SSCCs are never reused."""

    id = Serial(primary_key=True)
    last_reference = BigInt(default=0)


class ProofOfDelivery(Table, tablename="proof_of_delivery"):
    """The customer's signature and what was delivered, chained: `hash` is SHA-256 over the canonical record, which
    includes `previous_hash`, the hash of the proof before it. Every hashed value is stored as the text that was
    hashed, so verifying recomputes exactly; the signature and photo are kept as base64 beside their SHA-256."""

    id = Serial(primary_key=True)
    sequence = Integer(unique=True)
    shipment = Varchar(length=40, unique=True)
    sales_order = Varchar(length=40)
    signer_name = Varchar(length=200)
    signed_at = Varchar(length=40)
    recorded_at = Varchar(length=40)
    signature_png = Text()
    signature_sha256 = Varchar(length=64)
    photo_jpeg = Text(null=True, default=None)
    photo_sha256 = Varchar(length=64, null=True, default=None)
    position = Text(null=True, default=None)
    shortfalls = Text(default="[]")
    delivered = Text(default="[]")
    device_id = Varchar(length=64, null=True, default=None)
    mutation_id = Varchar(length=64, null=True, default=None)
    hash = Varchar(length=64, unique=True)
    previous_hash = Varchar(length=64)


class ProofChainHead(Table, tablename="proof_chain_head"):
    """The chain's last sequence and hash (one row). Taking it with UPDATE … RETURNING locks it until commit, so two
    signatures chain one after the other, never onto the same predecessor."""

    id = Serial(primary_key=True)
    last_sequence = Integer(default=0)
    last_hash = Varchar(length=64, default="")
