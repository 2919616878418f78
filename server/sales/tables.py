"""Sales orders, their lines, every version of them (revisions), the reviews they pass, the payments against them
and the review policy. Quantities are integers of micro-units, like the stock ledger they ship from
(server/inventory/stock.py `to_micro`), so ordered, shipped and backorder compare exactly; money is Numeric in the
order's currency (the customer's)."""

from decimal import Decimal

from piccolo.columns import (
    JSON, BigInt, Boolean, Date, ForeignKey, Integer, Numeric, OnDelete, Serial, Text, Timestamptz, Varchar,
)
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
    currency = Varchar(length=3, default="CNY")
    payment_terms_days = Integer(default=30)
    delivery_address = Text(default="")
    customer_reference = Varchar(length=80, default="")  # the customer's own PO number
    source = Varchar(length=10, default="manual")  # manual | import | api | quote
    contract = Varchar(length=40, null=True, default=None)  # placed under this sales contract
    quote = Varchar(length=40, null=True, default=None)  # converted from this quote
    # An API client's Idempotency-Key: the same key twice is one order (a unique index of its own migration: SQLite
    # cannot add a UNIQUE column to a table).
    idempotency_key = Varchar(length=200, null=True, default=None)
    hold_reason = Text(default="")
    held_from = Varchar(length=20, null=True, default=None)  # where a release of the hold returns to
    hold_kind = Varchar(length=10, default="")  # credit (the credit check held it: an approver releases) | manual
    paid_amount = Numeric(digits=(18, 4), default=Decimal(0))
    created_by = Varchar(length=64)
    submitted_by = Varchar(length=64, null=True, default=None)
    submitted_at = Timestamptz(null=True, default=None)
    approved_by = Varchar(length=64, null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class SalesOrderLine(Table, tablename="sales_order_line"):
    id = Serial(primary_key=True)
    sales_order = ForeignKey(SalesOrder, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()
    unit_price = Numeric(digits=(18, 4), default=Decimal(0))
    discount_pct = Numeric(digits=(7, 4), default=Decimal(0))
    due_date = Date()  # the date the customer asked for
    promised_date = Date(null=True, default=None)  # the date we promised, when it differs
    # order promising (server/planning/promising.py): its date, how (atp | ctp), why (a catalog key and its values)
    promise_date = Date(null=True, default=None)
    promise_atp_date = Date(null=True, default=None)
    promise_method = Varchar(length=3, default="")
    promise_reason = Varchar(length=60, default="")
    promise_params = JSON(default={})
    promised_at = Timestamptz(null=True, default=None)
    shipped_quantity_micro = BigInt(default=0)
    backorder_quantity_micro = BigInt(default=0)


class SalesOrderCounter(Table, tablename="sales_order_counter"):
    """The last number handed out per year: SO-2026-0001, SO-2026-0002…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)


class SalesOrderRevision(Table, tablename="sales_order_revision"):
    """One version of an order: who did what, when, which fields changed, and the whole order as it then was."""

    id = Serial(primary_key=True)
    sales_order = ForeignKey(SalesOrder, on_delete=OnDelete.cascade, index=True)
    version = Integer()
    action = Varchar(length=30)
    actor = Varchar(length=64)
    at = Timestamptz()
    reason = Text(default="")
    changes = JSON(default=[])  # [{"field", "before", "after"}]
    snapshot = JSON(default={})


class SalesOrderReview(Table, tablename="sales_order_review"):
    """The checks an order passed or failed when submitted, and the approver's decision on it."""

    id = Serial(primary_key=True)
    sales_order = ForeignKey(SalesOrder, on_delete=OnDelete.cascade, index=True)
    version = Integer()
    at = Timestamptz()
    checks = JSON(default=[])  # [{"check", "passed", "code", "message", "details"}]
    outcome = Varchar(length=20)  # the status the review put the order in
    decision = Varchar(length=20, null=True, default=None)  # approved | rejected
    decided_by = Varchar(length=64, null=True, default=None)
    decided_at = Timestamptz(null=True, default=None)
    note = Text(default="")


class SalesPayment(Table, tablename="sales_payment"):
    """Money received against an order (recorded at a desk or imported from accounting)."""

    id = Serial(primary_key=True)
    sales_order = ForeignKey(SalesOrder, on_delete=OnDelete.cascade, index=True)
    amount = Numeric(digits=(18, 4))
    paid_on = Date()
    reference = Varchar(length=80, default="")
    recorded_by = Varchar(length=64)
    recorded_at = Timestamptz()


class SalesPolicy(Table, tablename="sales_policy"):
    """The review an order passes on submission (one row): which checks run, the discount threshold, whether a
    clean review approves by itself, which roles may approve past each check, and above which value or discount
    the approver must not be the order's author."""

    id = Serial(primary_key=True)
    credit_check = Boolean(default=True)
    discount_check = Boolean(default=True)
    max_discount_pct = Numeric(digits=(7, 4), default=Decimal(10))
    auto_approve = Boolean(default=True)
    promise_check = Boolean(default=False)  # a promise later than the requested date waits for an approver
    approvers = JSON(default={})  # {"credit": ["sales_manager"], "discount": [...], "contract": [...]}
    # Above these an approver must be someone other than the order's author (None: no such limit).
    other_approver_above_value = Numeric(digits=(18, 4), null=True, default=None)
    other_approver_above_discount_pct = Numeric(digits=(7, 4), null=True, default=Decimal(20))
    updated_by = Varchar(length=64, default="system")
    updated_at = Timestamptz()


class SalesOrderAlert(Table, tablename="sales_order_alert"):
    """A line found late or at risk, announced once (`sales_order.late`) per risk it reaches. Unique on
    (sales_order, line_no, risk) through an index of its own migration."""

    id = Serial(primary_key=True)
    sales_order = Varchar(length=40, index=True)
    line_no = Integer()
    risk = Varchar(length=10)
    first_seen_at = Timestamptz()


# -- pricing, contracts and quotes (server/sales/pricing/) ------------------------------

class PriceList(Table, tablename="price_list"):
    """Prices in one currency over a validity period: per item a list price with quantity breaks, per customer grade
    a discount."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    name = Varchar(length=200)
    currency = Varchar(length=3)
    valid_from = Date()
    valid_to = Date(null=True, default=None)  # open-ended when empty
    grade_discounts = JSON(default={})  # {"A": "8", "B": "3", "C": "0"}: % off for a customer of that grade
    archived = Boolean(default=False)
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class PriceListItem(Table, tablename="price_list_item"):
    id = Serial(primary_key=True)
    price_list = ForeignKey(PriceList, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    list_price = Numeric(digits=(18, 4))
    breaks = JSON(default=[])  # [{"from_quantity": "100", "unit_price": "9.50"}]: from that many units, that price


class SalesContract(Table, tablename="sales_contract"):
    """A customer's agreement: prices and quantities per item over a validity period, and payment terms."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    customer = ForeignKey(Customer, target_column=Customer.code, on_delete=OnDelete.restrict)
    currency = Varchar(length=3)
    valid_from = Date()
    valid_to = Date()
    payment_terms_days = Integer(default=30)
    notes = Text(default="")
    created_by = Varchar(length=64)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class SalesContractItem(Table, tablename="sales_contract_item"):
    id = Serial(primary_key=True)
    contract = ForeignKey(SalesContract, on_delete=OnDelete.cascade, index=True)
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    agreed_price = Numeric(digits=(18, 4))
    agreed_quantity_micro = BigInt()  # over the contract's whole life


class SalesQuote(Table, tablename="sales_quote"):
    """An offer to a customer, priced from the price lists (or a contract); converted once into a sales order."""

    id = Serial(primary_key=True)
    code = Varchar(length=40, unique=True)
    customer = ForeignKey(Customer, target_column=Customer.code, on_delete=OnDelete.restrict)
    site = ForeignKey(Site, target_column=Site.code, on_delete=OnDelete.restrict)
    contract = Varchar(length=40, null=True, default=None)
    currency = Varchar(length=3)
    valid_until = Date()
    status = Varchar(length=20, index=True)
    notes = Text(default="")
    review = JSON(default=[])  # the checks it passed or failed when submitted
    sales_order = Varchar(length=40, null=True, default=None)  # the order it became
    created_by = Varchar(length=64)
    submitted_by = Varchar(length=64, null=True, default=None)
    approved_by = Varchar(length=64, null=True, default=None)
    approved_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    version = Integer(default=1)


class SalesQuoteLine(Table, tablename="sales_quote_line"):
    id = Serial(primary_key=True)
    quote = ForeignKey(SalesQuote, on_delete=OnDelete.cascade, index=True)
    line_no = Integer()
    item = ForeignKey(Item, target_column=Item.code, on_delete=OnDelete.restrict)
    quantity_micro = BigInt()
    unit_price = Numeric(digits=(18, 4))
    discount_pct = Numeric(digits=(7, 4), default=Decimal(0))
    reference_price = Numeric(digits=(18, 4), null=True, default=None)  # what the discount is measured against
    price_source = Varchar(length=20, default="manual")  # contract | price_list | manual
    due_date = Date(null=True, default=None)


class SalesQuoteCounter(Table, tablename="sales_quote_counter"):
    """The last number handed out per year: QT-2026-0001…"""

    id = Serial(primary_key=True)
    year = Integer(unique=True)
    last_number = Integer(default=0)
