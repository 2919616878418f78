"""A request for quotation and a purchase order as the supplier gets them: A4 PDFs in Chinese or English, with the
buying site (name, address: where the goods go), the supplier, the lines (item, the supplier's own code for it when
its item record has one, quantity, unit, needed-by or due date; for a purchase order the price, value and total),
the document's code and revision (its version), and for an RFQ when the quotes are wanted. Drawn with reportlab and
the project's embedded CJK font (server/labels/fonts.py), like quotes and label sheets; pages uncompressed, so the
text stays searchable as written. Everything here is a pure function of what `sending.py` loaded."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from server.i18n import LANGUAGES, translate
from server.labels.fonts import pdf_font

LATIN_FONT = "Helvetica"
MARGIN, LINE_HEIGHT = 45.0, 15.0
PARTY_COLUMN = 252.0  # the buyer's and the supplier's boxes, side by side
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Party:
    code: str
    name: str
    address: str = ""
    contact: str = ""
    email: str = ""


@dataclass(frozen=True)
class PrintedLine:
    line_no: int
    item: str
    item_name: str
    supplier_item_code: str
    quantity: Decimal
    unit: str
    date: date  # needed by (RFQ) or due (PO: when the line is expected)
    unit_price: Decimal | None = None  # a PO's


@dataclass(frozen=True)
class PrintedDocument:
    kind: str  # rfq | purchase_order
    code: str
    revision: int
    issued: date
    buyer: Party  # the site that buys and receives
    supplier: Party
    currency: str
    lines: Sequence[PrintedLine]
    notes: str = ""
    needed_by: date | None = None  # an RFQ's


def document_language(requested: str | None, supplier_language: str | None, reader_language: str | None) -> str:
    """The language a document is written in: the one asked for, else the supplier's, else the reader's (English
    when none of them is one the catalogs speak)."""
    for language in (requested, supplier_language, reader_language):
        if language in LANGUAGES:
            return language
    return "en"


def money(value: Decimal) -> str:
    return format(Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), "f")


def plain(value: Decimal) -> str:
    value = Decimal(value)
    return format(value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize(), "f")


def line_value(line: PrintedLine) -> Decimal:
    return line.quantity * (line.unit_price or Decimal(0))


def total_of(document: PrintedDocument) -> Decimal:
    return sum((line_value(line) for line in document.lines), Decimal(0))


class _Page:
    """A canvas that writes each string in Helvetica when it is ASCII, else in the CJK font, and starts a new page
    with the column headings when the current one is full."""

    def __init__(self, title: str) -> None:
        self.buffer = io.BytesIO()
        self.canvas = Canvas(self.buffer, pagesize=A4, pageCompression=0)
        self.canvas.setTitle(title)
        self.width, self.height = A4
        self.y = self.height - MARGIN

    def text(self, x: float, text: str, size: float = 9, y: float | None = None, right: bool = False,
             width: float | None = None) -> None:
        """Draws `text`; with `width`, cut to fit it (an address or a name never runs into the next column)."""
        font = LATIN_FONT if text.isascii() else pdf_font()
        if width is not None:
            while text and stringWidth(text, font, size) > width:
                text = text[:-1]
        self.canvas.setFont(font, size)
        (self.canvas.drawRightString if right else self.canvas.drawString)(x, self.y if y is None else y, text)

    def down(self, lines: float = 1) -> None:
        self.y -= lines * LINE_HEIGHT

    def rule(self) -> None:
        self.canvas.line(MARGIN, self.y + LINE_HEIGHT - 4, self.width - MARGIN, self.y + LINE_HEIGHT - 4)

    def room_for(self, lines: int) -> bool:
        return self.y - lines * LINE_HEIGHT > MARGIN

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.buffer.getvalue()


def _columns(kind: str) -> list[tuple[float, str, bool]]:
    """(x, catalog key, right-aligned) of each column; a PO has price and value where an RFQ has none."""
    columns = [(0, "field.line_no", False), (28, "field.item", False), (170, "printed.supplier_item_code", False)]
    if kind == "purchase_order":
        return columns + [(290, "field.quantity", True), (296, "field.unit", False), (370, "po.unit_price", True),
                          (430, "printed.value", True), (440, "printed.due_date", False)]
    return columns + [(330, "field.quantity", True), (338, "field.unit", False), (390, "printed.needed_by", False)]


def render_pdf(document: PrintedDocument, lang: str) -> bytes:
    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    title = t("printed.title_" + document.kind)
    page = _Page(f"{title} {document.code}")
    page.text(MARGIN, title, 18)
    page.text(page.width - MARGIN, document.code, 14, right=True)
    page.down(1.2)
    page.text(page.width - MARGIN, t("printed.revision", revision=document.revision), 9, right=True)
    page.down()
    page.text(page.width - MARGIN, t("printed.issued", date=document.issued.isoformat()), 9, right=True)
    page.down(1.5)
    top = page.y
    for x, heading, party in ((MARGIN, t("printed.buyer"), document.buyer),
                              (MARGIN + PARTY_COLUMN, t("printed.supplier"), document.supplier)):
        page.y = top
        page.text(x, heading, 10)
        page.down()
        for text in (f"{party.name} ({party.code})", *party.address.splitlines()[:3],
                     *((t("printed.contact", contact=party.contact),) if party.contact else ()), party.email):
            if text:
                page.text(x, text, 9, width=PARTY_COLUMN - 10)
            page.down()
    page.down(0.5)
    facts = [(t("field.currency"), document.currency)]
    if document.needed_by is not None:
        facts.insert(0, (t("printed.needed_by"), document.needed_by.isoformat()))
    for label, value in facts:
        page.text(MARGIN, label, 9)
        page.text(MARGIN + 110, value, 9)
        page.down()
    page.down(0.5)
    columns = _columns(document.kind)

    def headings() -> None:
        for x, key, right in columns:
            page.text(MARGIN + x, t(key), 8, right=right)
        page.down()
        page.rule()

    headings()
    for line in document.lines:
        if not page.room_for(3):
            page.canvas.showPage()
            page.y = page.height - MARGIN
            headings()
        values = [str(line.line_no), line.item, line.supplier_item_code or "—", plain(line.quantity), line.unit]
        values += ([plain(line.unit_price or Decimal(0)), money(line_value(line)), line.date.isoformat()]
                   if document.kind == "purchase_order" else [line.date.isoformat()])
        for index, ((x, _, right), value) in enumerate(zip(columns, values)):
            following = columns[index + 1][0] if index + 1 < len(columns) and not right else None
            page.text(MARGIN + x, value, 8, right=right, width=following - x - 4 if following is not None else None)
        if line.item_name:
            page.down(0.8)
            page.text(MARGIN + 28, line.item_name, 7, width=250)
        page.down()
    page.rule()
    if document.kind == "purchase_order":
        page.text(MARGIN + 370, t("printed.total"), 10, right=True)
        page.text(MARGIN + 430, f"{money(total_of(document))} {document.currency}", 10, right=True)
        page.down(2)
    else:
        page.down()
        page.text(MARGIN, t("printed.rfq_request", date=(document.needed_by or document.issued).isoformat()), 9)
        page.down(2)
    for paragraph in document.notes.splitlines()[:12]:
        page.text(MARGIN, paragraph, 9, width=page.width - 2 * MARGIN)
        page.down()
    return page.finish()
