"""REST endpoints of sales orders under /api/sales-orders (list, read, create, edit a draft, submit, approve, reject,
hold, release, payments, history; cancel, close, changes and tracking reach other areas: server/orders/controllers.py) and the review policy at /api/sales-policy. Reading needs
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
    PaymentIn, SalesOrderAction, SalesOrderEdit, SalesOrderHistory, SalesOrderIn, SalesOrderOut, SalesOrderStatus,
    SalesPolicyIn, SalesPolicyOut,
)
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.sales import rules, service

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

    @get("/{code:str}", guards=[requires("sales.read")], summary="Get one sales order", operation_id="get_sales_order")
    async def get_order(self, request: Request, code: CodePath) -> SalesOrderOut:
        return open_for(request, await service.get_sales_order(code))

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
        """Two requests racing with one Idempotency-Key: the second loses on the unique index, and answers with the
        order the first made."""
        existing = await service.replay_or_none(data, idempotency_key)
        if existing is not None:
            return Response(open_for(request, existing), status_code=HTTP_200_OK)
        try:
            async with write_transaction():
                order = await service.create_sales_order(data, office_who(request), source="api",
                                                         idempotency_key=idempotency_key)
        except service.LOST_IDEMPOTENCY_RACE:
            existing = await service.replay_or_none(data, idempotency_key)
            if existing is None:
                raise
            return Response(open_for(request, existing), status_code=HTTP_200_OK)
        return Response(open_for(request, order), status_code=HTTP_201_CREATED)

    @put("/{code:str}", guards=[requires("sales.write")], operation_id="edit_sales_order",
         summary="Rewrite a draft: its terms and all its lines")
    async def edit_order(self, request: Request, code: CodePath, data: SalesOrderEdit) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.edit_draft(code, data, office_who(request)))

    @post("/{code:str}/submit", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="submit_sales_order",
          summary="Submit a draft: the review approves it, holds it for credit, or leaves it for an approver")
    async def submit_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.submit(code, office_who(request), _action(data)[0]))

    @post("/{code:str}/approve", guards=[requires("sales.approve")], status_code=HTTP_200_OK,
          operation_id="approve_sales_order", summary="Approve an order the review left for an approver or held for credit")
    async def approve_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.approve(code, office_who(request), *_action(data)))

    @post("/{code:str}/reject", guards=[requires("sales.approve")], status_code=HTTP_200_OK,
          operation_id="reject_sales_order", summary="Send an order awaiting approval back to draft, saying why")
    async def reject_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.reject(code, office_who(request), *_action(data)))

    @post("/{code:str}/hold", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="hold_sales_order",
          summary="Put an order on hold, saying why")
    async def hold_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.hold(code, office_who(request), *_action(data)))

    @post("/{code:str}/release", guards=[requires("sales.write")], status_code=HTTP_200_OK,
          operation_id="release_sales_order", summary="End a hold: the order returns to where it was")
    async def release_order(self, request: Request, code: CodePath, data: SalesOrderAction | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.release(code, office_who(request), *_action(data)))

    @post("/{code:str}/payments", guards=[requires("sales.write")], status_code=HTTP_201_CREATED,
          operation_id="record_sales_payment", summary="Record money received against the order")
    async def record_payment(self, request: Request, code: CodePath, data: PaymentIn) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await service.record_payment(code, data, office_who(request)))


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
        async with write_transaction():
            return await service.set_policy(data, office_who(request))
