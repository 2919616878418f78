"""Sales contracts: create, read (with the orders placed under them and what each called off), rewrite, delete; and
what an order under a contract meets: refused outright when it cannot be under it at all (no such contract, another
customer's: `contract_problems`), reviewed on submission otherwise (`contract_review`: validity, items, prices,
quantities, server/sales/pricing/rules.py), where a breach waits for an approver of the contract check."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.pricing import CallOff, ContractEdit, ContractIn, ContractItemOut, ContractOut
from server.actors import Who
from server.db import needs_write
from server.document_rules import DRAFT, Problem
from server.documents import (
    DocumentTable, audit_change, item_units, master_problems, refuse_problems, rows_by_parent, utc_now,
)
from server.errors import ApiError, duplicate
from server.quantities import from_micro, to_micro
from server.masterdata.tables import Customer
from server.sales.pricing import rules as pricing
from server.sales.rules import CANCELLED, CheckResult
from server.sales.tables import SalesContract, SalesContractItem, SalesOrder, SalesOrderLine

ENTITY = "sales_contract"
CONTRACTS = DocumentTable(ENTITY, "Contract", SalesContract)
NOT_CALLING_OFF = (DRAFT, CANCELLED)  # a draft promises nothing yet; a cancelled order nothing any more


# -- reading ------------------------------------------------------------------------------------------------------------

async def _orders_under(code: str) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    orders = await (SalesOrder.select(SalesOrder.id, SalesOrder.code, SalesOrder.status, SalesOrder.created_at)
                    .where(SalesOrder.contract == code).order_by(SalesOrder.id))
    lines = await rows_by_parent(SalesOrderLine.sales_order, [o["id"] for o in orders], SalesOrderLine.line_no)
    return orders, lines


async def called_off(code: str, *, excluding: int | None = None) -> dict[str, int]:
    """Per item, the micro-units orders under the contract called off (submitted and not cancelled)."""
    orders, lines = await _orders_under(code)
    total: dict[str, int] = {}
    for order in orders:
        if order["status"] in NOT_CALLING_OFF or order["id"] == excluding:
            continue
        for line in lines[order["id"]]:
            total[line["item"]] = total.get(line["item"], 0) + line["quantity_micro"]
    return total


async def get_contract(code: str) -> ContractOut:
    row = await CONTRACTS.load(code)
    items = await SalesContractItem.select().where(SalesContractItem.contract == row["id"]).order_by(SalesContractItem.id)
    orders, lines = await _orders_under(code)
    taken = await called_off(code)
    call_offs = []
    for order in orders:
        quantities: dict[str, int] = {}
        for line in lines[order["id"]]:
            quantities[line["item"]] = quantities.get(line["item"], 0) + line["quantity_micro"]
        call_offs.append(CallOff(sales_order=order["code"], status=order["status"], created_at=order["created_at"],
                                 quantities={item: from_micro(q) for item, q in quantities.items()}))
    return ContractOut(
        **{k: row[k] for k in ("code", "customer", "currency", "valid_from", "valid_to", "payment_terms_days", "notes",
                               "created_by", "created_at", "updated_at", "version")},
        items=[ContractItemOut(item=i["item"], agreed_price=i["agreed_price"],
                               agreed_quantity=from_micro(i["agreed_quantity_micro"]),
                               called_off_quantity=from_micro(taken.get(i["item"], 0)),
                               remaining_quantity=from_micro(max(0, i["agreed_quantity_micro"] - taken.get(i["item"], 0))))
               for i in items],
        orders=call_offs,
    )


async def list_contracts(*, customer: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = SalesContract.id > 0
    if customer:
        condition = condition & (SalesContract.customer == customer)
    rows = await (SalesContract.select(SalesContract.code).where(condition)
                  .order_by(SalesContract.valid_from, ascending=False).order_by(SalesContract.code)
                  .limit(limit).offset(offset))
    total = await SalesContract.count().where(condition)
    return {"items": [await get_contract(r["code"]) for r in rows], "total": total, "limit": limit, "offset": offset}


# -- writing ------------------------------------------------------------------------------------------------------------

async def _item_problems(data: ContractIn) -> list[Problem]:
    problems: list[Problem] = []
    known = await item_units(entry.item for entry in data.items)
    seen: set[str] = set()
    for index, entry in enumerate(data.items):
        item = known.get(entry.item)
        if entry.item in seen:
            problems.append((f"items[{index}].item", "duplicate_item", f"item {entry.item!r} is on the contract twice"))
        seen.add(entry.item)
        if item is None:
            problems.append((f"items[{index}].item", "unknown_item", f"no item with code {entry.item!r}"))
        elif item["archived"]:
            problems.append((f"items[{index}].item", "archived_item", f"item {entry.item!r} is archived"))
    return problems


def _item_rows(contract_id: int, data: ContractIn) -> list[SalesContractItem]:
    return [SalesContractItem(contract=contract_id, item=entry.item, agreed_price=entry.agreed_price,
                              agreed_quantity_micro=to_micro(entry.agreed_quantity)) for entry in data.items]


@needs_write
async def create_contract(data: ContractIn, who: Who) -> ContractOut:
    refuse_problems(await master_problems("customer", Customer, data.customer, "customer") + await _item_problems(data))
    if await SalesContract.exists().where(SalesContract.code == data.code):
        raise duplicate(ENTITY, "code", data.code)
    customer = await Customer.select().where(Customer.code == data.customer).first()
    now = utc_now()
    inserted = await SalesContract.insert(SalesContract(
        code=data.code, customer=data.customer, currency=customer["currency"], valid_from=data.valid_from,
        valid_to=data.valid_to, notes=data.notes,
        payment_terms_days=customer["payment_terms_days"] if data.payment_terms_days is None else data.payment_terms_days,
        created_by=who.name, created_at=now, updated_at=now, version=1,
    )).returning(SalesContract.id)
    await SalesContractItem.insert(*_item_rows(inserted[0]["id"], data))
    created = await get_contract(data.code)
    await audit_change(who, "create", ENTITY, data.code, None, created)
    return created


@needs_write
async def update_contract(code: str, data: ContractEdit, who: Who) -> ContractOut:
    """Rewrite the terms and all the items (its customer stays). Orders already reviewed keep their review."""
    await CONTRACTS.lock(code)
    row = await CONTRACTS.load(code)
    CONTRACTS.check_version(row, data.version)
    if data.customer is not None and data.customer != row["customer"]:
        refuse_problems([("customer", "contract_customer_fixed", "a contract stays with its customer")])
    before = await get_contract(code)
    refuse_problems(await _item_problems(data))
    await SalesContractItem.delete().where(SalesContractItem.contract == row["id"])
    await SalesContractItem.insert(*_item_rows(row["id"], data))
    await CONTRACTS.bump(row, {
        SalesContract.valid_from: data.valid_from, SalesContract.valid_to: data.valid_to,
        SalesContract.notes: data.notes,
        **({SalesContract.payment_terms_days: data.payment_terms_days} if data.payment_terms_days is not None else {}),
    })
    after = await get_contract(code)
    await audit_change(who, "update", ENTITY, code, before, after)
    return after


@needs_write
async def delete_contract(code: str, who: Who) -> None:
    """Only a contract no order was placed under: one with orders is ended by its valid_to instead."""
    await CONTRACTS.lock(code)
    before = await get_contract(code)
    if before.orders:
        raise ApiError(HTTP_409_CONFLICT, "contract_has_orders",
                       f"{len(before.orders)} order(s) were placed under contract {code}: end it by its valid_to",
                       {"entity": ENTITY, "key": code})
    await SalesContract.delete().where(SalesContract.code == code)
    await audit_change(who, "delete", ENTITY, code, before, None)


# -- orders under a contract --------------------------------------------------------------------------------------------

async def contract_problems(customer: str, contract: str | None) -> list[Problem]:
    """An order (or a quote) can only be under an existing contract of its own customer: anything else is refused
    outright, since no approver could make it keep to terms that are not its customer's."""
    if contract is None:
        return []
    row = await SalesContract.select(SalesContract.customer).where(SalesContract.code == contract).first()
    if row is None:
        return [("contract", "unknown_contract", f"no contract with code {contract!r}")]
    if row["customer"] != customer:
        return [("contract", "contract_of_another_customer",
                 f"contract {contract!r} is customer {row['customer']!r}'s, not {customer!r}'s")]
    return []


async def payment_terms_of(contract: str | None) -> int | None:
    if contract is None:
        return None
    row = await SalesContract.select(SalesContract.payment_terms_days).where(SalesContract.code == contract).first()
    return row["payment_terms_days"] if row else None


async def contract_review(order_id: int, contract: str, lines: list[dict[str, Any]], on: date) -> CheckResult:
    """The review's contract check of an order (its line rows) placed on `on`."""
    head = await CONTRACTS.load(contract)
    items = await SalesContractItem.select().where(SalesContractItem.contract == head["id"])
    terms = pricing.ContractTerms(
        code=contract, valid_from=head["valid_from"], valid_to=head["valid_to"],
        agreed={i["item"]: (Decimal(i["agreed_price"]), i["agreed_quantity_micro"]) for i in items})
    order_lines = [pricing.OrderLineTerms(line["line_no"], line["item"], line["quantity_micro"],
                                          Decimal(line["unit_price"]), Decimal(line["discount_pct"])) for line in lines]
    return pricing.contract_check(terms, on, order_lines, await called_off(contract, excluding=order_id))
