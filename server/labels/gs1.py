"""GS1 element strings as labels encode them: check digits (GTIN, SSCC), the AIs the system prints, their order.

Pure values in, values out; a refusal is a `Gs1Error` whose `code` the label endpoints pass on unchanged."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

GS = "\x1d"  # what a scanner sends for FNC1 between elements, and what zxing-cpp reports in a symbol's bytes


class Gs1Error(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AiSpec:
    title: str
    length: int  # the fixed length, or the maximum of a variable-length AI
    fixed: bool
    pattern: str


# The AIs Floorsync prints. Fixed-length ones need no FNC1 after them, so they go first (GS1 General
# Specifications 7.8.5); variable-length ones follow, each but the last ended by FNC1.
# Lots and serials are limited to letters, digits and "-./": a subset of GS1's character set 82 that needs no
# escaping in any printer language (ZPL gives ^ ~ _ > meanings) and no care in the bracketed form (no parentheses).
AIS: dict[str, AiSpec] = {
    "00": AiSpec("SSCC", 18, True, r"\d{18}"),
    "01": AiSpec("GTIN", 14, True, r"\d{14}"),
    "02": AiSpec("CONTENT", 14, True, r"\d{14}"),
    "17": AiSpec("USE BY OR EXPIRY", 6, True, r"\d{6}"),
    "10": AiSpec("BATCH/LOT", 20, False, r"[A-Za-z0-9./-]{1,20}"),
    "21": AiSpec("SERIAL", 20, False, r"[A-Za-z0-9./-]{1,20}"),
    "30": AiSpec("VAR. COUNT", 8, False, r"\d{1,8}"),
    "37": AiSpec("COUNT", 8, False, r"\d{1,8}"),
}
LOT_PATTERN = AIS["10"].pattern
_INVALID_CODES = {"00": "invalid_sscc", "01": "invalid_gtin", "02": "invalid_gtin", "17": "invalid_expiry",
                  "10": "invalid_lot", "21": "invalid_serial", "30": "invalid_quantity", "37": "invalid_quantity"}


def check_digit(digits: str) -> int:
    """GS1 mod-10: weights 3, 1, 3… from the rightmost digit; the same rule for GTIN-8/12/13/14, SSCC and GLN."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def gtin14(gtin: str) -> str:
    """A GTIN-8, -12, -13 or -14 as the 14 digits AI 01 carries, after checking its check digit."""
    if not re.fullmatch(r"\d{8}|\d{12,14}", gtin or ""):
        raise Gs1Error("invalid_gtin", f"A GTIN has 8, 12, 13 or 14 digits, not {gtin!r}")
    if check_digit(gtin[:-1]) != int(gtin[-1]):
        raise Gs1Error("bad_check_digit", f"GTIN {gtin} has a wrong check digit (expected {check_digit(gtin[:-1])})")
    return gtin.zfill(14)


def validate_company_prefix(prefix: str) -> str:
    if not re.fullmatch(r"\d{6,12}", prefix or ""):
        raise Gs1Error("invalid_company_prefix", f"A GS1 company prefix has 6 to 12 digits, not {prefix!r}")
    return prefix


def make_sscc(extension_digit: int, company_prefix: str, serial_reference: int | str) -> str:
    """The 18-digit SSCC: extension digit, company prefix, serial reference (zero-padded to fill 16 digits with the
    prefix), check digit. Allocating serial references without gaps or reuse is the shipping code's job."""
    if not (isinstance(extension_digit, int) and 0 <= extension_digit <= 9):
        raise Gs1Error("invalid_sscc", f"The SSCC extension digit is 0 to 9, not {extension_digit!r}")
    validate_company_prefix(company_prefix)
    width = 16 - len(company_prefix)
    reference = str(serial_reference)
    if not reference.isdigit() or len(reference) > width:
        raise Gs1Error("invalid_sscc", f"With prefix {company_prefix} the serial reference has at most {width} digits")
    body = f"{extension_digit}{company_prefix}{reference.zfill(width)}"
    return body + str(check_digit(body))


def validate_sscc(sscc: str) -> str:
    if not re.fullmatch(r"\d{18}", sscc or ""):
        raise Gs1Error("invalid_sscc", f"An SSCC has 18 digits, not {sscc!r}")
    if check_digit(sscc[:-1]) != int(sscc[-1]):
        raise Gs1Error("bad_check_digit", f"SSCC {sscc} has a wrong check digit (expected {check_digit(sscc[:-1])})")
    return sscc


def yymmdd(day: date) -> str:
    # Two-digit years: GS1 reads them within -49…+50 years of today, so the 2000s are all one can print safely now.
    if not 2000 <= day.year <= 2099:
        raise Gs1Error("invalid_expiry", f"An expiry date must lie in 2000-2099, not {day.isoformat()}")
    return day.strftime("%y%m%d")


@dataclass(frozen=True)
class ElementString:
    """AI/value pairs in the order they are encoded."""

    elements: tuple[tuple[str, str], ...]

    @property
    def bracketed(self) -> str:
        """The human-readable form under the bars, and what zxing-cpp reports as a GS1 symbol's text."""
        return "".join(f"({ai}){value}" for ai, value in self.elements)

    def data(self, separator: str = GS) -> str:
        """The transmitted form: AIs and values run together, a separator after each variable-length value but
        the last (FNC1 in the symbol; GS as a scanner sends it)."""
        parts = []
        for index, (ai, value) in enumerate(self.elements):
            parts.append(ai + value)
            if not AIS[ai].fixed and index < len(self.elements) - 1:
                parts.append(separator)
        return "".join(parts)

    def get(self, ai: str) -> str | None:
        return dict(self.elements).get(ai)


def element_string(values: dict[str, str]) -> ElementString:
    """Validated elements, fixed-length AIs first (in table order), then the variable-length ones."""
    for ai, value in values.items():
        spec = AIS.get(ai)
        if spec is None:
            raise Gs1Error("unknown_ai", f"Floorsync does not print AI ({ai})")
        if not re.fullmatch(spec.pattern, value):
            raise Gs1Error(_INVALID_CODES[ai], f"({ai}) {spec.title}: {value!r} is not valid")
    if "01" in values:
        gtin14(values["01"])
    if "00" in values:
        validate_sscc(values["00"])
    order = sorted(values, key=lambda ai: (not AIS[ai].fixed, list(AIS).index(ai)))
    return ElementString(tuple((ai, values[ai]) for ai in order))


def lot_element_string(gtin: str, lot: str | None = None, expiry: date | None = None,
                       serial: str | None = None) -> ElementString:
    values = {"01": gtin14(gtin)}
    if expiry is not None:
        values["17"] = yymmdd(expiry)
    if lot:
        values["10"] = lot
    if serial:
        values["21"] = serial
    return element_string(values)
