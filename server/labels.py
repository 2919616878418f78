"""Location labels: a Code 128 symbol of the location code, with the code (and, on the SVG, the name) in plain text.
python-barcode encodes and draws them: SVG with its SVG writer, PNG with its Pillow writer."""

from __future__ import annotations

import io
from typing import Annotated

from barcode import Code128
from barcode.writer import ImageWriter, SVGWriter
from litestar import Controller, Response, get
from litestar.params import Parameter

from server.accounts.identity import requires
from server.masterdata.resources import LOCATIONS
from server.records.service import get_record

# python-barcode's defaults give 0.2 mm modules; 0.33 mm (GS1's nominal X-dimension) scans reliably off a label.
WRITER_OPTIONS = {"module_width": 0.33, "module_height": 15.0, "quiet_zone": 6.5, "font_size": 10, "text_distance": 4}


def location_label_svg(code: str, name: str) -> str:
    """Bars, the code and (below it) the location's name, which may be Chinese: the printer's fonts draw it."""
    out = io.BytesIO()
    Code128(code, writer=SVGWriter()).write(out, options=WRITER_OPTIONS, text=f"{code}\n{name}")
    return out.getvalue().decode()


def location_label_png(code: str) -> bytes:
    """Bars and the code, rendered by Pillow with python-barcode's bundled font."""
    out = io.BytesIO()
    Code128(code, writer=ImageWriter()).write(out, options={**WRITER_OPTIONS, "dpi": 300}, text=code)
    return out.getvalue()


LocationCode = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class LocationLabelController(Controller):
    path = "/api/locations"
    tags = ["Labels"]
    guards = [requires("locations.read")]

    @get("/{code:str}/label.svg", summary="Printable Code 128 label of a location (SVG)", media_type="image/svg+xml")
    async def svg_label(self, code: LocationCode) -> Response[str]:
        location = await get_record(LOCATIONS, code)
        return Response(location_label_svg(location.code, location.name), media_type="image/svg+xml")

    @get("/{code:str}/label.png", summary="Printable Code 128 label of a location (PNG)", media_type="image/png")
    async def png_label(self, code: LocationCode) -> Response[bytes]:
        location = await get_record(LOCATIONS, code)
        return Response(location_label_png(location.code), media_type="image/png")
