"""Contracts of master data records: what a client sends to create or change one, and what it gets back."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from schemas.common import Code, Contract, Days, LongText, Minutes, Money, Name, Percent, PositivePercent, PositiveQuantity, Quantity, ShortText


def gtin_is_valid(digits: str) -> bool:
    """GS1 check digit (mod 10, weights 3 and 1 from the right) of a GTIN-8/12/13/14."""
    if not digits.isdigit() or len(digits) not in (8, 12, 13, 14):
        return False
    body, check = digits[:-1], int(digits[-1])
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == check


def _gtin(value: str) -> str:
    if not gtin_is_valid(value):
        raise ValueError("not a GTIN-8/12/13/14 with a correct check digit")
    return value.zfill(14)


# The lengths are the pattern's; the check digit is a rule (422 invalid_check_digit, server/errors.py).
Gtin = Annotated[str, Field(min_length=8, max_length=14, pattern=r"^([0-9]{8}|[0-9]{12,14})$"), AfterValidator(_gtin)]
ItemType = Literal["raw", "semi_finished", "finished"]
# How a component reaches a production order: issued by the floor (`manual`: a report without it is flagged
# under-issued), issued before the operation consuming it may report (`required`: refused until then), or issued
# by the report itself from the work centre's issue location (`backflush`).
IssueMethod = Literal["manual", "required", "backflush"]
# Whether MRP plans an item's supply as production (make) or a purchase (buy); a new item sent without it is made
# or bought as its type says (`make_or_buy_of`).
MakeOrBuy = Literal["make", "buy"]
# How MRP sizes one order: what the period needs (lot_for_lot), whole multiples of lot_quantity (fixed), or what
# lot_periods periods need from the first one short (period order quantity).
LotRule = Literal["lot_for_lot", "fixed", "period"]
LotPeriods = Annotated[int, Field(ge=1, le=52, description="Periods one order covers under the period rule (1-52)")]
# An item's setup family: a short code that a work centre's setup matrix names (empty: the item has none of its own).
SetupFamily = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]*)?$"),
                        Field(description="Setup family for sequence-dependent setups (a work centre's setup matrix); empty: none")]
# Empty: the item's supplier decides, then the default of 5 % (server/purchasing/rules.py `receipt_tolerance`).
TOLERANCE = "How much more than ordered may be received, in % of the ordered quantity; empty = the default"


class Stamped(BaseModel):
    archived: bool
    created_at: datetime
    updated_at: datetime


class UnitIn(Contract):
    code: Code
    name: Name
    decimals: int = Field(default=0, ge=0, le=6, description="Decimal places quantities in this unit may have")


class UnitPatch(Contract):
    name: Name | None = None
    decimals: int | None = Field(default=None, ge=0, le=6)


class UnitOut(UnitIn, Stamped):
    pass


def make_or_buy_of(item_type: str) -> MakeOrBuy:
    """A raw material is bought, anything semi-finished or finished made, unless the item says otherwise."""
    return "buy" if item_type == "raw" else "make"


class ItemIn(Contract):
    code: Code
    name: Name
    type: ItemType
    unit: Code
    gtin: Gtin | None = None
    lot_tracked: bool = False
    serial_tracked: bool = False
    shelf_life_days: Days | None = None
    inspection_required: bool = False
    safety_stock: Quantity = Field(default=Decimal(0))
    lead_time_days: Days = 0
    standard_cost: Money = Field(default=Decimal(0))
    price: Money = Field(default=Decimal(0))
    description: LongText = ""
    receipt_tolerance_pct: Percent | None = Field(default=None, description=TOLERANCE)
    make_or_buy: MakeOrBuy | None = Field(
        default=None, description="make: MRP plans production orders; buy: purchase orders. Empty: by type (raw: buy)")
    lot_rule: LotRule = Field(default="lot_for_lot", description="How MRP sizes an order")
    lot_quantity: Quantity = Field(default=Decimal(0), description="The lot of the fixed rule (above 0 for it)")
    lot_periods: LotPeriods = 1
    order_minimum: Quantity = Field(default=Decimal(0), description="The smallest order; 0: none")
    order_multiple: Quantity = Field(default=Decimal(0), description="Orders are rounded up to multiples of it; 0: none")
    order_maximum: Quantity = Field(default=Decimal(0), description="The largest order; 0: none (else at least the minimum)")
    planning_time_fence_days: Days = Field(default=0, description="Days from today inside which MRP plans no new order")
    setup_family: SetupFamily = ""

    @model_validator(mode="after")
    def _make_or_buy_by_type(self) -> ItemIn:
        if self.make_or_buy is None:
            self.make_or_buy = make_or_buy_of(self.type)
        return self


class ItemPatch(Contract):
    name: Name | None = None
    type: ItemType | None = None
    unit: Code | None = None
    gtin: Gtin | None = None
    lot_tracked: bool | None = None
    serial_tracked: bool | None = None
    shelf_life_days: Days | None = None
    inspection_required: bool | None = None
    safety_stock: Quantity | None = None
    lead_time_days: Days | None = None
    standard_cost: Money | None = None
    price: Money | None = None
    description: LongText | None = None
    receipt_tolerance_pct: Percent | None = None
    make_or_buy: MakeOrBuy | None = None
    lot_rule: LotRule | None = None
    lot_quantity: Quantity | None = None
    lot_periods: LotPeriods | None = None
    order_minimum: Quantity | None = None
    order_multiple: Quantity | None = None
    order_maximum: Quantity | None = None
    planning_time_fence_days: Days | None = None
    setup_family: SetupFamily | None = None


class ItemOut(ItemIn, Stamped):
    make_or_buy: MakeOrBuy  # type: ignore[assignment]


@cache
def _iana_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _iana_timezone(value: str) -> str:
    if value not in _iana_zones():
        raise ValueError("not an IANA time zone name such as Asia/Shanghai or Europe/Berlin")
    return value


# The shape of a name is the document's pattern; whether the tz database has it is a rule (422 unknown_timezone,
# server/errors.py): an enum of its 600 names would make every client (and the fuzzer) try them all.
TIME_ZONE_PATTERN = r"^\s*[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*\s*$"
TimeZoneName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=TIME_ZONE_PATTERN),
                         AfterValidator(_iana_timezone)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{3}$"), Field(description="ISO 4217, e.g. CNY")]
ClockTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$"), Field(description="HH:MM")]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+()./ -]*$")]
Email = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$")]
LineNumber = Annotated[int, Field(ge=1, le=9999)]
Version = Annotated[int, Field(ge=1, le=9999)]
LocationKind = Literal["storage", "receiving", "shipping", "production", "quarantine"]
Grade = Literal["A", "B", "C"]
DocumentLanguage = Literal["zh", "en"]
ORDER_EMAIL = ("Where requests for quotation and purchase orders are e-mailed; empty: the first contact's e-mail")
SUPPLIER_LANGUAGE = "The language the supplier's documents are written in; none: the language of whoever sends them"
IsoWeekday = Annotated[int, Field(ge=1, le=7, description="1 = Monday … 7 = Sunday")]


class SiteIn(Contract):
    code: Code
    name: Name
    address: LongText = ""
    timezone: TimeZoneName


class SitePatch(Contract):
    name: Name | None = None
    address: LongText | None = None
    timezone: TimeZoneName | None = None


class SiteOut(SiteIn, Stamped):
    pass


class WarehouseIn(Contract):
    code: Code
    name: Name
    site: Code


class WarehousePatch(Contract):
    name: Name | None = None
    site: Code | None = None


class WarehouseOut(WarehouseIn, Stamped):
    pass


class LocationIn(Contract):
    code: Code = Field(description="What the bin label encodes")
    name: Name
    warehouse: Code
    kind: LocationKind = "storage"


class LocationPatch(Contract):
    name: Name | None = None
    warehouse: Code | None = None
    kind: LocationKind | None = None


class LocationOut(LocationIn, Stamped):
    pass


class Shift(Contract):
    name: Name
    start: ClockTime
    end: ClockTime = Field(description="Earlier than start when the shift crosses midnight")

    @model_validator(mode="after")
    def _has_length(self) -> Shift:
        if self.start == self.end:
            raise ValueError("a shift must end at another time than it starts")
        return self


def _distinct_days(days: list[int]) -> list[int]:
    if len(set(days)) != len(days):
        raise ValueError("a weekday appears twice")
    return days


WorkingDays = Annotated[list[IsoWeekday], Field(max_length=7, json_schema_extra={"uniqueItems": True}), AfterValidator(_distinct_days)]
Shifts = Annotated[list[Shift], Field(max_length=12)]
Holidays = Annotated[list[date], Field(max_length=1000)]
SETUP_MINUTES_MAX = 10080  # a week: a changeover longer than that is no setup


class SetupChange(Contract):
    """One entry of a work centre's setup matrix: the minutes to change over from an item of one setup family to
    one of another (the same family twice: between two orders of that family, a cleaning say)."""

    from_family: Code
    to_family: Code
    minutes: int = Field(ge=0, le=SETUP_MINUTES_MAX, description="Whole minutes, 0 to 10080")


SetupMatrix = Annotated[list[SetupChange], Field(max_length=2500, description="Pairs a centre does not list cost nothing")]
EfficiencyPct = PositivePercent
ParallelCapacity = Annotated[int, Field(ge=1, le=10000, description="Machines or stations working in parallel")]


Operators = Annotated[int, Field(ge=0, le=1000, description="Operators of the crew at work at once")]


class CrewShift(Contract):
    """How many operators a crew has on a shift of its work centres' calendars, by the shift's name."""

    shift: Name
    operators: Operators


CrewShifts = Annotated[list[CrewShift], Field(max_length=24, description="Shifts it does not list have the default")]


class CrewIn(Contract):
    code: Code
    name: Name
    site: Code
    operators: CrewShifts = Field(default_factory=list)
    default_operators: Operators = 1


class CrewPatch(Contract):
    name: Name | None = None
    site: Code | None = None
    operators: CrewShifts | None = None
    default_operators: Operators | None = None


class CrewOut(CrewIn, Stamped):
    pass


class WorkCentreIn(Contract):
    code: Code
    name: Name
    site: Code | None = None
    parallel_capacity: ParallelCapacity = 1
    efficiency_pct: EfficiencyPct = Field(default=Decimal(100))
    shifts: Shifts = Field(default_factory=list)
    working_days: WorkingDays = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    holidays: Holidays = Field(default_factory=list)
    setup_matrix: SetupMatrix = Field(default_factory=list)
    issue_location: Code | None = Field(default=None, description="Where backflushed material is taken from")
    crew: Code | None = Field(default=None, description="The crew of its site whose operators it needs (none: no shared crew)")


class WorkCentrePatch(Contract):
    name: Name | None = None
    site: Code | None = None
    parallel_capacity: ParallelCapacity | None = None
    efficiency_pct: EfficiencyPct | None = None
    shifts: Shifts | None = None
    working_days: WorkingDays | None = None
    holidays: Holidays | None = None
    setup_matrix: SetupMatrix | None = None
    issue_location: Code | None = None
    crew: Code | None = None


class WorkCentreOut(WorkCentreIn, Stamped):
    pass


class BomLineIn(Contract):
    line_no: LineNumber
    component: Code = Field(description="Item code of the component")
    quantity: PositiveQuantity = Field(description="Quantity per one unit of the parent item")
    scrap_pct: Percent = Field(default=Decimal(0))
    issue_method: IssueMethod = Field(default="manual", description="How the component is issued to production orders")
    operation: LineNumber | None = Field(default=None, description="The routing operation consuming it (none: the first)")


Components = Annotated[list[BomLineIn], Field(max_length=500)]


class BomIn(Contract):
    code: Code
    item: Code
    version: Version = 1
    description: LongText = ""
    valid_from: date | None = None
    components: Components = Field(default_factory=list)


class BomPatch(Contract):
    item: Code | None = None
    version: Version | None = None
    description: LongText | None = None
    valid_from: date | None = None
    components: Components | None = None


class BomOut(BomIn, Stamped):
    pass


class RoutingOperationIn(Contract):
    sequence: LineNumber
    work_centre: Code
    description: LongText = ""
    setup_minutes: Minutes = Field(default=Decimal(0))
    run_minutes_per_unit: Minutes = Field(default=Decimal(0))


Operations = Annotated[list[RoutingOperationIn], Field(max_length=200)]


YieldPct = Annotated[PositivePercent, Field(description="Good output per unit started, in % (above 0, at most 100)")]


class RoutingIn(Contract):
    code: Code
    item: Code
    version: Version = 1
    description: LongText = ""
    yield_pct: YieldPct = Decimal(100)
    operations: Operations = Field(default_factory=list)


class RoutingPatch(Contract):
    item: Code | None = None
    version: Version | None = None
    description: LongText | None = None
    yield_pct: YieldPct | None = None
    operations: Operations | None = None


class RoutingOut(RoutingIn, Stamped):
    pass


class Contact(Contract):
    name: Name
    role: ShortText = ""
    phone: Phone = ""
    email: Email = ""


Contacts = Annotated[list[Contact], Field(max_length=50)]


class CustomerIn(Contract):
    code: Code
    name: Name
    grade: Grade = "B"
    credit_limit: Money = Field(default=Decimal(0))
    currency: Currency
    payment_terms_days: Days = 30
    address: LongText = ""
    contacts: Contacts = Field(default_factory=list)


class CustomerPatch(Contract):
    name: Name | None = None
    grade: Grade | None = None
    credit_limit: Money | None = None
    currency: Currency | None = None
    payment_terms_days: Days | None = None
    address: LongText | None = None
    contacts: Contacts | None = None


class CustomerOut(CustomerIn, Stamped):
    pass


class SupplierItemIn(Contract):
    item: Code
    supplier_item_code: Annotated[ShortText, StringConstraints(max_length=40)] = ""
    price: Money = Field(default=Decimal(0))
    lead_time_days: Days = 0
    min_order_quantity: Quantity = Field(default=Decimal(0))
    preferred: bool = False


ItemsSupplied = Annotated[list[SupplierItemIn], Field(max_length=2000)]


class SupplierIn(Contract):
    code: Code
    name: Name
    currency: Currency
    payment_terms_days: Days = 30
    address: LongText = ""
    contacts: Contacts = Field(default_factory=list)
    items: ItemsSupplied = Field(default_factory=list)
    receipt_tolerance_pct: Percent | None = Field(default=None, description=TOLERANCE)
    order_email: Email = Field(default="", description=ORDER_EMAIL)
    language: DocumentLanguage | None = Field(default=None, description=SUPPLIER_LANGUAGE)


class SupplierPatch(Contract):
    name: Name | None = None
    currency: Currency | None = None
    payment_terms_days: Days | None = None
    address: LongText | None = None
    contacts: Contacts | None = None
    items: ItemsSupplied | None = None
    receipt_tolerance_pct: Percent | None = None
    order_email: Email | None = None
    language: DocumentLanguage | None = None


class SupplierOut(SupplierIn, Stamped):
    pass
