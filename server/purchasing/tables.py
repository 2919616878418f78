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
    # When the line is expected: the date ordered until the supplier confirms another, then the confirmed date.
    # Whatever reads a purchase line's date (MRP's scheduled receipts, order tracking, promising, the devices) reads
    # this one column, so a confirmation moves them all; the date as ordered is kept in `ordered_due_date`.
    due_date = Date()
    received_quantity_micro = BigInt(default=0)
    status = Varchar(length=12, default="open")
    # Supply pegged for an order: bought for this sales order, or for this production order's materials.
    sales_order = Varchar(length=40, null=True, default=None, index=True)
    production_order = Varchar(length=40, null=True, default=None, index=True)
    # The supplier's confirmation as the buyer recorded it (null: none yet). `ordered_due_date` is the due date as
    # ordered, set when the first confirmation moves `due_date`.
    confirmed_quantity_micro = BigInt(null=True, default=None)
    confirmed_date = Date(null=True, default=None)
    confirmed_by = Varchar(length=64, null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    ordered_due_date = Date(null=True, default=None)


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


class Rfq(Table, tablename="rfq"):
    """A request for quotation: items and quantities wanted at a site by a date, asked of several suppliers, whose
    quotes are compared and one awarded (it becomes a draft purchase order, `purchase_order`)."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    needed_by = Date()
    currency = Varchar(length=3)  # every quote is asked, recorded and compared in it
    status = Varchar(length=20, index=True)
    notes = Text(default="")
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)
    sent_at = Timestamptz(null=True, default=None)
    awarded_supplier = Varchar(length=40, null=True, default=None)
    purchase_order = Varchar(length=40, null=True, default=None)
    awarded_by = Varchar(length=64, null=True, default=None)
    awarded_at = Timestamptz(null=True, default=None)


class RfqLine(Table, tablename="rfq_line"):
    id = Serial(primary_key=True)
    rfq = ForeignKey(Rfq, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()


class RfqSupplier(Table, tablename="rfq_supplier"):
    """A supplier asked to quote (once per RFQ: a unique index, purchasing migration rfq_unique)."""

    id = Serial(primary_key=True)
    rfq = ForeignKey(Rfq, on_delete=OnDelete.cascade, index=True)
    supplier = ForeignKey(Supplier, target_column=Supplier.code, on_delete=OnDelete.restrict)


class RfqCounter(Table, tablename="rfq_counter"):
    """The last number handed out per year: RFQ-2026-0001, RFQ-2026-0002…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)


class SupplierQuote(Table, tablename="supplier_quote"):
    """One supplier's answer to an RFQ, as the buyer recorded it (recorded again, it replaces the earlier one: one
per RFQ and supplier, a unique index)."""

    id = Serial(primary_key=True)
    rfq = ForeignKey(Rfq, on_delete=OnDelete.cascade, index=True)
    supplier = ForeignKey(Supplier, target_column=Supplier.code, on_delete=OnDelete.restrict)
    lead_time_days = Integer()
    valid_until = Date()
    notes = Text(default="")
    recorded_by = Varchar(length=64)
    recorded_at = Timestamptz()


class SupplierQuoteLine(Table, tablename="supplier_quote_line"):
    """The price of one RFQ line: `unit_price`, or a break's price from its quantity up ([{"min_quantity",
    "unit_price"}], text values); the supplier sells at least `min_quantity_micro`."""

    id = Serial(primary_key=True)
    quote = ForeignKey(SupplierQuote, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    unit_price = Numeric(digits=(18, 4), default=Decimal(0))
    min_quantity_micro = BigInt(default=0)
    price_breaks = JSON(default=[])
