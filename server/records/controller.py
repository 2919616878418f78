"""Turns a `Resource` into its REST endpoints: list (paging, filtering, sorting), get, create, update,
archive/restore, and CSV export/import. Guards ask for '<path>.read' or '<path>.write'."""

import inspect
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import OpenAPIType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_400_BAD_REQUEST, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.common import Page
from schemas.records import ImportResult
from server.accounts.identity import requires
from server.actors import office_who
from server.db import write_transaction
from server.errors import ApiError
from server.records import service
from server.records.resource import Resource

SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


@dataclass
class CsvUpload:
    """The multipart form of a CSV import. A named field, not a bare UploadFile: Litestar then refuses a form
    without the file with a 400 instead of failing inside its extractor."""

    data: UploadFile


def absent_or(annotation: Any, description: str, **constraints: Any) -> Any:
    """`annotation | None` for the handler, where None means "not sent", but documented as plain `annotation`:
    a query parameter is absent or a value, never null, and the OpenAPI should not invite clients to send one."""
    if annotation is bool:
        documented: dict[str, Any] = {"type": OpenAPIType.BOOLEAN}
    elif typing.get_origin(annotation) is Literal:
        documented = {"type": OpenAPIType.STRING, "enum": list(typing.get_args(annotation))}
    else:
        documented = {"type": OpenAPIType.STRING}
    return Annotated[
        annotation | None,
        Parameter(description=description, schema_extra={"one_of": None, **documented}, **constraints),
    ]


def _filter_type(resource: Resource, name: str) -> Any:
    field = resource.create_model.model_fields.get(name)
    annotation = field.annotation if field is not None else str
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    return annotation


def _is_choice(annotation: Any) -> bool:
    return annotation is bool or typing.get_origin(annotation) is Literal


def filter_annotation(resource: Resource, name: str) -> Any:
    """A filter takes the type of the field it filters (a choice stays a choice, a flag a boolean), so the
    OpenAPI tells clients which values make sense and nothing unbounded reaches the query."""
    field = resource.create_model.model_fields.get(name)
    annotation = _filter_type(resource, name)
    description = f"Only records with this {name}"
    if _is_choice(annotation):
        return absent_or(annotation, description)
    max_length = next((m.max_length for m in (field.metadata if field else []) if getattr(m, "max_length", None)), 200)
    return absent_or(str, description, min_length=1, max_length=max_length, pattern=SAFE_TEXT)


