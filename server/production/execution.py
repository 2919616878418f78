"""What the floor does to a production order: issue material to it (`stock.issue`), report good and scrap on an
operation (`production.report`, the last operation receiving finished goods into stock) and start and stop
downtime on a work centre (`production.downtime`). Each runs inside the caller's write transaction (a device's
push or an office endpoint) and refuses with a specific code, leaving nothing behind.

Stock changes go through server/inventory (ledger, on hand, lots, serials; an issue leaves units reserved for an
order where they are); the order's progress goes to its devices (the change feed) and to the boards
`board:workcentre:<code>` and `board:orders` after commit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from litestar.status_codes import HTTP_409_CONFLICT

from schemas.production import ProductionDowntimeArgs, ProductionReportArgs, StockIssueArgs
from server.db import DB, current_write, defer_insert, sql_execute, sql_fetch
from server.errors import ApiError
from server.inventory.availability import take_unreserved_only
from server.inventory.lots import HOLD, QUARANTINE, check_serials, ensure_lot, find_lot, register_serials, take_serials, today, usable_lot
from server.inventory.stock import (
    AVAILABLE, Place, audit_office_booking, check_decimals, check_lot, load_item, load_place, lock_stock_places,
    on_hand_micro, post,
)
from server.actors import Who
from server.errors import refuse
from server.quantities import quantity_text, to_micro
from server.production import rules
from server.production.rules import OperationProgress
from server.production.service import ORDERS_BOARD, PRODUCTION_ORDERS, get_production_order, load_order, order_out, publish
from server.production.tables import ProductionMaterial, ProductionOperation, ProductionOrder
from server.sales import service as sales
from sync.feed import Visibility, record_change
from sync.live import publish_board_after_commit

ISSUE_COLUMNS = ("at", "production_order", "item", "lot", "location", "quantity_micro", "over_issue", "mutation_id",
                 "device_id", "username", "event_time")
REPORT_COLUMNS = ("at", "production_order", "sequence", "work_centre", "good_micro", "scrap_micro", "scrap_reason",
                  "location", "lot", "mutation_id", "device_id", "username", "event_time")


def workcentre_board(code: str) -> str:
    return f"board:workcentre:{code}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _order_in_site(code: str, who: Who) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The order a floor action names, which must exist and be made at the device's site."""
    try:
        row, operations, materials = await load_order(code)
    except ApiError as exc:
        if exc.code == "not_found":
            raise refuse("unknown_production_order", f"No production order {code!r}", production_order=code) from None
        raise
    if who.allowed_site is not None and row["site"] != who.allowed_site:
        raise refuse("out_of_scope", f"Production order {code!r} is made at another site", HTTP_409_CONFLICT,
                     production_order=code, site=row["site"])
    return row, operations, materials


async def _floor_order(code: str, who: Who) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """The order a floor action names, locked, on the floor, inside the device's site and worked on at one of its
    work centres (as the order reached the device: production/service.py's visibility)."""
    await PRODUCTION_ORDERS.lock(code)  # issues and reports on one order queue behind each other
    row, operations, materials = await _order_in_site(code, who)
    centres = sorted({op["work_centre"] for op in operations})
    if who.work_centres and not who.work_centres.intersection(centres):
        raise refuse("out_of_scope", f"Production order {code!r} is worked on at {', '.join(centres)}, none of this "
                     "device's work centres", HTTP_409_CONFLICT, order_work_centres=centres, production_order=code)
    refusal = rules.floor_refusal(row["status"])
    if refusal is not None:
        raise refuse(refusal.code, refusal.message, HTTP_409_CONFLICT, production_order=code, order_status=row["status"])
    return row, operations, materials


def _operation(row: dict[str, Any], operations: list[dict[str, Any]], sequence: int, who: Who) -> dict[str, Any]:
    """The order's operation `sequence`, run at one of the device's work centres."""
    operation = next((op for op in operations if op["sequence"] == sequence), None)
    if operation is None:
        raise refuse("unknown_operation", f"Production order {row['code']!r} has no operation {sequence}",
                     production_order=row["code"], operation=sequence)
    if who.work_centres and operation["work_centre"] not in who.work_centres:
        raise refuse("out_of_scope", f"Operation {sequence} runs on {operation['work_centre']}, outside this device's "
                     "work centres", HTTP_409_CONFLICT, work_centre=operation["work_centre"])
    return operation


