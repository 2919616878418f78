"""Contracts of planning: the MRP problem file of `floorsync mrp FILE` (DESIGN.md section 6), and forecasts (expected
demand of an item at a site per period)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from schemas.common import Code, Contract, Percent, PositivePercent, Quantity

Period = Field(ge=1, le=10_000)


class LotSizeIn(Contract):
    """`fixed`: whole lots of `quantity`; `minimum`: at least `quantity`; `multiple`: rounded up to whole
    multiples of `quantity`; `period`: what covers `periods` periods. `minimum_quantity`, `multiple_of` and
    `maximum_quantity` add to any rule."""

    rule: Literal["lot_for_lot", "fixed", "minimum", "multiple", "period"] = "lot_for_lot"
    quantity: Quantity | None = None
    periods: int = Field(default=1, ge=1, le=1000)
    minimum_quantity: Quantity | None = None
    multiple_of: Quantity | None = None
    maximum_quantity: Quantity | None = None

    @model_validator(mode="after")
    def _quantity_for_rule(self) -> LotSizeIn:
        if self.rule in ("fixed", "minimum", "multiple") and not self.quantity:
            raise ValueError(f"the {self.rule} rule needs a quantity above 0")
        return self


class LotIn(Contract):
    quantity: Quantity
    usable_through: int = Field(ge=0, le=10_000, description="the last period whose needs this lot may serve")


class MrpItemIn(Contract):
    code: Code
    lead_time: int = Field(default=0, ge=0, le=10_000)
    on_hand: Quantity = Decimal(0)
    lots: list[LotIn] = Field(default_factory=list, max_length=1000, description="on hand that expires, besides on_hand")
    safety_stock: Quantity = Decimal(0)
    lot_size: LotSizeIn = Field(default_factory=LotSizeIn)
    time_fence: int = Field(default=0, ge=0, le=10_000)
    yield_pct: PositivePercent = Decimal(100)
    scheduled_receipts: dict[str, Quantity] = Field(default_factory=dict)


class BomLinkIn(Contract):
    parent: Code
    child: Code
    quantity: Quantity
    scrap_pct: Percent = Decimal(0)


class MrpProblemIn(Contract):
    horizon: int = Field(ge=1, le=10_000)
    items: list[MrpItemIn] = Field(max_length=1_000_000)
    bom: list[BomLinkIn] = Field(default_factory=list)
    gross_requirements: dict[str, dict[str, Quantity]] = Field(default_factory=dict)


class MrpRunIn(Contract):
    site: Code


class MrpRunOut(BaseModel):
    id: int
    site: str
    status: Literal["running", "completed", "failed"]
    trigger: str
    bucket: Literal["day", "week"]
    horizon: int
    start_date: date
    started_by: str
    started_at: datetime
    finished_at: datetime | None = None
    seconds: float | None = None
    planned_orders: int = 0
    exceptions: int = 0
    error: str = ""


class PegOut(BaseModel):
    item: str
    demand: str
    demand_kind: str
    demand_period: int
    supply: str
    supply_kind: str
    supply_period: int
    quantity: str


class PlannedOrderOut(BaseModel):
    key: str
    item: str
    kind: Literal["production", "purchase"]
    quantity: str
    release_period: int
    receipt_period: int
    release_date: date
    receipt_date: date
    supplier: str | None = None
    firmed_as: str | None = None
    pegging: list[PegOut] = Field(default_factory=list)


class PlanExceptionOut(BaseModel):
    item: str
    period: int
    code: str
    quantity: str
    message: str
    demands: list[str] = Field(default_factory=list)


class PlanRecordOut(BaseModel):
    """The time-phased record of one item: one figure per period, periods starting at `period_starts`."""

    item: str
    low_level_code: int
    on_hand: str
    period_starts: list[date]
    gross_requirements: list[str]
    scheduled_receipts: list[str]
    projected_on_hand: list[str]
    net_requirements: list[str]
    planned_order_receipts: list[str]
    planned_order_releases: list[str]
    supplies: list[PegOut] = Field(default_factory=list)


PlannedKey = Annotated[str, StringConstraints(min_length=3, max_length=60, pattern=r"^[A-Za-z0-9._-]+@[0-9]+$")]


class SupplierChoice(Contract):
    key: PlannedKey
    supplier: Code


class FirmIn(Contract):
    """The planned orders to firm, by key (ITEM@period); for purchases, `suppliers` may choose another supplier
    for some keys than the one the plan proposes."""

    keys: list[PlannedKey] = Field(min_length=1, max_length=500)
    suppliers: list[SupplierChoice] = Field(default_factory=list, max_length=500)

    def supplier_of(self) -> dict[str, str]:
        return {choice.key: choice.supplier for choice in self.suppliers}


class FirmedOut(BaseModel):
    key: str
    firmed_as: str = Field(description="The draft production order or purchase order it became")
    created: bool = Field(description="False when it had been firmed before: nothing was created again")
    quantity: str = ""


class PlanningSettingsIn(Contract):
    bucket: Literal["day", "week"] = "week"
    horizon: int = Field(default=26, ge=1, le=400, description="How many periods a run plans")
    auto_run_minutes: int = Field(default=0, ge=0, le=10_080, description="Run MRP by itself this often (0: never)")
    frozen_hours: int = Field(default=4, ge=0, le=168, description=(
        "Operations of the accepted schedule that start within this many hours keep their place when it is re-planned"))
    downtime_minutes: int = Field(default=120, ge=1, le=10_080, description=(
        "How long a work centre reported down is expected to stay down when the schedule is re-planned around it"))
    behind_minutes: int = Field(default=60, ge=1, le=10_080, description=(
        "An operation this many working minutes behind the accepted schedule raises an alert (production.behind_plan)"))


class PlanningSettingsOut(PlanningSettingsIn):
    updated_by: str = ""
# -- forecasts -----------------------------------------------------------------------------------------------------

MAX_FORECASTS_PER_PUT = 5000
PeriodStart = Annotated[date, Field(description=(
    "The first day of the forecast's bucket (planning settings: a Monday for weekly buckets, any day for daily)"))]


class ForecastIn(Contract):
    site: Code
    item: Code
    period_start: PeriodStart
    quantity: Quantity = Field(description="Expected demand in the period, in the item's unit; 0 deletes the forecast")


class ForecastOut(BaseModel):
    id: int
    site: str
    item: str
    period_start: date
    quantity: Quantity
    updated_by: str
    updated_at: datetime


class ForecastsSaved(BaseModel):
    """What one PUT did: forecasts written (created or changed), deleted by a quantity of 0, and sent as they were;
    `forecasts` are those of the request that remain, as stored."""

    saved: int
    deleted: int
    unchanged: int
    forecasts: list[ForecastOut]


class ForecastImportResult(BaseModel):
    dry_run: bool
    rows: int
    saved: int
    deleted: int
    unchanged: int


# -- schedules -----------------------------------------------------------------------------------------------------

OperationRef = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._\-]{1,40}/\d{1,6}$", max_length=48), Field(
    description="An operation of a production order: the order's code and the routing sequence, e.g. PRD-000012/20")]
MAX_PINS = 100


class PinIn(Contract):
    operation: OperationRef
    not_before: datetime | None = Field(default=None, description=(
        "Start at this time, or as soon after it as the operation's predecessors and its machine allow"))
    work_centre: Code | None = Field(default=None, description="Run it on this work centre instead of the routing's")


class ScheduleRequest(Contract):
    """A pin names a time (with its time zone), a work centre or both, and an operation is pinned once: refused
    otherwise with 422 (`pin_without_target`, `pin_without_time_zone`, `pinned_twice`)."""

    site: Code
    seconds: float = Field(default=10, ge=0.5, le=120, description="The solver's time limit")
    pins: list[PinIn] = Field(default_factory=list, max_length=MAX_PINS)


class ScheduleRunOut(BaseModel):
    id: int
    site: str
    status: Literal["proposed", "accepted", "superseded", "discarded"]
    reason: str
    based_on: int | None = None
    created_by: str
    created_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    engine_status: Literal["optimal", "feasible", "list", "kept"] = Field(description=(
        "optimal: proven; feasible: the solver's best within the limit; list: the earliest-due-date list schedule; "
        "kept: the accepted schedule still holds and nothing found is better, so nothing moved"))
    seconds: float
    weighted_tardiness: int = Field(description="Minutes late times each order's weight, summed")
    setup_minutes: int
    flow_time: int
    makespan: int
    bound: int = Field(description="The best bound on the weighted tardiness")
    gap: float
    list_weighted_tardiness: int = Field(description="The earliest-due-date list scheduler's, for comparison")
    list_setup_minutes: int
    operations: int
    late_orders: int
    moved: int = Field(description="Operations whose start, work centre or machine differ from the schedule it started from")
    pins: list[dict] = Field(default_factory=list)
    problems: list[dict] = Field(default_factory=list, description=(
        "Operations of the accepted schedule inside the frozen window that could not keep their place, and why "
        "({operation, reason}); orders left out because a work centre they need cannot be scheduled at all "
        "({order, work_centre, reason}: calendar_too_short, no_machines...)"))


class ScheduledOperationOut(BaseModel):
    operation: str
    production_order: str
    sequence: int
    item: str
    work_centre: str
    machine: int
    start_at: datetime
    end_at: datetime
    minutes: int
    setup_minutes: int
    due_at: datetime
    late_minutes: int = Field(description="How late its order ends (on the order's last operation; 0: on time)")
    frozen: bool
    moved: bool = Field(description="Its start, work centre or machine differ from the schedule this one started from")
    sales_order: str | None = None


class ScheduleOut(ScheduleRunOut):
    scheduled: list[ScheduledOperationOut]


class DispatchOperationOut(BaseModel):
    position: int = Field(ge=1, description="Its place in the work centre's sequence, from 1")
    production_order: str
    item: str
    item_name: str
    quantity: str = Field(description="The production order's quantity, a decimal string")
    unit: str
    sequence: int = Field(description="The operation's sequence in the order's routing")
    operation: str = Field(description="What the routing says the operation is")
    start_at: datetime
    end_at: datetime
    machine: int = Field(description="Which of the work centre's machines, numbered from 0 as in the schedule")
    late: bool = Field(description="Its order ends after its due time in this schedule")
    frozen: bool = Field(description="Kept in place: started, or within the frozen window")


class DispatchListOut(BaseModel):
    """The feed entity `dispatch` (keyed by work centre code): the work centre's next operations in the site's accepted
    schedule, in the order they are to run."""

    work_centre: str
    site: str
    run: int = Field(description="The accepted schedule it comes from")
    accepted_at: datetime
    operations: list[DispatchOperationOut]
