"""Barcode symbols as module matrices, and one drawing of them to PNG and SVG.

Each generator only encodes; drawing is ours, so every symbology gets whole-pixel modules at 300 dpi and the same
layout. Code 128 and GS1-128 come from python-barcode, QR from qrcode. GS1 DataMatrix comes from zxing-cpp (its
writer is zint): python-barcode has no DataMatrix; pylibdmtx needs the system libdmtx and cannot put FNC1 in first
position; reportlab's ECC200 writer has no GS1 mode; treepoem needs Ghostscript. zxing-cpp ships self-contained
wheels, is actively maintained, writes GS1 DataMatrix (`]d2`) with FNC1 separators from the bracketed form, and is
the reader the tests already scan every label back with."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal
from xml.sax.saxutils import escape

import qrcode
import zxingcpp
from barcode import Code128, Gs1_128
from PIL import Image, ImageDraw

from server.labels.fonts import image_font
from server.labels.gs1 import ElementString

Symbology = Literal["code128", "gs1-128", "datamatrix", "qr"]
DPI = 300
PX_PER_MM = DPI / 25.4
# Module sizes in printer dots at 300 dpi: 4 dots = 0.34 mm (GS1's nominal 0.33 mm for linear symbols), 6 dots =
# 0.51 mm for the 2D ones (inside GS1's 0.38–0.99 mm for DataMatrix on logistic labels).
MODULE_DOTS: dict[Symbology, int] = {"code128": 4, "gs1-128": 4, "datamatrix": 6, "qr": 6}
QUIET_MODULES: dict[Symbology, int] = {"code128": 10, "gs1-128": 10, "datamatrix": 2, "qr": 4}
BAR_HEIGHT_DOTS = 150  # 12.7 mm
TEXT_DOTS = 30
MARGIN_DOTS = 24
GAP_DOTS = 24


@dataclass(frozen=True)
class Symbol:
    """What one symbol encodes: plain text (Code 128, QR) or a GS1 element string (GS1-128, DataMatrix)."""

    symbology: Symbology
    text: str = ""
    gs1: ElementString | None = None

    @property
    def caption(self) -> str:
        """The human-readable interpretation printed under the symbol."""
        return self.gs1.bracketed if self.gs1 else self.text

    @property
    def is_linear(self) -> bool:
        return self.symbology in ("code128", "gs1-128")


def code128(text: str) -> Symbol:
    return Symbol("code128", text=text)


def qr(text: str) -> Symbol:
    return Symbol("qr", text=text)


def gs1_128(element_string: ElementString) -> Symbol:
    return Symbol("gs1-128", gs1=element_string)


def gs1_datamatrix(element_string: ElementString) -> Symbol:
    return Symbol("datamatrix", gs1=element_string)


def modules(symbol: Symbol) -> list[list[bool]]:
    """Rows of dark (True) and light modules, without quiet zone; a linear symbol is one row."""
    if symbol.symbology == "code128":
        return [[bit == "1" for bit in Code128(symbol.text).build()[0]]]
    if symbol.symbology == "gs1-128":
        # python-barcode puts the leading FNC1 itself; "\xf1" is its FNC1 between variable-length elements.
        return [[bit == "1" for bit in Gs1_128(symbol.gs1.data(separator="\xf1")).build()[0]]]
    if symbol.symbology == "qr":
        code = qrcode.QRCode(border=0, error_correction=qrcode.constants.ERROR_CORRECT_M)
        code.add_data(symbol.text)
        code.make(fit=True)
        return [list(row) for row in code.get_matrix()]
    # Square sizes only: rectangular (DMRE) symbols are not read by every scanner on the floor.
    barcode = zxingcpp.create_barcode(symbol.gs1.bracketed, zxingcpp.BarcodeFormat.DataMatrix, gs1=True,
                                      force_square=True)
    image = Image.fromarray(zxingcpp.write_barcode_to_image(barcode, scale=1, add_quiet_zones=False))
    width, height = image.size
    pixels = image.load()
    return [[pixels[x, y] < 128 for x in range(width)] for y in range(height)]


def _runs(row: list[bool]):
    """(start, length) of each dark run: one rectangle per bar instead of one per module."""
    start = None
    for index, dark in enumerate([*row, False]):
        if dark and start is None:
            start = index
        elif not dark and start is not None:
            yield start, index - start
            start = None


@dataclass(frozen=True)
class _Placed:
    symbol: Symbol
    matrix: list[list[bool]]
    module: int
    width: int  # dots, quiet zones included
    height: int  # dots of the symbol itself

    @classmethod
    def of(cls, symbol: Symbol) -> _Placed:
        matrix = modules(symbol)
        module = MODULE_DOTS[symbol.symbology]
        width = (len(matrix[0]) + 2 * QUIET_MODULES[symbol.symbology]) * module
        height = BAR_HEIGHT_DOTS if symbol.is_linear else len(matrix) * module
        return cls(symbol, matrix, module, width, height)

    def rectangles(self, left: int, top: int):
        """(x, y, w, h) in dots of every dark run."""
        x0 = left + QUIET_MODULES[self.symbol.symbology] * self.module
        if self.symbol.is_linear:
            for start, length in _runs(self.matrix[0]):
                yield x0 + start * self.module, top, length * self.module, self.height
            return
        for row_index, row in enumerate(self.matrix):
            for start, length in _runs(row):
                yield x0 + start * self.module, top + row_index * self.module, length * self.module, self.module


@dataclass(frozen=True)
class Layout:
    """Where everything of a label goes, in printer dots: text lines first, then each symbol with its caption."""

    width: int
    height: int
    texts: tuple[tuple[int, int, str], ...]  # (x, baseline-top y, text)
    symbols: tuple[tuple[int, int, _Placed], ...]


def _text_width(text: str) -> int:
    return int(image_font(TEXT_DOTS).getlength(text)) + 1


def layout(lines: tuple[str, ...], symbols: tuple[Symbol, ...]) -> Layout:
    placed = [_Placed.of(symbol) for symbol in symbols]
    texts = lines + tuple(symbol.caption for symbol in symbols)
    width = max([p.width for p in placed] + [_text_width(text) + 2 * MARGIN_DOTS for text in texts])
    y = MARGIN_DOTS
    texts, positions = [], []
    for line in lines:
        texts.append((MARGIN_DOTS, y, line))
        y += TEXT_DOTS + 8
    for item in placed:
        if positions or lines:
            y += GAP_DOTS
        positions.append(((width - item.width) // 2, y, item))
        y += item.height + 6
        texts.append(((width - _text_width(item.symbol.caption)) // 2, y, item.symbol.caption))
        y += TEXT_DOTS + 8
    return Layout(width, y + MARGIN_DOTS, tuple(texts), tuple(positions))


def render_png(lines: tuple[str, ...], symbols: tuple[Symbol, ...]) -> bytes:
    plan = layout(lines, symbols)
    image = Image.new("L", (plan.width, plan.height), 255)
    draw = ImageDraw.Draw(image)
    for left, top, item in plan.symbols:
        for x, y, w, h in item.rectangles(left, top):
            draw.rectangle((x, y, x + w - 1, y + h - 1), fill=0)
    font = image_font(TEXT_DOTS)  # Chinese and Latin alike (server/labels/fonts.py)
    for x, y, text in plan.texts:
        draw.text((x, y), text, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI))
    return out.getvalue()


def render_svg(lines: tuple[str, ...], symbols: tuple[Symbol, ...]) -> str:
    """Sized in millimetres (the dots are the user units), so it prints at the same scale as the PNG."""
    plan = layout(lines, symbols)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{plan.width / PX_PER_MM:.2f}mm" '
        f'height="{plan.height / PX_PER_MM:.2f}mm" viewBox="0 0 {plan.width} {plan.height}">',
        f'<rect x="0" y="0" width="{plan.width}" height="{plan.height}" fill="#fff"/>',
        '<g fill="#000">',
    ]
    for left, top, item in plan.symbols:
        parts.extend(f'<rect x="{x}" y="{y}" width="{w}" height="{h}"/>' for x, y, w, h in item.rectangles(left, top))
    parts.append("</g>")
    parts.extend(
        f'<text x="{x}" y="{y + TEXT_DOTS - 6}" font-family="sans-serif" font-size="{TEXT_DOTS}">{escape(text)}</text>'
        for x, y, text in plan.texts
    )
    parts.append("</svg>")
    return "\n".join(parts)
