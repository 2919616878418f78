"""What the sales order pages share: their path and query parameters, paging, posted text, a refusal as messages,
a value of an order's history in words, and who may press an order's (or a quote's) action button."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.connection import ASGIConnection
from litestar.params import Parameter
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from server.errors import ApiError
from server.sales import rules
from server.web.forms import display

PAGE_SIZE = 25
BLANK_LINES = 3
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
StatusFilter = Annotated[str | None, Parameter(max_length=20, pattern=r"^[a-z_]*$")]
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=r"^[A-Za-z0-9._-]*$")]
SearchText = Annotated[str | None, Parameter(max_length=100, pattern=r"^[^\x00-\x1f\x7f]*$")]
PageNumber = Annotated[int, Parameter(ge=1, le=10**6)]
LINE_FIELDS = ("item", "quantity", "unit_price", "discount_pct", "due_date", "promised_date")


def refusal_status(exc: ApiError | ValidationError) -> int:
    return exc.status_code if isinstance(exc, ApiError) else HTTP_422_UNPROCESSABLE_ENTITY


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def posted_text(form: Any) -> dict[str, str]:
    return {k: (v if k in ("notes", "delivery_address") else v.strip()) for k, v in form.items() if isinstance(v, str)}


def shown(value: Any) -> str:
    """A value from an order's history, as a reader wants it: a line as item × quantity, nothing as a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, dict) and "item" in value and "quantity" in value:
        return f"{value['item']} × {value.get('quantity', '')}"
    if isinstance(value, (list, dict)):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else ", ".join(map(str, value))
    return display(value, "text")


def action_permission(connection: ASGIConnection) -> str:
    """The permission an action route asks for: the action is the last part of its path."""
    return rules.ACTION_PERMISSION.get(connection.url.path.rsplit("/", 1)[-1], "sales.write")
