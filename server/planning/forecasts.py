"""Forecasts: the demand a planner expects of an item at a site, one quantity per period, which MRP plans for beside
the orders. A period is a bucket of the planning settings (a week starting on Monday, or a day); a forecast starts on
the first day of its bucket. Written as a list in one transaction (`save_forecasts`: a quantity of 0 deletes), from
the REST API, the office page or a CSV/XLSX file (`import_forecasts`, all or nothing), each change audited.

The REST controller is at the end: GET/PUT /api/forecasts, DELETE /api/forecasts/{id}, POST /api/forecasts/import."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import islice
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import TypeAdapter, ValidationError

from schemas.common import Page
from schemas.planning import MAX_FORECASTS_PER_PUT, ForecastImportResult, ForecastIn, ForecastOut, ForecastsSaved
from server.accounts.audit import record_audit
from server.accounts.identity import requires
from server.actors import Who, office_who
from server.db import needs_write, write_transaction
from server.document_rules import Problem
from server.documents import item_units, refuse_problems, utc_now
from server.errors import ApiError, Detail, field_code, validation_values, values_of
from server.masterdata.tables import Site
from server.planning.service import planning_settings
from server.planning.tables import Forecast
from server.quantities import decimals_used, from_micro, to_micro
from server.sales.importer import MAX_IMPORT_LINES, problem, read_rows, refused_file
from server.spreadsheets import Deadline, parse_upload

ENTITY = "forecast"
IN_CHUNK = 500  # codes per IN (...) lookup: well under SQLite's variable limit

# -- periods -------------------------------------------------------------------------------------------------------


async def planning_bucket() -> str:
    """What a period is: the planning settings' bucket (a week unless they say day)."""
    return (await planning_settings())["bucket"]


def bucket_start(day: date, bucket: str) -> date:
    """The first day of the bucket `day` lies in."""
    return date.fromordinal(day.toordinal() - day.weekday()) if bucket == "week" else day


def period_start_problem(period_start: date, bucket: str) -> str | None:
    """A weekly forecast starts on a Monday (ISO weeks), a daily one on any day."""
    if period_start != bucket_start(period_start, bucket):
        return (f"{period_start} is a {period_start:%A}: a weekly forecast starts on the Monday of its week, "
                f"{bucket_start(period_start, bucket)}")
    return None


# -- reading -------------------------------------------------------------------------------------------------------


def forecast_out(row: dict[str, Any]) -> ForecastOut:
    return ForecastOut(id=row["id"], site=row["site"], item=row["item"], period_start=row["period_start"],
                       quantity=from_micro(row["quantity_micro"]), updated_by=row["updated_by"],
                       updated_at=row["updated_at"])


def _where(site: str | None, item: str | None, date_from: date | None, date_to: date | None) -> Any:
    condition = Forecast.id > 0
    if site:
        condition &= Forecast.site == site
    if item:
        condition &= Forecast.item == item
    if date_from:
        condition &= Forecast.period_start >= date_from
    if date_to:
        condition &= Forecast.period_start <= date_to
    return condition


async def list_forecasts(*, site: str | None = None, item: str | None = None, date_from: date | None = None,
                         date_to: date | None = None, limit: int = 100, offset: int = 0) -> dict[str, Any]:
    """Forecasts by site, item and period; `date_from` and `date_to` bound the period's start (both included)."""
    condition = _where(site, item, date_from, date_to)
    rows = await (Forecast.select().where(condition)
                  .order_by(Forecast.site).order_by(Forecast.item).order_by(Forecast.period_start)
                  .limit(limit).offset(offset))
    total = await Forecast.count().where(condition)
    return {"items": [forecast_out(row) for row in rows], "total": total, "limit": limit, "offset": offset}


async def _stored(keys: Iterable[tuple[str, str, date]]) -> dict[tuple[str, str, date], dict[str, Any]]:
    """The stored forecasts of these (site, item, period_start) keys."""
    wanted = set(keys)
    items = sorted({item for _, item, _ in wanted})
    found: dict[tuple[str, str, date], dict[str, Any]] = {}
    for start in range(0, len(items), IN_CHUNK):
        for row in await Forecast.select().where(Forecast.item.is_in(items[start:start + IN_CHUNK])):
            key = (row["site"], row["item"], row["period_start"])
            if key in wanted:
                found[key] = row
    return found


# -- checking and writing ------------------------------------------------------------------------------------------