async def operation_in_scope(code: str, sequence: str, who: Who) -> dict[str, Any]:
    """An operation another area's floor record names (a quality check at an operation): it exists, and the device's
    site and work centres reach it. Returns the order's site and item and the operation's work centre."""
    row, operations, _ = await _order_in_site(code, who)
    if not sequence.isdigit():
        raise refuse("unknown_operation", f"Production order {code!r} has no operation {sequence!r}",
                     production_order=code, operation=sequence)
    operation = _operation(row, operations, int(sequence), who)
    return {"site": row["site"], "item": row["item"], "work_centre": operation["work_centre"]}


def _same_site(place: Place, order: dict[str, Any]) -> None:
    if place.site != order["site"]:
        raise refuse("wrong_site", f"Location {place.code!r} is at site {place.site}, the order at {order['site']}",
                     location=place.code, site=place.site, order_site=order["site"])


def _progress(operations: list[dict[str, Any]]) -> list[OperationProgress]:
    return [OperationProgress(op["sequence"], op["good_micro"], op["scrap_micro"], op["status"]) for op in operations]


# -- stock.issue ---------------------------------------------------------------------------------------------------

async def _refuse_short(item: str, place: Place, lot: str, wanted_micro: int) -> None:
    """Held or quarantined stock is not available: when what is available falls short and some of it lies here
    held, say so (`stock_on_hold`) rather than merely `insufficient_stock`."""
    available = await on_hand_micro(item, place.code, lot, AVAILABLE)
    if available >= wanted_micro:
        return
    held = sum([await on_hand_micro(item, place.code, lot, status) for status in (HOLD, QUARANTINE)])
    if held > 0:
        raise refuse("stock_on_hold", f"{quantity_text(held)} of {item!r} at {place.code!r} is on hold or in quarantine; "
                     f"only {quantity_text(available)} is available" + (f" in lot {lot!r}" if lot else ""),
                     item=item, location=place.code, lot=lot, available=quantity_text(available),
                     held=quantity_text(held), requested=quantity_text(wanted_micro))


async def _book_issue(row: dict[str, Any], operations: list[dict[str, Any]], material: dict[str, Any], place: Place,
                      lot: str, quantity: int, serials: list[str], who: Who) -> dict[str, Any]:
    """Material out of stock and onto the order: the ledger row, the serials, the order's issued quantity, the
    issue row and the boards. The one path of a scanned issue and a backflush; `material` is brought up to date.
    Units reserved for an order (a shipment's pick list) are not issued (`reserved_for_order`)."""
    item_code = material["item"]
    await _refuse_short(item_code, place, lot, quantity)
    await take_unreserved_only(item_code, place.code, lot, quantity)
    left = await post(item_code, place, lot, AVAILABLE, -quantity, "issue", who, note=f"production order {row['code']}")
    await take_serials(item_code, lot, serials, place.code, to_location=None, status="issued")
    issued = material["issued_micro"] + quantity
    over_issue = issued > material["required_micro"]
    material["issued_micro"] = issued
    await ProductionMaterial.update({ProductionMaterial.issued_micro: issued}).where(ProductionMaterial.id == material["id"])
    defer_insert("production_issue", ISSUE_COLUMNS, (
        _now(), row["code"], item_code, lot, place.code, quantity, over_issue, who.mutation_id, who.device_id,
        who.username, who.event_time,
    ))
    effect = {"production_order": row["code"], "item": item_code, "lot": lot or None, "location": place.code,
              "quantity": quantity_text(quantity), "location_quantity": quantity_text(left),
              "issued_quantity": quantity_text(issued), "required_quantity": quantity_text(material["required_micro"]),
              "over_issue": over_issue}
    board = workcentre_board(operations[0]["work_centre"])
    publish_board_after_commit(board, {"kind": "issue", **effect})
    if over_issue:
        flag = {"kind": "over_issue", "production_order": row["code"], "item": item_code,
                "issued_quantity": effect["issued_quantity"], "required_quantity": effect["required_quantity"]}
        publish_board_after_commit(board, flag)
        publish_board_after_commit(ORDERS_BOARD, flag)
    return effect


