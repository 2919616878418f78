"""REST endpoints of production orders under /api/production-orders: list (filters, paging), read with operations,
materials and progress, create, change a draft, release, cancel and close, and the traveller (one Code 128 per
operation) as PNG, SVG or PDF; downtime under /api/downtime. Reading needs production.read, writing
production.write; every write is one call into `server.production.service`.

Importing this module also registers the scan resolver for production orders and their traveller codes."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.production import (
    DowntimeOut,
    OrderStatus,
    ProductionOrderAction,
    ProductionOrderIn,
    ProductionOrderOut,
    ProductionOrderPatch,
)
from schemas.scan import DocumentScan, ScanResult
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.labels.kinds import Label, Operation, traveller_label
from server.labels.responses import label_response
from server.masterdata.tables import Item
from server.production import rules, service
from server.production.tables import Downtime, ProductionOrder

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)]
Sort = Literal["code", "-code", "created_at", "-created_at", "status", "-status", "due_date", "-due_date", "item", "-item"]


async def traveller_for(code: str) -> Label:
    order = await service.get_production_order(code)
    item = await Item.select(Item.name).where(Item.code == order.item).first()
    heading = f"{order.code} · {order.item} {item['name'] if item else ''} × {format(order.quantity, 'f')} · {order.due_date}"
    return traveller_label(order.code, heading, [Operation(op.sequence, f"{op.work_centre} {op.description}".strip())
                                                  for op in order.operations])


async def traveller_file(code: str, file_format: str) -> Response[Any]:
    return label_response(await traveller_for(code), file_format, f"traveller-{code}", title=f"Traveller {code}")


def _open(request: Request, order: ProductionOrderOut) -> ProductionOrderOut:
    """The order with what this caller may do to it now."""
    return order.model_copy(update={"open_actions": rules.open_actions(order.status, request.user.permissions)})


class ProductionOrderController(Controller):
    path = "/api/production-orders"
    tags = ["Production orders"]

    @get("/", guards=[requires("production.read")], summary="List production orders",
         operation_id="list_production_orders")
    async def list_orders(
        self,
        request: Request,
        status: Annotated[OrderStatus | None, Parameter(description="Only production orders in this status")] = None,
        item: CodeFilter = None,
        site: CodeFilter = None,
        work_centre: Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN,
                                                     description="Only orders with an operation on this work centre")] = None,
        q: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$",
                                           description="Search text in code and notes")] = None,
        sort: Annotated[Sort, Parameter(description="A field; '-' in front sorts descending")] = "-created_at",
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[ProductionOrderOut]:
        page = await service.list_production_orders(status=status, item=item, site=site, work_centre=work_centre, q=q,
                                                    sort=sort, limit=limit, offset=offset)
        return Page[ProductionOrderOut](**{**page, "items": [_open(request, order) for order in page["items"]]})

    @get("/{code:str}", guards=[requires("production.read")],
         summary="Get one production order with its operations, materials and progress", operation_id="get_production_order")
    async def get_order(self, request: Request, code: CodePath) -> ProductionOrderOut:
        return _open(request, await service.get_production_order(code))

    @post("/", guards=[requires("production.write")], status_code=HTTP_201_CREATED,
          summary="Create a draft production order", operation_id="create_production_order")
    async def create_order(self, request: Request, data: ProductionOrderIn) -> ProductionOrderOut:
        async with write_transaction():
            return _open(request, await service.create_production_order(data, office_who(request)))

    @patch("/{code:str}", guards=[requires("production.write")],
           summary="Change a draft (send the version you read)", operation_id="update_production_order")
    async def update_order(self, request: Request, code: CodePath, data: ProductionOrderPatch) -> ProductionOrderOut:
        async with write_transaction():
            return _open(request, await service.update_production_order(code, data, office_who(request)))

    @post("/{code:str}/release", guards=[requires("production.write")], status_code=HTTP_200_OK,
          summary="Release a draft: the routing's operations and the BOM's components are copied onto it and it goes "
                  "to the devices of its site and work centres", operation_id="release_production_order")
    async def release_order(self, request: Request, code: CodePath, data: ProductionOrderAction | None = None) -> ProductionOrderOut:
        async with write_transaction():
            order = await service.release_production_order(code, office_who(request), data.version if data else None)
            return _open(request, order)

    @post("/{code:str}/cancel", guards=[requires("production.write")], status_code=HTTP_200_OK,
          summary="Cancel a production order nothing was issued to or reported on", operation_id="cancel_production_order")
    async def cancel_order(self, request: Request, code: CodePath, data: ProductionOrderAction | None = None) -> ProductionOrderOut:
        async with write_transaction():
            order = await service.cancel_production_order(code, office_who(request), data.version if data else None,
                                                          data.reason if data else "")
            return _open(request, order)

    @post("/{code:str}/close", guards=[requires("production.write")], status_code=HTTP_200_OK,
          summary="Close a production order: it leaves the floor's devices", operation_id="close_production_order")
    async def close_order(self, request: Request, code: CodePath, data: ProductionOrderAction | None = None) -> ProductionOrderOut:
        async with write_transaction():
            order = await service.close_production_order(code, office_who(request), data.version if data else None,
                                                         data.reason if data else "")
            return _open(request, order)

    @get("/{code:str}/traveller.png", guards=[requires("production.read")], media_type="image/png",
         summary="The traveller: the order's code and one Code 128 per operation (<code>/OP<sequence>), PNG")
    async def traveller_png(self, code: CodePath) -> Response[bytes]:
        return await traveller_file(code, "png")

    @get("/{code:str}/traveller.svg", guards=[requires("production.read")], media_type="image/svg+xml",
         summary="The traveller, SVG")
    async def traveller_svg(self, code: CodePath) -> Response[str]:
        return await traveller_file(code, "svg")

    @get("/{code:str}/traveller.pdf", guards=[requires("production.read")], media_type="application/pdf",
         summary="The traveller on a 4 × 6 in page, PDF")
    async def traveller_pdf(self, code: CodePath) -> Response[bytes]:
        return await traveller_file(code, "pdf")


class DowntimeController(Controller):
    path = "/api/downtime"
    tags = ["Production orders"]

    @get("/", guards=[requires("production.read")], summary="Downtime on work centres, newest first",
         operation_id="list_downtime")
    async def list_downtime(
        self,
        work_centre: CodeFilter = None,
        open_only: Annotated[bool, Parameter(description="Only work centres that are down now")] = False,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[DowntimeOut]:
        condition = Downtime.id > 0
        if work_centre:
            condition = condition & (Downtime.work_centre == work_centre)
        if open_only:
            condition = condition & Downtime.ended_at.is_null()
        rows = await Downtime.select().where(condition).order_by(Downtime.started_at, ascending=False).order_by(
            Downtime.id, ascending=False).limit(limit).offset(offset)
        total = await Downtime.count().where(condition)
        items = [DowntimeOut(
            work_centre=r["work_centre"], reason=r["reason"], production_order=r["production_order"],
            started_at=r["started_at"], ended_at=r["ended_at"],
            minutes=None if r["ended_at"] is None
            else (Decimal((r["ended_at"] - r["started_at"]).total_seconds()) / 60).quantize(Decimal("0.01")),
        ) for r in rows]
        return Page[DowntimeOut](items=items, total=total, limit=limit, offset=offset)


# -- scanning: an order's code, or one operation's bar on its traveller ----------------------------------------------
TRAVELLER_CODE = re.compile(r"^(?P<code>[A-Za-z0-9][A-Za-z0-9._-]{0,39})/OP(?P<sequence>[0-9]{1,4})$")


async def resolve_production_order(scanned: str) -> ScanResult | None:
    match = TRAVELLER_CODE.match(scanned)
    code, sequence = (match.group("code"), int(match.group("sequence"))) if match else (scanned, None)
    if not await ProductionOrder.exists().where(ProductionOrder.code == code):
        return None
    order = await service.get_production_order(code)
    document: dict[str, Any] = service.device_view(order)
    if sequence is not None:
        operation = next((op for op in document["operations"] if op["sequence"] == sequence), None)
        if operation is None:
            return None
        document["operation"] = operation
    return DocumentScan(kind="production_order", code=code, document=document)


RESOLVERS = (
    ("PRD-", resolve_production_order),
    # A traveller's operation bar (<code>/OP10) of an order whose code was given by hand.
    (lambda scanned: bool(TRAVELLER_CODE.match(scanned)), resolve_production_order),
)

