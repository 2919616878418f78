"""Location labels: a Code 128 symbol of the location code with the code (and, on the SVG, the name) in plain text.

python-barcode encodes the symbol (character sets, check character); drawing the modules is done here so that the SVG
and the PNG come from the same bars. The PNG is written with zlib alone (no imaging library in the stack): its text
line is the code, drawn in a 5x7 pixel font that covers every character a code may hold. The name, which may be
Chinese, is on the SVG label, where the printer's fonts draw it.
"""

from __future__ import annotations

import struct
import zlib
from typing import Annotated
from xml.sax.saxutils import escape

from barcode import Code128
from litestar import Controller, Response, get
from litestar.params import Parameter

from server.accounts.identity import requires
from server.masterdata.resources import LOCATIONS
from server.records.service import get_record

QUIET_ZONE_MODULES = 10  # Code 128 asks for at least 10 modules of white either side
SVG_MODULE_MM = 0.33
SVG_BAR_HEIGHT_MM = 15.0
PNG_MODULE_PX = 3
PNG_BAR_HEIGHT_PX = 120
PNG_FONT_SCALE = 3

# 5x7 glyphs of the characters a code may contain ([A-Za-z0-9._/-]), one string per row, '#' = ink.
FONT_5X7: dict[str, tuple[str, ...]] = {
    "0": (" ### ", "#   #", "#  ##", "# # #", "##  #", "#   #", " ### "),
    "1": ("  #  ", " ##  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "2": (" ### ", "#   #", "    #", "   # ", "  #  ", " #   ", "#####"),
    "3": ("#####", "   # ", "  #  ", "   # ", "    #", "#   #", " ### "),
    "4": ("   # ", "  ## ", " # # ", "#  # ", "#####", "   # ", "   # "),
    "5": ("#####", "#    ", "#### ", "    #", "    #", "#   #", " ### "),
    "6": ("  ## ", " #   ", "#    ", "#### ", "#   #", "#   #", " ### "),
    "7": ("#####", "    #", "   # ", "  #  ", " #   ", " #   ", " #   "),
    "8": (" ### ", "#   #", "#   #", " ### ", "#   #", "#   #", " ### "),
    "9": (" ### ", "#   #", "#   #", " ####", "    #", "   # ", " ##  "),
    "A": (" ### ", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"),
    "B": ("#### ", "#   #", "#   #", "#### ", "#   #", "#   #", "#### "),
    "C": (" ### ", "#   #", "#    ", "#    ", "#    ", "#   #", " ### "),
    "D": ("###  ", "#  # ", "#   #", "#   #", "#   #", "#  # ", "###  "),
    "E": ("#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#####"),
    "F": ("#####", "#    ", "#    ", "#### ", "#    ", "#    ", "#    "),
    "G": (" ### ", "#   #", "#    ", "# ###", "#   #", "#   #", " ####"),
    "H": ("#   #", "#   #", "#   #", "#####", "#   #", "#   #", "#   #"),
    "I": (" ### ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "J": ("  ###", "   # ", "   # ", "   # ", "   # ", "#  # ", " ##  "),
    "K": ("#   #", "#  # ", "# #  ", "##   ", "# #  ", "#  # ", "#   #"),
    "L": ("#    ", "#    ", "#    ", "#    ", "#    ", "#    ", "#####"),
    "M": ("#   #", "## ##", "# # #", "# # #", "#   #", "#   #", "#   #"),
    "N": ("#   #", "#   #", "##  #", "# # #", "#  ##", "#   #", "#   #"),
    "O": (" ### ", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "),
    "P": ("#### ", "#   #", "#   #", "#### ", "#    ", "#    ", "#    "),
    "Q": (" ### ", "#   #", "#   #", "#   #", "# # #", "#  # ", " ## #"),
    "R": ("#### ", "#   #", "#   #", "#### ", "# #  ", "#  # ", "#   #"),
    "S": (" ####", "#    ", "#    ", " ### ", "    #", "    #", "#### "),
    "T": ("#####", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  "),
    "U": ("#   #", "#   #", "#   #", "#   #", "#   #", "#   #", " ### "),
    "V": ("#   #", "#   #", "#   #", "#   #", "#   #", " # # ", "  #  "),
    "W": ("#   #", "#   #", "#   #", "# # #", "# # #", "# # #", " # # "),
    "X": ("#   #", "#   #", " # # ", "  #  ", " # # ", "#   #", "#   #"),
    "Y": ("#   #", "#   #", " # # ", "  #  ", "  #  ", "  #  ", "  #  "),
    "Z": ("#####", "    #", "   # ", "  #  ", " #   ", "#    ", "#####"),
    "a": ("     ", "     ", " ### ", "    #", " ####", "#   #", " ####"),
    "b": ("#    ", "#    ", "# ## ", "##  #", "#   #", "#   #", "#### "),
    "c": ("     ", "     ", " ### ", "#    ", "#    ", "#   #", " ### "),
    "d": ("    #", "    #", " ## #", "#  ##", "#   #", "#   #", " ####"),
    "e": ("     ", "     ", " ### ", "#   #", "#####", "#    ", " ### "),
    "f": ("  ## ", " #  #", " #   ", "###  ", " #   ", " #   ", " #   "),
    "g": ("     ", " ####", "#   #", "#   #", " ####", "    #", " ### "),
    "h": ("#    ", "#    ", "# ## ", "##  #", "#   #", "#   #", "#   #"),
    "i": ("  #  ", "     ", " ##  ", "  #  ", "  #  ", "  #  ", " ### "),
    "j": ("   # ", "     ", "  ## ", "   # ", "   # ", "#  # ", " ##  "),
    "k": ("#    ", "#    ", "#  # ", "# #  ", "##   ", "# #  ", "#  # "),
    "l": (" ##  ", "  #  ", "  #  ", "  #  ", "  #  ", "  #  ", " ### "),
    "m": ("     ", "     ", "## # ", "# # #", "# # #", "#   #", "#   #"),
    "n": ("     ", "     ", "# ## ", "##  #", "#   #", "#   #", "#   #"),
    "o": ("     ", "     ", " ### ", "#   #", "#   #", "#   #", " ### "),
    "p": ("     ", "     ", "#### ", "#   #", "#### ", "#    ", "#    "),
    "q": ("     ", "     ", " ## #", "#  ##", " ####", "    #", "    #"),
    "r": ("     ", "     ", "# ## ", "##  #", "#    ", "#    ", "#    "),
    "s": ("     ", "     ", " ### ", "#    ", " ### ", "    #", "#### "),
    "t": (" #   ", " #   ", "###  ", " #   ", " #   ", " #  #", "  ## "),
    "u": ("     ", "     ", "#   #", "#   #", "#   #", "#  ##", " ## #"),
    "v": ("     ", "     ", "#   #", "#   #", "#   #", " # # ", "  #  "),
    "w": ("     ", "     ", "#   #", "#   #", "# # #", "# # #", " # # "),
    "x": ("     ", "     ", "#   #", " # # ", "  #  ", " # # ", "#   #"),
    "y": ("     ", "     ", "#   #", "#   #", " ####", "    #", " ### "),
    "z": ("     ", "     ", "#####", "   # ", "  #  ", " #   ", "#####"),
    "-": ("     ", "     ", "     ", "#####", "     ", "     ", "     "),
    ".": ("     ", "     ", "     ", "     ", "     ", " ##  ", " ##  "),
    "/": ("     ", "    #", "   # ", "  #  ", " #   ", "#    ", "     "),
    "_": ("     ", "     ", "     ", "     ", "     ", "     ", "#####"),
    " ": ("     ",) * 7,
    "?": (" ### ", "#   #", "    #", "   # ", "  #  ", "     ", "  #  "),
}


def code128_modules(text: str) -> str:
    """The symbol as a string of modules, '1' dark and '0' light, start to stop character (no quiet zone)."""
    return Code128(text).build()[0]


def location_label_svg(code: str, name: str) -> str:
    """A label to print at any size: the bars, the code under them, the name under that."""
    modules = code128_modules(code)
    width_modules = len(modules) + 2 * QUIET_ZONE_MODULES
    width_mm = width_modules * SVG_MODULE_MM
    bars = []
    x = 0
    for run in _runs(modules):
        if run[0] == "1":
            bars.append(
                f'<rect x="{(QUIET_ZONE_MODULES + x) * SVG_MODULE_MM:.3f}" y="2" '
                f'width="{len(run) * SVG_MODULE_MM:.3f}" height="{SVG_BAR_HEIGHT_MM}"/>'
            )
        x += len(run)
    text_y = 2 + SVG_BAR_HEIGHT_MM + 5
    height_mm = text_y + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width_mm:.2f}mm" height="{height_mm:.2f}mm" '
        f'viewBox="0 0 {width_mm:.3f} {height_mm:.3f}">'
        f"<title>{escape(code)}</title>"
        f'<rect width="100%" height="100%" fill="#fff"/>'
        f'<g fill="#000">{"".join(bars)}</g>'
        f'<text x="{width_mm / 2:.3f}" y="{text_y:.3f}" text-anchor="middle" font-family="monospace" '
        f'font-size="4.2" font-weight="bold">{escape(code)}</text>'
        f'<text x="{width_mm / 2:.3f}" y="{text_y + 5:.3f}" text-anchor="middle" font-family="sans-serif" '
        f'font-size="3.2">{escape(name)}</text>'
        "</svg>"
    )


def location_label_png(code: str) -> bytes:
    """A 1-bit-looking greyscale PNG for raster label printers: the bars and the code in plain text."""
    modules = code128_modules(code)
    width = (len(modules) + 2 * QUIET_ZONE_MODULES) * PNG_MODULE_PX
    bar_row = bytearray(b"\xff" * width)
    for index, module in enumerate(modules):
        if module == "1":
            start = (QUIET_ZONE_MODULES + index) * PNG_MODULE_PX
            bar_row[start : start + PNG_MODULE_PX] = b"\x00" * PNG_MODULE_PX
    margin = 6 * PNG_MODULE_PX
    rows = [bytes(b"\xff" * width)] * margin + [bytes(bar_row)] * PNG_BAR_HEIGHT_PX + [bytes(b"\xff" * width)] * margin
    rows += _text_rows(code, width) + [bytes(b"\xff" * width)] * margin
    return _png_grey(width, rows)


def _runs(modules: str) -> list[str]:
    runs: list[str] = []
    for module in modules:
        if runs and runs[-1][0] == module:
            runs[-1] += module
        else:
            runs.append(module)
    return runs


def _text_rows(text: str, width: int) -> list[bytes]:
    """The text drawn with FONT_5X7, centred; a character outside the font shows as '?'."""
    scale = PNG_FONT_SCALE
    glyphs = [FONT_5X7.get(ch, FONT_5X7["?"]) for ch in text]
    advance = 6 * scale  # 5 columns of glyph and 1 of spacing
    text_width = min(len(glyphs) * advance, width)
    left = max((width - text_width) // 2, 0)
    rows = []
    for glyph_row in range(7):
        row = bytearray(b"\xff" * width)
        for n, glyph in enumerate(glyphs):
            for column, cell in enumerate(glyph[glyph_row]):
                if cell == "#":
                    start = left + n * advance + column * scale
                    if start + scale <= width:
                        row[start : start + scale] = b"\x00" * scale
        rows += [bytes(row)] * scale
    return rows


def _png_grey(width: int, rows: list[bytes]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, len(rows), 8, 0, 0, 0, 0)  # 8-bit greyscale, no interlace
    scanlines = b"".join(b"\x00" + row for row in rows)  # filter type 0 (none) on every line
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines, 9)) + chunk(b"IEND", b"")


LocationCode = Annotated[str, Parameter(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]


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
