"""Master-data screens for every resource in RESOURCES: list (search, filters, sort, paging, archived), create and
edit forms generated from the contracts, archive/restore and CSV import. Writes go through `server.records.service`,
the same functions the REST API calls, so every one is audited."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.plugins.htmx import HTMXRequest
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER, HTTP_422_UNPROCESSABLE_ENTITY
from pydantic import BaseModel, ValidationError

from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.masterdata.resources import RESOURCES
from server.records import service
from server.records.controller import decode_csv
from server.records.resource import Reference, Resource
from server.spreadsheets import csv_records, parse_upload
from server.web.choices import active_records
from server.web.forms import FormErrors, Widget, display, explain, parse_fields, parse_lines, widgets
from server.web.import_problems import problems_download, problems_said
from server.web.render import language_of, render, requires_for

PAGE_SIZE = 25
MAX_SELECT_OPTIONS = 300
BLANK_LINES = 3
SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"
CodeQuery = Annotated[str, Parameter(max_length=40, pattern=SAFE_TEXT)]


def _resource(path: str) -> Resource:
    for resource in RESOURCES:
        if resource.path == path:
            return resource
    raise NotFoundException(f"No master data called {path!r}")


def _read_permission(connection: ASGIConnection) -> str:
    return _resource(connection.path_params["path"]).read_permission


def _write_permission(connection: ASGIConnection) -> str:
    return _resource(connection.path_params["path"]).write_permission


def _reference_map(references: tuple[Reference, ...]) -> dict[str, str]:
    return {ref.field: ref.entity for ref in references}


async def _reference_codes(references: tuple[Reference, ...]) -> dict[str, list[str] | None]:
    """The codes each reference field may take; None when there are too many for a select (a datalist would
    still have to list them, so the field becomes free text checked by the service)."""
    choices: dict[str, list[str] | None] = {}
    for ref in references:
        rows = await active_records(ref.table, limit=MAX_SELECT_OPTIONS + 1)
        codes = [r["code"] for r in rows]
        choices[ref.field] = codes if len(codes) <= MAX_SELECT_OPTIONS else None
    return choices


def _form_specs(resource: Resource, editing: bool) -> tuple[list[Widget], list[Widget]]:
    child = resource.children
    model = resource.update_model if editing else resource.create_model
    own = widgets(model, _reference_map(resource.references), skip=(child.field,) if child else ())
    if editing:
        # The patch contract makes everything optional; whether a field may be empty is the create contract's call.
        create = {w.name: w for w in widgets(resource.create_model, _reference_map(resource.references))}
        for w in own:
            if w.name in create:
                w.required, w.nullable, w.default = create[w.name].required, create[w.name].nullable, create[w.name].default
    lines = widgets(child.model, _reference_map(child.references)) if child else []
    return own, lines


def _as_text(specs: list[Widget], values: dict[str, Any]) -> dict[str, str]:
    by_name = {w.name: w for w in specs}
    return {name: display(value, by_name[name].kind if name in by_name else "text") for name, value in values.items()}


def _lines_text(line_specs: list[Widget], lines: list[dict[str, Any]], blank: int) -> list[dict[str, str]]:
    rows = [_as_text(line_specs, line) for line in lines]
    return rows + [{} for _ in range(blank)]


def _posted_lines(resource: Resource, form: dict[str, str | None]) -> list[dict[str, str]]:
    spec = resource.children
    assert spec is not None
    rows: dict[int, dict[str, str]] = {}
    for key, value in form.items():
        head, _, rest = key.partition("-")
        index, _, name = rest.partition("-")
        if head == spec.field and index.isdigit() and name:
            rows.setdefault(int(index), {})[name] = value or ""
    return [rows[i] for i in sorted(rows) if any((v or "").strip() for v in rows[i].values())]


async def _form_page(
    request: Request,
    resource: Resource,
    *,
    code: str | None,
    values: dict[str, str],
    lines: list[dict[str, str]],
    errors: FormErrors | None = None,
    archived: bool = False,
    may_write: bool = True,
    status_code: int = 200,
) -> Template:
    own, line_specs = _form_specs(resource, editing=code is not None)
    child_refs = resource.children.references if resource.children else ()
    return render(
        request,
        "record_form.html",
        status_code=status_code,
        resource=resource,
        code=code,
        archived=archived,
        fields=own,
        line_fields=line_specs,
        values=values,
        lines=lines,
        errors=errors or FormErrors(),
        choices=await _reference_codes(resource.references),
        line_choices=await _reference_codes(child_refs),
        may_write=may_write,
    )


def _list_url(resource: Resource, params: dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "", False, 0)}
    return f"/md/{resource.path}" + (f"?{urlencode(merged)}" if merged else "")


def _filter_specs(resource: Resource) -> list[Widget]:
    return [w for w in widgets(resource.create_model, _reference_map(resource.references)) if w.name in resource.filters]


async def _list_context(
    resource: Resource, *, q: str | None, sort: str, archived: bool, page: int, filters: dict[str, str]
) -> dict[str, Any]:
    listing = await service.list_records(
        resource, q=q, filters=filters, sort=sort, archived=archived, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
    )
    params = {"q": q, "sort": sort if sort != "code" else None, "archived": "true" if archived else None, **filters}
    return dict(
        resource=resource,
        rows=[record.model_dump() for record in listing["items"]],
        total=listing["total"],
        page=page,
        pages=max(1, -(-listing["total"] // PAGE_SIZE)),
        q=q or "",
        sort=sort,
        archived=archived,
        filters=filters,
        filter_specs=_filter_specs(resource),
        filter_choices=await _reference_codes(tuple(r for r in resource.references if r.field in resource.filters)),
        params=params,
        list_url=lambda **changes: _list_url(resource, params, **changes),
        page_url=lambda number: _list_url(resource, params, page=number),
        column_kinds={w.name: w.kind for w in widgets(resource.create_model, _reference_map(resource.references))},
        show=display,
        import_result=None,
        import_errors=[],
    )


@get("/md/{path:str}", guards=[requires_for(_read_permission)], include_in_schema=False)
async def record_list(
    request: HTMXRequest,
    path: str,
    q: Annotated[str | None, Parameter(max_length=100, pattern=SAFE_TEXT)] = None,
    sort: Annotated[str, Parameter(max_length=40, pattern=r"^-?[a-z_]+$")] = "code",
    archived: bool = False,
    page: Annotated[int, Parameter(ge=1, le=10**6)] = 1,
) -> Template:
    resource = _resource(path)
    user = request.user
    if sort.lstrip("-") not in resource.sort_fields:
        sort = "code"
    filters = {
        w.name: value[:40]
        for w in _filter_specs(resource)
        if (value := request.query_params.get(w.name)) not in (None, "")
    }
    context = await _list_context(resource, q=q or None, sort=sort, archived=archived, page=page, filters=filters)
    context["may_write"] = user.may(resource.write_permission)
    # htmx asks for the table only while the reader types in the search box or changes a filter; a history
    # restore after a cache miss is htmx too, but wants the whole page.
    table_only = bool(request.htmx) and request.htmx.target == "records" and not request.htmx.history_restore_request
    page = render(request, "record_table.html" if table_only else "record_list.html", **context)
    page.headers["Vary"] = "HX-Request"
    return page


@get("/md/{path:str}/new", guards=[requires_for(_write_permission)], include_in_schema=False)
async def new_record_form(request: Request, path: str) -> Template:
    resource = _resource(path)
    own, line_specs = _form_specs(resource, editing=False)
    defaults = {w.name: w.default for w in own if w.default is not None}
    return await _form_page(request, resource, code=None, values=_as_text(own, defaults), lines=_lines_text(line_specs, [], BLANK_LINES))


async def _save(request: Request, resource: Resource, code: str | None) -> Template | Redirect:
    form = {k: (v if isinstance(v, str) else None) for k, v in (await request.form()).items()}
    own, line_specs = _form_specs(resource, editing=code is not None)
    posted_lines = _posted_lines(resource, form) if resource.children else []
    record = await service.get_record(resource, code) if code is not None else None
    if form.get("_action") == "more_lines":
        values = {k: v or "" for k, v in form.items() if not k.startswith("_")}
        return await _form_page(
            request, resource, code=code, values=values, lines=posted_lines + [{} for _ in range(BLANK_LINES)],
            archived=bool(record and record.archived),  # type: ignore[attr-defined]
        )
    errors, lang = FormErrors(), language_of(request)
    data = parse_fields(own, form, errors, lang=lang)
    if code is None:
        # A required field left blank on a new record is missing, and the contract says so ("Field required").
        data = {k: v for k, v in data.items() if not (v == "" and any(w.name == k and w.required for w in own))}
    if resource.children is not None:
        data[resource.children.field] = parse_lines(resource, line_specs, form, errors, lang=lang)
    if not errors:
        try:
            async with write_transaction():
                if code is None:
                    saved = await service.create_record(resource, resource.create_model.model_validate(data),
                                                        office_who(request))
                else:
                    saved = await service.update_record(resource, code, resource.update_model.model_validate(data),
                                                        office_who(request))
            return Redirect(f"/md/{resource.path}?{urlencode({'saved': saved.code})}", status_code=HTTP_303_SEE_OTHER)  # type: ignore[attr-defined]
        except (ValidationError, ApiError) as exc:
            explain(exc, errors, lang)
    values = {k: v or "" for k, v in form.items() if not k.startswith("_")}
    return await _form_page(
        request, resource, code=code, values=values, lines=posted_lines + [{}], errors=errors,
        archived=bool(record and record.archived), status_code=HTTP_422_UNPROCESSABLE_ENTITY,  # type: ignore[attr-defined]
    )


@post("/md/{path:str}/new", guards=[requires_for(_write_permission)], include_in_schema=False)
async def create_record(request: Request, path: str) -> Template | Redirect:
    resource = _resource(path)
    return await _save(request, resource, None)


@get("/md/{path:str}/edit", guards=[requires_for(_read_permission)], include_in_schema=False)
async def edit_record_form(request: Request, path: str, code: CodeQuery) -> Template:
    resource = _resource(path)
    user = request.user
    record: BaseModel = await service.get_record(resource, code)
    own, line_specs = _form_specs(resource, editing=True)
    values = record.model_dump()
    lines = values.pop(resource.children.field, []) if resource.children else []
    # Every reader may open a record; only a writer gets live inputs and the save and archive buttons.
    return await _form_page(
        request, resource, code=code, values=_as_text(own, values), lines=_lines_text(line_specs, lines, 1),
        archived=values["archived"], may_write=user.may(resource.write_permission),
    )


@post("/md/{path:str}/edit", guards=[requires_for(_write_permission)], include_in_schema=False)
async def update_record(request: Request, path: str, code: CodeQuery) -> Template | Redirect:
    resource = _resource(path)
    return await _save(request, resource, code)


@post("/md/{path:str}/archive", guards=[requires_for(_write_permission)], include_in_schema=False)
async def archive_record(request: Request, path: str) -> Redirect:
    resource = _resource(path)
    form = await request.form()
    code = str(form.get("code") or "")[:40]
    archive = form.get("archive") == "true"
    async with write_transaction():
        await service.set_archived(resource, code, archive, office_who(request))
    back = {"archived": "true"} if not archive else {}
    return Redirect(f"/md/{resource.path}?{urlencode({**back, 'saved': code})}", status_code=HTTP_303_SEE_OTHER)


@post("/md/{path:str}/import", guards=[requires_for(_write_permission)], include_in_schema=False)
async def import_records(request: Request, path: str) -> Template | Response:
    resource = _resource(path)
    who = office_who(request)
    form = await request.form()
    upload, download = form.get("file"), form.get("problems_file") == "csv"  # only checks; the file and its problems
    result, problems, status = None, [], 200
    if not isinstance(upload, UploadFile):
        problems, status = [{"row": "", "field": "file", "code": "missing_file", "message": "choose a CSV file"}], 422
    else:
        text = ""
        try:
            text = decode_csv(await upload.read())
            async with write_transaction():
                result = await service.import_csv(resource, text, who, dry_run=download)
        except ApiError as exc:
            # A file refused whole (bad encoding…) is shown like a file refused row by row.
            problems = exc.details.get("errors") or [{"row": "", "field": "file", "code": exc.code, "message": exc.message,
                                                      "params": {k: v for k, v in exc.details.items() if k != "row"}}]
            status = exc.status_code
            if download and exc.code == "csv_invalid":
                rows = await parse_upload(lambda deadline: list(csv_records(text.lstrip("\ufeff"), deadline)))
                return problems_download(language_of(request), rows, problems, upload.filename or resource.path,
                                         column_key="field")
    context = await _list_context(resource, q=None, sort="code", archived=False, page=1, filters={})
    context.update(may_write=True, import_result=result, import_errors=problems_said(language_of(request), problems))
    return render(request, "record_list.html", status_code=status, **context)


RECORD_HANDLERS = [record_list, new_record_form, create_record, edit_record_form, update_record, archive_record, import_records]
