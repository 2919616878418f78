"""The action buttons of a document's page (release, approve, cancel…): one shape for every lifecycle."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from pydantic import ValidationError

from server.db import write_transaction
from server.errors import ApiError
from server.web.forms import FormErrors, explain
from server.web.render import language_of


def messages(request: Request, exc: ApiError | ValidationError) -> list[str]:
    """A refusal as the lines a page shows above its form, in the reader's language."""
    problems = explain(exc, FormErrors(), language_of(request))
    return [*problems.general, *(m for ms in problems.fields.values() for m in ms)]


def posted_version(form: Any) -> int | None:
    """The version the page was showing (its hidden field), or None where it sent none."""
    version = str(form.get("version") or "")
    return int(version) if version.isdigit() else None


async def run_action(request: Request, action: Callable[[], Awaitable[Any]], page: Callable[..., Awaitable[Template]],
                     done: str) -> Template | Redirect:
    """Run a page's action in one write transaction, then go to `done`; a refusal shows the page again with it
    explained (`page(errors=…, status_code=…)`), and a document that does not exist stays a 404."""
    try:
        async with write_transaction():
            await action()
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        return await page(errors=messages(request, exc), status_code=exc.status_code)
    return Redirect(done, status_code=HTTP_303_SEE_OTHER)
