"""Price lists (create, read, rewrite, delete; each write one transaction with its audit row) and pricing a sales
line from them: `price_lines` fills in the lines an order or a quote sent without a price, `reference_prices` gives
the review what each line's discount is measured against, `price_of` answers GET /api/prices. The decisions are
server/sales/pricing/rules.py's."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_422_UNPROCESSABLE_ENTITY

from schemas.pricing import PriceBreak, PriceListEdit, PriceListIn, PriceListItemOut, PriceListOut, PriceOut
from server.actors import Who
from server.db import needs_write
from server.document_rules import Problem
from server.documents import (
    DocumentTable, audit_change, item_units, master_problems, refuse_problems, rows_by_parent, utc_now,
)
from server.errors import ApiError, duplicate, not_found
from server.masterdata.tables import Customer
from server.sales.pricing import rules as pricing
from server.sales.pricing.rules import AgreedPrice, ListedPrice, Price
from server.sales.tables import PriceList, PriceListItem, SalesContract, SalesContractItem

ENTITY = "price_list"
PRICE_LISTS = DocumentTable(ENTITY, "Price list", PriceList)


# -- reading --------------------------------------------------------------------------------------------------------

def _out(row: dict[str, Any], items: list[dict[str, Any]]) -> PriceListOut:
    return PriceListOut(
        **{k: row[k] for k in ("code", "name", "currency", "valid_from", "valid_to", "archived", "created_by",
                               "created_at", "updated_at", "version")},
        grade_discounts={grade: Decimal(pct) for grade, pct in (row["grade_discounts"] or {}).items()},
        items=[PriceListItemOut(item=i["item"], list_price=i["list_price"],
                                breaks=[PriceBreak.model_validate(b) for b in i["breaks"] or []]) for i in items],
    )


async def _items_of(ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    grouped = await rows_by_parent(PriceListItem.price_list, ids, PriceListItem.id)
    for rows in grouped.values():
        for row in rows:
            row["breaks"] = json_value(row["breaks"])
    return grouped


def json_value(value: Any) -> Any:
    """A JSON column as its value (selected without `load_json`, it reads back as text)."""
    return json.loads(value) if isinstance(value, str) else value


async def get_price_list(code: str) -> PriceListOut:
    row = await PriceList.select().where(PriceList.code == code).first().output(load_json=True)
    if row is None:
        raise not_found(ENTITY, code)
    return _out(row, (await _items_of([row["id"]]))[row["id"]])


async def list_price_lists(*, currency: str | None = None, q: str | None = None, include_archived: bool = False,
                           limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = PriceList.id > 0
    if not include_archived:
        condition = condition & (PriceList.archived == False)  # noqa: E712
    if currency:
        condition = condition & (PriceList.currency == currency)
    if q:
        condition = condition & (PriceList.code.ilike(f"%{q}%") | PriceList.name.ilike(f"%{q}%"))
    rows = await (PriceList.select().where(condition).order_by(PriceList.valid_from, ascending=False)
                  .order_by(PriceList.code).limit(limit).offset(offset).output(load_json=True))
    total = await PriceList.count().where(condition)
    items = await _items_of([row["id"] for row in rows])
    return {"items": [_out(row, items[row["id"]]) for row in rows], "total": total, "limit": limit, "offset": offset}


# -- writing ----------------------------------------------------------------------------------------------------------

async def _problems(data: PriceListIn) -> list[Problem]:
    entries = [entry.model_dump() for entry in data.items]
    problems = pricing.price_list_problems(entries)
    known = await item_units(entry["item"] for entry in entries)
    for index, entry in enumerate(entries):
        item = known.get(entry["item"])
        if item is None:
            problems.append((f"items[{index}].item", "unknown_item", f"no item with code {entry['item']!r}"))
        elif item["archived"]:
            problems.append((f"items[{index}].item", "archived_item", f"item {entry['item']!r} is archived"))
    return problems


def _item_rows(list_id: int, data: PriceListIn) -> list[PriceListItem]:
    return [PriceListItem(price_list=list_id, item=entry.item, list_price=entry.list_price,
                          breaks=[b.model_dump(mode="json") for b in sorted(entry.breaks, key=lambda b: b.from_quantity)])
            for entry in data.items]


@needs_write
async def create_price_list(data: PriceListIn, who: Who) -> PriceListOut:
    refuse_problems(await _problems(data))
    if await PriceList.exists().where(PriceList.code == data.code):
        raise duplicate(ENTITY, "code", data.code)
    now = utc_now()
    inserted = await PriceList.insert(PriceList(
        code=data.code, name=data.name, currency=data.currency, valid_from=data.valid_from, valid_to=data.valid_to,
        grade_discounts={k: str(v) for k, v in data.grade_discounts.items()}, archived=False,
        created_by=who.name, created_at=now, updated_at=now, version=1,
    )).returning(PriceList.id)
    if data.items:
        await PriceListItem.insert(*_item_rows(inserted[0]["id"], data))
    created = await get_price_list(data.code)
    await audit_change(who, "create", ENTITY, data.code, None, created)
    return created


@needs_write
async def update_price_list(code: str, data: PriceListEdit, who: Who) -> PriceListOut:
    """Rewrite a list whole: its terms and all its items (items not sent leave it)."""
    await PRICE_LISTS.lock(code)
    row = await PRICE_LISTS.load(code)
    PRICE_LISTS.check_version(row, data.version)
    before = await get_price_list(code)
    refuse_problems(await _problems(data))
    await PriceListItem.delete().where(PriceListItem.price_list == row["id"])
    if data.items:
        await PriceListItem.insert(*_item_rows(row["id"], data))
    await PRICE_LISTS.bump(row, {
        PriceList.name: data.name, PriceList.currency: data.currency, PriceList.valid_from: data.valid_from,
        PriceList.valid_to: data.valid_to, PriceList.grade_discounts: {k: str(v) for k, v in data.grade_discounts.items()},
    })
    after = await get_price_list(code)
    await audit_change(who, "update", ENTITY, code, before, after)
    return after


@needs_write
async def delete_price_list(code: str, who: Who) -> None:
    """Gone from pricing at once; orders and quotes priced from it keep their prices."""
    await PRICE_LISTS.lock(code)
    before = await get_price_list(code)
    await PriceList.delete().where(PriceList.code == code)
    await audit_change(who, "delete", ENTITY, code, before, None)


# -- pricing lines ------------------------------------------------------------------------------------------------------

async def listed_prices(items: Iterable[str]) -> dict[str, list[ListedPrice]]:
    """Each item's entries on every live price list."""
    items = sorted(set(items))
    if not items:
        return {}
    entries = await PriceListItem.select(
        PriceListItem.item, PriceListItem.list_price, PriceListItem.breaks, PriceListItem.price_list,
    ).where(PriceListItem.item.is_in(items))
    list_ids = sorted({e["price_list"] for e in entries})
    lists = {row["id"]: row for row in await PriceList.select().where(
        PriceList.id.is_in(list_ids) & (PriceList.archived == False)).output(load_json=True)} if list_ids else {}  # noqa: E712
    found: dict[str, list[ListedPrice]] = {item: [] for item in items}
    for entry in entries:
        head = lists.get(entry["price_list"])
        if head is None:
            continue
        found[entry["item"]].append(ListedPrice(
            price_list=head["code"], currency=head["currency"], valid_from=head["valid_from"], valid_to=head["valid_to"],
            list_price=Decimal(entry["list_price"]),
            breaks=tuple((Decimal(b["from_quantity"]), Decimal(b["unit_price"])) for b in json_value(entry["breaks"]) or []),
            grade_discounts={g: Decimal(p) for g, p in (json_value(head["grade_discounts"]) or {}).items()},
        ))
    return found


