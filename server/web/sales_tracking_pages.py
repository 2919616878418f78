"""One order followed from entry to signed delivery, and a customer's figures (exposure, open value, volume,
on-time rate) with its recent orders."""

from __future__ import annotations

from litestar import Request, get
from litestar.response import Template

from server.accounts.identity import requires
from server.orders import tracking
from server.sales import service as sales
from server.web.forms import display
from server.web.order_words import credit_hold_words
from server.web.render import render
from server.web.sales_common import CodePath


@get("/sales-orders/{code:str}/tracking", guards=[requires("sales.read")], include_in_schema=False)
async def tracking_page(request: Request, code: CodePath) -> Template:
    """One order from entry to signed delivery: how far each line got, and the work going on for it."""
    return render(request, "sales_tracking.html", tracking=await tracking.order_tracking(code), show=display,
                  credit_hold_at=credit_hold_words((await sales.order_history(code)).reviews))


@get("/customers/{code:str}/orders", guards=[requires("sales.read")], include_in_schema=False)
async def customer_page(request: Request, code: CodePath) -> Template:
    """A customer's figures (exposure against the limit, open value, volume, on-time rate) and recent orders."""
    return render(request, "sales_customer.html", summary=await tracking.customer_summary(code), show=display)


SALES_TRACKING_HANDLERS = [tracking_page, customer_page]