async def issue_material(args: StockIssueArgs, who: Who) -> dict[str, Any]:
    await lock_stock_places([(args.item, args.location)])  # first, before the order (server/inventory/stock.py)
    row, operations, materials = await _floor_order(args.production_order, who)
    material = next((m for m in materials if m["item"] == args.item), None)
    if material is None:
        raise refuse("not_on_bom", f"{args.item!r} is not a material of production order {row['code']!r}",
                     production_order=row["code"], item=args.item)
    item = await load_item(args.item)
    lot = check_lot(item, args.lot)
    check_decimals(item, args.quantity)
    quantity = to_micro(args.quantity)
    serials = check_serials(item, args.serials, quantity)
    await usable_lot(item, lot)
    place = await load_place(args.location, who)
    _same_site(place, row)
    before = order_out(row, operations, materials)
    effect = await _book_issue(row, operations, material, place, lot, quantity, serials, who)
    status = rules.order_status_after(row["status"], row["quantity_micro"], _progress(operations), anything_issued=True)
    await PRODUCTION_ORDERS.bump(row, {ProductionOrder.status: status,
                                       **({ProductionOrder.over_issued: True} if effect["over_issue"] else {})})
    after = await get_production_order(row["code"])
    publish(before, after)
    effect["order_status"] = status
    await audit_office_booking(who, "issue", args.item, effect)
    return effect


# -- production.report ---------------------------------------------------------------------------------------------

async def _new_lot(item: dict[str, Any], order: dict[str, Any], given: str | None) -> tuple[str, int]:
    """The lot finished goods go under: the one the operator gave, or the next free <order>-<n>. Also the order's
    count of lots made, for the next one."""
    made = order["lots_made"]
    if given:
        return given, made
    while True:
        made += 1
        code = rules.generated_lot(order["code"], made)
        if await find_lot(item["code"], code) is None:
            return code, made


async def _receive_finished_goods(args: ProductionReportArgs, order: dict[str, Any], good_micro: int,
                                  who: Who) -> dict[str, Any]:
    """The last operation's good units into stock at the location: a new lot (lot-tracked items), serials (serial-
    tracked items), one ledger row."""
    finished = await load_item(order["item"])
    if not args.location:
        raise refuse("location_required", "Say where the finished goods go: scan the location",
                     production_order=order["code"])
    place = await load_place(args.location, who)
    _same_site(place, order)
    serials = check_serials(finished, args.serials, good_micro)
    lots_made = order["lots_made"]
    if finished["lot_tracked"]:
        lot, lots_made = await _new_lot(finished, order, args.lot)
        await ensure_lot(finished, lot, source="production", production_date=today())
    else:
        lot = check_lot(finished, args.lot)
    on_hand = await post(order["item"], place, lot, AVAILABLE, good_micro, "production", who,
                         note=f"production order {order['code']}")
    await register_serials(order["item"], lot, serials, place.code)
    return {"location": place.code, "lot": lot, "lots_made": lots_made, "serials": serials,
            "location_quantity": quantity_text(on_hand)}


# -- what a report consumes --------------------------------------------------------------------------------------

async def _backflush_places(code: str, sequence: int) -> list[tuple[str, str]]:
    """The stock places a report on operation `sequence` may backflush from (its backflushed materials at its work
    centre's issue location), read before the order is locked so they are locked with the others, first."""
    rows = await sql_fetch(
        "SELECT m.item, w.issue_location FROM production_material m "
        "JOIN production_order o ON o.id = m.production_order "
        "JOIN production_operation op ON op.production_order = o.id AND op.sequence = $2 "
        "JOIN work_centre w ON w.code = op.work_centre "
        "WHERE o.code = $1 AND m.issue_method = $3 AND m.operation = $2 AND w.issue_location IS NOT NULL",
        code, sequence, rules.BACKFLUSH)
    return [(r["item"], r["issue_location"]) for r in rows]


