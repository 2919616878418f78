"""The office page that imports sales orders from a CSV or XLSX (/sales-orders/import): the columns a file takes,
an upload with "only check", and the answer — the orders made, or every problem by row and column in the reader's
language; "check and download the problems" answers with the file itself and each row's problems beside it. It
calls the same importer as POST /api/sales-orders/import."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Template
from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.sales import importer
from server.spreadsheets import parse_upload
from server.web.import_problems import problems_download, problems_said
from server.web.render import language_of, render

CHINESE_HEADERS: dict[str, str] = {}
for alias, column in importer.HEADER_ALIASES.items():
    CHINESE_HEADERS.setdefault(column, alias)


def _page(request: Request, *, status_code: int = 200, result: dict[str, Any] | None = None,
          problems: list[dict[str, Any]] | None = None, dry_run: bool = False) -> Template:
    return render(request, "sales_import.html", status_code=status_code, result=result,
                  problems=problems_said(language_of(request), problems or []),
                  dry_run=dry_run, columns=importer.COLUMNS, required=importer.REQUIRED, chinese=CHINESE_HEADERS,
                  max_mb=importer.MAX_IMPORT_BYTES // (1024 * 1024), max_lines=importer.MAX_IMPORT_LINES)


@get("/sales-orders/import", guards=[requires("sales.write")], include_in_schema=False)
async def sales_import_form(request: Request) -> Template:
    return _page(request)


@post("/sales-orders/import", guards=[requires("sales.write")], include_in_schema=False)
async def sales_import(request: Request) -> Template | Response:
    who = office_who(request)
    form = await request.form()
    upload, dry_run = form.get("file"), form.get("dry_run") == "true"
    download = form.get("problems_file") == "csv"  # only checks, and answers with the file and its problems
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, status_code=HTTP_422_UNPROCESSABLE_ENTITY, dry_run=dry_run, problems=[
            importer.problem(0, "", "missing_file", "choose a CSV or XLSX file")])
    raw = await upload.read()
    try:
        orders, found = await importer.read_order_sheet(raw, upload.filename)
        with importer.lost_race_is_already_imported():
            async with write_transaction():
                result = await importer.import_sales_orders(orders, found, who, filename=upload.filename,
                                                            dry_run=dry_run or download)
    except ApiError as exc:
        problems = exc.details.get("errors") or [importer.problem(
            0, "", exc.code, exc.message, **{k: v for k, v in exc.details.items() if k not in ("row", "column")})]
        if download and exc.code == "import_invalid":
            return await _problems_download(request, raw, upload.filename, problems)
        return _page(request, status_code=exc.status_code, problems=problems, dry_run=dry_run)
    return _page(request, result=result, dry_run=dry_run or download)


async def _problems_download(request: Request, raw: bytes, filename: str, problems: list[dict[str, Any]]) -> Response:
    """The uploaded file's rows, read again as the import read them, each with its problems in the reader's language."""
    rows = await parse_upload(lambda deadline: list(importer.read_rows(raw, filename, deadline)))
    return problems_download(language_of(request), rows, problems, filename)


SALES_IMPORT_HANDLERS = [sales_import_form, sales_import]
