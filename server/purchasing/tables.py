"""Purchase orders and their lines. Quantities are integers of micro-units, like the stock ledger they are
received into (server/inventory/stock.py `to_micro`), so ordered, received and tolerance compare exactly."""

from decimal import Decimal

from piccolo.columns import (
    JSON,
    BigInt,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from server.masterdata.tables import Item, Site, Supplier


class PurchaseOrder(Table, tablename="purchase_order"):
    """A PO as the buyer writes it; `version` grows with every change, for optimistic locking."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    supplier = ForeignKey(Supplier, target_column=Supplier.code, on_delete=OnDelete.restrict)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    status = Varchar(length=20, index=True)
    currency = Varchar(length=3)
    notes = Text(default="")
    created_by = Varchar(length=64)
    approved_by = Varchar(length=64, null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class PurchaseOrderLine(Table, tablename="purchase_order_line"):
    id = Serial(primary_key=True)
    purchase_order = ForeignKey(PurchaseOrder, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()
    unit_price = Numeric(digits=(18, 4), default=Decimal(0))
    due_date = Date()
    received_quantity_micro = BigInt(default=0)
    status = Varchar(length=12, default="open")
    # Supply pegged for an order: bought for this sales order, or for this production order's materials.
    sales_order = Varchar(length=40, null=True, default=None, index=True)
    production_order = Varchar(length=40, null=True, default=None, index=True)


class PurchaseOrderCounter(Table, tablename="purchase_order_counter"):
    """The last number handed out per year: PO-2026-0001, PO-2026-0002…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)


class PurchasingPolicy(Table, tablename="purchasing_policy"):
    """Who may approve a purchase order they wrote themselves (one row; none yet: FLOORSYNC_PO_APPROVAL_BY_OTHER_ABOVE
    for everyone): up to a role's own limit, else up to the default; above it someone else approves."""

    id = Serial(primary_key=True)
    other_approver_above = Numeric(digits=(18, 4), default=Decimal(10000))
    self_approval_limits = JSON(default={})  # {"buyer": "25000", "lead_buyer": "100000"}: role -> amount (text)
    updated_by = Varchar(length=64, default="system")
    updated_at = Timestamptz()