async def _issue_place(row: dict[str, Any], operation: dict[str, Any], item: str, who: Who) -> Place:
    found = await sql_fetch("SELECT issue_location FROM work_centre WHERE code = $1", operation["work_centre"])
    if not found or not found[0]["issue_location"]:
        raise refuse("no_issue_location", f"{item!r} is backflushed at operation {operation['sequence']}, but work "
                     f"centre {operation['work_centre']!r} has no issue location", production_order=row["code"],
                     item=item, work_centre=operation["work_centre"])
    place = await load_place(found[0]["issue_location"], who)
    _same_site(place, row)
    return place


async def _consume(row: dict[str, Any], operations: list[dict[str, Any]], operation: dict[str, Any],
                   materials: list[dict[str, Any]], who: Who) -> list[dict[str, Any]]:
    """The materials consumed at the reported operation take their share of what it has handled (good + scrap) by
    now: a backflushed one is issued from the work centre's issue location up to that share, one that must be
    issued first refuses the report while it falls short (`material_not_issued`), a manually issued one that falls
    short is flagged under-issued. Returns the backflushed issues."""
    handled = operation["good_micro"] + operation["scrap_micro"]
    backflushed = []
    for material in sorted(materials, key=lambda m: m["line_no"]):
        if (material["operation"] or operations[0]["sequence"]) != operation["sequence"]:
            continue
        item = await load_item(material["item"])
        consumed = rules.consumed_micro(material["required_micro"], handled, row["quantity_micro"], item["decimals"])
        missing = consumed - material["issued_micro"]
        if missing > 0 and material["issue_method"] == rules.REQUIRED:
            raise refuse("material_not_issued", f"Issue {quantity_text(missing)} more of {material['item']!r} before "
                         f"reporting operation {operation['sequence']}", production_order=row["code"],
                         operation=operation["sequence"], item=material["item"],
                         issued_quantity=quantity_text(material["issued_micro"]),
                         needed_quantity=quantity_text(consumed))
        if missing > 0 and material["issue_method"] == rules.BACKFLUSH:
            lot = check_lot(item, None)
            serials = check_serials(item, [], missing)
            place = await _issue_place(row, operation, material["item"], who)
            backflushed.append(await _book_issue(row, operations, material, place, lot, missing, serials, who))
        if consumed != material["consumed_micro"]:
            material["consumed_micro"] = consumed
            await ProductionMaterial.update({ProductionMaterial.consumed_micro: consumed}).where(
                ProductionMaterial.id == material["id"])
    return backflushed


def _flag_under_issue(row: dict[str, Any], operation: dict[str, Any], materials: list[dict[str, Any]]) -> list[str]:
    """Materials the reports consumed more of than was issued, flagged to the boards like an over-issue."""
    short = [m for m in materials if m["issued_micro"] < m["consumed_micro"]]
    for material in short:
        flag = {"kind": "under_issue", "production_order": row["code"], "item": material["item"],
                "issued_quantity": quantity_text(material["issued_micro"]),
                "consumed_quantity": quantity_text(material["consumed_micro"])}
        publish_board_after_commit(workcentre_board(operation["work_centre"]), flag)
        publish_board_after_commit(ORDERS_BOARD, flag)
    return [m["item"] for m in short]


