"""Spreadsheets in and out. In: an uploaded CSV or XLSX is read in a worker thread, within bounds of rows, columns,
field size and time, so that no file (a 1.5 KB workbook that declares a million rows of 16,384 columns) can stall
the event loop or keep a thread burning after its request was answered. Out: every cell we export is written so that
no spreadsheet runs it as a formula (OWASP's CSV injection advice: a leading apostrophe)."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

import anyio
import anyio.to_thread
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_422_UNPROCESSABLE_ENTITY

from server.errors import ApiError, problem_values

T = TypeVar("T")

PARSE_SECONDS = 20.0  # a 20,000-line workbook reads in a few seconds on a busy machine
PARSERS = anyio.CapacityLimiter(2)  # uploads read side by side per process; more wait their turn
MAX_SHEET_ROWS = 100_000  # physical rows, blank ones included: the row caps of the importers count data rows
MAX_SHEET_COLUMNS = 64  # the importers know at most 14 columns
MAX_FIELD_BYTES = 128 * 1024  # Python's csv module refuses a longer field; the same bound for every reader


class UploadRefused(ApiError):
    """The file as a whole cannot be read (or not within its bounds); `row` says where reading stopped, if anywhere."""

    def __init__(self, status_code: int, code: str, message: str, row: int = 0, **details: Any):
        super().__init__(status_code, code, message, {"row": row, **details})
        self.row = row


class Deadline:
    """Handed to a parse in a worker thread: `check()` raises once its time is up, so the thread stops at its next row
    instead of burning on after the request was answered (a thread cannot be killed from outside)."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.ends_at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.ends_at:
            raise too_complex(self.seconds)


def too_complex(seconds: float) -> UploadRefused:
    return UploadRefused(HTTP_422_UNPROCESSABLE_ENTITY, "upload_too_complex",
                         f"The file could not be read within {seconds:g} seconds: split it into smaller files",
                         max_seconds=seconds)


async def parse_upload(parse: Callable[[Deadline], T], seconds: float = PARSE_SECONDS) -> T:
    """`parse(deadline)` in a worker thread, at most `seconds` once its turn came: past that the request is answered
    with 422 `upload_too_complex` at once, and the thread, which checks the deadline on every row it reads, stops."""
    async with PARSERS:
        deadline = Deadline(seconds)
        try:
            with anyio.fail_after(seconds + 1):  # the thread's own check comes first unless it is stuck in one row
                return await anyio.to_thread.run_sync(parse, deadline, abandon_on_cancel=True)
        except TimeoutError:
            raise too_complex(seconds) from None


def _too_many_rows() -> UploadRefused:
    return UploadRefused(HTTP_422_UNPROCESSABLE_ENTITY, "too_many_rows",
                         f"The sheet goes on past row {MAX_SHEET_ROWS:,}: delete the empty rows below the data or "
                         "split the file", row=MAX_SHEET_ROWS + 1, max_rows=MAX_SHEET_ROWS)


def _too_many_columns(row: int) -> UploadRefused:
    return UploadRefused(HTTP_422_UNPROCESSABLE_ENTITY, "too_many_columns",
                         f"Row {row} has cells past column {MAX_SHEET_COLUMNS}: delete them", row=row,
                         max_columns=MAX_SHEET_COLUMNS)


def csv_records(text: str, deadline: Deadline) -> Iterator[tuple[int, list[str]]]:
    """(record number from 1, cells) of a CSV, blank records included, read one record at a time within the bounds."""
    reader = csv.reader(io.StringIO(text, newline=""))
    number = 0
    while True:
        deadline.check()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise UploadRefused(HTTP_413_REQUEST_ENTITY_TOO_LARGE, "field_too_large",
                                    f"Row {number + 1} has a cell longer than {MAX_FIELD_BYTES // 1024} KB",
                                    row=number + 1, max_bytes=MAX_FIELD_BYTES) from exc
            raise UploadRefused(HTTP_422_UNPROCESSABLE_ENTITY, "unreadable_file",
                                f"The CSV cannot be read after row {number}: {exc}", row=number + 1) from exc
        number += 1
        if number > MAX_SHEET_ROWS:
            raise _too_many_rows()
        if len(cells) > MAX_SHEET_COLUMNS and any(cell.strip() for cell in cells[MAX_SHEET_COLUMNS:]):
            raise _too_many_columns(number)
        yield number, cells[:MAX_SHEET_COLUMNS]


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # Plain digits as a person would type them: repr writes 1e-05, which no quantity field takes.
        return format(Decimal(repr(value)).normalize(), "f") if value == value else "NaN"
    if isinstance(value, str) and len(value) > MAX_FIELD_BYTES:
        raise UploadRefused(HTTP_413_REQUEST_ENTITY_TOO_LARGE, "field_too_large",
                            f"A cell is longer than {MAX_FIELD_BYTES // 1024} KB", max_bytes=MAX_FIELD_BYTES)
    return str(value)


