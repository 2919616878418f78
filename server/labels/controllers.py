"""Label endpoints: items, lots, SSCCs and locations as PNG, SVG or ZPL, and PDF sheets of items or locations.

Production orders, purchase orders, shipments and delivery notes get their endpoints with their documents; their
label kinds already exist in `kinds.py`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.errors import ErrorBody
from server.accounts.identity import requires
from server.errors import ApiError
from server.labels.gs1 import Gs1Error
from server.labels.kinds import Label, item_label, location_label, lot_label, sscc_label
from server.labels.sheets import SheetLayout, labels_pdf
from server.labels.responses import label_response
from server.masterdata.resources import ITEMS, LOCATIONS
from server.records.service import get_record, list_records

MEDIA_TYPES = {"png": "image/png", "svg": "image/svg+xml", "zpl": "application/x-zpl"}
MAX_SHEET_LABELS = 480  # 20 A4 pages of 24
# Besides the refusals every operation documents (server.errors): what a label request can name wrongly.
REFUSALS = {
    HTTP_404_NOT_FOUND: ResponseSpec(ErrorBody, generate_examples=False,
                                     description="No such item or location (`unknown_item`, `not_found`), or a format "
                                                 "other than png, svg, zpl (`unknown_format`)"),
    HTTP_422_UNPROCESSABLE_ENTITY: ResponseSpec(ErrorBody, generate_examples=False,
                                                description="Nothing a scanner could read back: `no_gtin`, "
                                                            "`bad_check_digit`, `invalid_lot`, `invalid_sscc`…"),
}
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"  # schemas.common.Code: what records use to refer to each other
LocationCode = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
ItemCode = Annotated[str, Parameter(max_length=40, pattern=CODE_PATTERN)]
PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
LabelFile = Annotated[str, Parameter(max_length=48, pattern=CODE_PATTERN,
                                     description="the key and the format: CH-ERGO.png, .svg or .zpl")]


@dataclass
class LabelFileOperation(Operation):
    """Litestar documents one media type per handler; these answer in the format the path asks for."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if ok is not None:
            body = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))
            ok.content = {media: body for media in MEDIA_TYPES.values()}


def _split_file(file: str) -> tuple[str, str]:
    """'CH-ERGO.png' -> ('CH-ERGO', 'png'); codes may hold dots, so the format is what follows the last one."""
    key, dot, file_format = file.rpartition(".")
    if not dot or file_format not in MEDIA_TYPES:
        raise ApiError(HTTP_404_NOT_FOUND, "unknown_format", f"Labels come as .png, .svg or .zpl, not {file!r}",
                       {"formats": sorted(MEDIA_TYPES)})
    return key, file_format


def _refusal(error: Gs1Error) -> ApiError:
    return ApiError(HTTP_422_UNPROCESSABLE_ENTITY, error.code, error.message)


async def _item(code: str) -> Any:
    try:
        return await get_record(ITEMS, code)
    except ApiError as error:
        if error.code == "not_found":
            raise ApiError(HTTP_404_NOT_FOUND, "unknown_item", f"No item with code {code!r}", {"item": code}) from None
        raise


def _gtin_of(item: Any) -> str:
    if not item.gtin:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "no_gtin", f"Item {item.code} has no GTIN to print",
                       {"item": item.code})
    return item.gtin


def _expiry(text: str | None) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ApiError(HTTP_400_BAD_REQUEST, "invalid_expiry", f"expiry: {text!r} is not a date (YYYY-MM-DD)") from None


async def lot_label_for(item_code: str, lot: str | None, expiry: str | None, serial: str | None,
                        symbology: Literal["gs1-128", "datamatrix"]) -> Label:
    item = await _item(item_code)
    gtin = _gtin_of(item)
    if item.lot_tracked and not lot:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "missing_lot", f"Item {item.code} is lot-tracked: give a lot")
    if item.serial_tracked and not serial:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "missing_serial",
                       f"Item {item.code} is serial-tracked: give a serial")
    try:
        return lot_label(item.code, item.name, gtin, lot, _expiry(expiry), serial, symbology)
    except Gs1Error as error:
        raise _refusal(error) from None


