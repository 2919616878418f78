"""Firming a plan: the planner turns planned production into draft production orders (a semi-finished part's
order linked to the parent order it feeds and to the sales order line the chain is pegged to); the buyer turns
planned purchases into draft purchase orders, one per supplier (the planned one or the buyer's choice), at the
supplier's price and at least its minimum order quantity. Orders are created by the functions the production
and purchasing pages use, so they are checked and audited the same way.

Each planned order is claimed before its order is made (`firmed_as` is set in the same transaction), so firming
twice, or two people firming at once, creates nothing twice; only the site's latest plan can be firmed (an older
one no longer says what is needed). A firmed order is a scheduled receipt from the next run on."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.planning import FirmedOut
from schemas.production import ProductionOrderIn
from schemas.purchasing import PurchaseOrderIn, PurchaseOrderLineIn, RfqFromPlanIn, RfqIn, RfqLineIn, RfqOut
from server.actors import Who
from server.db import needs_write, sql_fetch
from server.errors import refuse
from server.planning.service import get_run, pegs_of_supply, planned_item
from server.planning.tables import MrpRun
from server.production.service import create_production_order
from server.purchasing.rfqs import create_rfq
from server.purchasing.service import create_purchase_order
from server.quantities import from_micro, quantity_text, to_micro


async def _planned(run_id: int, keys: list[str], kind: str) -> list[dict[str, Any]]:
    run = await get_run(run_id)
    latest = await MrpRun.select(MrpRun.id).where((MrpRun.site == run.site) & (MrpRun.status == "completed")).order_by(
        MrpRun.id, ascending=False).first()
    if latest is None or latest["id"] != run_id:
        raise refuse("plan_superseded", f"Run {run_id} is not the latest plan of site {run.site}: firm the latest",
                     HTTP_409_CONFLICT, run=run_id, latest=latest["id"] if latest else None)
    marks = ", ".join(f"${n}" for n in range(2, len(keys) + 2))
    rows = await sql_fetch(
        "SELECT p.id, p.key, p.item, p.kind, p.quantity_micro, p.receipt_date, p.supplier, p.firmed_as, "
        f"r.low_level_code FROM planned_order p LEFT JOIN plan_record r ON r.run = p.run AND r.item = p.item "
        f"WHERE p.run = $1 AND p.key IN ({marks})", run_id, *keys)
    found = {row["key"]: row for row in rows}
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise refuse("unknown_planned_order", f"Run {run_id} has no planned order {', '.join(unknown)}", keys=unknown)
    wrong = [key for key in keys if found[key]["kind"] != kind]
    if wrong:
        raise refuse("wrong_planned_order_kind", f"Not a planned {kind}: {', '.join(wrong)}", keys=wrong, kind=kind)
    return [found[key] for key in dict.fromkeys(keys)]


async def _claim(run_id: int, key: str, who: Who) -> bool:
    """Takes the planned order for this firming, or finds it taken (firmed before, or by someone else just now)."""
    claimed = await sql_fetch(
        "UPDATE planned_order SET firmed_as = $3, firmed_by = $4, firmed_at = $5 WHERE run = $1 AND key = $2 "
        "AND firmed_as IS NULL RETURNING id", run_id, key, "", who.name, datetime.now(timezone.utc))
    return bool(claimed)


async def _firmed(run_id: int, key: str, code: str) -> None:
    await sql_fetch("UPDATE planned_order SET firmed_as = $3 WHERE run = $1 AND key = $2 RETURNING id", run_id, key, code)


async def _demands_of(run_id: int, supply: str) -> list[dict[str, Any]]:
    """The demands a planned order serves, the largest share first."""
    pegs = await pegs_of_supply(run_id, supply, planned_item(supply))
    return sorted(pegs, key=lambda peg: -peg["quantity_micro"])


async def _pegged_sales_line(run_id: int, key: str, depth: int = 0) -> tuple[str, int] | None:
    """The sales order line a planned order serves, directly or through the parents it feeds (the largest share)."""
    for peg in await _demands_of(run_id, key):
        demand = peg["demand"]
        if demand.startswith("sales:"):
            _, code, line = demand.split(":")
            return code, int(line)
        if "@" in demand and ":" not in demand and depth < 64:
            found = await _pegged_sales_line(run_id, demand, depth + 1)
            if found:
                return found
    return None


async def _parent_order(run_id: int, key: str) -> str | None:
    """The production order a part's planned order feeds: a parent's planned order firmed already (in this
    firming or before), or a parent production order not yet released."""
    for peg in await _demands_of(run_id, key):
        demand = peg["demand"]
        if demand.startswith("production:"):
            return demand.split(":", 1)[1]
        if "@" in demand and ":" not in demand:
            rows = await sql_fetch("SELECT firmed_as FROM planned_order WHERE run = $1 AND key = $2", run_id, demand)
            if rows and rows[0]["firmed_as"]:
                return rows[0]["firmed_as"]
    return None


@needs_write
async def firm_production(run_id: int, keys: list[str], who: Who) -> list[FirmedOut]:
    run = await get_run(run_id)
    planned = sorted(await _planned(run_id, keys, "production"), key=lambda p: (p["low_level_code"] or 0, p["key"]))
    out = []
    for row in planned:  # parents first: a part's order can name the parent order it feeds
        if not await _claim(run_id, row["key"], who):
            out.append(FirmedOut(key=row["key"], firmed_as=row["firmed_as"] or "", created=False,
                                 quantity=quantity_text(row["quantity_micro"])))
            continue
        line = await _pegged_sales_line(run_id, row["key"])
        order = await create_production_order(ProductionOrderIn(
            item=row["item"], quantity=from_micro(row["quantity_micro"]), site=run.site, due_date=row["receipt_date"],
            sales_order=line[0] if line else None, sales_order_line=line[1] if line else None,
            parent_order=await _parent_order(run_id, row["key"]), notes=f"MRP {run_id} {row['key']}"), who)
        await _firmed(run_id, row["key"], order.code)
        out.append(FirmedOut(key=row["key"], firmed_as=order.code, created=True,
                             quantity=quantity_text(row["quantity_micro"])))
    return out


@needs_write
async def firm_purchases(run_id: int, keys: list[str], suppliers: dict[str, str], who: Who) -> list[FirmedOut]:
    """`suppliers` overrides the planned supplier of some keys (the buyer's choice)."""
    run = await get_run(run_id)
    planned = await _planned(run_id, keys, "purchase")
    unknown = [key for key in suppliers if key not in {row["key"] for row in planned}]
    if unknown:
        raise refuse("unknown_planned_order", f"Not among the purchases to firm: {', '.join(unknown)}", keys=unknown)
    without = [row["key"] for row in planned if not (suppliers.get(row["key"]) or row["supplier"])]
    if without:
        raise refuse("no_supplier", f"Choose a supplier for {', '.join(without)}", keys=without)
    offers = await _offers({row["item"] for row in planned})
    out, groups = [], defaultdict(list)
    for row in planned:
        if not await _claim(run_id, row["key"], who):
            out.append(FirmedOut(key=row["key"], firmed_as=row["firmed_as"] or "", created=False,
                                 quantity=quantity_text(row["quantity_micro"])))
            continue
        groups[suppliers.get(row["key"]) or row["supplier"]].append(row)
    for supplier, rows in sorted(groups.items()):
        lines, quantities = [], []
        for row in rows:
            offer = offers.get((supplier, row["item"]), {})
            quantities.append(max(row["quantity_micro"], offer.get("moq", 0)))  # at least what the supplier sells
            line = await _pegged_sales_line(run_id, row["key"])
            lines.append(PurchaseOrderLineIn(item=row["item"], quantity=from_micro(quantities[-1]),
                                             unit_price=offer.get("price", Decimal(0)), due_date=row["receipt_date"],
                                             sales_order=line[0] if line else None))
        order = await create_purchase_order(PurchaseOrderIn(
            supplier=supplier, site=run.site, lines=lines,
            notes=f"MRP {run_id} " + " ".join(row["key"] for row in rows)), who)
        for row, quantity in zip(rows, quantities):
            await _firmed(run_id, row["key"], order.code)
            out.append(FirmedOut(key=row["key"], firmed_as=order.code, created=True, quantity=quantity_text(quantity)))
    return out


async def _offers(items: set[str]) -> dict[tuple[str, str], dict[str, Any]]:
    if not items:
        return {}
    marks = ", ".join(f"${n}" for n in range(1, len(items) + 1))
    rows = await sql_fetch(
        "SELECT s.code AS supplier, si.item, si.price, si.min_order_quantity FROM supplier_item si "
        f"JOIN supplier s ON s.id = si.supplier WHERE si.item IN ({marks})", *sorted(items))
    return {(row["supplier"], row["item"]): {"price": Decimal(str(row["price"])),
                                             "moq": to_micro(Decimal(str(row["min_order_quantity"])))} for row in rows}


@needs_write
async def rfq_from_plan(data: RfqFromPlanIn, who: Who) -> RfqOut:
    """A draft RFQ for planned purchases of the latest run: a line per planned order (its item and quantity), needed
    by the earliest planned receipt (today at the earliest). A planned order firmed already (as a purchase order or another RFQ) is refused
    (409 `planned_order_firmed`), and nothing is written."""
    run = await get_run(data.run)
    planned = await _planned(data.run, data.keys, "purchase")
    taken = [row["key"] for row in planned if row["firmed_as"] is not None]
    for row in planned:
        if row["key"] not in taken and not await _claim(data.run, row["key"], who):
            taken.append(row["key"])
    if taken:
        raise refuse("planned_order_firmed", f"Firmed already: {', '.join(taken)}", HTTP_409_CONFLICT, keys=taken)
    rfq = await create_rfq(RfqIn(
        # a receipt planned in this week's bucket may fall on a day already past: then it is needed now
        site=run.site, needed_by=max(min(row["receipt_date"] for row in planned), datetime.now(timezone.utc).date()),
        suppliers=data.suppliers,
        lines=[RfqLineIn(item=row["item"], quantity=from_micro(row["quantity_micro"])) for row in planned],
        notes=data.notes or f"MRP {data.run} " + " ".join(row["key"] for row in planned)), who)
    for row in planned:
        await _firmed(data.run, row["key"], rfq.code)
    return rfq