def xlsx_records(workbook: Any, deadline: Deadline) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of the rows an openpyxl read-only workbook's first sheet holds. The sheet's
    declared dimension is ignored: it is what a bomb lies in, and the read-only sheet pads every row, the missing ones
    too, to it. So the rows come from openpyxl's own sheet parser, which yields the cells there are and nothing else
    (openpyxl 3.1's `_reader.WorkSheetParser`, fed as its read-only sheet feeds it), and a cell past our bounds
    refuses the file."""
    from openpyxl.worksheet._reader import WorkSheetParser  # noqa: PLC0415 - only an XLSX upload pays for it

    sheet = workbook.worksheets[0]
    with sheet._get_source() as source:  # noqa: SLF001 - see above
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=workbook.data_only,  # noqa: SLF001
                                 epoch=workbook.epoch, date_formats=workbook._date_formats,  # noqa: SLF001
                                 timedelta_formats=workbook._timedelta_formats)  # noqa: SLF001
        for number, cells in parser.parse():
            deadline.check()
            if number > MAX_SHEET_ROWS:
                raise _too_many_rows()
            values = {cell["column"]: cell["value"] for cell in cells if cell["value"] not in (None, "")}
            if not values:
                continue
            if max(values) > MAX_SHEET_COLUMNS:
                raise _too_many_columns(number)
            yield number, [_xlsx_text(values.get(column)) for column in range(1, max(values) + 1)]


# -- an import's file: bytes to rows of text cells (CSV or XLSX), and its problems ------------------------------------
MAX_IMPORT_BYTES = 10 * 1024 * 1024
MAX_XLSX_UNPACKED_BYTES = 200 * 1024 * 1024  # what the zip inflates to: a small file must not unpack to gigabytes
XLSX_MAGIC = b"PK\x03\x04"


def problem(row: int, column: str, code: str, message: str, /, **values: Any) -> dict[str, Any]:
    """A problem of an imported file: where (row, column), what (`code`), the English `message` API clients read,
    and the `params` it names, from which a page says it in the reader's language (server/web/forms.py)."""
    return {"row": row, "column": column, "code": code, "message": message, "params": problem_values(**values)}


def refused_file(status: int, code: str, message: str, row: int = 0, **details: Any) -> ApiError:
    """The file as a whole cannot be read: one problem, on the row where reading stopped (0: the file itself)."""
    return ApiError(status, code, message, {**details, "errors": [problem(row, "", code, message, **details)]})


def read_rows(raw: bytes, filename: str, deadline: Deadline) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells as text) of the first sheet of an XLSX or of a CSV (UTF-8 with or without BOM, or the
    GB18030 Chinese Excel saves), blank rows left out, read as they are asked for within the bounds above. Anything
    else is refused as `unreadable_file`."""
    if len(raw) > MAX_IMPORT_BYTES:
        raise refused_file(HTTP_413_REQUEST_ENTITY_TOO_LARGE, "file_too_large",
                           f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it",
                           max_bytes=MAX_IMPORT_BYTES, max_mb=MAX_IMPORT_BYTES // (1024 * 1024))
    if raw.startswith(XLSX_MAGIC):
        rows = _xlsx_rows(raw, deadline)
    elif filename.lower().endswith((".xlsx", ".xls")) or b"\x00" in raw[:65536]:
        raise _unreadable()
    else:
        rows = _csv_rows(raw, deadline)
    try:
        yield from rows
    except UploadRefused as exc:
        raise refused_file(exc.status_code, exc.code, exc.message, exc.row,
                           **{k: v for k, v in exc.details.items() if k != "row"}) from exc


def _unreadable() -> ApiError:
    return refused_file(HTTP_422_UNPROCESSABLE_ENTITY, "unreadable_file",
                        "The file is neither a CSV nor an XLSX workbook: save it as 'CSV UTF-8' or 'Excel workbook'")


def _csv_rows(raw: bytes, deadline: Deadline) -> Iterator[tuple[int, list[str]]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise refused_file(HTTP_422_UNPROCESSABLE_ENTITY, "invalid_encoding",
                           "The file is neither UTF-8 nor GB18030: save it as 'CSV UTF-8' and import it again")
    return ((number, row) for number, row in csv_records(text, deadline) if any(cell.strip() for cell in row))


def _xlsx_rows(raw: bytes, deadline: Deadline) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook  # noqa: PLC0415 - only an XLSX upload pays for importing it

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _unreadable() from exc
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise refused_file(HTTP_413_REQUEST_ENTITY_TOO_LARGE, "file_too_large",
                           "The workbook unpacks to more than 200 MB: split it", max_bytes=MAX_XLSX_UNPACKED_BYTES,
                           max_mb=MAX_XLSX_UNPACKED_BYTES // (1024 * 1024))
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a damaged workbook; all mean the same
        raise _unreadable() from exc
    try:
        records = xlsx_records(workbook, deadline)
        while True:
            try:
                number, cells = next(records)
            except StopIteration:
                return
            except ApiError:
                raise
            except Exception as exc:  # noqa: BLE001 - as above, for a sheet damaged further down
                raise _unreadable() from exc
            if any(cell.strip() for cell in cells):
                yield number, cells
    finally:
        workbook.close()


# A cell a spreadsheet would evaluate: =, +, -, @ (and their full-width forms, which Excel takes as well), and a tab
# or carriage return in front of one of them.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


def spreadsheet_cell(text: str) -> str:
    """A text cell of an export as a spreadsheet shows it and never runs it: one that would start a formula gets a
    leading apostrophe. A plain number (a negative quantity, -5) stays a number."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text):
        return "'" + text
    return text


def from_spreadsheet_cell(text: str) -> str:
    """An imported cell as it was before `spreadsheet_cell`, so that an export imports back unchanged."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(text[1:]):
        return text[1:]
    return text
