"""Office endpoints for stock: on-hand, and moves and counts made at a desk (the same functions a device's
`stock.move` / `stock.count` reach, each in one transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.inventory import OnHand, OpeningBalanceResult
from schemas.sync import StockCountArgs, StockMoveArgs
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.inventory.availability import available_to_promise, fefo_suggestion, stock_alerts
from server.inventory import opening
from server.inventory.moves import count_stock, move_stock
from server.inventory.stock import list_on_hand

CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@dataclass
class BalanceUpload:
    """The multipart form: the file in the field `file` (a named field, so a form without it is a 400)."""

    file: UploadFile


class StockController(Controller):
    path = "/api/stock"
    tags = ["Stock"]

    @get("/", guards=[requires("stock.read")], summary="On-hand stock by item, location, lot and status")
    async def on_hand(
        self,
        item: CodeFilter = None,
        location: CodeFilter = None,
        lot: CodeFilter = None,
        status: Literal["available", "hold", "quarantine"] | None = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[OnHand]:
        rows, total = await list_on_hand(item, location, limit, offset, lot, status)
        items = [OnHand(**r) for r in rows]
        return Page[OnHand](items=items, total=total, limit=limit, offset=offset)

    @get("/fefo", guards=[requires("stock.read")], summary="Where to pick an item from, first expiry first out")
    async def fefo(
        self,
        item: Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")],
        quantity: Annotated[str, Parameter(pattern=r"^[0-9]{1,12}(\.[0-9]{1,6})?$", description="A decimal, e.g. 12.5")],
        warehouse: CodeFilter = None,
        site: CodeFilter = None,
    ) -> dict[str, Any]:
        return await fefo_suggestion(item, Decimal(quantity), warehouse=warehouse, site=site)

    @get("/available/{item:str}", guards=[requires("stock.read")], summary="On hand, reserved and available to promise")
    async def available(self, item: Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]) -> dict[str, str]:
        return await available_to_promise(item)

    @get("/alerts", guards=[requires("stock.read")], summary="Below safety stock; lots expiring within N days or expired")
    async def alerts(self, days: Annotated[int, Parameter(ge=0, le=3650)] = 30) -> dict[str, Any]:
        return await stock_alerts(days)

    @post("/moves", guards=[requires("stock.write")], status_code=HTTP_201_CREATED, summary="Move stock between locations")
    async def move(self, request: Request, data: StockMoveArgs) -> dict[str, Any]:
        async with write_transaction():
            return await move_stock(data.item, data.lot, data.from_location, data.to_location, data.quantity,
                                    office_who(request), data.serials, data.for_order)

    @post("/counts", guards=[requires("stock.write")], status_code=HTTP_201_CREATED,
          summary="Record a count; the difference is booked as an adjustment")
    async def count(self, request: Request, data: StockCountArgs) -> dict[str, Any]:
        async with write_transaction():
            return await count_stock(data.item, data.lot, data.location, data.counted_quantity, data.reason,
                                     office_who(request))

    @post("/opening-balances", guards=[requires("stock.write")], status_code=HTTP_200_OK,
          operation_id="import_opening_balances",
          summary="Load opening stock balances from a CSV or XLSX (all or nothing)",
          description="One row per item, location, lot and status: item, location, lot, expiry (YYYY-MM-DD), serials "
                      "(one per unit of a serial-tracked item, separated by spaces, commas or semicolons), quantity, "
                      "status (available, hold, quarantine), unit_cost; headers in English or Chinese. Each balance is "
                      "posted to the ledger with reason `opening_balance`; lots are created with their expiry, serials "
                      "registered. Any problem refuses the file: 422 `import_invalid` with every problem in "
                      "details.errors. A place that has this very opening balance already is skipped (a file loaded "
                      "twice changes nothing); one with another is `opening_balance_exists`.")
    async def load_opening_balances(
        self, request: Request, data: Annotated[BalanceUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: Annotated[bool, Parameter(description="Only check the file: nothing is written")] = False,
    ) -> OpeningBalanceResult:
        filename = data.file.filename or ""
        balances, found = await opening.read_balance_sheet(await data.file.read(), filename)
        async with write_transaction():
            result = await opening.import_opening_balances(balances, found, office_who(request), filename=filename,
                                                           dry_run=dry_run)
        return OpeningBalanceResult(**result)
