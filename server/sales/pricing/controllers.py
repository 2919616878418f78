"""REST endpoints of sales pricing: /api/price-lists and /api/contracts (everyone with sales.read reads; writing
needs sales.pricing: sales managers and admins), /api/prices (what a line would be priced at, and why), and
/api/quotes (sales.write drafts, edits, submits and converts; sales.approve approves or rejects; a PDF for the
customer). Each write is one call into price_lists.py, contracts.py or quotes.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from litestar import Controller, Request, Response, delete, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.common import Page
from schemas.errors import ErrorBody
from schemas.pricing import (
    ContractEdit, ContractIn, ContractOut, PriceListEdit, PriceListIn, PriceListOut, PriceOut, QuoteAction,
    QuoteConvert, QuoteEdit, QuoteIn, QuoteOut, QuoteStatus,
)
from schemas.sales import SalesOrderOut
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.i18n import LANGUAGES
from server.masterdata.tables import Customer
from server.sales import rules
from server.sales.controllers import CODE_PATTERN, CodePath, open_for
from server.sales.pricing import contracts, price_lists, quotes
from server.sales.pricing.quote_pdf import quote_pdf

CodeQuery = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
OptionalCode = Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)]
Limit = Annotated[int, Parameter(ge=1, le=500)]
Offset = Annotated[int, Parameter(ge=0, le=10**9)]
REFUSED = {HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(
    ErrorBody, generate_examples=False,
    description="Unknown customer or contract (`unknown_customer`, `unknown_contract`), or nothing prices the item "
                "(`no_price`)")}


class PriceListController(Controller):
    path = "/api/price-lists"
    tags = ["Sales pricing"]

    @get("/", guards=[requires("sales.read")], operation_id="list_price_lists",
         summary="Price lists, the latest valid first")
    async def list_lists(
        self, currency: Annotated[str | None, Parameter(pattern=r"^[A-Z]{3}$")] = None,
        q: Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f%_]*$")] = None,
        limit: Limit = 50, offset: Offset = 0,
    ) -> Page[PriceListOut]:
        return Page[PriceListOut](**await price_lists.list_price_lists(currency=currency, q=q, limit=limit, offset=offset))

    @get("/{code:str}", guards=[requires("sales.read")], operation_id="get_price_list", summary="One price list")
    async def get_list(self, code: CodePath) -> PriceListOut:
        return await price_lists.get_price_list(code)

    @post("/", guards=[requires("sales.pricing")], status_code=HTTP_201_CREATED, operation_id="create_price_list",
          summary="Create a price list: currency, validity, items with list price and quantity breaks, grade discounts")
    async def create_list(self, request: Request, data: PriceListIn) -> PriceListOut:
        async with write_transaction():
            return await price_lists.create_price_list(data, office_who(request))

    @put("/{code:str}", guards=[requires("sales.pricing")], operation_id="edit_price_list",
         summary="Rewrite a price list whole (items not sent leave it)")
    async def edit_list(self, request: Request, code: CodePath, data: PriceListEdit) -> PriceListOut:
        async with write_transaction():
            return await price_lists.update_price_list(code, data, office_who(request))

    @delete("/{code:str}", guards=[requires("sales.pricing")], status_code=HTTP_204_NO_CONTENT,
            operation_id="delete_price_list", summary="Delete a price list: what it priced keeps its prices")
    async def delete_list(self, request: Request, code: CodePath) -> None:
        async with write_transaction():
            await price_lists.delete_price_list(code, office_who(request))


class PriceController(Controller):
    path = "/api/prices"
    tags = ["Sales pricing"]

    @get("/", guards=[requires("sales.read")], operation_id="get_price", responses=REFUSED,
         summary="What an order line would be priced at: the contract's agreed price, else the price list's break "
                 "price less the customer's grade discount, and where it came from")
    async def price(
        self, customer: CodeQuery, item: CodeQuery,
        quantity: Annotated[str, Parameter(pattern=r"^[0-9]{1,12}(\.[0-9]{1,6})?$", description="Units, e.g. 150")],
        on: Annotated[date | None, Parameter(description="The date (empty: today)")] = None,
        contract: OptionalCode = None,
    ) -> PriceOut:
        return await price_lists.price_of(customer, item, Decimal(quantity), on or date.today(), contract)


class ContractController(Controller):
    path = "/api/contracts"
    tags = ["Sales pricing"]

    @get("/", guards=[requires("sales.read")], operation_id="list_contracts", summary="Sales contracts")
    async def list_all(self, customer: OptionalCode = None, limit: Limit = 50, offset: Offset = 0) -> Page[ContractOut]:
        return Page[ContractOut](**await contracts.list_contracts(customer=customer, limit=limit, offset=offset))

    @get("/{code:str}", guards=[requires("sales.read")], operation_id="get_contract",
         summary="One contract, with the orders placed under it and what they called off")
    async def get_one(self, code: CodePath) -> ContractOut:
        return await contracts.get_contract(code)

    @post("/", guards=[requires("sales.pricing")], status_code=HTTP_201_CREATED, operation_id="create_contract",
          summary="Create a contract: customer, validity, payment terms, agreed price and quantity per item")
    async def create(self, request: Request, data: ContractIn) -> ContractOut:
        async with write_transaction():
            return await contracts.create_contract(data, office_who(request))

    @put("/{code:str}", guards=[requires("sales.pricing")], operation_id="edit_contract",
         summary="Rewrite a contract's terms and items (its customer stays)")
    async def edit(self, request: Request, code: CodePath, data: ContractEdit) -> ContractOut:
        async with write_transaction():
            return await contracts.update_contract(code, data, office_who(request))

    @delete("/{code:str}", guards=[requires("sales.pricing")], status_code=HTTP_204_NO_CONTENT,
            operation_id="delete_contract", summary="Delete a contract no order was placed under")
    async def remove(self, request: Request, code: CodePath) -> None:
        async with write_transaction():
            await contracts.delete_contract(code, office_who(request))


def _open_quote(request: Request, quote: QuoteOut) -> QuoteOut:
    """The quote with what this caller may do to it now."""
    actions = rules.quote_open_actions(quote.status, request.user.permissions)
    return quote.model_copy(update={"open_actions": actions})


class QuoteController(Controller):
    path = "/api/quotes"
    tags = ["Sales pricing"]

    @get("/", guards=[requires("sales.read")], operation_id="list_quotes", summary="Quotes, newest first")
    async def list_all(self, request: Request, status: QuoteStatus | None = None, customer: OptionalCode = None,
                       limit: Limit = 50, offset: Offset = 0) -> Page[QuoteOut]:
        listing = await quotes.list_quotes(status=status, customer=customer, limit=limit, offset=offset)
        return Page[QuoteOut](**{**listing, "items": [_open_quote(request, quote) for quote in listing["items"]]})

    @get("/{code:str}", guards=[requires("sales.read")], operation_id="get_quote", summary="One quote")
    async def get_one(self, request: Request, code: CodePath) -> QuoteOut:
        return _open_quote(request, await quotes.get_quote(code))

    @get("/{code:str}/pdf", guards=[requires("sales.read")], media_type="application/pdf", operation_id="quote_pdf",
         summary="The quote as an A4 PDF for the customer, in the reader's language (lang=en|zh overrides)")
    async def pdf(self, request: Request, code: CodePath,
                  lang: Annotated[str | None, Parameter(pattern=r"^(en|zh)$")] = None) -> Response[bytes]:
        quote = await quotes.get_quote(code)
        customer = await Customer.select(Customer.name).where(Customer.code == quote.customer).first()
        language = lang or getattr(request.user, "language", None)
        body = quote_pdf(quote, customer["name"] if customer else "", language if language in LANGUAGES else "en")
        return Response(body, media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="{quote.code}.pdf"'})

    @post("/", guards=[requires("sales.write")], status_code=HTTP_201_CREATED, operation_id="create_quote",
          summary="Draft a quote: lines without a price are priced from the contract or the price lists")
    async def create(self, request: Request, data: QuoteIn) -> QuoteOut:
        async with write_transaction():
            return _open_quote(request, await quotes.create_quote(data, office_who(request)))

    @put("/{code:str}", guards=[requires("sales.write")], operation_id="edit_quote",
         summary="Rewrite a draft or rejected quote (it becomes a draft, priced anew)")
    async def edit(self, request: Request, code: CodePath, data: QuoteEdit) -> QuoteOut:
        async with write_transaction():
            return _open_quote(request, await quotes.edit_quote(code, data, office_who(request)))

    @post("/{code:str}/submit", guards=[requires("sales.write")], status_code=HTTP_200_OK, operation_id="submit_quote",
          summary="Submit: approved at once, or waiting for an approver when a discount passes the threshold")
    async def submit(self, request: Request, code: CodePath, data: QuoteAction | None = None) -> QuoteOut:
        async with write_transaction():
            return _open_quote(request, await quotes.submit_quote(code, office_who(request),
                                                                  data.version if data else None))

    @post("/{code:str}/approve", guards=[requires("sales.approve")], status_code=HTTP_200_OK,
          operation_id="approve_quote", summary="Approve a submitted quote")
    async def approve(self, request: Request, code: CodePath, data: QuoteAction | None = None) -> QuoteOut:
        async with write_transaction():
            quote = await quotes.decide_quote(code, "approved", office_who(request), data.version if data else None,
                                              data.reason if data else "")
            return _open_quote(request, quote)

    @post("/{code:str}/reject", guards=[requires("sales.approve")], status_code=HTTP_200_OK,
          operation_id="reject_quote", summary="Reject a submitted quote (it may be edited and submitted again)")
    async def reject(self, request: Request, code: CodePath, data: QuoteAction | None = None) -> QuoteOut:
        async with write_transaction():
            quote = await quotes.decide_quote(code, "rejected", office_who(request), data.version if data else None,
                                              data.reason if data else "")
            return _open_quote(request, quote)

    @post("/{code:str}/convert", guards=[requires("sales.write")], status_code=HTTP_201_CREATED,
          operation_id="convert_quote", summary="Turn an approved quote into a draft sales order (once)")
    async def convert(self, request: Request, code: CodePath, data: QuoteConvert | None = None) -> SalesOrderOut:
        async with write_transaction():
            return open_for(request, await quotes.convert_quote(code, data or QuoteConvert(), office_who(request)))


PRICING_CONTROLLERS = [PriceListController, PriceController, ContractController, QuoteController]
