"""Every kind of label Floorsync prints, as plain values: the text lines and the symbols. PNG, SVG, ZPL and PDF are
drawings of a `Label`, so each kind is defined once here and printed the same way everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

from server.i18n import translate
from server.labels.gs1 import element_string, lot_element_string, validate_sscc
from server.labels.symbols import Symbol, code128, gs1_128, gs1_datamatrix, qr, render_png, render_svg


@dataclass(frozen=True)
class Label:
    lines: tuple[str, ...]
    symbols: tuple[Symbol, ...]

    def png(self) -> bytes:
        return render_png(self.lines, self.symbols)

    def svg(self) -> str:
        return render_svg(self.lines, self.symbols)


@dataclass(frozen=True)
class Operation:
    sequence: int
    name: str


def location_label(code: str, name: str) -> Label:
    return Label((name,), (code128(code),))


def item_label(code: str, name: str, gtin: str) -> Label:
    """The trade item: its GTIN as GS1-128 (AI 01), with the item's code and name for people."""
    return Label((name, code), (gs1_128(element_string({"01": gtin.zfill(14)})),))


LotSymbology = Literal["gs1-128", "datamatrix"]


def lot_label(item_code: str, name: str, gtin: str, lot: str | None = None, expiry: date | None = None,
              serial: str | None = None, symbology: LotSymbology = "gs1-128") -> Label:
    """A lot or a serialised unit: GTIN (01), expiry (17), lot (10) and serial (21) in one GS1 symbol."""
    elements = lot_element_string(gtin, lot, expiry, serial)
    lines = [name, item_code]
    if lot:
        lines.append(f"LOT {lot}")
    if expiry:
        lines.append(f"EXP {expiry.isoformat()}")
    if serial:
        lines.append(f"S/N {serial}")
    symbol = gs1_datamatrix(elements) if symbology == "datamatrix" else gs1_128(elements)
    return Label(tuple(lines), (symbol,))


def sscc_label(sscc: str, contents_gtin: str | None = None, count: int | None = None,
               lines: tuple[str, ...] = ()) -> Label:
    """A handling unit (pallet, carton): the SSCC (AI 00) at the bottom, as GS1 logistic labels have it; above it,
    when known, the GTIN of the trade items it holds (02) and how many (37)."""
    symbols = []
    if contents_gtin:
        contents = {"02": contents_gtin.zfill(14)}
        if count is not None:
            contents["37"] = str(count)
        symbols.append(gs1_128(element_string(contents)))
    symbols.append(gs1_128(element_string({"00": validate_sscc(sscc)})))
    return Label((*lines, f"SSCC {sscc}"), tuple(symbols))


def operation_code(order_code: str, operation: Operation) -> str:
    """What an operation's bar on a traveller encodes, e.g. PO-123/OP10: a scan names the order and the step."""
    return f"{order_code}/OP{operation.sequence}"


def traveller_label(order_code: str, item_name: str, operations: list[Operation]) -> Label:
    """The production traveller: the order's code, then one Code 128 per operation, in sequence."""
    symbols = [code128(order_code)]
    lines = [item_name]
    for operation in sorted(operations, key=lambda o: o.sequence):
        symbols.append(code128(operation_code(order_code, operation)))
        lines.append(f"OP{operation.sequence} {operation.name}")
    return Label(tuple(lines), tuple(symbols))


DocumentKind = Literal["purchase_order", "shipment", "delivery_note"]


def bilingual(key: str, **values: object) -> str:
    """A printed document's wording in Chinese and English at once: the paper travels to people who read either."""
    return f"{translate('zh', key, **values)} / {translate('en', key, **values)}"


def document_label(kind: DocumentKind, code: str, lines: tuple[str, ...] = ()) -> Label:
    """Purchase orders, shipments and delivery notes: the document's code as Code 128, under its title."""
    return Label((bilingual(f"document.{kind}"), *lines), (code128(code),))


def enrolment_label(enrol_url: str, code: str) -> Label:
    """The QR a new device scans to enrol, with the one-time code for typing it in by hand."""
    return Label((f"ENROL {code}",), (qr(enrol_url),))