async def agreed_prices(contract: str | None) -> dict[str, AgreedPrice]:
    if contract is None:
        return {}
    head = await SalesContract.select().where(SalesContract.code == contract).first()
    if head is None:
        return {}
    rows = await SalesContractItem.select().where(SalesContractItem.contract == head["id"])
    return {row["item"]: AgreedPrice(head["code"], head["valid_from"], head["valid_to"], Decimal(row["agreed_price"]))
            for row in rows}


async def prices_for(customer: dict[str, Any], contract: str | None, lines: list[tuple[str, Decimal]],
                     on: date) -> list[Price | None]:
    """The price of each (item, quantity) for this customer row on that date."""
    listed = await listed_prices(item for item, _ in lines)
    agreed = await agreed_prices(contract)
    return [pricing.price_for(grade=customer["grade"], currency=customer["currency"], quantity=quantity, on=on,
                              listed=listed.get(item, []), agreed=agreed.get(item))
            for item, quantity in lines]


async def price_lines(customer: dict[str, Any], contract: str | None, lines: list[dict[str, Any]], on: date, *,
                      required: bool = True) -> list[dict[str, Any]]:
    """The lines with a price each: one sent without `unit_price` gets the contract's or the price list's (and,
    without its own `discount_pct`, the grade discount); `reference_price` and `price_source` say where it came
    from. A line nothing prices is refused (422 `no_price`), or, when a price is not `required` (a sales order,
    as before price lists existed), priced at 0 with `price_source` "manual"."""
    prices = await prices_for(customer, contract, [(line["item"], Decimal(line["quantity"])) for line in lines], on)
    priced, problems = [], []
    for index, (line, price) in enumerate(zip(lines, prices)):
        values = dict(line)
        values["reference_price"] = price.reference_price if price else None
        if values.get("unit_price") is None:
            if price is None and not required:
                values |= {"unit_price": Decimal(0), "price_source": "manual"}
            elif price is None:
                problems.append((f"lines[{index}].unit_price", "no_price",
                                 f"no contract or price list in {customer['currency']} prices {line['item']!r} on {on}: "
                                 "give a unit price"))
                continue
            else:
                values |= {"unit_price": price.unit_price, "price_source": price.source}
            if price is not None and values.get("discount_pct") is None:
                values["discount_pct"] = price.discount_pct
        else:
            values["price_source"] = "manual"
        if values.get("discount_pct") is None:
            values["discount_pct"] = Decimal(0)
        priced.append(values)
    refuse_problems(problems)
    return priced


