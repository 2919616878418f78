"""Quality: inspection plans (office CRUD), holds and releases at a desk, recording an inspection (the one function
a device's `quality.record` and a desk both reach) and deciding a nonconformance's disposition.

Recording and deciding run inside the caller's write transaction and change stock only through
`server.inventory` (`change_status`, `post`), so the ledger says when and why stock was held, released,
quarantined, scrapped or returned. Plans go to every device (entity `inspection_plan`) so a tablet shows the
form offline; open nonconformances go to their site's devices (entity `nonconformance`) and leave when closed.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT, HTTP_422_UNPROCESSABLE_ENTITY

from schemas.quality import (
    CharacteristicIn,
    CharacteristicOut,
    DispositionIn,
    HoldIn,
    InspectionOut,
    InspectionPlanIn,
    InspectionPlanOut,
    InspectionPlanUpdate,
    NonconformanceOut,
    QualityRecordArgs,
    ResultOut,
)
from server.accounts.audit import record_audit
from server.db import json_text, sql_execute, sql_fetch, needs_write
from server.document_rules import Problem
from server.documents import DocumentTable, audit_change, master_problems, refuse_problems
from server.errors import ApiError, duplicate, not_found
from server.inventory.lots import HOLD, QUARANTINE, change_status, usable_lot
from server.inventory.stock import (
    AVAILABLE, Place, audit_office_booking, check_decimals, check_lot, load_item, load_place, on_hand_micro, post,
)
from server.actors import Who
from server.errors import refuse
from server.quantities import from_micro, quantity_text, to_micro
from server.inventory.tables import StockOnHand
from server.masterdata.tables import Item
from server.production.execution import operation_in_scope
from server.quality import rules
from server.quality.rules import Characteristic, Judgement
from server.quality.tables import Inspection, InspectionPlan, Nonconformance, NonconformanceCounter
from sync.feed import Visibility, record_change

PLAN = "inspection_plan"
NCR = "nonconformance"
NONCONFORMANCES = DocumentTable(NCR, "Nonconformance", Nonconformance, "NCR", NonconformanceCounter)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _from_json(value: Any) -> Any:
    """JSON columns come back as text on both databases (and already decoded through Piccolo's load_json)."""
    return json.loads(value) if isinstance(value, str) else value


def _limit_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _limit(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# -- inspection plans ----------------------------------------------------------------------------------------
def _stored_characteristic(ch: CharacteristicIn) -> dict[str, Any]:
    return {"name": ch.name, "kind": ch.kind, "unit": ch.unit, "lower_limit": _limit_text(ch.lower_limit),
            "upper_limit": _limit_text(ch.upper_limit), "required": ch.required}


def _characteristic(stored: dict[str, Any]) -> Characteristic:
    return Characteristic(name=stored["name"], kind=stored["kind"], unit=stored.get("unit", ""),
                          lower_limit=_limit(stored.get("lower_limit")), upper_limit=_limit(stored.get("upper_limit")),
                          required=bool(stored.get("required", True)))


def _plan_out(row: dict[str, Any]) -> InspectionPlanOut:
    characteristics = [CharacteristicOut(**{**c, "lower_limit": _limit(c["lower_limit"]), "upper_limit": _limit(c["upper_limit"])})
                       for c in _from_json(row["characteristics"])]
    return InspectionPlanOut(item=row["item"], description=row["description"], characteristics=characteristics,
                             version=row["version"], created_at=row["created_at"], updated_at=row["updated_at"],
                             updated_by=row["updated_by"])


def _plan_view(plan: InspectionPlanOut) -> dict[str, Any]:
    """A plan as a tablet shows it offline: limits as decimal strings."""
    return plan.model_dump(mode="json", include={"item", "description", "version", "characteristics"})


def _characteristic_problems(characteristics: list[CharacteristicIn]) -> list[Problem]:
    return rules.plan_problems([_characteristic(_stored_characteristic(c)) for c in characteristics])


async def _plan_row(item: str) -> dict[str, Any]:
    row = await InspectionPlan.select().where(InspectionPlan.item == item).output(load_json=True).first()
    if row is None:
        raise not_found(PLAN, item)
    return row


async def get_plan(item: str) -> InspectionPlanOut:
    return _plan_out(await _plan_row(item))


async def list_plans(*, item: str | None = None, limit: int = 50, offset: int = 0) -> dict[str, Any]:
    condition = InspectionPlan.id > 0
    if item:
        condition = condition & (InspectionPlan.item.ilike(f"%{item}%"))
    rows = (await InspectionPlan.select().where(condition).order_by(InspectionPlan.item)
            .limit(limit).offset(offset).output(load_json=True))
    total = await InspectionPlan.count().where(condition)
    return {"items": [_plan_out(row) for row in rows], "total": total, "limit": limit, "offset": offset}


@needs_write
async def create_plan(data: InspectionPlanIn, who: Who) -> InspectionPlanOut:
    refuse_problems(await master_problems("item", Item, data.item, "item")
                    + _characteristic_problems(data.characteristics))
    if await InspectionPlan.exists().where(InspectionPlan.item == data.item):
        raise duplicate(PLAN, "item", data.item)
    now = _now()
    await InspectionPlan.insert(InspectionPlan(
        item=data.item, description=data.description,
        characteristics=[_stored_characteristic(c) for c in data.characteristics],
        version=1, created_at=now, updated_at=now, updated_by=who.name,
    ))
    created = await get_plan(data.item)
    await audit_change(who, "create", PLAN, data.item, None, created)
    record_change(PLAN, data.item, _plan_view(created), Visibility())
    return created


@needs_write
async def update_plan(item: str, data: InspectionPlanUpdate, who: Who) -> InspectionPlanOut:
    row = await _plan_row(item)
    if row["version"] != data.version:
        raise ApiError(HTTP_409_CONFLICT, "version_conflict",
                       f"The plan of {item!r} was changed by someone else (version {row['version']}, you had "
                       f"{data.version}): reload it", {"entity": PLAN, "key": item, "version": row["version"]})
    refuse_problems(_characteristic_problems(data.characteristics))
    before = _plan_out(row)
    updated = await InspectionPlan.update({
        InspectionPlan.description: data.description,
        InspectionPlan.characteristics: [_stored_characteristic(c) for c in data.characteristics],
        InspectionPlan.version: row["version"] + 1, InspectionPlan.updated_at: _now(),
        InspectionPlan.updated_by: who.name,
    }).where((InspectionPlan.id == row["id"]) & (InspectionPlan.version == row["version"])).returning(InspectionPlan.id)
    if not updated:
        raise ApiError(HTTP_409_CONFLICT, "version_conflict", f"The plan of {item!r} was changed meanwhile: reload it",
                       {"entity": PLAN, "key": item})
    after = await get_plan(item)
    await audit_change(who, "update", PLAN, item, before, after)
    record_change(PLAN, item, _plan_view(after), Visibility())
    return after


@needs_write
async def delete_plan(item: str, who: Who) -> None:
    before = _plan_out(await _plan_row(item))
    await InspectionPlan.delete().where(InspectionPlan.item == item)
    await audit_change(who, "delete", PLAN, item, before, None)
    record_change(PLAN, item, None, Visibility())


async def _plan_for(item: str) -> tuple[list[Characteristic], int] | None:
    """The item's plan inside a write (the fast path a device's batch takes)."""
    rows = await sql_fetch("SELECT characteristics, version FROM inspection_plan WHERE item = $1", item)
    if not rows:
        return None
    return [_characteristic(c) for c in _from_json(rows[0]["characteristics"])], rows[0]["version"]


# -- holds at a desk -----------------------------------------------------------------------------------------
async def _desk_status_change(data: HoldIn, who: Who, from_status: str, to_status: str, action: str) -> dict[str, Any]:
    item = await load_item(data.item)
    lot = check_lot(item, data.lot)
    await usable_lot(item, lot, allow_expired=True)
    place = await load_place(data.location, who)
    check_decimals(item, data.quantity)
    quantity = to_micro(data.quantity)
    held = await on_hand_micro(item["code"], place.code, lot, from_status)
    if held < quantity:
        raise refuse("insufficient_stock", f"Only {quantity_text(held)} of {item['code']!r} at {place.code!r} is {from_status}",
                     item=item["code"], location=place.code, lot=lot, stock_status=from_status, available=quantity_text(held),
                     requested=quantity_text(quantity))
    result = await change_status(item["code"], place, lot, from_status, to_status, quantity, action, who, data.note)
    booking = {"lot": lot or None, "location": place.code, "quantity": quantity_text(quantity), "from_status": from_status,
               "to_status": to_status, "note": data.note}
    await audit_office_booking(who, action, item["code"], booking)
    return {"item": item["code"], **booking, "from_quantity": quantity_text(result["from"]),
            "to_quantity": quantity_text(result["to"])}


async def hold_stock(data: HoldIn, who: Who) -> dict[str, Any]:
    """Available stock goes on hold where it lies (the caller owns the transaction)."""
    return await _desk_status_change(data, who, AVAILABLE, HOLD, "hold")


async def release_stock(data: HoldIn, who: Who) -> dict[str, Any]:
    """Held stock becomes available without an inspection: a quality engineer's decision at a desk."""
    return await _desk_status_change(data, who, HOLD, AVAILABLE, "release")


async def list_held(*, item: str | None = None, location: str | None = None, status: str = HOLD, limit: int = 100,
                    offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Stock in `status` (hold or quarantine) from the on-hand projection, filtered by exact codes."""
    condition = (StockOnHand.status == status) & (StockOnHand.quantity_micro != 0)
    if item:
        condition = condition & (StockOnHand.item == item)
    if location:
        condition = condition & (StockOnHand.location == location)
    rows = (await StockOnHand.select(StockOnHand.item, StockOnHand.location, StockOnHand.lot, StockOnHand.status,
                                     StockOnHand.quantity_micro)
            .where(condition).order_by(StockOnHand.item).order_by(StockOnHand.location).order_by(StockOnHand.lot)
            .limit(limit).offset(offset))
    total = await StockOnHand.count().where(condition)
    return [{**r, "lot": r["lot"] or None, "quantity": quantity_text(r.pop("quantity_micro"))} for r in rows], total


# -- recording an inspection -----------------------------------------------------------------------------------
def _in_scope(who: Who, warehouse: str, site: str) -> bool:
    return (who.allowed_site is None or site == who.allowed_site) and (
        who.allowed_warehouses is None or warehouse in who.allowed_warehouses)


async def _held_places(item: str, lot: str, place: Place | None, quantity: int | None, who: Who) -> list[tuple[Place, int]]:
    """Where the inspected stock is held and how much of it the verdict moves: the given place (all of its hold,
    or `quantity`), or, for a lot without a place, every place in the caller's scope holding it."""
    if place is not None:
        held = await on_hand_micro(item, place.code, lot, HOLD)
        if held <= 0:
            raise refuse("nothing_on_hold", f"Nothing of {item!r}" + (f" lot {lot!r}" if lot else "")
                         + f" is on hold at {place.code!r}", item=item, lot=lot or None, location=place.code)
        if quantity is not None and quantity > held:
            raise refuse("insufficient_stock", f"Only {quantity_text(held)} of {item!r} is on hold at {place.code!r}",
                         item=item, lot=lot or None, location=place.code, stock_status=HOLD, available=quantity_text(held),
                         requested=quantity_text(quantity))
        return [(place, quantity if quantity is not None else held)]
    # Rows this transaction created are in the table already (on_hand_micro makes them), their quantities not yet.
    rows = await sql_fetch(
        "SELECT s.location, l.warehouse, w.site FROM stock_on_hand s JOIN location l ON l.code = s.location "
        "JOIN warehouse w ON w.code = l.warehouse WHERE s.item = $1 AND s.lot = $2 AND s.status = $3 ORDER BY s.location",
        item, lot, HOLD,
    )
    places = []
    for row in rows:
        if _in_scope(who, row["warehouse"], row["site"]):
            held = await on_hand_micro(item, row["location"], lot, HOLD)
            if held > 0:
                places.append((Place(code=row["location"], warehouse=row["warehouse"], site=row["site"]), held))
    if not places:
        raise refuse("nothing_on_hold", f"Nothing of {item!r} lot {lot!r} is on hold here", item=item, lot=lot)
    return places


def _result_json(judgement: Judgement) -> list[dict[str, Any]]:
    return [{"characteristic": c.characteristic, "kind": c.kind,
             "value": c.value if isinstance(c.value, str) else format(c.value, "f"), "unit": c.unit, "passed": c.passed}
            for c in judgement.checks]


def _places_json(places: list[tuple[Place, int]]) -> list[dict[str, Any]]:
    return [{"location": place.code, "quantity_micro": quantity} for place, quantity in places]


def _ncr_view(row: dict[str, Any]) -> dict[str, Any]:
    """An open nonconformance as its site's devices see it."""
    places = _from_json(row["places"])
    return {"code": row["code"], "status": row["status"], "disposition": row["disposition"], "subject": row["subject"],
            "item": row["item"], "lot": row["lot"] or None, "quantity": quantity_text(row["quantity_micro"]),
            "places": [{"location": p["location"], "quantity": quantity_text(p["quantity_micro"])} for p in places],
            "production_order": row["production_order"] or None, "operation": row["operation"] or None,
            "description": row["description"], "opened_at": row["opened_at"].isoformat()}


INSPECTION_COLUMNS = ("subject", "item", "lot", "location", "quantity_micro", "production_order", "operation", "results",
                      "verdict", "plan_version", "note", "nonconformance", "site", "inspected_at", "event_time",
                      "mutation_id", "device_id", "username")
NCR_COLUMNS = ("code", "status", "disposition", "subject", "item", "lot", "places", "quantity_micro", "production_order",
               "operation", "inspection", "site", "description", "opened_at", "opened_by", "disposition_note")


def _marks(count: int) -> str:
    return ", ".join(f"${n}" for n in range(1, count + 1))


def _by(who: Who) -> str:
    return who.username or (f"device {who.device_id}" if who.device_id else "system")


async def record_inspection(args: QualityRecordArgs, who: Who) -> dict[str, Any]:
    """Record an inspection and act on its verdict; the caller owns the transaction, so a refusal leaves nothing.

    Refusals: the item's (`unknown_item`, `lot_required`, `unknown_lot`…), the place's (`unknown_location`,
    `out_of_scope`), `location_required` (a receipt, or a quantity, needs the place), `operation_required`, the
    operation's (`unknown_production_order`, `unknown_operation`, `out_of_scope`: its site or work centre),
    the verdict's (`no_inspection_plan`, `unknown_characteristic`, `missing_result`, `duplicate_result`,
    `invalid_result`, `verdict_contradicts_results`) and the stock's (`nothing_on_hold`, `insufficient_stock`)."""
    item = await load_item(args.item)
    lot = check_lot(item, args.lot)
    if args.subject == "lot" and not lot:
        raise refuse("lot_required", f"Inspecting a lot of {item['code']!r} needs the lot", item=item["code"])
    if lot:
        await usable_lot(item, lot, allow_expired=True)
    place = await load_place(args.location, who) if args.location else None
    quantity = None
    if args.quantity is not None:
        check_decimals(item, args.quantity)
        quantity = to_micro(args.quantity)
    if place is None and (args.subject == "receipt" or (quantity is not None and args.subject != "operation")):
        raise refuse("location_required", "Scan the location where the inspected stock lies", item=item["code"])
    if args.subject == "operation" and not (args.production_order and args.operation):
        raise refuse("operation_required", "An operation's inspection names its production order and operation",
                     item=item["code"])
    operation = (await operation_in_scope(args.production_order, args.operation, who)
                 if args.subject == "operation" else None)

    plan = await _plan_for(item["code"])
    judgement = rules.judge(plan[0] if plan else None,
                            [(result.characteristic, result.value) for result in args.results], args.verdict)
    if isinstance(judgement, rules.Refusal):
        raise refuse(judgement.code, judgement.message, item=item["code"], **judgement.details)

    places: list[tuple[Place, int]] = []
    if args.subject != "operation":
        places = await _held_places(item["code"], lot, place, quantity, who)
        note = f"inspection {judgement.verdict}" + (f": {args.note}" if args.note else "")
        for held_place, held in places:
            target = AVAILABLE if judgement.passed else QUARANTINE
            await change_status(item["code"], held_place, lot, HOLD, target, held,
                                "inspection_pass" if judgement.passed else "inspection_fail", who, note)
    inspected = sum(q for _, q in places) if places else (quantity or 0)
    site = place.site if place else (places[0][0].site if places else operation["site"] if operation else who.allowed_site)
    now = _now()
    ncr = await NONCONFORMANCES.next_code(now.year) if not judgement.passed else None
    results = _result_json(judgement)
    rows = await sql_fetch(
        f"INSERT INTO inspection ({', '.join(INSPECTION_COLUMNS)}) VALUES ({_marks(len(INSPECTION_COLUMNS))}) RETURNING id",
        args.subject, item["code"], lot, place.code if place else "", inspected, args.production_order or "",
        args.operation or "", json_text(results), judgement.verdict, plan[1] if plan else None, args.note, ncr, site,
        now, who.event_time, who.mutation_id, who.device_id, who.username,
    )
    inspection_id = rows[0]["id"]
    if ncr is not None:
        failed = [r["characteristic"] for r in results if not r["passed"]]
        description = (f"Failed: {', '.join(failed)}" if failed else "Failed by the inspector") + (
            f". {args.note}" if args.note else "")
        ncr_row = {"code": ncr, "status": rules.OPEN, "disposition": rules.PENDING, "subject": args.subject,
                   "item": item["code"], "lot": lot, "places": _places_json(places), "quantity_micro": inspected,
                   "production_order": args.production_order or "", "operation": args.operation or "",
                   "inspection": inspection_id, "site": site, "description": description[:2000], "opened_at": now,
                   "opened_by": _by(who), "disposition_note": ""}
        await sql_execute(f"INSERT INTO nonconformance ({', '.join(NCR_COLUMNS)}) VALUES ({_marks(len(NCR_COLUMNS))})",
                          *[json_text(ncr_row[c]) if c == "places" else ncr_row[c] for c in NCR_COLUMNS])
        record_change(NCR, ncr, _ncr_view(ncr_row), Visibility(site=site))
    moved = [{"location": p.code, "quantity": quantity_text(q)} for p, q in places]
    effect = {"inspection": inspection_id, "verdict": judgement.verdict, "nonconformance": ncr,
              "released": moved if judgement.passed else [], "quarantined": [] if judgement.passed else moved}
    if who.actor is not None:
        await record_audit(who, "record", "inspection", str(inspection_id), None,
                           {**args.model_dump(mode="json"), **effect})
    return effect


def _inspection_out(row: dict[str, Any]) -> InspectionOut:
    return InspectionOut(
        id=row["id"], subject=row["subject"], item=row["item"], lot=row["lot"] or None, location=row["location"] or None,
        quantity=from_micro(row["quantity_micro"]), production_order=row["production_order"] or None,
        operation=row["operation"] or None, results=[ResultOut(**r) for r in _from_json(row["results"])],
        verdict=row["verdict"], plan_version=row["plan_version"], note=row["note"], nonconformance=row["nonconformance"],
        inspected_at=row["inspected_at"],
        by=row["username"] or (f"device {row['device_id']}" if row["device_id"] else "system"),
    )


async def list_inspections(*, item: str | None = None, lot: str | None = None, limit: int = 50,
                           offset: int = 0) -> dict[str, Any]:
    condition = Inspection.id > 0
    if item:
        condition = condition & (Inspection.item == item)
    if lot:
        condition = condition & (Inspection.lot == lot)
    rows = (await Inspection.select().where(condition).order_by(Inspection.id, ascending=False)
            .limit(limit).offset(offset).output(load_json=True))
    total = await Inspection.count().where(condition)
    return {"items": [_inspection_out(row) for row in rows], "total": total, "limit": limit, "offset": offset}


# -- nonconformances -----------------------------------------------------------------------------------------
def _ncr_out(row: dict[str, Any]) -> NonconformanceOut:
    return NonconformanceOut(
        code=row["code"], status=row["status"], disposition=row["disposition"], subject=row["subject"], item=row["item"],
        lot=row["lot"] or None,
        places=[{"location": p["location"], "quantity": from_micro(p["quantity_micro"])} for p in _from_json(row["places"])],
        quantity=from_micro(row["quantity_micro"]), production_order=row["production_order"] or None,
        operation=row["operation"] or None, inspection=row["inspection"], site=row["site"], description=row["description"],
        opened_at=row["opened_at"], opened_by=row["opened_by"], closed_at=row["closed_at"], closed_by=row["closed_by"],
        disposition_note=row["disposition_note"],
    )


async def get_nonconformance(code: str) -> NonconformanceOut:
    return _ncr_out(await NONCONFORMANCES.load(code))


async def list_nonconformances(*, status: str | None = None, item: str | None = None, limit: int = 50,
                               offset: int = 0) -> dict[str, Any]:
    condition = Nonconformance.id > 0
    if status:
        condition = condition & (Nonconformance.status == status)
    if item:
        condition = condition & (Nonconformance.item == item)
    rows = (await Nonconformance.select().where(condition).order_by(Nonconformance.id, ascending=False)
            .limit(limit).offset(offset).output(load_json=True))
    total = await Nonconformance.count().where(condition)
    return {"items": [_ncr_out(row) for row in rows], "total": total, "limit": limit, "offset": offset}


# What each disposition does to the NCR's quarantined stock: a status change, or stock leaving with a reason.
_TO_STATUS = {"rework": HOLD, "use_as_is": AVAILABLE}
_OUT_REASON = {"scrap": "scrap", "return_to_supplier": "return"}


@needs_write
async def decide_disposition(code: str, data: DispositionIn, who: Who) -> NonconformanceOut:
    """Close an open NCR with its disposition: scrap writes the quarantined stock off, return to supplier sends it
    out (the lot stays known), rework puts it back on hold for another inspection, use as is makes it available.
    An operation's NCR holds no stock: the disposition is recorded and the NCR closes."""
    await NONCONFORMANCES.lock(code)
    row = await NONCONFORMANCES.load(code)
    refusal = rules.disposition_refusal(row["status"], data.disposition)
    if refusal is not None:
        status = HTTP_409_CONFLICT if refusal.code == "ncr_closed" else HTTP_422_UNPROCESSABLE_ENTITY
        raise ApiError(status, refusal.code, refusal.message, {"entity": NCR, "key": code, **refusal.details})
    before = await get_nonconformance(code)
    note = f"{code} {data.disposition}" + (f": {data.note}" if data.note else "")
    for stored in _from_json(row["places"]):
        place = await load_place(stored["location"], who)
        if data.disposition in _TO_STATUS:
            await change_status(row["item"], place, row["lot"], QUARANTINE, _TO_STATUS[data.disposition],
                                stored["quantity_micro"], data.disposition, who, note)
        else:
            await post(row["item"], place, row["lot"], QUARANTINE, -stored["quantity_micro"],
                       _OUT_REASON[data.disposition], who, note)
    await sql_execute(
        "UPDATE nonconformance SET status = $1, disposition = $2, disposition_note = $3, closed_at = $4, closed_by = $5 "
        "WHERE code = $6",
        rules.CLOSED, data.disposition, data.note, _now(), who.name, code,
    )
    after = await get_nonconformance(code)
    await audit_change(who, "disposition", NCR, code, before, after, data.disposition)
    record_change(NCR, code, None, Visibility(site=row["site"]))
    return after
