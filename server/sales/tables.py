"""Sales orders and their lines. Quantities are integers of micro-units, like the stock ledger they ship from
(server/inventory/stock.py `to_micro`), so ordered, shipped and backorder compare exactly."""

from piccolo.columns import BigInt, Date, ForeignKey, Integer, OnDelete, Serial, Text, Timestamptz, Varchar
from piccolo.table import Table

from server.masterdata.tables import Customer, Item, Site


class SalesOrder(Table, tablename="sales_order"):
    """A customer's order; `version` grows with every change, for optimistic locking."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    customer = ForeignKey(Customer, target_column=Customer.code, on_delete=OnDelete.restrict)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    status = Varchar(length=20, index=True)
    notes = Text(default="")
    created_by = Varchar(length=64)
    confirmed_by = Varchar(length=64, null=True, default=None)
    confirmed_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class SalesOrderLine(Table, tablename="sales_order_line"):
    id = Serial(primary_key=True)
    sales_order = ForeignKey(SalesOrder, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()
    due_date = Date()
    shipped_quantity_micro = BigInt(default=0)
    backorder_quantity_micro = BigInt(default=0)


class SalesOrderCounter(Table, tablename="sales_order_counter"):
    """The last number handed out per year: SO-2026-0001, SO-2026-0002…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)
