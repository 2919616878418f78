"""REST endpoints of planning: MRP under /api/mrp (run it for a site with planning.write; read runs, planned
orders with their pegging, exceptions in the caller's language, one item's time-phased record and the pegging tree
of a demand with planning.read), the planning settings, finite-capacity schedules under /api/schedules, and order
promising of a sales order on request (sales.write, like submitting it)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post, put
from litestar.params import Parameter
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import (
    HTTP_200_OK, HTTP_201_CREATED, HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY,
)

from schemas.errors import ErrorBody
from schemas.planning import (
    FirmedOut, FirmIn, MrpRunIn, MrpRunOut, PlanExceptionOut, PlannedOrderOut, PlanningSettingsIn, PlanningSettingsOut,
    PlanRecordOut, ScheduleOut, ScheduleRequest, ScheduleRunOut,
)
from server.accounts.identity import requires
from server.actors import office_who
from server.errors import refuse
from server.db import write_transaction
from server.planning import firming, schedules, service
from server.purchasing import rfq_rules
from schemas.purchasing import RfqFromPlanIn, RfqOut
from schemas.sales import LinePromiseOut
from server.i18n import translate
from server.planning import promising
from server.quantities import from_micro
from server.sales import service as sales_service

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)]
RunId = Annotated[int, Parameter(ge=1, le=2**31 - 1)]
NO_PLAN = {HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False,
                                            description="The site has no completed run yet (`no_plan`)")}
RUN_REFUSALS = {
    HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False, description="No such site (`not_found`)"),
    HTTP_409_CONFLICT: ResponseSpec(ErrorBody, generate_examples=False,
                                    description="A run of the site is under way (`mrp_running`)"),
}


class MrpController(Controller):
    path = "/api/mrp"
    tags = ["Planning"]

    @post("/runs", guards=[requires("planning.write")], status_code=HTTP_201_CREATED, responses=RUN_REFUSALS,
          summary="Run MRP for a site now: a new plan, the previous ones kept", operation_id="run_mrp")
    async def run(self, request: Request, data: MrpRunIn) -> MrpRunOut:
        return await service.run_mrp(data.site, office_who(request))

    @get("/runs", guards=[requires("planning.read")], summary="MRP runs, newest first", operation_id="list_mrp_runs")
    async def runs(self, site: CodeFilter = None, limit: Annotated[int, Parameter(ge=1, le=200)] = 20) -> list[MrpRunOut]:
        return await service.list_runs(site, limit)

    @get("/runs/latest", guards=[requires("planning.read")], summary="The latest completed run of a site", responses=NO_PLAN,
         operation_id="latest_mrp_run")
    async def latest(self, site: Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]) -> MrpRunOut:
        return await service.latest_run(site)

    @get("/runs/{run_id:int}", guards=[requires("planning.read")], summary="One MRP run", operation_id="get_mrp_run")
    async def one(self, run_id: RunId) -> MrpRunOut:
        return await service.get_run(run_id)

    @get("/runs/{run_id:int}/planned-orders", guards=[requires("planning.read")],
         summary="The run's planned orders with the demands each serves", operation_id="list_planned_orders")
    async def planned(self, run_id: RunId, item: CodeFilter = None,
                      kind: Literal["production", "purchase"] | None = None,
                      period: Annotated[int | None, Parameter(ge=1, le=10_000)] = None,
                      limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
                      offset: Annotated[int, Parameter(ge=0, le=10**7)] = 0) -> list[PlannedOrderOut]:
        return await service.planned_orders(run_id, item=item, kind=kind, period=period, limit=limit, offset=offset)

    @get("/runs/{run_id:int}/exceptions", guards=[requires("planning.read")],
         summary="The run's exception messages, in the caller's language", operation_id="list_plan_exceptions")
    async def exceptions(self, request: Request, run_id: RunId, item: CodeFilter = None,
                         code: Annotated[str | None, Parameter(max_length=30, pattern=r"^[a-z_]+$")] = None,
                         limit: Annotated[int, Parameter(ge=1, le=5000)] = 500,
                         offset: Annotated[int, Parameter(ge=0, le=10**7)] = 0) -> list[PlanExceptionOut]:
        return await service.plan_exceptions(run_id, request.user.language, item=item, code=code, limit=limit,
                                             offset=offset)

    @get("/runs/{run_id:int}/records/{item:str}", guards=[requires("planning.read")],
         summary="One item's time-phased MRP record in the run", operation_id="get_plan_record")
    async def record(self, run_id: RunId, item: CodePath) -> PlanRecordOut:
        return await service.plan_record(run_id, item)

    @get("/runs/{run_id:int}/pegging", guards=[requires("planning.read")],
         summary="What supplies a demand (a sales order line sales:SO-…:10, a forecast, a planned order), down the BOM",
         operation_id="get_pegging")
    async def pegging(self, run_id: RunId,
                      demand: Annotated[str, Parameter(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9._:@-]+$")]
                      ) -> list[dict[str, Any]]:
        return await service.pegging_tree(run_id, demand)

    @post("/runs/{run_id:int}/firm-production", guards=[requires("planning.write")], status_code=HTTP_200_OK,
          summary="Firm planned production of the latest plan into draft production orders (twice: nothing twice)",
          operation_id="firm_planned_production")
    async def firm_production(self, request: Request, run_id: RunId, data: FirmIn) -> list[FirmedOut]:
        if data.suppliers:
            raise refuse("suppliers_not_for_production", "Suppliers are chosen for purchases, not production")
        async with write_transaction():
            return await firming.firm_production(run_id, data.keys, office_who(request))

    @post("/runs/{run_id:int}/firm-purchases", guards=[requires("purchasing.write")], status_code=HTTP_200_OK,
          summary="Firm planned purchases of the latest plan into draft purchase orders, one per supplier",
          operation_id="firm_planned_purchases")
    async def firm_purchases(self, request: Request, run_id: RunId, data: FirmIn) -> list[FirmedOut]:
        async with write_transaction():
            return await firming.firm_purchases(run_id, data.keys, data.supplier_of(), office_who(request))


class RfqFromPlanController(Controller):
    path = "/api/rfqs"
    tags = ["Requests for quotation"]

    @post("/from-plan", guards=[requires("purchasing.write")], status_code=HTTP_201_CREATED,
          responses={HTTP_409_CONFLICT: ResponseSpec(ErrorBody, generate_examples=False, description=(
              "Not the site's latest plan (`plan_superseded`), or a planned order firmed already "
              "(`planned_order_firmed`)"))},
          summary="A draft request for quotation for planned purchases of the latest plan, which it marks as handled",
          operation_id="create_rfq_from_plan")
    async def from_plan(self, request: Request, data: RfqFromPlanIn) -> RfqOut:
        async with write_transaction():
            rfq = await firming.rfq_from_plan(data, office_who(request))
        return rfq.model_copy(update={"open_actions": rfq_rules.open_actions(rfq.status, request.user.permissions)})


class PlanningSettingsController(Controller):
    path = "/api/planning/settings"
    tags = ["Planning"]

    @get("/", guards=[requires("planning.read")], summary="How MRP buckets time, how far it looks, how often it runs",
         operation_id="get_planning_settings")
    async def read(self) -> PlanningSettingsOut:
        return PlanningSettingsOut(**await service.planning_settings())

    @put("/", guards=[requires("planning.write")], summary="Change the planning settings (audited)",
         operation_id="update_planning_settings")
    async def update(self, request: Request, data: PlanningSettingsIn) -> PlanningSettingsOut:
        async with write_transaction():
            return PlanningSettingsOut(**await service.update_settings(data.model_dump(), office_who(request)))


class PromiseController(Controller):
    path = "/api/sales-orders"
    tags = ["Sales orders"]

    @post("/{code:str}/promise", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          responses={HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False,
                                                      description="No such sales order (`not_found`)")},
          summary="Promise the order's lines again: available to promise from stock and receipts, else capable to "
                  "promise in the current schedule; kept on the lines", operation_id="promise_sales_order")
    async def promise(self, request: Request, code: CodePath) -> list[LinePromiseOut]:
        async with write_transaction():
            await sales_service.SALES_ORDERS.lock(code)
            await sales_service.SALES_ORDERS.load(code)
            promises = await promising.promise_order(code)
        lang = request.user.language
        return [LinePromiseOut(line=p.line_no, item=p.item, quantity=from_micro(p.quantity_micro),
                               requested_date=p.requested, promise_date=p.promise_date, atp_date=p.atp_date,
                               method=p.method, reason=p.reason, params=p.params,
                               message=translate(lang, p.reason, **p.params)) for p in promises]


SCHEDULE_REFUSALS = {
    HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False, description="No such site (`not_found`)"),
    HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(ErrorBody, generate_examples=False, description=(
        "A pin names an operation that is not scheduled (`unknown_operation`) or is kept in place (`pin_frozen`), or a "
        "work centre that does not exist (`unknown_work_centre`); a pin says neither when nor where "
        "(`pin_without_target`), its time has no zone (`pin_without_time_zone`), an operation is pinned twice "
        "(`pinned_twice`)")),
}
DECISION_REFUSALS = {
    HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False, description="No such schedule (`not_found`)"),
    HTTP_409_CONFLICT: ResponseSpec(ErrorBody, generate_examples=False, description=(
        "It is no longer a proposal (`schedule_not_proposed`), or the accepted schedule it started from has been "
        "replaced since (`schedule_stale`): propose again")),
}


class ScheduleController(Controller):
    """Finite-capacity schedules of a site (server/planning/schedules.py): propose, read, accept or discard."""

    path = "/api/schedules"
    tags = ["Planning"]

    @post("/", guards=[requires("planning.write")], status_code=HTTP_201_CREATED, responses=SCHEDULE_REFUSALS,
          summary="Propose a schedule of the site's released and firmed production orders", operation_id="propose_schedule")
    async def propose(self, request: Request, data: ScheduleRequest) -> ScheduleOut:
        return await schedules.propose(data.site, office_who(request), seconds=data.seconds,
                                       pins=[pin.model_dump() for pin in data.pins])

    @get("/", guards=[requires("planning.read")], summary="Schedules, newest first", operation_id="list_schedules",
         responses={HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False,
                                                     description="No such site (`not_found`)")})
    async def runs(self, site: CodeFilter = None,
                   limit: Annotated[int, Parameter(ge=1, le=200)] = 20) -> list[ScheduleRunOut]:
        return await schedules.list_runs(site, limit)

    @get("/accepted", guards=[requires("planning.read")], summary="The site's accepted schedule, with every operation",
         responses={HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False, description=(
             "The site has no accepted schedule yet (`no_schedule`)"))}, operation_id="accepted_schedule")
    async def accepted(self, site: Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]) -> ScheduleOut:
        return await schedules.get_schedule((await schedules.accepted_run(site)).id)

    @get("/{run_id:int}", guards=[requires("planning.read")], summary="One schedule, with every operation and what moved",
         operation_id="get_schedule")
    async def one(self, run_id: RunId) -> ScheduleOut:
        return await schedules.get_schedule(run_id)

    @post("/{run_id:int}/accept", guards=[requires("planning.write")], status_code=HTTP_200_OK,
          responses=DECISION_REFUSALS, summary="Accept a proposed schedule: it replaces the accepted one",
          operation_id="accept_schedule")
    async def accept(self, request: Request, run_id: RunId) -> ScheduleRunOut:
        async with write_transaction():
            return await schedules.accept(run_id, office_who(request))

    @post("/{run_id:int}/discard", guards=[requires("planning.write")], status_code=HTTP_200_OK,
          responses=DECISION_REFUSALS, summary="Discard a proposed schedule", operation_id="discard_schedule")
    async def discard(self, request: Request, run_id: RunId) -> ScheduleRunOut:
        async with write_transaction():
            return await schedules.discard(run_id, office_who(request))