def make_controllers(resource: Resource) -> tuple[type[Controller], type[Controller]]:
    read_model, create_model, update_model = resource.read_model, resource.create_model, resource.update_model
    sort_values = tuple(v for name in resource.sort_fields for v in (name, f"-{name}"))
    SortParam = Annotated[Literal[sort_values], Parameter(description="A field; '-' in front sorts descending")]  # type: ignore[valid-type]
    can_read, can_write = [requires(resource.read_permission)], [requires(resource.write_permission)]

    async def list_records(self, request: Request, **params: Any) -> Page[read_model]:  # type: ignore[valid-type]
        filters = {name: params[name] for name in resource.filters if params.get(name) is not None}
        # The query parser reads the text "null" as absent: a text filter means it, any other (a choice, a flag) is
        # as wrong as any other value outside the documented ones.
        for name in resource.filters:
            if params.get(name) is None and request.query_params.get(name) == "null":
                if _is_choice(_filter_type(resource, name)):
                    message = "'null' is not one of its values"
                    raise ApiError(HTTP_400_BAD_REQUEST, "invalid_value", f"{name}: {message}",
                                   {"errors": [{"field": name, "source": "query", "code": "invalid_value", "message": message}]})
                filters[name] = "null"
        page = await service.list_records(
            resource,
            q=params.get("q"),
            filters=filters,
            sort=params["sort"],
            archived=params["archived"],
            limit=params["limit"],
            offset=params["offset"],
        )
        return Page[read_model](**page)  # type: ignore[valid-type]

    # Litestar reads query parameters from the signature, so the list handler gets one built per resource.
    list_params = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY, annotation=Request),
        inspect.Parameter(
            "q",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=absent_or(str, "Search text in code and name", max_length=100, pattern=SAFE_TEXT),
        ),
        inspect.Parameter("sort", inspect.Parameter.KEYWORD_ONLY, default="code", annotation=SortParam),
        inspect.Parameter(
            "archived",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, Parameter(description="List archived records instead of active ones")],
        ),
        inspect.Parameter(
            "limit",
            inspect.Parameter.KEYWORD_ONLY,
            default=50,
            annotation=Annotated[int, Parameter(ge=1, le=500, description="Records per page")],
        ),
        inspect.Parameter(
            "offset",
            inspect.Parameter.KEYWORD_ONLY,
            default=0,
            annotation=Annotated[int, Parameter(ge=0, le=10**9, description="Records to skip before this page")],
        ),
    ] + [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=filter_annotation(resource, name))
        for name in resource.filters
    ]
    list_records.__signature__ = inspect.Signature(list_params, return_annotation=Page[read_model])  # type: ignore[attr-defined,valid-type]
    list_records.__annotations__ = {p.name: p.annotation for p in list_params[1:]} | {"return": Page[read_model]}  # type: ignore[valid-type]

    async def get_record(self, code: CodePath) -> read_model:  # type: ignore[valid-type]
        return await service.get_record(resource, code)

    async def create_record(self, request: Request, data: create_model) -> read_model:  # type: ignore[valid-type]
        async with write_transaction():
            return await service.create_record(resource, data, office_who(request))

    async def update_record(self, request: Request, code: CodePath, data: update_model) -> read_model:  # type: ignore[valid-type]
        async with write_transaction():
            return await service.update_record(resource, code, data, office_who(request))

    async def archive_record(self, request: Request, code: CodePath) -> read_model:  # type: ignore[valid-type]
        async with write_transaction():
            return await service.set_archived(resource, code, True, office_who(request))

    async def restore_record(self, request: Request, code: CodePath) -> read_model:  # type: ignore[valid-type]
        async with write_transaction():
            return await service.set_archived(resource, code, False, office_who(request))

    async def export_csv(self) -> Response[str]:
        text = await service.export_csv(resource)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{resource.path}.csv"'},
        )

    async def import_csv(
        self, request: Request, data: Annotated[CsvUpload, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> ImportResult:
        raw = await data.data.read()
        rows = decode_csv(raw)
        async with write_transaction():
            return ImportResult(**await service.import_csv(resource, rows, office_who(request)))

    entity, title = resource.entity, resource.title
    tag = [title]
    handlers = {
        "list_records": get("/", guards=can_read, summary=f"List {title}", tags=tag, operation_id=f"list_{resource.path}")(
            list_records
        ),
        "get_record": get("/{code:str}", guards=can_read, summary=f"Get one {entity}", tags=tag, operation_id=f"get_{entity}")(
            get_record
        ),
        "create_record": post(
            "/", guards=can_write, summary=f"Create a {entity}", tags=tag, status_code=HTTP_201_CREATED, operation_id=f"create_{entity}"
        )(create_record),
        "update_record": patch(
            "/{code:str}", guards=can_write, summary=f"Change a {entity}", tags=tag, operation_id=f"update_{entity}"
        )(update_record),
        "archive_record": post(
            "/{code:str}/archive", guards=can_write, summary=f"Archive a {entity}", tags=tag, status_code=HTTP_200_OK,
            operation_id=f"archive_{entity}",
        )(archive_record),
        "restore_record": post(
            "/{code:str}/restore", guards=can_write, summary=f"Restore an archived {entity}", tags=tag, status_code=HTTP_200_OK,
            operation_id=f"restore_{entity}",
        )(restore_record),
    }
    csv_handlers = {
        "export_csv": get(
            f"/csv/{resource.path}", guards=can_read, summary=f"Export {title} as CSV", tags=tag,
            operation_id=f"export_{resource.path}", media_type="text/csv",
        )(export_csv),
        "import_csv": post(
            f"/csv/{resource.path}", guards=can_write, summary=f"Import {title} from CSV (all or nothing)", tags=tag,
            status_code=HTTP_200_OK, operation_id=f"import_{resource.path}",
        )(import_csv),
    }
    records = type(f"{entity.title().replace('_', '')}Controller", (Controller,), {"path": f"/api/{resource.path}", **handlers})
    csv = type(f"{entity.title().replace('_', '')}CsvController", (Controller,), {"path": "/api", **csv_handlers})
    return records, csv


def decode_csv(raw: bytes) -> str:
    """Spreadsheets save UTF-8 (with or without BOM); Chinese Excel often saves GB18030. Anything else is refused:
    guessing (say, Latin-1, which decodes any bytes) would import mojibake without a word."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ApiError(
        HTTP_422_UNPROCESSABLE_ENTITY,
        "invalid_encoding",
        "The file is neither UTF-8 nor GB18030: save it as 'CSV UTF-8' and import it again",
        {"encodings": ["utf-8", "gb18030"]},
    )
