"""The one font every printed document is drawn with: WenQuanYi Micro Hei, from Debian's fonts-wqy-microhei (pinned
in scripts/ensure-fonts.sh, which `make install` runs). It covers Simplified Chinese, Latin and the signs a document
needs (×, ·, …) with TrueType outlines, so Pillow draws it into PNGs and reportlab embeds a subset of it in PDFs: a
customer's Chinese name reads the same on screen, on paper and in any PDF reader, with nothing left to the reader."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from PIL import ImageFont
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

CJK_FONT_FILE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
PDF_FONT_NAME = "WenQuanYiMicroHei"


@cache
def image_font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(CJK_FONT_FILE), size, index=0)


def pdf_font() -> str:
    """The font's name in reportlab, registered on first use (a subset of the glyphs used is embedded per PDF)."""
    if PDF_FONT_NAME not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(PDF_FONT_NAME, str(CJK_FONT_FILE), subfontIndex=0))
    return PDF_FONT_NAME