async def _sites(codes: Iterable[str]) -> dict[str, bool]:
    """Each known site's archive flag."""
    codes = sorted(set(codes))
    found: dict[str, bool] = {}
    for start in range(0, len(codes), IN_CHUNK):
        rows = await Site.select(Site.code, Site.archived).where(Site.code.is_in(codes[start:start + IN_CHUNK]))
        found.update((row["code"], row["archived"]) for row in rows)
    return found


async def forecast_problems(forecasts: list[dict[str, Any]]) -> list[Problem]:
    """Every problem of every forecast of a list, as (`[index].field`, code, message), in list order: its site and
    item must be active records, its quantity keep the decimals of the item's unit, its period start the first day
    of a bucket, and no two forecasts of the list may be for the same site, item and period. A forecast read from a
    file may lack a field its row got wrong: what it has is checked."""
    sites = await _sites(f["site"] for f in forecasts if f.get("site"))
    items = await item_units(f["item"] for f in forecasts if f.get("item"))
    bucket = await planning_bucket()
    first_of: set[tuple[str, str, date]] = set()
    problems: list[Problem] = []
    for index, forecast in enumerate(forecasts):
        where, site, code, period_start = f"[{index}]", forecast.get("site"), forecast.get("item"), forecast.get("period_start")
        if site is not None and site not in sites:
            problems.append((f"{where}.site", "unknown_site", Detail(f"no site with code {site!r}", site=site)))
        elif site is not None and sites[site]:
            problems.append((f"{where}.site", "archived_site", Detail(f"site {site!r} is archived", site=site)))
        item = items.get(code) if code is not None else None
        if code is not None and item is None:
            problems.append((f"{where}.item", "unknown_item", Detail(f"no item with code {code!r}", item=code)))
        elif item is not None and item["archived"]:
            problems.append((f"{where}.item", "archived_item", Detail(f"item {code!r} is archived", item=code)))
        elif item is not None and forecast.get("quantity") is not None and decimals_used(forecast["quantity"]) > item["decimals"]:
            problems.append((f"{where}.quantity", "too_many_decimals",
                             Detail(f"item {code!r} allows {item['decimals']} decimals", item=code,
                                    decimals=item["decimals"], quantity=forecast["quantity"])))
        if period_start is not None and (message := period_start_problem(period_start, bucket)) is not None:
            problems.append((f"{where}.period_start", "invalid_period_start",
                             Detail(message, date=period_start, monday=bucket_start(period_start, bucket))))
        key = (site, code, period_start)
        if key in first_of and None not in key:
            problems.append((f"{where}.period_start", "duplicate_forecast",
                             Detail(f"{code} at {site} from {period_start} appears twice", item=code, site=site,
                                    date=period_start)))
        first_of.add(key)  # type: ignore[arg-type]
    return problems


def _audit_key(key: tuple[str, str, date]) -> str:
    site, item, period_start = key
    return f"{site}/{item}/{period_start.isoformat()}"


