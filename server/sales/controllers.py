"""REST endpoints of sales orders under /api/sales-orders (list, read, create, edit a draft, submit, approve, reject,
hold, release, cancel, close, payments, history) and the review policy at /api/sales-policy. Reading needs
sales.read, writing sales.write, approving sales.approve, the policy sales.policy; every write is one call into
`server.sales.service`. An order POSTed here came from an API client (e-commerce, CRM): with an `Idempotency-Key`
header, the same key twice makes one order."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.sales import (
    ChangeImpact, CustomerSummary, LateLine, OrderChangeIn, OrderTracking, PaymentIn, SalesOrderAction, SalesOrderEdit, SalesOrderHistory, SalesOrderIn, SalesOrderOut, SalesOrderStatus,
    SalesPolicyIn, SalesPolicyOut,
)
from server.accounts.identity import requires
from server.sales import changes, rules, service, tracking

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
IdempotencyKey = Annotated[str | None, Parameter(
    header="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$", required=False,
    description="A key of the client's own (a UUID): sending it again returns the order it made instead of a new one")]


def _action(data: SalesOrderAction | None) -> tuple[int | None, str]:
    return (data.version, data.reason) if data else (None, "")


def open_for(request: Request, order: SalesOrderOut) -> SalesOrderOut:
    """The order with what this caller may do to it now."""
    actions = rules.open_actions(order.status, order.awaiting_approval, request.user.permissions)
    return order.model_copy(update={"open_actions": actions})


class SalesOrderController(Controller):
    path = "/api/sales-orders"
    tags = ["Sales orders"]

    @get("/", guards=[requires("sales.read")], summary="List sales orders, newest first", operation_id="list_sales_orders")
    async def list_orders(
        self,
        request: Request,
        status: Annotated[SalesOrderStatus | None, Parameter(description="Only sales orders in this status")] = None,
        customer: Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)] = None,
        q: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$",
                                           description="Search text in code, customer reference and notes")] = None,
        awaiting_approval: Annotated[bool, Parameter(description="Only orders an approver must decide on")] = False,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[SalesOrderOut]:
        listing = await service.list_sales_orders(status=status, customer=customer, q=q,
                                                  awaiting_approval=awaiting_approval, limit=limit, offset=offset)
        return Page[SalesOrderOut](**{**listing, "items": [open_for(request, order) for order in listing["items"]]})

    @get("/late", guards=[requires("sales.read")], operation_id="late_sales_order_lines",
         summary="Lines of orders under way that are late or at risk of missing their promise date, most urgent first")
    async def late(self, limit: Annotated[int, Parameter(ge=1, le=1000)] = 100) -> list[LateLine]:
        return await tracking.late_lines(limit)

    @get("/{code:str}", guards=[requires("sales.read")], summary="Get one sales order", operation_id="get_sales_order")
    async def get_order(self, request: Request, code: CodePath) -> SalesOrderOut:
        return open_for(request, await service.get_sales_order(code))

    @get("/{code:str}/tracking", guards=[requires("sales.read")], operation_id="track_sales_order",
         summary="The order from entry to delivery: each line's progress, its shipments, production and purchasing")
    async def track(self, code: CodePath) -> OrderTracking:
        return await tracking.order_tracking(code)

    @get("/{code:str}/history", guards=[requires("sales.read")], operation_id="sales_order_history",
         summary="Every version of the order (who, when, what changed), its reviews and its payments")
    async def history(self, code: CodePath) -> SalesOrderHistory:
        return await service.order_history(code)

    @post("/", guards=[requires("sales.write")], status_code=HTTP_201_CREATED, operation_id="create_sales_order",
          summary="Create a draft sales order with its lines (from an e-commerce or CRM system: send an Idempotency-Key)",
          responses={HTTP_200_OK: ResponseSpec(SalesOrderOut, description="The order this Idempotency-Key already made",
                                               generate_examples=False)})
    async def create_order(self, request: Request, data: SalesOrderIn,
                           idempotency_key: IdempotencyKey = None) -> Response[SalesOrderOut]:
        order, created = await service.create_sales_order_once(data, request.user, idempotency_key)
        return Response(open_for(request, order), status_code=HTTP_201_CREATED if created else HTTP_200_OK)

    @put("/{code:str}", guards=[requires("sales.write")], operation_id="edit_sales_order",
         summary="Rewrite a draft: its terms and all its lines")
    async def edit_order(self, request: Request, code: CodePath, data: SalesOrderEdit) -> SalesOrderOut:
        return open_for(request, await service.edit_draft(code, data, request.user))

    @post("/{code:str}/submit", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="submit_sales_order",
          summary="Submit a draft: the review approves it, holds it for credit, or leaves it for an approver")
    async def submit_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.submit(code, request.user, _action(data)[0]))

    @post("/{code:str}/approve", guards=[requires("sales.approve")], status_code=HTTP_200_OK,
          operation_id="approve_sales_order", summary="Approve an order the review left for an approver or held for credit")
    async def approve_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.approve(code, request.user, *_action(data)))

    @post("/{code:str}/reject", guards=[requires("sales.approve")], status_code=HTTP_200_OK,
          operation_id="reject_sales_order", summary="Send an order awaiting approval back to draft, saying why")
    async def reject_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.reject(code, request.user, *_action(data)))

    @post("/{code:str}/hold", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="hold_sales_order",
          summary="Put an order on hold, saying why")
    async def hold_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.hold(code, request.user, *_action(data)))

    @post("/{code:str}/release", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="release_sales_order", summary="End a hold: the order returns to where it was")
    async def release_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.release(code, request.user, *_action(data)))

    @post("/{code:str}/cancel", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="cancel_sales_order",
          summary="Cancel an order no goods left for and no shipment is open for; its reservations are released")
    async def cancel_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.cancel_sales_order(code, request.user, *_action(data)))

    @post("/{code:str}/cancel/preview", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="preview_sales_order_cancel",
          summary="What cancelling would do downstream (shipments, reservations, production); nothing is written")
    async def preview_cancel(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> ChangeImpact:
        version, reason = _action(data)
        return await changes.preview_cancel(code, version, reason, request.user)

    @post("/{code:str}/close", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="close_sales_order",
          summary="Close an order: what is still owed (backorders included) will not be sent")
    async def close_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        return open_for(request, await service.close_sales_order(code, request.user, *_action(data)))

    @post("/{code:str}/changes/preview", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="preview_sales_order_change",
          summary="What a change would do downstream (shipments, reservations, production, credit); nothing is written")
    async def preview_change(self, request: Request, code: CodePath, data: OrderChangeIn) -> ChangeImpact:
        return await changes.preview_change(code, data, request.user)

    @post("/{code:str}/changes", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="change_sales_order",
          summary="Change a submitted or approved order; the change propagates downstream in the same transaction")
    async def make_change(self, request: Request, code: CodePath, data: OrderChangeIn) -> ChangeImpact:
        return await changes.make_change(code, data, request.user)

    @post("/{code:str}/payments", guards=[requires("sales.write")], status_code=HTTP_201_CREATED,
          operation_id="record_sales_payment", summary="Record money received against the order")
    async def record_payment(self, request: Request, code: CodePath, data: PaymentIn) -> SalesOrderOut:
        return open_for(request, await service.record_payment(code, data, request.user))


class CustomerSummaryController(Controller):
    path = "/api/customers/{code:str}/summary"
    tags = ["Sales orders"]

    @get("/", guards=[requires("sales.read")], operation_id="customer_order_summary",
         summary="A customer's exposure against its credit limit, open value, volume, on-time rate and recent orders")
    async def summary(self, code: CodePath) -> CustomerSummary:
        return await tracking.customer_summary(code)


class SalesPolicyController(Controller):
    path = "/api/sales-policy"
    tags = ["Sales orders"]

    @get("/", guards=[requires("sales.read")], operation_id="get_sales_policy",
         summary="The review an order passes on submission")
    async def get_policy(self) -> SalesPolicyOut:
        return await service.get_policy()

    @put("/", guards=[requires("sales.policy")], operation_id="set_sales_policy",
         summary="Change the review: checks, discount threshold, auto-approval, approvers per check")
    async def set_policy(self, request: Request, data: SalesPolicyIn) -> SalesPolicyOut:
        return await service.set_policy(data, request.user)
