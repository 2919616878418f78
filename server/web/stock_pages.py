"""Stock in the office: on-hand with item and location filters, and moves, counts and receipts booked at a desk.
A desk booking calls the same `move_stock` / `count_stock` / `receive` a device's mutation reaches, in one
transaction, and a refusal (`insufficient_stock`, an unknown location…) comes back next to the form in the
reader's language."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.inventory import ReceiptArgs
from schemas.sync import StockCountArgs, StockMoveArgs
from server.accounts.identity import requires
from server.db import write_transaction
from server.errors import ApiError
from server.i18n import translate
from server.inventory.availability import stock_alerts
from server.inventory.moves import count_stock, move_stock
from server.purchasing.receipts import receive as receive_goods
from server.inventory.stock import list_on_hand
from server.actors import office_who
from server.web.forms import FormErrors, explain
from server.web.render import language_of, render

STOCK_PAGE_SIZE = 50
FilterText = Annotated[str | None, Parameter(max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$")]
MOVE_FIELDS = ("item", "lot", "from_location", "to_location", "quantity", "for_order")
COUNT_FIELDS = ("item", "lot", "location", "counted_quantity", "reason")
RECEIVE_FIELDS = ("purchase_order", "line_no", "item", "lot", "expiry", "location", "quantity")


async def _stock_page(request: Request, *, status_code: int = 200, item: str = "", location: str = "", page: int = 1,
                      move: dict[str, Any] | None = None, count: dict[str, Any] | None = None,
                      receive: dict[str, Any] | None = None) -> Template:
    rows, total = await list_on_hand(item, location, STOCK_PAGE_SIZE, (page - 1) * STOCK_PAGE_SIZE)
    params = {k: v for k, v in {"item": item, "location": location}.items() if v}
    return render(
        request,
        "stock.html",
        status_code=status_code,
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // STOCK_PAGE_SIZE)),
        filters={"item": item, "location": location},
        page_url=lambda number: "/stock?" + urlencode({**params, "page": number}),
        move=move or {"typed": {}, "errors": []},
        count=count or {"typed": {}, "errors": []},
        receive=receive or {"typed": {}, "errors": []},
        done=request.query_params.get("done"),
    )


@get("/stock", guards=[requires("stock.read")], include_in_schema=False)
async def stock_list(
    request: Request,
    item: FilterText = None,
    location: FilterText = None,
    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1,
) -> Template:
    return await _stock_page(request, item=(item or "").strip(), location=(location or "").strip(), page=page)


def _posted(form: Any, names: tuple[str, ...]) -> dict[str, str]:
    return {name: str(form.get(name) or "").strip() for name in names}


def _refusal(exc: ValidationError | ApiError, lang: str) -> list[str]:
    errors = explain(exc, FormErrors(), lang)
    return [*errors.general, *(f"{translate(lang, 'stock.' + name)}: {m}" for name, ms in errors.fields.items() for m in ms)]


def _args(values: dict[str, str]) -> dict[str, str | None]:
    # An empty lot or reason is "none", as a device would send it.
    return {k: (v or None) if k in ("lot", "reason", "expiry", "for_order") else v for k, v in values.items()}


@post("/stock/moves", guards=[requires("stock.write")], include_in_schema=False)
async def book_move(request: Request) -> Template | Redirect:
    who = office_who(request)
    values = _posted(await request.form(), MOVE_FIELDS)
    try:
        args = StockMoveArgs.model_validate(_args(values))
        async with write_transaction():
            await move_stock(args.item, args.lot, args.from_location, args.to_location, args.quantity,
                             who, for_order=args.for_order)
    except (ValidationError, ApiError) as exc:
        move = {"typed": values, "errors": _refusal(exc, language_of(request))}
        return await _stock_page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, item=values["item"], move=move)
    return Redirect("/stock?" + urlencode({"item": args.item, "done": "move"}), status_code=HTTP_303_SEE_OTHER)


@post("/stock/counts", guards=[requires("stock.write")], include_in_schema=False)
async def book_count(request: Request) -> Template | Redirect:
    who = office_who(request)
    values = _posted(await request.form(), COUNT_FIELDS)
    try:
        args = StockCountArgs.model_validate(_args(values))
        async with write_transaction():
            await count_stock(args.item, args.lot, args.location, args.counted_quantity, args.reason,
                              who)
    except (ValidationError, ApiError) as exc:
        count = {"typed": values, "errors": _refusal(exc, language_of(request))}
        return await _stock_page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, item=values["item"], count=count)
    return Redirect("/stock?" + urlencode({"item": args.item, "done": "count"}), status_code=HTTP_303_SEE_OTHER)


@post("/stock/receipts", guards=[requires("stock.write")], include_in_schema=False)
async def book_receipt(request: Request) -> Template | Redirect:
    who = office_who(request)
    values = _posted(await request.form(), RECEIVE_FIELDS)
    try:
        args = ReceiptArgs.model_validate(_args(values))
        async with write_transaction():
            await receive_goods(args, who)
    except (ValidationError, ApiError) as exc:
        receipt = {"typed": values, "errors": _refusal(exc, language_of(request))}
        return await _stock_page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, item=values["item"], receive=receipt)
    return Redirect("/stock?" + urlencode({"item": args.item, "done": "receive"}), status_code=HTTP_303_SEE_OTHER)


@get("/stock/alerts", guards=[requires("stock.read")], include_in_schema=False)
async def alerts_page(request: Request, days: Annotated[int, Parameter(ge=0, le=3650)] = 30) -> Template:
    return render(request, "stock_alerts.html", alerts=await stock_alerts(days), days=days)


@get(["/stock/moves", "/stock/counts", "/stock/receipts"], guards=[requires("stock.read")], include_in_schema=False)
async def back_to_stock(request: Request) -> Redirect:
    """A refused booking is shown at the form's address; switching language there comes back here, to the list."""
    return Redirect("/stock", status_code=HTTP_303_SEE_OTHER)


STOCK_HANDLERS = [stock_list, book_move, book_count, book_receipt, alerts_page, back_to_stock]
