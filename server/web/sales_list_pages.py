"""The sales order list: by status, customer and search text, or only those awaiting approval, a page at a time."""

from __future__ import annotations

from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Template

from server.accounts.identity import requires
from server.masterdata.tables import Customer
from server.sales import rules
from server.sales import service as sales
from server.web.forms import display
from server.web.render import render
from server.web.sales_common import PAGE_SIZE, CodeFilter, PageNumber, SearchText, StatusFilter, page_count

@get("/sales-orders", guards=[requires("sales.read")], include_in_schema=False)
async def sales_list(request: Request, status: StatusFilter = None, customer: CodeFilter = None, q: SearchText = None,
                     awaiting: bool = False, page: PageNumber = 1) -> Template:
    user = request.user
    status = status if status in rules.SO_STATUSES else None
    listing = await sales.list_sales_orders(status=status, customer=customer or None, q=(q or "").strip() or None,
                                            awaiting_approval=awaiting, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    params = {k: v for k, v in {"status": status, "customer": customer, "q": q, "awaiting": "true" if awaiting else None}.items() if v}
    customers = await Customer.select(Customer.code, Customer.name).order_by(Customer.code)
    return render(request, "sales_list.html", orders=listing["items"], total=listing["total"], page=page,
                  pages=page_count(listing["total"]), status=status or "", statuses=rules.SO_STATUSES,
                  customer=customer or "", customers=customers, q=q or "", awaiting=awaiting,
                  may_write=user.may("sales.write"), may_approve=user.may("sales.approve"),
                  show=display, page_url=lambda number: "/sales-orders?" + urlencode({**params, "page": number}))


SALES_LIST_HANDLERS = [sales_list]
