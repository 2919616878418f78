"""What a scanned string says, before any lookup: normalise what the scanner sent, then read it with biip.

Pure functions, no I/O; the server, `floorsync scan` and the test vectors (`schemas/scan_vectors.json`, which the
PWA reads too) all go through `read_scan`.

How a string is read:
1. Keyboard-wedge noise goes: surrounding spaces, CR, LF and TAB. The configured stand-in for the GS character
   (FLOORSYNC_SCAN_GS_STANDIN, for scanners that cannot type ASCII 29) becomes GS. Any other control character is
   refused (`control_character`), as are an empty scan (`empty_scan`) and one over MAX_SCAN_CHARS (`too_long`).
2. An AIM symbology identifier (`]C1`, `]d2`, …) says what follows. GS1 symbologies (GS1-128 `]C1`, GS1 DataMatrix
   `]d2`, GS1 QR `]Q3`, GS1 DataBar `]e0`…) carry a GS1 element string, FNC1 sent as GS; EAN/UPC (`]E0`, `]E4`) and
   ITF-14 (`]I1`) carry a GTIN. Any other symbology (`]C0`, `]Q1`, …), or none, carries text, read by its shape:
   - `(01)…(10)…`: the human-readable (bracketed) form of a GS1 element string;
   - digits only: a GTIN-8/12/13/14 (EAN-8, UPC-A, EAN-13, ITF-14 read without identifier) whenever the length
     fits, refused with `bad_check_digit` when its check digit is wrong rather than read as something else; any
     other length a GS1 element string (so `96385074` is an EAN-8, `96385075` a misread one, never AI 96 with
     data; `0109506000134352` is AI 01). A digits-only string is never an internal code: internal codes must
     contain a letter;
   - anything holding a GS: a GS1 element string;
   - an `https://` link: a GS1 Digital Link when biip reads it as one;
   - anything else: an internal code (a location, an item code, a document, a device link), resolved elsewhere.
3. A check digit that does not add up, anywhere (a GTIN, an SSCC, a GLN inside an element string), is refused with
   `bad_check_digit`: biip only flags those. A malformed element string (unknown AI, wrong length, month 13) is
   `invalid_gs1` with biip's message.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from biip import ParseError
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.gs1_messages import GS1Message
from biip.gtin import Gtin
from biip.symbology import GS1Symbology, SymbologyIdentifier

from schemas.masterdata import gtin_is_valid
from schemas.scan import MAX_SCAN_CHARS

GS = "\x1d"
WEDGE_NOISE = " \t\r\n"
GTIN_LENGTHS = (8, 12, 13, 14)
_CONTROL = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")

GS1_MESSAGE_SYMBOLOGIES = GS1Symbology.with_gs1_messages() | {
    GS1Symbology.GS1_COMPOSITE_WITH_SEPARATOR_CHAR,
    GS1Symbology.GS1_COMPOSITE_WITH_ESCAPE_CHAR,
}
GTIN_SYMBOLOGIES = GS1Symbology.with_gtin()


class ScanError(ValueError):
    """A scan that says nothing usable; `code` is the stable error code a client branches on."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass(frozen=True)
