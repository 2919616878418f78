"""REST endpoints of a sales order's way through the other areas, under /api/sales-orders: cancel and close (with what
they do to shipments, production and reservations), changes with their impact, a preview of either (run and rolled
back), tracking, the late lines, and a customer's figures. Each write opens its transaction here."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK

from schemas.sales import ChangeImpact, CustomerSummary, LateLine, OrderChangeIn, OrderTracking, SalesOrderAction, SalesOrderOut
from server.accounts.identity import requires
from server.actors import office_who
from server.db import trial_write, write_transaction
from server.orders import cascade, changes, tracking
from server.sales.controllers import open_for

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]


def _action(data: SalesOrderAction | None) -> tuple[int | None, str]:
    return (data.version, data.reason) if data else (None, "")


class SalesOrderCascadeController(Controller):
    path = "/api/sales-orders"
    tags = ["Sales orders"]

    @get("/late", guards=[requires("sales.read")], operation_id="late_sales_order_lines",
         summary="Lines of orders under way that are late or at risk of missing their promise date, most urgent first")
    async def late(self, limit: Annotated[int, Parameter(ge=1, le=1000)] = 100) -> list[LateLine]:
        return await tracking.late_lines(limit)

    @get("/{code:str}/tracking", guards=[requires("sales.read")], operation_id="track_sales_order",
         summary="The order from entry to delivery: each line's progress, its shipments, production and purchasing")
    async def track(self, code: CodePath) -> OrderTracking:
        return await tracking.order_tracking(code)

    @post("/{code:str}/cancel", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="cancel_sales_order",
          summary="Cancel an order no goods left for and no shipment is open for; its reservations are released")
    async def cancel_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            _, order, _ = await cascade.cancel_sales_order(code, office_who(request), *_action(data))
        return open_for(request, order)

    @post("/{code:str}/cancel/preview", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="preview_sales_order_cancel",
          summary="What cancelling would do downstream (shipments, reservations, production); nothing is written")
    async def preview_cancel(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> ChangeImpact:
        version, reason = _action(data)
        async with trial_write():
            impact = await changes.cancel_order(code, version, reason, office_who(request))
        return impact.model_copy(update={"applied": False})

    @post("/{code:str}/close", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="close_sales_order",
          summary="Close an order: what is still owed (backorders included) will not be sent")
    async def close_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await cascade.close_sales_order(code, office_who(request), *_action(data)))

    @post("/{code:str}/changes/preview", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="preview_sales_order_change",
          summary="What a change would do downstream (shipments, reservations, production, credit); nothing is written")
    async def preview_change(self, request: Request, code: CodePath, data: OrderChangeIn) -> ChangeImpact:
        async with trial_write():
            impact = await changes.change_order(code, data, office_who(request))
        return impact.model_copy(update={"applied": False})

    @post("/{code:str}/changes", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="change_sales_order",
          summary="Change a submitted or approved order; the change propagates downstream in the same transaction")
    async def make_change(self, request: Request, code: CodePath, data: OrderChangeIn) -> ChangeImpact:
        async with write_transaction():
            return await changes.make_change(code, data, office_who(request))


class CustomerSummaryController(Controller):
    path = "/api/customers/{code:str}/summary"
    tags = ["Sales orders"]

    @get("/", guards=[requires("sales.read")], operation_id="customer_order_summary",
         summary="A customer's exposure against its credit limit, open value, volume, on-time rate and recent orders")
    async def summary(self, code: CodePath) -> CustomerSummary:
        return await tracking.customer_summary(code)