async def report_production(args: ProductionReportArgs, who: Who) -> dict[str, Any]:
    # Where finished goods may go and where material is backflushed from: locked first, before the order
    # (server/inventory/stock.py).
    places = await _backflush_places(args.production_order, args.operation)
    if args.location:
        made = await sql_fetch("SELECT item FROM production_order WHERE code = $1", args.production_order)
        places += [(made[0]["item"], args.location)] if made else []
    await lock_stock_places(places)
    row, operations, materials = await _floor_order(args.production_order, who)
    operation = _operation(row, operations, args.operation, who)
    finished = await load_item(row["item"])
    check_decimals(finished, args.good_quantity)
    check_decimals(finished, args.scrap_quantity)
    good, scrap = to_micro(args.good_quantity), to_micro(args.scrap_quantity)
    refusal = rules.report_refusal(_progress(operations), args.operation, good, scrap, args.scrap_reason)
    if refusal is not None:
        raise refuse(refusal.code, refusal.message, production_order=row["code"], operation=args.operation)
    last = operation is operations[-1]
    if not last and (args.location or args.lot or args.serials):
        raise refuse("not_last_operation", f"Only the last operation ({operations[-1]['sequence']}) puts finished goods "
                     "into stock: no location, lot or serials here", production_order=row["code"], operation=args.operation)
    before = order_out(row, operations, materials)
    operation["good_micro"] += good
    operation["scrap_micro"] += scrap
    backflushed = await _consume(row, operations, operation, materials, who)
    receipt = await _receive_finished_goods(args, row, good, who) if last and good > 0 else None
    statuses = {op.sequence: op.status for op in rules.statuses_after(row["quantity_micro"], _progress(operations))}
    for op in operations:
        if op is operation or statuses[op["sequence"]] != op["status"]:
            op["status"] = statuses[op["sequence"]]
            await ProductionOperation.update({
                ProductionOperation.good_micro: op["good_micro"], ProductionOperation.scrap_micro: op["scrap_micro"],
                ProductionOperation.status: op["status"],
            }).where(ProductionOperation.id == op["id"])
    defer_insert("production_report", REPORT_COLUMNS, (
        _now(), row["code"], args.operation, operation["work_centre"], good, scrap, (args.scrap_reason or "").strip(),
        receipt["location"] if receipt else None, receipt["lot"] if receipt else "", who.mutation_id, who.device_id,
        who.username, who.event_time,
    ))
    anything_issued = any(m["issued_micro"] for m in materials)
    status = rules.order_status_after(row["status"], row["quantity_micro"], _progress(operations), anything_issued)
    columns: dict[Any, Any] = {ProductionOrder.status: status}
    if receipt:
        columns |= {ProductionOrder.received_micro: row["received_micro"] + good, ProductionOrder.lots_made: receipt["lots_made"]}
    await PRODUCTION_ORDERS.bump(row, columns)
    if row["sales_order"] and status != row["status"]:
        await sales.refresh_progress(row["sales_order"])
    after = await get_production_order(row["code"])
    publish(before, after)

    effect = {"production_order": row["code"], "operation": args.operation, "work_centre": operation["work_centre"],
              "good_quantity": quantity_text(good), "scrap_quantity": quantity_text(scrap),
              "operation_good": quantity_text(operation["good_micro"]),
              "operation_scrap": quantity_text(operation["scrap_micro"]), "operation_status": operation["status"],
              "order_status": status, "progress_pct": after.progress_pct,
              "received": None if receipt is None else {
                  "item": row["item"], "location": receipt["location"], "lot": receipt["lot"] or None,
                  "quantity": quantity_text(good), "serials": receipt["serials"]},
              "backflushed": [{k: issue[k] for k in ("item", "location", "quantity")} for issue in backflushed],
              "under_issued": _flag_under_issue(row, operation, materials)}
    event = {"kind": "report", **{k: v for k, v in effect.items() if k not in ("received", "backflushed")},
             "scrap_reason": (args.scrap_reason or "").strip() or None, "item": row["item"]}
    publish_board_after_commit(workcentre_board(operation["work_centre"]), event)
    publish_board_after_commit(ORDERS_BOARD, event)
    await audit_office_booking(who, "production_report", row["item"], effect)
    return effect


# -- production.downtime -------------------------------------------------------------------------------------------

# Heard after a downtime's start commits: (the work centre's site, the work centre). Planning reschedules there.
DowntimeStarted = Callable[[str | None, str], None]
_downtime_started: list[DowntimeStarted] = []


def when_downtime_starts(listener: DowntimeStarted) -> None:
    if listener not in _downtime_started:
        _downtime_started.append(listener)


