"""Turns a `Resource` into its REST endpoints: list (paging, filtering, sorting), get, create, update,
archive/restore, and CSV export/import. Guards ask for '<path>.read' or '<path>.write'."""

import inspect
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, patch, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from schemas.common import Page
from schemas.records import ImportResult
from server.accounts.identity import requires
from server.records import service
from server.records.resource import Resource

SAFE_TEXT = r"^[^\x00-\x1f\x7f]*$"
CodePath = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


def make_controllers(resource: Resource) -> tuple[type[Controller], type[Controller]]:
    read_model, create_model, update_model = resource.read_model, resource.create_model, resource.update_model
    sort_values = tuple(v for name in resource.sort_fields for v in (name, f"-{name}"))
    SortParam = Annotated[Literal[sort_values], Parameter(description="A field; '-' in front sorts descending")]  # type: ignore[valid-type]
    can_read, can_write = [requires(resource.read_permission)], [requires(resource.write_permission)]

    async def list_records(self, **params: Any) -> Page[read_model]:  # type: ignore[valid-type]
        filters = {name: params[name] for name in resource.filters if params.get(name) is not None}
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
        inspect.Parameter(
            "q",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[str | None, Parameter(max_length=100, pattern=SAFE_TEXT, description="Search text")],
        ),
        inspect.Parameter("sort", inspect.Parameter.KEYWORD_ONLY, default="code", annotation=SortParam),
        inspect.Parameter(
            "archived",
            inspect.Parameter.KEYWORD_ONLY,
            default=False,
            annotation=Annotated[bool, Parameter(description="List archived records instead of active ones")],
        ),
        inspect.Parameter(
            "limit", inspect.Parameter.KEYWORD_ONLY, default=50, annotation=Annotated[int, Parameter(ge=1, le=500)]
        ),
        inspect.Parameter(
            "offset", inspect.Parameter.KEYWORD_ONLY, default=0, annotation=Annotated[int, Parameter(ge=0, le=10**9)]
        ),
    ] + [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[str | None, Parameter(max_length=40, pattern=SAFE_TEXT, description=f"Only this {name}")],
        )
        for name in resource.filters
    ]
    list_records.__signature__ = inspect.Signature(list_params, return_annotation=Page[read_model])  # type: ignore[attr-defined,valid-type]
    list_records.__annotations__ = {p.name: p.annotation for p in list_params[1:]} | {"return": Page[read_model]}  # type: ignore[valid-type]

    async def get_record(self, code: CodePath) -> read_model:  # type: ignore[valid-type]
        return await service.get_record(resource, code)

    async def create_record(self, request: Request, data: create_model) -> read_model:  # type: ignore[valid-type]
        return await service.create_record(resource, data, request.user)

    async def update_record(self, request: Request, code: CodePath, data: update_model) -> read_model:  # type: ignore[valid-type]
        return await service.update_record(resource, code, data, request.user)

    async def archive_record(self, request: Request, code: CodePath) -> read_model:  # type: ignore[valid-type]
        return await service.set_archived(resource, code, True, request.user)

    async def restore_record(self, request: Request, code: CodePath) -> read_model:  # type: ignore[valid-type]
        return await service.set_archived(resource, code, False, request.user)

    async def export_csv(self) -> Response[str]:
        text = await service.export_csv(resource)
        return Response(
            text,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{resource.path}.csv"'},
        )

    async def import_csv(
        self, request: Request, data: Annotated[UploadFile, Body(media_type=RequestEncodingType.MULTI_PART)]
    ) -> ImportResult:
        raw = await data.read()
        return ImportResult(**await service.import_csv(resource, decode_csv(raw), request.user))

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
    """Spreadsheets save UTF-8 (with or without BOM); Chinese Excel often saves GB18030."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")
