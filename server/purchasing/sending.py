"""Requests for quotation and purchase orders as they go to suppliers: printed (`printed.py`) in the supplier's
language (one asked for wins; a supplier without one gets the sender's), and sent as an e-mail with the PDF attached
(`server.mail`: through SMTP when it is configured, else kept in the outbox for the buyer to download).

An RFQ goes to each supplier asked, each with its own copy (its name, its codes for the items); a draft RFQ becomes
sent by it, and a sent one may go again (a reminder, an address corrected). A purchase order goes to its supplier
once approved and while goods are still to come. A supplier with no address to write to (its order e-mail, else its
first contact's) is refused before anything is written: an RFQ goes to all its suppliers or to none."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from schemas.purchasing import PurchaseOrderOut, RfqOut
from server.actors import Who
from server.db import needs_write
from server.errors import not_found, refuse
from server.i18n import translate
from server.mail.service import queue_message
from server.masterdata.tables import Item, Site, Supplier, SupplierItem
from server.purchasing import rfq_rules, rfqs, rules, service
from server.purchasing.printed import Party, PrintedDocument, PrintedLine, document_language, money, render_pdf, total_of


@dataclass(frozen=True)
class Printout:
    pdf: bytes
    filename: str
    language: str
    document: PrintedDocument


def _today() -> date:
    return datetime.now(timezone.utc).date()


def _contacts(row: dict[str, Any]) -> list[dict[str, Any]]:
    contacts = row["contacts"]
    return json.loads(contacts) if isinstance(contacts, str) else contacts or []


def order_address(row: dict[str, Any]) -> str | None:
    """Where a supplier's purchase documents go: its order e-mail, else its first contact's e-mail."""
    if row["order_email"]:
        return row["order_email"]
    return next((c["email"] for c in _contacts(row) if c.get("email")), None)


async def _supplier(code: str) -> dict[str, Any]:
    row = await Supplier.select().where(Supplier.code == code).first()
    if row is None:
        raise not_found("supplier", code)
    return row


def _supplier_party(row: dict[str, Any]) -> Party:
    first = next(iter(_contacts(row)), None) or {}
    contact = " ".join(filter(None, (first.get("name"), first.get("phone"))))
    return Party(row["code"], row["name"], row["address"], contact, order_address(row) or "")


async def _buyer(site: str) -> Party:
    row = await Site.select(Site.code, Site.name, Site.address).where(Site.code == site).first()
    return Party(row["code"], row["name"], row["address"]) if row else Party(site, site)


async def _item_facts(supplier: str, items: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each item's name and unit, and the supplier's own code for it where its item record has one."""
    facts = {r["code"]: r for r in await Item.select(Item.code, Item.name, Item.unit).where(Item.code.is_in(items))}
    codes = {r["item"]: r["supplier_item_code"] for r in await SupplierItem.select(
        SupplierItem.item, SupplierItem.supplier_item_code).where(
        (SupplierItem.supplier.code == supplier) & SupplierItem.item.is_in(items))}
    return facts, codes


async def _rfq_document(rfq: RfqOut, supplier: dict[str, Any]) -> PrintedDocument:
    facts, codes = await _item_facts(supplier["code"], [line.item for line in rfq.lines] or [""])
    return PrintedDocument(
        kind="rfq", code=rfq.code, revision=rfq.version, issued=_today(), buyer=await _buyer(rfq.site),
        supplier=_supplier_party(supplier), currency=rfq.currency, notes=rfq.notes, needed_by=rfq.needed_by,
        lines=[PrintedLine(line.line_no, line.item, facts.get(line.item, {}).get("name", ""), codes.get(line.item, ""),
                           line.quantity, facts.get(line.item, {}).get("unit", ""), rfq.needed_by) for line in rfq.lines])


async def _po_document(po: PurchaseOrderOut, supplier: dict[str, Any]) -> PrintedDocument:
    facts, codes = await _item_facts(supplier["code"], [line.item for line in po.lines] or [""])
    return PrintedDocument(
        kind="purchase_order", code=po.code, revision=po.version, issued=_today(), buyer=await _buyer(po.site),
        supplier=_supplier_party(supplier), currency=po.currency, notes=po.notes,
        lines=[PrintedLine(line.line_no, line.item, facts.get(line.item, {}).get("name", ""), codes.get(line.item, ""),
                           line.quantity, facts.get(line.item, {}).get("unit", ""), line.due_date, line.unit_price)
               for line in po.lines if line.status != rules.LINE_CANCELLED])


def _printout(document: PrintedDocument, language: str, filename: str) -> Printout:
    return Printout(render_pdf(document, language), filename, language, document)