class LabelController(Controller):
    path = "/api/labels"
    tags = ["Labels"]

    @get("/items/{file:str}", guards=[requires("items.read")], operation_class=LabelFileOperation,
         responses=REFUSALS,
         summary="An item's GTIN label (GS1-128), .png/.svg/.zpl")
    async def item(self, file: LabelFile) -> Response[Any]:
        code, file_format = _split_file(file)
        item = await _item(code)
        return label_response(item_label(item.code, item.name, _gtin_of(item)), file_format)

    @get(["/lots.png", "/lots.svg", "/lots.zpl"], guards=[requires("items.read")],
         operation_class=LabelFileOperation, responses=REFUSALS,
         summary="A lot or serial label: GTIN (01), expiry (17), lot (10), serial (21) as GS1-128 or GS1 DataMatrix")
    async def lot(
        self,
        request: Request,
        item: ItemCode,
        lot: Annotated[str | None, Parameter(max_length=40, pattern=PRINTABLE)] = None,
        expiry: Annotated[str | None, Parameter(max_length=20, pattern=PRINTABLE, description="YYYY-MM-DD")] = None,
        serial: Annotated[str | None, Parameter(max_length=40, pattern=PRINTABLE)] = None,
        symbology: Literal["gs1-128", "datamatrix"] = "gs1-128",
    ) -> Response[Any]:
        label = await lot_label_for(item, lot, expiry, serial, symbology)
        return label_response(label, request.url.path.rpartition(".")[2])

    @get("/sscc/{file:str}", guards=[requires("shipping.read")], operation_class=LabelFileOperation,
         responses=REFUSALS,
         summary="A handling unit's SSCC label (AI 00), optionally with the contained item's GTIN (02) and count (37)")
    async def sscc(
        self,
        file: LabelFile,
        item: ItemCode | None = None,
        count: Annotated[int | None, Parameter(ge=1, le=99_999_999)] = None,
    ) -> Response[Any]:
        sscc, file_format = _split_file(file)
        contents_gtin = _gtin_of(await _item(item)) if item else None
        try:
            label = sscc_label(sscc, contents_gtin, count if contents_gtin else None)
        except Gs1Error as error:
            raise _refusal(error) from None
        return label_response(label, file_format)

    @get("/sheet.pdf", summary="A PDF sheet of item or location labels: A4 (3 × 8) or one 4 × 6 in label per page",
         media_type="application/pdf", responses=REFUSALS)
    async def sheet(
        self,
        request: Request,
        kind: Literal["items", "locations"],
        layout: SheetLayout = "a4",
        warehouse: Annotated[str | None, Parameter(max_length=40, pattern=CODE_PATTERN)] = None,
        codes: Annotated[str | None, Parameter(max_length=4000, pattern=PRINTABLE,
                                               description="comma-separated; all if absent")] = None,
    ) -> Response[bytes]:
        if not request.user.may(f"{kind}.read"):
            raise PermissionDeniedException(detail=f"Your role may not do this ({kind}.read)",
                                            extra={"permission": f"{kind}.read"})
        wanted = [c.strip() for c in codes.split(",") if c.strip()] if codes else None
        labels = await (_item_labels(wanted) if kind == "items" else _location_labels(wanted, warehouse))
        if not labels:
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "no_labels", "Nothing to print: no matching records")
        if len(labels) > MAX_SHEET_LABELS:
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "too_many_labels",
                           f"At most {MAX_SHEET_LABELS} labels per sheet: narrow it with codes or warehouse")
        return Response(labels_pdf(labels, layout), media_type="application/pdf",
                        headers={"content-disposition": f'inline; filename="{kind}-labels.pdf"'})


async def _all(resource: Any, filters: dict[str, str]) -> list[Any]:
    page = await list_records(resource, filters=filters, limit=MAX_SHEET_LABELS)
    if page["total"] > MAX_SHEET_LABELS:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "too_many_labels",
                       f"At most {MAX_SHEET_LABELS} labels per sheet: narrow it with codes or warehouse")
    return page["items"]


async def _item_labels(wanted: list[str] | None) -> list[Label]:
    if wanted is not None:
        items = [await _item(code) for code in wanted[:MAX_SHEET_LABELS + 1]]
        return [item_label(i.code, i.name, _gtin_of(i)) for i in items]
    # All items: only those with a GTIN have a label to print.
    return [item_label(i.code, i.name, i.gtin) for i in await _all(ITEMS, {}) if i.gtin]


async def _location_labels(wanted: list[str] | None, warehouse: str | None) -> list[Label]:
    if wanted is not None:
        locations = [await get_record(LOCATIONS, code) for code in wanted[:MAX_SHEET_LABELS + 1]]
    else:
        locations = await _all(LOCATIONS, {"warehouse": warehouse} if warehouse else {})
    return [location_label(loc.code, loc.name) for loc in locations]


class LocationLabelController(Controller):
    """The location label where the location lives (`/api/locations/{code}/label.*`), as the office pages link it."""

    path = "/api/locations"
    tags = ["Labels"]
    guards = [requires("locations.read")]

    @get("/{code:str}/label.svg", summary="Printable Code 128 label of a location (SVG)", media_type="image/svg+xml")
    async def svg_label(self, code: LocationCode) -> Response[str]:
        location = await get_record(LOCATIONS, code)
        return label_response(location_label(location.code, location.name), "svg")

    @get("/{code:str}/label.png", summary="Printable Code 128 label of a location (PNG)", media_type="image/png")
    async def png_label(self, code: LocationCode) -> Response[bytes]:
        location = await get_record(LOCATIONS, code)
        return label_response(location_label(location.code, location.name), "png")

    @get("/{code:str}/label.zpl", summary="Location label for a thermal printer (ZPL II)",
         media_type="application/x-zpl")
    async def zpl_label(self, code: LocationCode) -> Response[str]:
        location = await get_record(LOCATIONS, code)
        return label_response(location_label(location.code, location.name), "zpl")
