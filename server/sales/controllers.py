"""REST endpoints of sales orders under /api/sales-orders: list, read, create a draft, confirm, cancel and close.
Reading needs sales.read, writing sales.write; every write is one call into `server.sales.service`."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.sales import SalesOrderAction, SalesOrderIn, SalesOrderOut, SalesOrderStatus
from server.accounts.identity import requires
from server.sales import service

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]


class SalesOrderController(Controller):
    path = "/api/sales-orders"
    tags = ["Sales orders"]

    @get("/", guards=[requires("sales.read")], summary="List sales orders, newest first", operation_id="list_sales_orders")
    async def list_orders(
        self,
        status: Annotated[SalesOrderStatus | None, Parameter(description="Only sales orders in this status")] = None,
        customer: Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)] = None,
        q: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$",
                                           description="Search text in code and notes")] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[SalesOrderOut]:
        return Page[SalesOrderOut](**await service.list_sales_orders(status=status, customer=customer, q=q, limit=limit,
                                                                     offset=offset))

    @get("/{code:str}", guards=[requires("sales.read")], summary="Get one sales order", operation_id="get_sales_order")
    async def get_order(self, code: CodePath) -> SalesOrderOut:
        return await service.get_sales_order(code)

    @post("/", guards=[requires("sales.write")], status_code=HTTP_201_CREATED,
          summary="Create a draft sales order with its lines", operation_id="create_sales_order")
    async def create_order(self, request: Request, data: SalesOrderIn) -> SalesOrderOut:
        return await service.create_sales_order(data, request.user)

    @post("/{code:str}/confirm", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          summary="Confirm a draft: shipments may then be planned from it", operation_id="confirm_sales_order")
    async def confirm_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return await service.confirm_sales_order(code, request.user, data.version if data else None)

    @post("/{code:str}/cancel", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          summary="Cancel an order nothing was delivered against and no shipment is open for",
          operation_id="cancel_sales_order")
    async def cancel_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return await service.cancel_sales_order(code, request.user, data.version if data else None,
                                                data.reason if data else "")

    @post("/{code:str}/close", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          summary="Close an order: what is still owed (backorders included) will not be sent",
          operation_id="close_sales_order")
    async def close_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return await service.close_sales_order(code, request.user, data.version if data else None,
                                               data.reason if data else "")