async def rfq_printout(code: str, supplier: str | None, lang: str | None, reader_language: str | None) -> Printout:
    """The RFQ as `supplier` (default: the first asked) gets it."""
    rfq = await rfqs.get_rfq(code)
    supplier = supplier or rfq.suppliers[0]
    if supplier not in rfq.suppliers:
        raise refuse("supplier_not_asked", f"Supplier {supplier!r} was not asked to quote on {code}",
                     HTTP_422_UNPROCESSABLE_ENTITY, supplier=supplier, rfq=code)
    row = await _supplier(supplier)
    language = document_language(lang, row["language"], reader_language)
    return _printout(await _rfq_document(rfq, row), language, f"{code}-{supplier}.pdf")


async def po_printout(code: str, lang: str | None, reader_language: str | None) -> Printout:
    po = await service.get_purchase_order(code)
    row = await _supplier(po.supplier)
    language = document_language(lang, row["language"], reader_language)
    return _printout(await _po_document(po, row), language, f"{code}.pdf")


def _addresses(suppliers: list[dict[str, Any]]) -> dict[str, str]:
    """Each supplier's address; the first without one refuses the whole send (422 `supplier_no_email`)."""
    found: dict[str, str] = {}
    for row in suppliers:
        address = order_address(row)
        if address is None:
            raise refuse("supplier_no_email", f"Supplier {row['code']} has no e-mail address: add its order e-mail "
                         "(or a contact's) to its record first", HTTP_422_UNPROCESSABLE_ENTITY, supplier=row["code"])
        found[row["code"]] = address
    return found


def _body(kind: str, language: str, document: PrintedDocument, sender: str) -> str:
    values = {"code": document.code, "supplier": document.supplier.name, "buyer": document.buyer.name,
              "revision": document.revision, "sender": sender,
              "date": (document.needed_by or document.issued).isoformat(), "lines": len(document.lines),
              "total": f"{money(total_of(document))} {document.currency}"}
    return translate(language, f"mail.{kind}_body", **values)


def _subject(kind: str, language: str, document: PrintedDocument) -> str:
    return translate(language, f"mail.{kind}_subject", code=document.code, buyer=document.buyer.name)


async def _queue(kind: str, entity: str, printout: Printout, to_address: str, who: Who) -> int:
    document = printout.document
    return await queue_message(
        entity=entity, document=document.code, document_version=document.revision, recipient=document.supplier.code,
        to_address=to_address, subject=_subject(kind, printout.language, document),
        body=_body(kind, printout.language, document, who.name), language=printout.language,
        attachment_name=printout.filename, attachment=printout.pdf, who=who)


def _reader(who: Who) -> str | None:
    return getattr(who.actor, "language", None)


@needs_write
async def send_rfq(code: str, who: Who, lang: str | None = None, version: int | None = None) -> list[int]:
    """The RFQ to each supplier asked (a draft becomes sent by it); returns the messages made."""
    await rfqs.RFQS.lock(code)
    row = await rfqs.RFQS.load(code)
    rfqs.RFQS.check_version(row, version)
    refusal = rfq_rules.quote_refusal(row["status"]) if row["status"] != rfq_rules.DRAFT else None
    if refusal is not None:
        raise rfqs.RFQS.state_conflict(code, refusal, row["status"])
    rfq = await rfqs.get_rfq(code)
    suppliers = [await _supplier(s) for s in rfq.suppliers]
    addresses = _addresses(suppliers)
    if row["status"] == rfq_rules.DRAFT:
        rfq = await rfqs.send_rfq(code, who)
    made = []
    for supplier in suppliers:
        language = document_language(lang, supplier["language"], _reader(who))
        printout = _printout(await _rfq_document(rfq, supplier), language, f"{code}-{supplier['code']}.pdf")
        made.append(await _queue("rfq", rfqs.ENTITY, printout, addresses[supplier["code"]], who))
    return made


@needs_write
async def send_purchase_order(code: str, who: Who, lang: str | None = None, version: int | None = None) -> list[int]:
    """The approved purchase order to its supplier; returns the message made."""
    await service.PURCHASE_ORDERS.lock(code)
    row = await service.PURCHASE_ORDERS.load(code)
    service.PURCHASE_ORDERS.check_version(row, version)
    refusal = rules.send_refusal(row["status"])
    if refusal is not None:
        raise service.PURCHASE_ORDERS.state_conflict(code, refusal, row["status"])
    supplier = await _supplier(row["supplier"])
    address = _addresses([supplier])[supplier["code"]]
    printout = await po_printout(code, lang, _reader(who))
    return [await _queue("po", service.ENTITY, printout, address, who)]