class ScanReading:
    """One scan, read. `kind` is `gs1` (a GTIN or element string: the typed fields and `elements` are set) or
    `code` (plain text in `code`, for the resolvers). Dates are ISO dates; a YYMMDD with day 00 is the month's end."""

    kind: Literal["gs1", "code"]
    symbology: str | None = None
    code: str | None = None
    gtin: str | None = None
    content_gtin: str | None = None
    sscc: str | None = None
    lot: str | None = None
    serial: str | None = None
    production_date: date | None = None
    best_before: date | None = None
    expiry: date | None = None
    quantity: Decimal | None = None
    net_weight_kg: Decimal | None = None
    order_number: str | None = None
    location_gln: str | None = None
    gln_extension: str | None = None
    elements: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON `floorsync scan` prints and the vectors expect: fields that are set, as strings and numbers."""
        out: dict[str, Any] = {}
        for name, value in asdict(self).items():
            if value is None or value == {}:
                continue
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, Decimal):
                value = format(value, "f")
            out[name] = value
        return out


def normalise(raw: str, gs_standin: str | None = None) -> tuple[SymbologyIdentifier | None, str]:
    """(symbology identifier or None, payload) of what a scanner typed, with wedge noise and the GS stand-in dealt with."""
    if len(raw) > MAX_SCAN_CHARS:
        raise ScanError("too_long", f"A scan is at most {MAX_SCAN_CHARS} characters", {"max": MAX_SCAN_CHARS})
    # A wedge scanner typing through a Chinese input method in full-width mode sends full-width digits and letters
    # (Ｕ+FF10…): NFKC folds them back to the ASCII the symbol holds.
    text = unicodedata.normalize("NFKC", raw).strip(WEDGE_NOISE)
    symbology = None
    if text.startswith("]"):
        try:
            symbology = SymbologyIdentifier.extract(text)
        except (ParseError, IndexError, ValueError) as exc:
            raise ScanError("invalid_symbology", f"Not a symbology identifier: {text[:4]!r}", {"prefix": text[:4]}) from exc
        text = text[len(symbology.value):]
    if gs_standin:
        text = text.replace(gs_standin, GS)
    if match := _CONTROL.search(text):
        raise ScanError("control_character", "The scan holds a control character other than GS",
                        {"character": f"U+{ord(match.group()):04X}"})
    # Some scanners send the leading FNC1 of a GS1 symbol as a GS too; it only says "GS1 follows".
    text = text.lstrip(GS).strip(WEDGE_NOISE)
    if not text:
        raise ScanError("empty_scan", "The scan is empty")
    return symbology, text


def read_scan(raw: str, gs_standin: str | None = None) -> ScanReading:
    identifier, text = normalise(raw, gs_standin)
    symbology = identifier.value if identifier else None
    gs1 = identifier.gs1_symbology if identifier else None
    if gs1 in GTIN_SYMBOLOGIES:
        # EAN-13 with an add-on (]E3) sends the add-on's 2 or 5 digits after the 13 of the GTIN.
        return _from_gtin(symbology, _gtin(text[:13] if gs1 == GS1Symbology.EAN_13_WITH_ADD_ON else text))
    if gs1 in GS1_MESSAGE_SYMBOLOGIES or text.startswith("(") or GS in text:
        return _from_elements(symbology, _message(text))
    if text.isdigit():
        if len(text) in GTIN_LENGTHS:
            if not gtin_is_valid(text):
                raise ScanError("bad_check_digit", f"{text} is not a GTIN: its check digit is wrong", {"gtin": text})
            return _from_gtin(symbology, _gtin(text))
        return _from_elements(symbology, _message(text))
    if text.startswith(("https://", "http://")):
        try:
            link = GS1DigitalLinkURI.parse(text)
        except (ParseError, ValueError):  # ValueError: not even a well-formed URL ("http://[")
            link = None  # not a GS1 Digital Link: a link of our own (a device enrolment), for the resolvers
        if link is not None:
            return _from_elements(symbology, _checked(link.element_strings))
    return ScanReading(kind="code", symbology=symbology, code=text)


def _gtin(digits: str) -> Gtin:
    try:
        return Gtin.parse(digits)
    except ParseError as exc:
        code = "bad_check_digit" if "check digit" in str(exc) else "invalid_gs1"
        raise ScanError(code, str(exc), {"gtin": digits}) from exc


def _message(text: str) -> list[GS1ElementString]:
    """The element strings of a GS1 message, raw (FNC1 as GS) or bracketed."""
    try:
        message = GS1Message.parse_hri(text) if text.startswith("(") else GS1Message.parse(text)
    except ParseError as exc:
        raise ScanError("invalid_gs1", str(exc)) from exc
    return _checked(list(message.element_strings))


def _checked(elements: list[GS1ElementString]) -> list[GS1ElementString]:
    for element in elements:
        error = element.gtin_error or element.sscc_error or element.gln_error
        if error:
            raise ScanError("bad_check_digit", error, {"ai": element.ai.ai, "value": element.value})
    return elements


def _from_gtin(symbology: str | None, gtin: Gtin) -> ScanReading:
    return ScanReading(kind="gs1", symbology=symbology, gtin=gtin.as_gtin_14())


def _from_elements(symbology: str | None, elements: list[GS1ElementString]) -> ScanReading:
    found: dict[str, GS1ElementString] = {}
    for element in elements:
        found.setdefault(element.ai.ai, element)

    def value(ai: str) -> str | None:
        return found[ai].value if ai in found else None

    def when(ai: str) -> date | None:
        return found[ai].date if ai in found else None

    net_weight = next((e.decimal for ai, e in found.items() if ai.startswith("310")), None)
    count = value("30") or value("37")
    return ScanReading(
        kind="gs1",
        symbology=symbology,
        gtin=found["01"].gtin.as_gtin_14() if "01" in found and found["01"].gtin else None,
        content_gtin=found["02"].gtin.as_gtin_14() if "02" in found and found["02"].gtin else None,
        sscc=found["00"].sscc.value if "00" in found and found["00"].sscc else None,
        lot=value("10"),
        serial=value("21"),
        production_date=when("11"),
        best_before=when("15"),
        expiry=when("17"),
        quantity=Decimal(count) if count is not None else None,
        net_weight_kg=net_weight,
        order_number=value("400"),
        location_gln=value("414"),
        gln_extension=value("254"),
        elements={ai: element.value for ai, element in found.items()},
    )
