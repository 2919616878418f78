"""A quote as an A4 PDF for the customer, in the reader's language: header, lines (item, quantity, price, discount,
value), total, validity. Text that is not plain ASCII (Chinese labels, names, notes) is set in the project's CJK font,
embedded, as the label sheets and delivery notes are (server/labels/fonts.py); ASCII in Helvetica. Pages are left uncompressed: a quote is a page or two, and its text stays searchable as written."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from schemas.pricing import QuoteOut
from server.i18n import translate
from server.labels.fonts import pdf_font

LATIN_FONT = "Helvetica"
MARGIN, LINE_HEIGHT = 50.0, 16.0
COLUMNS = ((0, "field.line_no"), (40, "field.item"), (200, "field.quantity"), (280, "quote.unit_price"),
           (360, "quote.discount_pct"), (430, "quote.value"))


def _font(text: str) -> str:
    return LATIN_FONT if text.isascii() else pdf_font()


def _text(canvas: Canvas, x: float, y: float, text: str, size: float = 10) -> None:
    canvas.setFont(_font(text), size)
    canvas.drawString(x, y, text)


def quote_pdf(quote: QuoteOut, customer_name: str, lang: str) -> bytes:
    def t(key: str, **values: object) -> str:
        return translate(lang, key, **values)

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=0)
    canvas.setTitle(quote.code)
    canvas.setSubject(f"{t('quote.title')} {quote.code}")
    width, height = A4
    y = height - MARGIN
    _text(canvas, MARGIN, y, t("quote.title"), 18)
    _text(canvas, MARGIN + 200, y, quote.code, 18)
    y -= 2 * LINE_HEIGHT
    for label, value in ((t("so.customer"), f"{quote.customer} {customer_name}"),
                         (t("quote.valid_until"), quote.valid_until.isoformat()),
                         (t("quote.currency"), quote.currency),
                         *(((t("quote.contract"), quote.contract),) if quote.contract else ())):
        _text(canvas, MARGIN, y, label)
        _text(canvas, MARGIN + 120, y, value)
        y -= LINE_HEIGHT
    y -= LINE_HEIGHT
    for x, key in COLUMNS:
        _text(canvas, MARGIN + x, y, t(key), 9)
    y -= 4
    canvas.line(MARGIN, y, width - MARGIN, y)
    y -= LINE_HEIGHT
    for line in quote.lines:
        if y < MARGIN + 3 * LINE_HEIGHT:
            canvas.showPage()
            y = height - MARGIN
        for (x, _), value in zip(COLUMNS, (str(line.line_no), line.item, format(line.quantity, "f"),
                                           format(line.unit_price, "f"), f"{format(line.discount_pct, 'f')} %",
                                           format(line.value, "f"))):
            _text(canvas, MARGIN + x, y, value, 9)
        y -= LINE_HEIGHT
    canvas.line(MARGIN, y + LINE_HEIGHT - 4, width - MARGIN, y + LINE_HEIGHT - 4)
    _text(canvas, MARGIN + 360, y - 4, t("quote.total"), 11)
    _text(canvas, MARGIN + 430, y - 4, f"{format(quote.value, 'f')} {quote.currency}", 11)
    y -= 3 * LINE_HEIGHT
    for paragraph in quote.notes.splitlines():
        _text(canvas, MARGIN, y, paragraph[:110], 9)
        y -= LINE_HEIGHT
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
