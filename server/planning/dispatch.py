"""Dispatch lists: each work centre's next operations in its site's accepted schedule, in the order they are to run,
as the feed entity `dispatch` keyed by the work centre's code (`schemas.planning.DispatchListOut`).

A list is written in the transaction that accepts the schedule, so a device never holds a list of a schedule that
was not accepted, and it reaches the devices of the site that see the work centre (scoped to it, or to no work
centre). It holds the operations that end after the moment of acceptance, the first `LIST_LENGTH` of them. Only a
list that changed is written: the new one is compared with what the devices hold (the newest change the feed keeps),
leaving out what has ended since; a work centre that held a list and has nothing left gets an empty one. Since the
feed keeps each work centre's newest list, a device's first sync and a re-snapshot get the current lists too. The
work centre's board hears of a new list after commit."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timezone
from typing import Any

from schemas.planning import DispatchListOut, DispatchOperationOut
from server.db import needs_write, sql_read
from server.production.execution import workcentre_board
from server.quantities import quantity_text
from sync.feed import Visibility, newest_upserts, record_change
from sync.live import publish_board_after_commit

ENTITY = "dispatch"
LIST_LENGTH = 50

OPERATIONS = (
    "SELECT s.production_order, s.sequence, s.item, s.work_centre, s.machine, s.start_at, s.end_at, s.late, s.frozen, "
    "o.quantity_micro, i.name AS item_name, i.unit, p.description "
    "FROM scheduled_operation s JOIN production_order o ON o.code = s.production_order "
    "LEFT JOIN item i ON i.code = s.item "
    "LEFT JOIN production_operation p ON p.production_order = o.id AND p.sequence = s.sequence "
    "WHERE s.run = $1"
)


def _aware(moment: Any) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def dispatch_lists(rows: list[dict[str, Any]], now: datetime) -> dict[str, list[DispatchOperationOut]]:
    """Each work centre's operations that end after `now`, in start order, numbered; an operation is late when its
    order ends after its due time (the schedule says so on the order's last operation)."""
    late_orders = {row["production_order"] for row in rows if row["late"]}
    by_centre: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if _aware(row["end_at"]) > now:
            by_centre[row["work_centre"]].append(row)
    lists = {}
    for centre, placed in by_centre.items():
        placed.sort(key=lambda row: (_aware(row["start_at"]), row["machine"], row["production_order"], row["sequence"]))
        lists[centre] = [DispatchOperationOut(
            position=position, production_order=row["production_order"], item=row["item"],
            item_name=row["item_name"] or row["item"], quantity=quantity_text(int(row["quantity_micro"])),
            unit=row["unit"] or "", sequence=int(row["sequence"]), operation=row["description"] or "",
            start_at=_aware(row["start_at"]), end_at=_aware(row["end_at"]), machine=int(row["machine"]),
            late=row["production_order"] in late_orders, frozen=bool(row["frozen"]),
        ) for position, row in enumerate(placed[:LIST_LENGTH], start=1)]
    return lists


def unchanged(held: dict[str, Any] | None, operations: list[DispatchOperationOut], now: datetime) -> bool:
    """The list devices hold says the same as the new one, but for operations that have ended since it was written."""
    if held is None:
        return not operations
    kept = [op for op in (DispatchOperationOut.model_validate(op) for op in held.get("operations", [])) if op.end_at > now]
    return [op.model_dump(exclude={"position"}) for op in kept] == [op.model_dump(exclude={"position"}) for op in operations]


@needs_write
async def write_dispatch_lists(site: str, run_id: int, accepted_at: datetime) -> list[str]:
    """The site's changed dispatch lists, written to the feed of the accepting transaction: the work centres written."""
    lists = dispatch_lists(await sql_read(OPERATIONS, run_id), accepted_at)
    centres = {row["code"] for row in await sql_read("SELECT code FROM work_centre WHERE site = $1", site)} | set(lists)
    visibilities = {code: Visibility(site=site, work_centre=code) for code in sorted(centres)}
    held = await newest_upserts(ENTITY, visibilities)
    written = []
    for code, visibility in visibilities.items():
        operations = lists.get(code, [])
        if unchanged(held.get(code), operations, accepted_at):
            continue
        data = DispatchListOut(work_centre=code, site=site, run=run_id, accepted_at=accepted_at, operations=operations)
        record_change(ENTITY, code, data.model_dump(mode="json"), visibility)
        publish_board_after_commit(workcentre_board(code), {"kind": "dispatch", "work_centre": code, "run": run_id,
                                                            "operations": len(operations)})
        written.append(code)
    return written
