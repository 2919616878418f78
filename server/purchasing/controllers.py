"""REST endpoints of purchase orders under /api/purchase-orders: list (filters, paging), read, create, change a
draft, approve, cancel and close, the PDF and sending it to the supplier (with its message log), the supplier's
confirmation, the purchasing policy (who approves a PO of their own) at /api/purchasing-policy, and requests for
quotation under /api/rfqs (create, send, e-mail to the suppliers, the PDF, record quotes, compare, award, cancel; an
RFQ from the plan's purchases is planning's, server/planning/controllers.py).
Reading needs purchasing.read, writing (sending too) purchasing.write, approving purchasing.approve, the policy
purchasing.policy; every write is one call into `server.purchasing.service` (the policy's: `server.purchasing.policy`,
a send's: `server.purchasing.sending`, whose messages `server.mail` then delivers after the commit)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post, put
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.common import Page
from schemas.errors import ErrorBody
from schemas.inventory import ReceiptArgs
from schemas.mail import MessageOut, SendIn, SentOut
from schemas.purchasing import (
    AwardIn,
    ConfirmationIn,
    PoStatus,
    PurchaseOrderAction,
    PurchaseOrderIn,
    PurchaseOrderOut,
    PurchaseOrderPatch,
    PurchasingPolicyIn,
    PurchasingPolicyOut,
    QuoteIn,
    RfqAction,
    RfqComparison,
    RfqIn,
    RfqOut,
    RfqStatus,
)
from server.accounts.identity import requires
from server.actors import Who, office_who
from server.db import write_transaction
from server.labels.kinds import Label, document_label
from server.labels.responses import label_response
from server.mail import service as mail
from server.purchasing import policy, rfq_rules, rfqs, rules, sending, service
from server.purchasing.receipts import receive

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
Lang = Annotated[str | None, Parameter(pattern=r"^(en|zh)$", description="The language to write it in (default: the "
                                       "supplier's, else yours)")]
SEND_REFUSED = {HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
    ErrorBody, generate_examples=False,
    description="A supplier has no e-mail address to send to (`supplier_no_email`, `details.supplier`): nothing is "
                "sent"), HTTP_409_CONFLICT: ResponseSpec(
    ErrorBody, generate_examples=False,
    description="Not in a status it is sent in (`po_not_approved` for a draft, `po_received`, `po_closed`, "
                "`rfq_awarded`, `rfq_cancelled`…), or changed since `version` was read (`version_conflict`)")}
CodePath = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)]
APPROVAL_REFUSED = {HTTP_409_CONFLICT: ResponseSpec(
    ErrorBody, generate_examples=False,
    description="Changed since `version` was read (`version_conflict`), in a status it is not approved from "
                "(`po_closed`…), or above the approver's own limit on a purchase order they wrote (`self_approval`: "
                "`details.limit`, and `details.limit_role`, the role whose limit applied, null for the default)")}
POLICY_REFUSED = {HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
    ErrorBody, generate_examples=False,
    description="A role given a limit does not exist (`unknown_role`) or may not approve purchase orders "
                "(`role_cannot_approve`), or the body is malformed (a negative amount…)")}
Sort = Literal["code", "-code", "created_at", "-created_at", "status", "-status", "supplier", "-supplier"]


def _open(request: Request, order: PurchaseOrderOut) -> PurchaseOrderOut:
    """The PO with what this caller may do to it now."""
    return order.model_copy(update={"open_actions": rules.open_actions(order.status, request.user.permissions)})


class PurchaseOrderController(Controller):
    path = "/api/purchase-orders"
    tags = ["Purchase orders"]

    @get("/", guards=[requires("purchasing.read")], summary="List purchase orders", operation_id="list_purchase_orders")
    async def list_orders(
        self,
        request: Request,
        status: Annotated[PoStatus | None, Parameter(description="Only purchase orders in this status")] = None,
        supplier: CodeFilter = None,
        site: CodeFilter = None,
        q: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$",
                                           description="Search text in code and notes")] = None,
        sort: Annotated[Sort, Parameter(description="A field; '-' in front sorts descending")] = "-created_at",
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[PurchaseOrderOut]:
        page = await service.list_purchase_orders(status=status, supplier=supplier, site=site, q=q, sort=sort,
                                                  limit=limit, offset=offset)
        return Page[PurchaseOrderOut](**{**page, "items": [_open(request, order) for order in page["items"]]})

    @get("/{code:str}", guards=[requires("purchasing.read")], summary="Get one purchase order",
         operation_id="get_purchase_order")
    async def get_order(self, request: Request, code: CodePath) -> PurchaseOrderOut:
        return _open(request, await service.get_purchase_order(code))

    @post("/", guards=[requires("purchasing.write")], status_code=HTTP_201_CREATED,
          summary="Create a draft purchase order with its lines", operation_id="create_purchase_order")
    async def create_order(self, request: Request, data: PurchaseOrderIn) -> PurchaseOrderOut:
        async with write_transaction():
            return _open(request, await service.create_purchase_order(data, office_who(request)))

    @patch("/{code:str}", guards=[requires("purchasing.write")],
           summary="Change a draft (send the version you read; lines, when sent, replace all lines)",
           operation_id="update_purchase_order")
    async def update_order(self, request: Request, code: CodePath, data: PurchaseOrderPatch) -> PurchaseOrderOut:
        async with write_transaction():
            return _open(request, await service.update_purchase_order(code, data, office_who(request)))

    @post("/{code:str}/approve", guards=[requires("purchasing.approve")], status_code=HTTP_200_OK,
          responses=APPROVAL_REFUSED,
          summary="Approve a draft: it goes to the receiving site's devices", operation_id="approve_purchase_order")
    async def approve_order(self, request: Request, code: CodePath, data: PurchaseOrderAction | None = None) -> PurchaseOrderOut:
        async with write_transaction():
            return _open(request, await service.approve_purchase_order(code, office_who(request),
                                                                       data.version if data else None))

    @post("/{code:str}/cancel", guards=[requires("purchasing.write")], status_code=HTTP_200_OK,
          summary="Cancel a purchase order nothing was received against", operation_id="cancel_purchase_order")
    async def cancel_order(self, request: Request, code: CodePath, data: PurchaseOrderAction | None = None) -> PurchaseOrderOut:
        async with write_transaction():
            order = await service.cancel_purchase_order(code, office_who(request), data.version if data else None,
                                                        data.reason if data else "")
            return _open(request, order)

    @post("/{code:str}/close", guards=[requires("purchasing.write")], status_code=HTTP_200_OK,
          summary="Close a purchase order (short-close: what is still open will not come)",
          operation_id="close_purchase_order")
    async def close_order(self, request: Request, code: CodePath, data: PurchaseOrderAction | None = None) -> PurchaseOrderOut:
        async with write_transaction():
            order = await service.close_purchase_order(code, office_who(request), data.version if data else None,
                                                       data.reason if data else "")
            return _open(request, order)

    @get("/{code:str}/label.png", guards=[requires("purchasing.read")], media_type="image/png",
         summary="The purchase order's label: its code as Code 128 (what the receiving screen scans), PNG",
         operation_id="purchase_order_label_png")
    async def label_png(self, code: CodePath) -> Response[bytes]:
        return label_response(await _po_label(code), "png", code)

    @get("/{code:str}/label.svg", guards=[requires("purchasing.read")], media_type="image/svg+xml",
         summary="The purchase order's label, SVG", operation_id="purchase_order_label_svg")
    async def label_svg(self, code: CodePath) -> Response[str]:
        return label_response(await _po_label(code), "svg", code)

    @get("/{code:str}/label.zpl", guards=[requires("purchasing.read")], media_type="application/x-zpl",
         summary="The purchase order's label for a thermal printer (ZPL II)", operation_id="purchase_order_label_zpl")
    async def label_zpl(self, code: CodePath) -> Response[str]:
        return label_response(await _po_label(code), "zpl", code)


    @get("/{code:str}/pdf", guards=[requires("purchasing.read")], media_type="application/pdf",
         operation_id="purchase_order_pdf",
         summary="The purchase order as the supplier gets it, an A4 PDF (in the supplier's language, else yours)")
    async def pdf(self, request: Request, code: CodePath, lang: Lang = None) -> Response[bytes]:
        return pdf_response(await sending.po_printout(code, lang, request.user.language))

    @post("/{code:str}/messages", guards=[requires("purchasing.write")], status_code=HTTP_201_CREATED,
          responses=SEND_REFUSED, operation_id="send_purchase_order",
          summary="Send the approved purchase order to its supplier: e-mailed with the PDF through SMTP when it is "
                  "configured (the outcome in the answer), else kept in the outbox")
    async def send(self, request: Request, code: CodePath, data: SendIn | None = None) -> SentOut:
        who = office_who(request)
        async with write_transaction():
            made = await sending.send_purchase_order(code, who, data.lang if data else None,
                                                     data.version if data else None)
        return await delivered(made, who)

    @get("/{code:str}/messages", guards=[requires("purchasing.read")], operation_id="purchase_order_messages",
         summary="Every message that sent the purchase order: when, to whom, by whom, how, and its outcome")
    async def messages(self, code: CodePath) -> list[MessageOut]:
        await service.PURCHASE_ORDERS.load(code)
        return await mail.messages_of(service.ENTITY, code)

    @post("/{code:str}/confirmation", guards=[requires("purchasing.write")], status_code=HTTP_200_OK,
          operation_id="confirm_purchase_order",
          summary="Record the supplier's confirmation: per line the quantity and date; each line is then expected on "
                  "its confirmed date")
    async def confirm(self, request: Request, code: CodePath, data: ConfirmationIn) -> PurchaseOrderOut:
        async with write_transaction():
            return _open(request, await service.confirm_purchase_order(code, data, office_who(request)))


def pdf_response(printout: sending.Printout) -> Response[bytes]:
    return Response(printout.pdf, media_type="application/pdf",
                    headers={"content-disposition": f'inline; filename="{printout.filename}"'})


async def delivered(message_ids: list[int], who: Who) -> SentOut:
    """After the send committed: the messages through SMTP (when configured), each with its outcome."""
    await mail.deliver(message_ids, who)
    return SentOut(messages=await mail.messages_by_id(message_ids))


async def _po_label(code: str) -> Label:
    order = await service.get_purchase_order(code)
    return document_label("purchase_order", order.code, (order.supplier, f"{len(order.lines)} lines · {order.site}"))


class PurchasingPolicyController(Controller):
    path = "/api/purchasing-policy"
    tags = ["Purchase orders"]

    @get("/", guards=[requires("purchasing.read")], operation_id="get_purchasing_policy",
         summary="Up to which total the author of a purchase order approves it themselves")
    async def get_policy(self) -> PurchasingPolicyOut:
        return await policy.get_policy()

    @put("/", guards=[requires("purchasing.policy")], operation_id="set_purchasing_policy", responses=POLICY_REFUSED,
         summary="Change the default limit for approving one's own purchase order and the limits per role")
    async def set_policy(self, request: Request, data: PurchasingPolicyIn) -> PurchasingPolicyOut:
        async with write_transaction():
            return await policy.set_policy(data, office_who(request))


RFQ_REFUSED = {HTTP_409_CONFLICT: ResponseSpec(
    ErrorBody, generate_examples=False,
    description="Changed since `version` was read (`version_conflict`), or not in a status that allows it "
                "(`rfq_not_sent`, `rfq_awarded` with `details.purchase_order`, `rfq_cancelled`…); on an award, a quote "
                "past its validity (`quote_expired`)")}


def _rfq_open(request: Request, rfq: RfqOut) -> RfqOut:
    return rfq.model_copy(update={"open_actions": rfq_rules.open_actions(rfq.status, request.user.permissions)})


class RfqController(Controller):
    """Requests for quotation: reading needs purchasing.read, everything else purchasing.write (an award makes a
    draft purchase order, which is approved as any other, so the money is still decided at the approval)."""

    path = "/api/rfqs"
    tags = ["Requests for quotation"]

    @get("/", guards=[requires("purchasing.read")], summary="List requests for quotation, newest first",
         operation_id="list_rfqs")
    async def list_rfqs(
        self, request: Request,
        status: Annotated[RfqStatus | None, Parameter(description="Only RFQs in this status")] = None,
        site: CodeFilter = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 50,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[RfqOut]:
        page = await rfqs.list_rfqs(status=status, site=site, limit=limit, offset=offset)
        return Page[RfqOut](**{**page, "items": [_rfq_open(request, rfq) for rfq in page["items"]]})

    @post("/", guards=[requires("purchasing.write")], status_code=HTTP_201_CREATED, operation_id="create_rfq",
          summary="Create a draft request for quotation: items, quantities, needed-by date, two or more suppliers")
    async def create(self, request: Request, data: RfqIn) -> RfqOut:
        async with write_transaction():
            return _rfq_open(request, await rfqs.create_rfq(data, office_who(request)))

    @get("/{code:str}", guards=[requires("purchasing.read")], operation_id="get_rfq",
         summary="Get one request for quotation with its quotes (each marked expired when past its validity)")
    async def get_rfq(self, request: Request, code: CodePath) -> RfqOut:
        return _rfq_open(request, await rfqs.get_rfq(code))

    @post("/{code:str}/send", guards=[requires("purchasing.write")], status_code=HTTP_200_OK, responses=RFQ_REFUSED,
          summary="Mark a draft as sent to its suppliers: quotes may be recorded", operation_id="send_rfq")
    async def send(self, request: Request, code: CodePath, data: RfqAction | None = None) -> RfqOut:
        async with write_transaction():
            return _rfq_open(request, await rfqs.send_rfq(code, office_who(request), data.version if data else None))

    @get("/{code:str}/pdf", guards=[requires("purchasing.read")], media_type="application/pdf", operation_id="rfq_pdf",
         summary="The RFQ as a supplier asked gets it (default: the first), an A4 PDF in the supplier's language, "
                 "else yours")
    async def pdf(self, request: Request, code: CodePath, supplier: CodeFilter = None, lang: Lang = None) -> Response[bytes]:
        return pdf_response(await sending.rfq_printout(code, supplier, lang, request.user.language))

    @post("/{code:str}/messages", guards=[requires("purchasing.write")], status_code=HTTP_201_CREATED,
          responses=SEND_REFUSED, operation_id="send_rfq_messages",
          summary="Send the RFQ to each supplier asked (a draft becomes sent): e-mailed with its PDF through SMTP when "
                  "it is configured (the outcomes in the answer), else kept in the outbox")
    async def send_messages(self, request: Request, code: CodePath, data: SendIn | None = None) -> SentOut:
        who = office_who(request)
        async with write_transaction():
            made = await sending.send_rfq(code, who, data.lang if data else None, data.version if data else None)
        return await delivered(made, who)

    @get("/{code:str}/messages", guards=[requires("purchasing.read")], operation_id="rfq_messages",
         summary="Every message that sent the RFQ: when, to whom, by whom, how, and its outcome")
    async def messages(self, code: CodePath) -> list[MessageOut]:
        await rfqs.RFQS.load(code)
        return await mail.messages_of(rfqs.ENTITY, code)

    @post("/{code:str}/cancel", guards=[requires("purchasing.write")], status_code=HTTP_200_OK, responses=RFQ_REFUSED,
          summary="Cancel a request for quotation not awarded yet", operation_id="cancel_rfq")
    async def cancel(self, request: Request, code: CodePath, data: RfqAction | None = None) -> RfqOut:
        async with write_transaction():
            rfq = await rfqs.cancel_rfq(code, office_who(request), data.version if data else None,
                                        data.reason if data else "")
            return _rfq_open(request, rfq)

    @put("/{code:str}/quotes/{supplier:str}", guards=[requires("purchasing.write")], responses=RFQ_REFUSED,
         summary="Record a supplier's quote on a sent RFQ (again: it replaces the earlier one)",
         operation_id="record_rfq_quote")
    async def quote(self, request: Request, code: CodePath, supplier: CodePath, data: QuoteIn) -> RfqOut:
        async with write_transaction():
            return _rfq_open(request, await rfqs.record_quote(code, supplier, data, office_who(request)))

    @get("/{code:str}/comparison", guards=[requires("purchasing.read")], operation_id="compare_rfq_quotes",
         summary="The quotes side by side: total at the RFQ's quantities, delivery date against the need, the "
                 "recommended one")
    async def comparison(self, code: CodePath) -> RfqComparison:
        return await rfqs.compare_quotes(code)

    @post("/{code:str}/award", guards=[requires("purchasing.write")], status_code=HTTP_200_OK, responses=RFQ_REFUSED,
          summary="Award a supplier's quote: its draft purchase order is made at the quoted prices",
          operation_id="award_rfq")
    async def award(self, request: Request, code: CodePath, data: AwardIn) -> RfqOut:
        if data.update_supplier_items and not request.user.may("suppliers.write"):
            raise PermissionDeniedException(detail="Your role may not do this (suppliers.write)",
                                            extra={"permission": "suppliers.write"})
        async with write_transaction():
            return _rfq_open(request, await rfqs.award_rfq(code, data, office_who(request)))


class ReceiptController(Controller):
    """The desk's goods receipt: the same `receive` a device's `receipt.receive` reaches."""

    path = "/api/stock/receipts"
    tags = ["Stock"]

    @post("/", guards=[requires("stock.write")], status_code=HTTP_201_CREATED,
          summary="Receive goods against a purchase order line (the desk's receipt.receive)")
    async def receipt(self, request: Request, data: ReceiptArgs) -> dict[str, Any]:
        async with write_transaction():
            return await receive(data, office_who(request))
