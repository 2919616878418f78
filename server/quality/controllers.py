"""REST endpoints of quality: inspection plans (/api/inspection-plans), holds, releases and inspections at a desk
(/api/quality) and nonconformances with their disposition (/api/nonconformances). Reading needs quality.read,
writing quality.write; every write is one transaction calling `server.quality.service`, audited."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, post, put
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.quality import (
    DispositionIn,
    HeldStock,
    HoldIn,
    InspectionOut,
    InspectionPlanIn,
    InspectionPlanOut,
    InspectionPlanUpdate,
    NcrStatus,
    NonconformanceOut,
    QualityRecordArgs,
)
from server.accounts.identity import requires
from server.db import write_transaction
from server.actors import office_who
from server.quality import service

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)]
Limit = Annotated[int, Parameter(ge=1, le=500)]
Offset = Annotated[int, Parameter(ge=0, le=10**9)]


class InspectionPlanController(Controller):
    path = "/api/inspection-plans"
    tags = ["Quality"]

    @get("/", guards=[requires("quality.read")], summary="List inspection plans", operation_id="list_inspection_plans")
    async def list_plans(self, item: CodeFilter = None, limit: Limit = 50, offset: Offset = 0) -> Page[InspectionPlanOut]:
        return Page[InspectionPlanOut](**await service.list_plans(item=item, limit=limit, offset=offset))

    @get("/{item:str}", guards=[requires("quality.read")], summary="The inspection plan of one item",
         operation_id="get_inspection_plan")
    async def get_plan(self, item: CodePath) -> InspectionPlanOut:
        return await service.get_plan(item)

    @post("/", guards=[requires("quality.write")], status_code=HTTP_201_CREATED,
          summary="Create an item's inspection plan (it reaches every device)", operation_id="create_inspection_plan")
    async def create_plan(self, request: Request, data: InspectionPlanIn) -> InspectionPlanOut:
        async with write_transaction():
            return await service.create_plan(data, office_who(request))

    @put("/{item:str}", guards=[requires("quality.write")],
         summary="Replace a plan's description and characteristics (send the version you read)",
         operation_id="update_inspection_plan")
    async def update_plan(self, request: Request, item: CodePath, data: InspectionPlanUpdate) -> InspectionPlanOut:
        async with write_transaction():
            return await service.update_plan(item, data, office_who(request))

    @delete("/{item:str}", guards=[requires("quality.write")], summary="Delete an item's inspection plan",
            operation_id="delete_inspection_plan")
    async def delete_plan(self, request: Request, item: CodePath) -> None:
        async with write_transaction():
            await service.delete_plan(item, office_who(request))


class QualityController(Controller):
    path = "/api/quality"
    tags = ["Quality"]

    @get("/holds", guards=[requires("quality.read")], summary="Stock on hold (or in quarantine), from on-hand",
         operation_id="list_held_stock")
    async def held(self, item: CodeFilter = None, location: CodeFilter = None,
                   status: Literal["hold", "quarantine"] = "hold", limit: Limit = 100, offset: Offset = 0) -> Page[HeldStock]:
        rows, total = await service.list_held(item=item, location=location, status=status, limit=limit, offset=offset)
        return Page[HeldStock](items=[HeldStock(**r) for r in rows], total=total, limit=limit, offset=offset)

    @post("/holds", guards=[requires("quality.write")], status_code=HTTP_201_CREATED,
          summary="Put available stock on hold where it lies", operation_id="hold_stock")
    async def hold(self, request: Request, data: HoldIn) -> dict[str, Any]:
        async with write_transaction():
            return await service.hold_stock(data, office_who(request))

    @post("/holds/release", guards=[requires("quality.write")], status_code=HTTP_200_OK,
          summary="Release held stock without an inspection", operation_id="release_stock")
    async def release(self, request: Request, data: HoldIn) -> dict[str, Any]:
        async with write_transaction():
            return await service.release_stock(data, office_who(request))

    @get("/inspections", guards=[requires("quality.read")], summary="Recorded inspections, newest first",
         operation_id="list_inspections")
    async def inspections(self, item: CodeFilter = None, lot: CodeFilter = None, limit: Limit = 50,
                          offset: Offset = 0) -> Page[InspectionOut]:
        return Page[InspectionOut](**await service.list_inspections(item=item, lot=lot, limit=limit, offset=offset))

    @post("/inspections", guards=[requires("quality.write")], status_code=HTTP_201_CREATED,
          summary="Record an inspection at a desk (what a device's quality.record does)", operation_id="record_inspection")
    async def record(self, request: Request, data: QualityRecordArgs) -> dict[str, Any]:
        async with write_transaction():
            return await service.record_inspection(data, office_who(request))


class NonconformanceController(Controller):
    path = "/api/nonconformances"
    tags = ["Quality"]

    @get("/", guards=[requires("quality.read")], summary="List nonconformances, newest first",
         operation_id="list_nonconformances")
    async def list_ncrs(self, status: NcrStatus | None = None, item: CodeFilter = None, limit: Limit = 50,
                        offset: Offset = 0) -> Page[NonconformanceOut]:
        return Page[NonconformanceOut](**await service.list_nonconformances(status=status, item=item, limit=limit,
                                                                           offset=offset))

    @get("/{code:str}", guards=[requires("quality.read")], summary="One nonconformance", operation_id="get_nonconformance")
    async def get_ncr(self, code: CodePath) -> NonconformanceOut:
        return await service.get_nonconformance(code)

    @post("/{code:str}/disposition", guards=[requires("quality.write")], status_code=HTTP_200_OK,
          summary="Decide the disposition; the NCR closes", operation_id="decide_disposition")
    async def disposition(self, request: Request, code: CodePath, data: DispositionIn) -> NonconformanceOut:
        async with write_transaction():
            return await service.decide_disposition(code, data, office_who(request))


QUALITY_CONTROLLERS = [InspectionPlanController, QualityController, NonconformanceController]