async def _work_centre(code: str, who: Who) -> dict[str, Any]:
    lock = " FOR UPDATE" if DB.engine_type == "postgres" else ""  # one start or stop at a time per work centre
    rows = await sql_fetch(f"SELECT code, site, archived FROM work_centre WHERE code = $1{lock}", code)
    if not rows:
        raise refuse("unknown_work_centre", f"No work centre {code!r}", work_centre=code)
    centre = rows[0]
    if centre["archived"]:
        raise refuse("archived_work_centre", f"Work centre {code!r} is archived", work_centre=code)
    outside_site = who.allowed_site is not None and centre["site"] not in (None, who.allowed_site)
    if outside_site or (who.work_centres and code not in who.work_centres):
        raise refuse("out_of_scope", f"Work centre {code!r} is outside this device's scope", HTTP_409_CONFLICT,
                     work_centre=code)
    return centre


def _downtime_data(row: dict[str, Any]) -> dict[str, Any]:
    return {"work_centre": row["work_centre"], "reason": row["reason"], "production_order": row["production_order"],
            "started_at": row["started_at"].isoformat()}


def _aware(moment: datetime) -> datetime:
    # SQLite hands back what it stored; a naive value is UTC, as everything written here.
    return moment.replace(tzinfo=timezone.utc) if isinstance(moment, datetime) and moment.tzinfo is None else moment


async def record_downtime(args: ProductionDowntimeArgs, who: Who) -> dict[str, Any]:
    centre = await _work_centre(args.work_centre, who)
    open_rows = await sql_fetch(
        "SELECT id, work_centre, reason, production_order, started_at FROM downtime WHERE work_centre = $1 AND ended_at IS NULL",
        args.work_centre,
    )
    now = _now()
    by = who.name
    visibility = Visibility(site=centre["site"], work_centre=args.work_centre)
    board = workcentre_board(args.work_centre)
    if args.action == "start":
        reason = (args.reason or "").strip()
        if not reason:
            raise refuse("reason_required", "Say why the work centre stopped", work_centre=args.work_centre)
        if open_rows:
            raise refuse("downtime_already_open", f"Work centre {args.work_centre!r} is already down since "
                         f"{_aware(open_rows[0]['started_at']).isoformat()}", HTTP_409_CONFLICT, work_centre=args.work_centre,
                         reason=open_rows[0]["reason"])
        if args.production_order:
            await _order_in_site(args.production_order, who)
        await sql_execute(
            "INSERT INTO downtime (work_centre, reason, production_order, started_at, ended_at, started_by, ended_by, "
            "start_event_time, end_event_time) VALUES ($1, $2, $3, $4, NULL, $5, NULL, $6, NULL)",
            args.work_centre, reason, args.production_order, now, by, who.event_time,
        )
        row = {"work_centre": args.work_centre, "reason": reason, "production_order": args.production_order, "started_at": now}
        record_change("downtime", args.work_centre, _downtime_data(row), visibility)
        effect = {"work_centre": args.work_centre, "action": "start", "reason": reason,
                  "production_order": args.production_order, "started_at": now.isoformat()}

        async def tell(site: str | None = centre["site"], code: str = args.work_centre) -> None:
            for listener in _downtime_started:
                listener(site, code)
        current_write().after_commit.append(tell)
    else:
        if not open_rows:
            raise refuse("no_open_downtime", f"Work centre {args.work_centre!r} is not down", HTTP_409_CONFLICT,
                         work_centre=args.work_centre)
        row = open_rows[0]
        await sql_execute("UPDATE downtime SET ended_at = $1, ended_by = $2, end_event_time = $3 WHERE id = $4",
                          now, by, who.event_time, row["id"])
        started = _aware(row["started_at"])
        minutes = (Decimal((now - started).total_seconds()) / 60).quantize(Decimal("0.01"))
        record_change("downtime", args.work_centre, None, visibility)
        effect = {"work_centre": args.work_centre, "action": "stop", "reason": row["reason"],
                  "production_order": row["production_order"], "started_at": started.isoformat(),
                  "ended_at": now.isoformat(), "minutes": format(minutes, "f")}
    publish_board_after_commit(board, {"kind": "downtime", **effect})
    return effect