def _audit_view(row: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if row is None else forecast_out(row).model_dump(mode="json")


async def _audit(who: Who, action: str, key: tuple[str, str, date], before: dict[str, Any] | None,
                 after: dict[str, Any] | None) -> None:
    await record_audit(who, action, ENTITY, _audit_key(key), _audit_view(before), _audit_view(after))


@needs_write
async def save_forecasts(forecasts: list[ForecastIn], who: Who, *, imported: bool = False) -> dict[str, Any]:
    """Upsert a list of forecasts, all or nothing (any problem refuses the list, 422 with each in details.errors):
    each one's quantity replaces what its site, item and period had; a quantity of 0 deletes it."""
    refuse_problems(await forecast_problems([forecast.model_dump() for forecast in forecasts]))
    keys = [(f.site, f.item, f.period_start) for f in forecasts]
    stored = await _stored(keys)
    now, counts, remaining = utc_now(), {"saved": 0, "deleted": 0, "unchanged": 0}, []
    for key, forecast in zip(keys, forecasts, strict=True):
        before, quantity_micro = stored.get(key), to_micro(forecast.quantity)
        if quantity_micro == 0:
            if before is None:
                counts["unchanged"] += 1
                continue
            await Forecast.delete().where(Forecast.id == before["id"])
            await _audit(who, "import" if imported else "delete", key, before, None)
            counts["deleted"] += 1
            continue
        remaining.append(key)
        if before is not None and before["quantity_micro"] == quantity_micro:
            counts["unchanged"] += 1
            continue
        values = {"quantity_micro": quantity_micro, "updated_by": who.name, "updated_at": now}
        if before is None:
            inserted = await Forecast.insert(Forecast(site=key[0], item=key[1], period_start=key[2], **values)).returning(
                Forecast.id)
            before_or_new = {"id": inserted[0]["id"], "site": key[0], "item": key[1], "period_start": key[2]}
        else:
            await Forecast.update(values).where(Forecast.id == before["id"])
            before_or_new = before
        after = {**before_or_new, **values}
        counts["saved"] += 1
        await _audit(who, "import" if imported else ("update" if before else "create"), key, before, after)
    now_stored = await _stored(remaining)
    return {**counts, "forecasts": [forecast_out(now_stored[key]) for key in remaining if key in now_stored]}


@needs_write
async def delete_forecast(forecast_id: int, who: Who) -> None:
    row = await Forecast.select().where(Forecast.id == forecast_id).first()
    if row is None:
        raise ApiError(HTTP_404_NOT_FOUND, "not_found", f"No forecast with id {forecast_id}",
                       {"entity": ENTITY, "key": str(forecast_id)})
    await Forecast.delete().where(Forecast.id == forecast_id)
    await _audit(who, "delete", (row["site"], row["item"], row["period_start"]), row, None)


# -- importing a file ----------------------------------------------------------------------------------------------

COLUMNS = ("site", "item", "period_start", "quantity")
HEADER_ALIASES = {"工厂": "site", "站点": "site", "物料": "item", "物料编码": "item", "期间开始": "period_start",
                  "周期开始": "period_start", "开始日期": "period_start", "数量": "quantity", "预测数量": "quantity"}
_DATE = re.compile(r"^(\d{4})[/.-](\d{1,2})[/.-](\d{1,2})$")
FORECAST_FIELDS = {name: TypeAdapter(ForecastIn.model_fields[name].annotation) for name in ("site", "item", "quantity")}


def _header(cells: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    names = [HEADER_ALIASES.get(cell.strip()) or re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in cells]
    problems = [problem(1, name, "unknown_column", f"unknown column {name!r}; the columns are: {', '.join(COLUMNS)}",
                        column=name, columns=", ".join(COLUMNS)) for name in names if name and name not in COLUMNS]
    problems += [problem(1, name, "missing_column", f"the header has no {name!r} column", column=name)
                 for name in COLUMNS if name not in names]
    return names, problems


def _row_forecast(number: int, values: dict[str, str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A row's values as ForecastIn's own field types take them (a quantity in ASCII digits, a thousands comma
    allowed; a date as YYYY-MM-DD or YYYY/MM/DD), each one that is right, and the problems of the others."""
    parsed: dict[str, Any] = {}
    problems = []
    for name in ("site", "item", "quantity"):
        text = values.get(name, "").strip()
        if name == "quantity":
            text = text.replace(",", "")
        if not text:
            problems.append(problem(number, name, "missing_field", f"{name} is required", column=name))
            continue
        try:
            parsed[name] = FORECAST_FIELDS[name].validate_python(text)
        except ValidationError as exc:
            error = exc.errors()[0]
            problems.append(problem(number, name, field_code(error["msg"]), error["msg"].removeprefix("Value error, "),
                                    column=name, **validation_values(error, text)))
    match = _DATE.match(values.get("period_start", "").strip())
    try:
        parsed["period_start"] = date(*(int(part) for part in match.groups())) if match else None
    except ValueError:
        parsed["period_start"] = None
    if parsed["period_start"] is None:
        del parsed["period_start"]
        problems.append(problem(number, "period_start", "invalid_date", "a date as YYYY-MM-DD",
                                value=values.get("period_start", "").strip()))
    return parsed, problems


def read_forecast_sheet(raw: bytes, filename: str, deadline: Deadline) -> tuple[list[tuple[int, dict[str, Any]]],
                                                                                list[dict[str, Any]]]:
    """The file's forecasts (row number, the values its row got right) and the problems found in the file alone;
    runs in a worker thread."""
    rows = list(islice(read_rows(raw, filename, deadline), MAX_IMPORT_LINES + 2))
    if not rows:
        raise refused_file(HTTP_422_UNPROCESSABLE_ENTITY, "empty_file", "The file has no rows")
    if len(rows) - 1 > MAX_IMPORT_LINES:
        raise refused_file(HTTP_422_UNPROCESSABLE_ENTITY, "too_many_rows", f"At most {MAX_IMPORT_LINES:,} forecasts a file",
                           max_rows=MAX_IMPORT_LINES)
    names, problems = _header(rows[0][1])
    forecasts = []
    for number, cells in rows[1:]:
        forecast, found = _row_forecast(number, {name: cell for name, cell in zip(names, cells, strict=False) if name})
        problems += found
        forecasts.append((number, forecast))
    return forecasts, problems


@needs_write
async def import_forecasts(raw: bytes, filename: str, who: Who, *, dry_run: bool = False) -> dict[str, Any]:
    """A CSV or XLSX of forecasts (site, item, period_start, quantity), all or nothing: any problem of any row
    refuses the file with 422 `import_invalid` and every problem by row and column; a clean file is saved as one
    PUT of all its rows would be (a quantity of 0 deletes)."""
    rows, problems = await parse_upload(lambda deadline: read_forecast_sheet(raw, filename, deadline))
    found = await forecast_problems([forecast for _, forecast in rows])
    for field, code, message in found:
        index, column = re.match(r"^\[(\d+)\]\.(\w+)$", field).groups()  # type: ignore[union-attr]
        problems.append(problem(rows[int(index)][0], column, code, message, **values_of(message)))
    if problems:
        problems.sort(key=lambda p: (p["row"], COLUMNS.index(p["column"]) if p["column"] in COLUMNS else -1))
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "import_invalid",
                       f"The file has {len(problems)} problem(s): nothing was imported", {"errors": problems})
    if dry_run:
        return {"dry_run": True, "rows": len(rows), "saved": 0, "deleted": 0, "unchanged": 0}
    saved = await save_forecasts([ForecastIn(**forecast) for _, forecast in rows], who, imported=True)
    return {"dry_run": False, "rows": len(rows), **{k: saved[k] for k in ("saved", "deleted", "unchanged")}}


# -- REST ----------------------------------------------------------------------------------------------------------

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
CodeFilter = Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)]


@dataclass
class ForecastUpload:
    """The multipart form: the file in the field `file` (a named field, so a form without it is a 400)."""

    file: UploadFile


class ForecastController(Controller):
    path = "/api/forecasts"
    tags = ["Planning"]

    @get("/", guards=[requires("planning.read")], operation_id="list_forecasts",
         summary="Forecasts by site, item and period start")
    async def list_all(
        self,
        site: CodeFilter = None,
        item: CodeFilter = None,
        date_from: Annotated[date | None, Parameter(query="from", description="Periods starting on or after")] = None,
        date_to: Annotated[date | None, Parameter(query="to", description="Periods starting on or before")] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, Parameter(ge=0, le=10**9)] = 0,
    ) -> Page[ForecastOut]:
        page = await list_forecasts(site=site, item=item, date_from=date_from, date_to=date_to, limit=limit,
                                    offset=offset)
        return Page[ForecastOut](**page)

    @put("/", guards=[requires("planning.write")], operation_id="save_forecasts",
         summary="Create, change or delete forecasts (a list, in one transaction)",
         description="Each forecast's quantity replaces what its site, item and period had; a quantity of 0 deletes "
                     "it. Any problem refuses the whole list (422, every problem in details.errors, `field` as "
                     "`[index].name`): `unknown_site`, `unknown_item`, `archived_site`, `archived_item`, "
                     "`too_many_decimals`, `invalid_period_start` (a period starts on the first day of its bucket: a "
                     "Monday for weekly buckets), `duplicate_forecast`.")
    async def save(
        self, request: Request,
        data: Annotated[list[ForecastIn], Body(min_items=1, max_items=MAX_FORECASTS_PER_PUT,
                                               description="The forecasts: a JSON array")],
    ) -> ForecastsSaved:
        async with write_transaction():
            return ForecastsSaved(**await save_forecasts(data, office_who(request)))

    @delete("/{forecast_id:int}", guards=[requires("planning.write")], operation_id="delete_forecast",
            summary="Delete one forecast")
    async def remove(self, request: Request, forecast_id: Annotated[int, Parameter(ge=1, le=2**31 - 1)]) -> None:
        async with write_transaction():
            await delete_forecast(forecast_id, office_who(request))

    @post("/import", guards=[requires("planning.write")], status_code=HTTP_200_OK, operation_id="import_forecasts",
          summary="Import forecasts from a CSV or XLSX (all or nothing)",
          description="Columns site, item, period_start (YYYY-MM-DD), quantity (or 工厂, 物料, 期间开始, 数量), one "
                      "forecast a row; a quantity of 0 deletes. Any problem refuses the file: 422 `import_invalid` "
                      "with every problem in details.errors (row, column, code, message).")
    async def import_file(
        self, request: Request, data: Annotated[ForecastUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        dry_run: Annotated[bool, Parameter(description="Only check the file: nothing is written")] = False,
    ) -> ForecastImportResult:
        raw = await data.file.read()
        async with write_transaction():
            result = await import_forecasts(raw, data.file.filename or "", office_who(request), dry_run=dry_run)
        return ForecastImportResult(**result)
