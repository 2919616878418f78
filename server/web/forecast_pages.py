"""The forecasts page (/planning/forecasts): forecasts by site, item and period with filters, a quantity changed in
its row (0 deletes it), a forecast added, and a CSV or XLSX of forecasts imported (all or nothing, every problem by
row and column). Every write calls `server.planning.forecasts`, the functions behind /api/forecasts."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import ValidationError

from schemas.planning import ForecastIn
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError, field_code
from server.i18n import has_key, translate
from server.masterdata.tables import Item, Site
from server.planning import forecasts
from server.sales.importer import MAX_IMPORT_BYTES, MAX_IMPORT_LINES, read_rows
from server.spreadsheets import parse_upload
from server.web.choices import MAX_ITEM_SUGGESTIONS, active_records
from server.web.import_problems import problems_download, problems_said
from server.web.render import language_of, render

PAGE_SIZE = 50
FilterText = Annotated[str | None, Parameter(max_length=40, pattern=r"^[^\x00-\x1f\x7f]*$")]
FORM_FIELDS = ("site", "item", "period_start", "quantity")
CHINESE_HEADERS: dict[str, str] = {}
for alias, column in forecasts.HEADER_ALIASES.items():
    CHINESE_HEADERS.setdefault(column, alias)


def user_may_write(request: Request) -> bool:
    return request.user.may("planning.write")


def problem_text(lang: str, code: str, message: str) -> str:
    """A refusal in the reader's words: the catalog's sentence for its code, else the server's own message."""
    for key in (f"problem.{code}", f"soimport_problem.{code}"):
        if has_key(key):
            return translate(lang, key)
    return message


async def _page(request: Request, *, status_code: int = 200, site: str = "", item: str = "", page: int = 1,
                typed: dict[str, str] | None = None, form_errors: list[str] | None = None,
                result: dict[str, Any] | None = None, problems: list[dict[str, Any]] | None = None,
                dry_run: bool = False) -> Template:
    listing = await forecasts.list_forecasts(site=site or None, item=item or None, limit=PAGE_SIZE,
                                             offset=(page - 1) * PAGE_SIZE)
    params = {k: v for k, v in {"site": site, "item": item}.items() if v}
    lang = language_of(request)
    return render(
        request,
        "planning_forecasts.html",
        status_code=status_code,
        rows=[{**row.model_dump(), "quantity": format(row.quantity, "f")} for row in listing["items"]],
        total=listing["total"],
        page=page,
        pages=max(1, -(-listing["total"] // PAGE_SIZE)),
        page_url=lambda number: "/planning/forecasts?" + urlencode({**params, "page": number}),
        filters={"site": site, "item": item},
        sites=[row["code"] for row in await active_records(Site, limit=300)],
        items=[row["code"] for row in await active_records(Item, limit=MAX_ITEM_SUGGESTIONS)]
        if user_may_write(request) else [],
        bucket=await forecasts.planning_bucket(),
        typed=typed or {},
        form_errors=form_errors or [],
        result=result,
        problems=problems_said(lang, problems or []),
        dry_run=dry_run,
        columns=forecasts.COLUMNS,
        chinese=CHINESE_HEADERS,
        max_mb=MAX_IMPORT_BYTES // (1024 * 1024),
        max_lines=MAX_IMPORT_LINES,
        saved=request.query_params.get("saved"),
    )


@get("/planning/forecasts", guards=[requires("planning.read")], include_in_schema=False)
async def forecasts_page(request: Request, site: FilterText = None, item: FilterText = None,
                         page: Annotated[int, Parameter(ge=1, le=10**6)] = 1) -> Template:
    return await _page(request, site=(site or "").strip(), item=(item or "").strip(), page=page)


def _refusal(lang: str, exc: ValidationError | ApiError) -> list[str]:
    """Each problem of a refused forecast as '<field label>: <problem>' in the reader's language."""
    if isinstance(exc, ValidationError):
        found = [(str(e["loc"][-1]) if e["loc"] else "", field_code(e["msg"]), e["msg"].removeprefix("Value error, "))
                 for e in exc.errors()]
    else:
        found = [(str(p.get("field", "")).rsplit(".", 1)[-1], str(p.get("code", exc.code)), str(p.get("message", "")))
                 for p in exc.details.get("errors") or [{"field": "", "code": exc.code, "message": exc.message}]]
    return [(f"{translate(lang, 'field.' + field)}: " if field in FORM_FIELDS else "") + problem_text(lang, code, message)
            for field, code, message in found]


@post("/planning/forecasts", guards=[requires("planning.write")], include_in_schema=False)
async def save_forecast(request: Request) -> Template | Redirect:
    """One forecast from the page: a row's new quantity, or a new forecast (the same upsert as PUT /api/forecasts)."""
    form = await request.form()
    typed = {name: str(form.get(name) or "").strip() for name in FORM_FIELDS}
    back = {name: str(form.get(f"back_{name}") or "")[:40] for name in ("site", "item")}
    try:
        forecast = ForecastIn.model_validate(typed)
        async with write_transaction():
            await forecasts.save_forecasts([forecast], office_who(request))
    except (ValidationError, ApiError) as exc:
        return await _page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, **back, typed=typed,
                           form_errors=_refusal(language_of(request), exc))
    saved = f"{forecast.item} · {forecast.site} · {forecast.period_start}"
    return Redirect("/planning/forecasts?" + urlencode({**{k: v for k, v in back.items() if v}, "saved": saved}),
                    status_code=HTTP_303_SEE_OTHER)


@post("/planning/forecasts/import", guards=[requires("planning.write")], include_in_schema=False)
async def import_forecasts(request: Request) -> Template | Response:
    """An import, or with "check and download the problems" a check that answers with the file and its problems."""
    form = await request.form()
    upload, dry_run = form.get("file"), form.get("dry_run") == "true"
    download = form.get("problems_file") == "csv"
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await _page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, dry_run=dry_run, problems=[
            {"row": 0, "column": "", "code": "missing_file", "message": "choose a CSV or XLSX file"}])
    raw = await upload.read()
    try:
        async with write_transaction():
            result = await forecasts.import_forecasts(raw, upload.filename, office_who(request),
                                                      dry_run=dry_run or download)
    except ApiError as exc:
        problems = exc.details.get("errors") or [{"row": 0, "column": "", "code": exc.code, "message": exc.message,
                                                  "params": {k: v for k, v in exc.details.items() if k != "row"}}]
        if download and exc.code == "import_invalid":
            rows = await parse_upload(lambda deadline: list(read_rows(raw, upload.filename, deadline)))
            return problems_download(language_of(request), rows, problems, upload.filename)
        return await _page(request, status_code=exc.status_code, problems=problems, dry_run=dry_run)
    return await _page(request, result=result, dry_run=dry_run or download)


@get("/planning/forecasts/import", guards=[requires("planning.read")], include_in_schema=False)
async def back_to_forecasts() -> Redirect:
    """An import's answer is shown at the form's address; switching language there comes back to the list."""
    return Redirect("/planning/forecasts", status_code=HTTP_303_SEE_OTHER)


FORECAST_HANDLERS = [forecasts_page, save_forecast, import_forecasts, back_to_forecasts]
