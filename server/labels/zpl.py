"""ZPL II for Zebra-compatible thermal printers: the printer draws the symbols itself (^BC Code 128 and GS1-128,
^BX DataMatrix, ^BQ QR), so a label prints sharp at the printer's own resolution.

GS1 structure: GS1-128 starts in subset C with FNC1 (`>;>8`), switches subsets where the data asks for it and puts
`>8` after each variable-length element but the last; GS1 DataMatrix uses `_` as its escape character, so `_1` is
FNC1 (first, which makes it GS1, and as separator). Text is UTF-8 (^CI28); a line with non-Latin characters (a
Chinese item name) is drawn with a TrueType font on the printer that has them (^A@), the rest with font 0."""

from __future__ import annotations

from server.labels.gs1 import AIS
from server.labels.kinds import Label
from server.labels.symbols import Symbol, modules

DOTS_PER_MM = 8  # 203 dpi, the common thermal head
LABEL_WIDTH_DOTS = 812  # 4 in
LEFT_DOTS = 40
TEXT_DOTS = 30
# Zebra's Andale Mono Simplified Chinese, loaded on the printer's E: drive; another CJK font works the same.
CJK_FONT = "E:ANMDS.TTF"
BAR_HEIGHT_DOTS = 100
FNC1 = ">8"


def _field_text(text: str) -> str:
    """^FH hex escapes for the characters ZPL reserves; everything else goes as UTF-8."""
    return "".join(f"_{ord(c):02X}" if c in "^~_\\" else c for c in text)


def _text_field(y: int, text: str, cjk_font: str) -> str:
    font = f"^A0N,{TEXT_DOTS},{TEXT_DOTS}" if text.isascii() else f"^A@N,{TEXT_DOTS},{TEXT_DOTS},{cjk_font}"
    return f"^FO{LEFT_DOTS},{y}{font}^FH^FD{_field_text(text)}^FS"


def code128_data(text: str) -> str:
    """Plain Code 128 in subset B (`>:`); a literal `>` is written `><`."""
    return ">:" + text.replace(">", "><")


def gs1_128_data(symbol: Symbol) -> str:
    """The element string as ^BC invocation codes: subset C for digit pairs, B for the rest, FNC1 as `>8`."""
    out, subset = [">;", FNC1], "C"
    for index, (ai, value) in enumerate(symbol.gs1.elements):
        chars = ai + value
        position = 0
        while position < len(chars):
            digits = len(chars[position:]) - len(chars[position:].lstrip("0123456789"))
            if subset == "C" and digits >= 2:
                out.append(chars[position:position + 2])
                position += 2
            elif subset == "B" and digits >= 4 and digits % 2 == 0:
                out.append(">5")
                subset = "C"
            else:
                if subset == "C":
                    out.append(">6")
                    subset = "B"
                out.append(chars[position].replace(">", "><"))
                position += 1
        if not AIS[ai].fixed and index < len(symbol.gs1.elements) - 1:
            out.append(FNC1)
    return "".join(out)


def _symbol_fields(y: int, symbol: Symbol) -> tuple[list[str], int]:
    """The ^FO…^FS fields of one symbol and the dots it takes."""
    if symbol.symbology in ("code128", "gs1-128"):
        data = gs1_128_data(symbol) if symbol.symbology == "gs1-128" else code128_data(symbol.text)
        # Our own caption below the bars: the printer's interpretation line would show subset and FNC1 codes.
        return [f"^FO{LEFT_DOTS},{y}^BY2^BCN,{BAR_HEIGHT_DOTS},N,N,N^FD{data}^FS"], BAR_HEIGHT_DOTS
    size = len(modules(symbol))
    if symbol.symbology == "datamatrix":
        module = 6
        data = "_1" + symbol.gs1.data(separator="_1")
        return [f"^FO{LEFT_DOTS},{y}^BXN,{module},200,{size},{size},6,_^FD{data}^FS"], size * module
    module = 5
    quiet = 4 * module  # ^BQ draws its own quiet zone
    return [f"^FO{LEFT_DOTS},{y}^BQN,2,{module}^FDMA,{symbol.text}^FS"], size * module + 2 * quiet


def label_zpl(label: Label, cjk_font: str = CJK_FONT) -> str:
    """One ^XA…^XZ label, 4 in wide, as long as its content needs."""
    y = 30
    fields = []
    for line in label.lines:
        fields.append(_text_field(y, line, cjk_font))
        y += TEXT_DOTS + 10
    for symbol in label.symbols:
        y += 20
        symbol_fields, height = _symbol_fields(y, symbol)
        fields.extend(symbol_fields)
        y += height + 10
        fields.append(_text_field(y, symbol.caption, cjk_font))
        y += TEXT_DOTS + 10
    return "\n".join(["^XA", "^CI28", f"^PW{LABEL_WIDTH_DOTS}", f"^LL{y + 30}", *fields, "^XZ"]) + "\n"