async def fill_prices(orders: list[tuple[dict[str, Any], list[dict[str, Any]]]], on: date) -> None:
    """For many orders at once (an import: the price lists read once), put in place the price of each line sent
    without one: the price list's break price and the customer's grade discount, else 0 as before price lists."""
    listed = await listed_prices(line["item"] for _, lines in orders for line in lines if line.get("unit_price") is None)
    for customer, lines in orders:
        for line in lines:
            if line.get("unit_price") is None:
                price = pricing.price_for(grade=customer["grade"], currency=customer["currency"],
                                          quantity=Decimal(line["quantity"]), on=on, listed=listed.get(line["item"], []))
                line["unit_price"] = price.unit_price if price else Decimal(0)
                if line.get("discount_pct") is None and price is not None:
                    line["discount_pct"] = price.discount_pct
            if line.get("discount_pct") is None:
                line["discount_pct"] = Decimal(0)


async def reference_prices(customer: dict[str, Any], contract: str | None, lines: list[tuple[str, Decimal]],
                           on: date) -> list[Decimal | None]:
    return [price.reference_price if price else None for price in await prices_for(customer, contract, lines, on)]


async def price_of(customer_code: str, item: str, quantity: Decimal, on: date, contract: str | None) -> PriceOut:
    refuse_problems(await master_problems("customer", Customer, customer_code, "customer"))
    customer = await Customer.select().where(Customer.code == customer_code).first()
    if contract is not None:
        head = await SalesContract.select(SalesContract.customer).where(SalesContract.code == contract).first()
        if head is None or head["customer"] != customer_code:
            raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "unknown_contract",
                           f"customer {customer_code!r} has no contract {contract!r}", {"field": "contract"})
    price = (await prices_for(customer, contract, [(item, quantity)], on))[0]
    if price is None:
        raise ApiError(HTTP_422_UNPROCESSABLE_ENTITY, "no_price",
                       f"no contract or price list in {customer['currency']} prices {item!r} on {on}",
                       {"field": "item", "item": item, "currency": customer["currency"]})
    return PriceOut(
        customer=customer_code, item=item, quantity=quantity, on=on, currency=customer["currency"],
        unit_price=price.unit_price, discount_pct=price.discount_pct,
        net_unit_price=pricing.net_price(price.unit_price, price.discount_pct).normalize(), reference_price=price.reference_price,
        source=price.source, price_list=price.price_list, contract=price.contract, break_from_quantity=price.break_from,
        grade=customer["grade"],
    )
