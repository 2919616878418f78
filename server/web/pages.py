"""The office pages, gathered under one router whose refusals are pages: a visitor without a session is sent to
the login form, a role that may not do something sees a 403 page instead of the API's JSON."""

from __future__ import annotations

from litestar import Request, Response, Router
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_403_FORBIDDEN, HTTP_404_NOT_FOUND, HTTP_429_TOO_MANY_REQUESTS

from server.errors import ApiError, api_error_handler
from server.web.admin_pages import ADMIN_HANDLERS
from server.web.device_pages import DEVICE_HANDLERS
from server.web.forecast_pages import FORECAST_HANDLERS
from server.web.planning_pages import PLANNING_HANDLERS
from server.web.pricing_pages import PRICING_HANDLERS
from server.web.production_pages import PRODUCTION_HANDLERS
from server.web.purchasing_pages import PURCHASING_HANDLERS
from server.web.purchasing_policy_pages import PURCHASING_POLICY_HANDLERS
from server.web.rfq_pages import RFQ_HANDLERS
from server.web.mail_pages import MAIL_HANDLERS
from server.web.quality_pages import QUALITY_HANDLERS
from server.web.record_pages import RECORD_HANDLERS
from server.web.render import render
from server.web.sales_import_pages import SALES_IMPORT_HANDLERS
from server.web.sales_approval_pages import SALES_APPROVAL_HANDLERS
from server.web.sales_change_pages import SALES_CHANGE_HANDLERS
from server.web.sales_entry_pages import SALES_ENTRY_HANDLERS
from server.web.sales_list_pages import SALES_LIST_HANDLERS
from server.web.sales_order_pages import SALES_ORDER_HANDLERS
from server.web.sales_policy_pages import SALES_POLICY_HANDLERS
from server.web.sales_tracking_pages import SALES_TRACKING_HANDLERS
from server.web.schedule_pages import SCHEDULE_HANDLERS
from server.web.session_pages import SESSION_HANDLERS
from server.web.shipping_pages import SHIPPING_HANDLERS
from server.web.stock_pages import STOCK_HANDLERS
from server.web.webhook_pages import WEBHOOK_HANDLERS

# Every office page. Each names the permission it needs in its route's guards, so a refusal is one of this
# router's pages.
PAGE_HANDLERS = [*SESSION_HANDLERS, *RECORD_HANDLERS, *STOCK_HANDLERS, *DEVICE_HANDLERS, *ADMIN_HANDLERS,
                 *PURCHASING_HANDLERS, *PURCHASING_POLICY_HANDLERS, *RFQ_HANDLERS, *MAIL_HANDLERS, *QUALITY_HANDLERS, *SALES_LIST_HANDLERS,
                 *SALES_ENTRY_HANDLERS,
                 *SALES_APPROVAL_HANDLERS, *SALES_ORDER_HANDLERS, *SALES_CHANGE_HANDLERS, *SALES_TRACKING_HANDLERS,
                 *SALES_POLICY_HANDLERS, *SHIPPING_HANDLERS, *SALES_IMPORT_HANDLERS, *PRODUCTION_HANDLERS,
                 *WEBHOOK_HANDLERS, *PRICING_HANDLERS, *PLANNING_HANDLERS,
                 *FORECAST_HANDLERS, *SCHEDULE_HANDLERS]


def _to_login(request: Request, _: NotAuthorizedException) -> Response:
    if request.headers.get("hx-request"):
        # htmx would swap the login page into a table; tell it to load the page instead.
        return Response(content=None, status_code=401, headers={"HX-Redirect": "/login"})
    return Redirect("/login", status_code=HTTP_303_SEE_OTHER)


def _forbidden(request: Request, exc: PermissionDeniedException) -> Response:
    reason = "error.csrf" if "CSRF" in str(exc.detail) else "error.forbidden"
    return render(request, "error.html", status_code=HTTP_403_FORBIDDEN, reason=reason)


def _too_many_logins(request: Request, exc: TooManyRequestsException) -> Response:
    # Only the login form is rate limited; the person behind it gets the form back with the reason, not JSON.
    page = render(request, "login.html", status_code=HTTP_429_TOO_MANY_REQUESTS, username="", error="login.too_many")
    page.headers.update(exc.headers or {})
    if "RateLimit-Reset" in page.headers:
        page.headers["Retry-After"] = str(page.headers["RateLimit-Reset"])
    return page


def _not_found(request: Request, _: Exception) -> Response:
    return render(request, "error.html", status_code=HTTP_404_NOT_FOUND, reason="error.not_found")


def _api_error(request: Request, exc: ApiError) -> Response:
    if exc.code == "not_found":
        return _not_found(request, exc)
    return api_error_handler(request, exc)


WEB_ROUTER = Router(
    path="/",
    route_handlers=PAGE_HANDLERS,
    request_class=HTMXRequest,
    exception_handlers={
        NotAuthorizedException: _to_login,
        PermissionDeniedException: _forbidden,
        TooManyRequestsException: _too_many_logins,
        NotFoundException: _not_found,
        ApiError: _api_error,
    },
    include_in_schema=False,
)
WEB_HANDLERS = [WEB_ROUTER]
