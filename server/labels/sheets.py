"""PDF sheets of labels, drawn with reportlab: an A4 grid (3 × 8) for office printers, or one 4 × 6 in label per page
for label printers that take PDF.

The symbols (with their captions) go in as the same 300 dpi PNG the API serves, never enlarged, so each module stays
whole printer dots; the text lines are PDF text in the project's CJK font (server/labels/fonts.py), a subset of it
embedded, so Chinese and Latin print alike whatever the reader has installed. reportlab rather than fpdf2: BSD
rather than LGPL, and needs nothing beyond Pillow and charset-normalizer (both already here)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

from reportlab.lib.pagesizes import A4, inch
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from server.labels.fonts import pdf_font
from server.labels.kinds import Label
from server.labels.symbols import DPI, render_png

SheetLayout = Literal["a4", "4x6"]
POINTS_PER_DOT = 72 / DPI


@dataclass(frozen=True)
class Grid:
    page: tuple[float, float]
    columns: int
    rows: int
    margin: float  # points around the grid
    padding: float  # points inside each cell
    font_size: float


LAYOUTS: dict[SheetLayout, Grid] = {
    "a4": Grid(A4, 3, 8, 0.0, 8.0, 7.0),
    "4x6": Grid((4 * inch, 6 * inch), 1, 1, 0.0, 14.0, 11.0),
}


def _draw_label(canvas: Canvas, label: Label, x: float, y: float, width: float, height: float, grid: Grid) -> None:
    """One label in the cell whose bottom-left corner is (x, y): text lines at the top, the symbols below."""
    inner_w, inner_h = width - 2 * grid.padding, height - 2 * grid.padding
    top = y + height - grid.padding
    canvas.setFont(pdf_font(), grid.font_size)
    for line in label.lines:
        top -= grid.font_size * 1.2
        canvas.drawString(x + grid.padding, top, line)
    png = render_png((), label.symbols)
    image = ImageReader(io.BytesIO(png))
    dots_w, dots_h = image.getSize()
    room_h = top - (y + grid.padding) - 2
    scale = min(POINTS_PER_DOT, inner_w / dots_w, room_h / dots_h)
    draw_w, draw_h = dots_w * scale, dots_h * scale
    canvas.drawImage(image, x + (width - draw_w) / 2, top - 2 - draw_h, draw_w, draw_h)


def labels_pdf(labels: list[Label], layout: SheetLayout = "a4", title: str = "Floorsync labels") -> bytes:
    grid = LAYOUTS[layout]
    page_w, page_h = grid.page
    cell_w = (page_w - 2 * grid.margin) / grid.columns
    cell_h = (page_h - 2 * grid.margin) / grid.rows
    per_page = grid.columns * grid.rows
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=grid.page, pageCompression=1)
    canvas.setTitle(title)
    for index, label in enumerate(labels):
        if index and index % per_page == 0:
            canvas.showPage()
        slot = index % per_page
        column, row = slot % grid.columns, slot // grid.columns
        x = grid.margin + column * cell_w
        y = page_h - grid.margin - (row + 1) * cell_h
        _draw_label(canvas, label, x, y, cell_w, cell_h, grid)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
