"""The approvals queue: the orders an approver must decide on, each with the checks its review failed."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template

from server.accounts.identity import requires
from server.sales import service as sales
from server.web.forms import display
from server.web.render import render
from server.web.sales_common import PAGE_SIZE, PageNumber, page_count


@get("/sales-orders/approvals", guards=[requires("sales.approve")], include_in_schema=False)
async def approvals(request: Request, page: PageNumber = 1) -> Template:
    """The orders an approver must decide on, each with why the review did not approve it."""
    listing = await sales.list_sales_orders(awaiting_approval=True, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    waiting = []
    for order in listing["items"]:
        history = await sales.order_history(order.code)
        review = history.reviews[-1] if history.reviews else None
        waiting.append((order, [c for c in (review.checks if review else []) if not c.passed], review))
    return render(request, "sales_approvals.html", waiting=waiting, total=listing["total"], page=page,
                  pages=page_count(listing["total"]), show=display, done=request.query_params.get("done"),
                  done_order=request.query_params.get("order", ""),
                  page_url=lambda number: "/sales-orders/approvals?" + urlencode({"page": number}))


SALES_APPROVAL_HANDLERS = [approvals]
