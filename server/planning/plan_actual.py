"""Plan against actual: the accepted schedule compared with what the floor reported.

**An operation behind plan.** The accepted schedule gave each operation a start and an end in its work centre's
open time, for what was left of it when it was scheduled (its order's quantity less the good quantity reported
then). By now it should have done the share of that work that the open minutes from its start to now are of its
open minutes from start to end; it has done the share the good quantity reported since is of what was left. The
difference, in working minutes, is how far behind it is; beyond the planning settings' `behind_minutes` it raises an
alert: once per operation and accepted schedule, as a `production.behind_plan` webhook and on its work centre's
board. Only the operations of released and in-progress orders are compared (a firmed order has none to report on
until its release; a closed or cancelled one is no longer at work); a completed operation is never behind; one that
has not started by its start falls behind from then.

**A sales order line whose supply now finishes after its promise**: the production order made for the line ends,
in the accepted schedule, after the end of its promise date (site-local). `scheduled_finishes` gives tracking that
date; the line is then at risk with the schedule as its reason, and the late-order watch announces it
(`sales_order.late`) as it does every risk."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from server.db import placeholders, sql_read
from server.planning.schedule_snapshot import open_time
from server.planning.scheduling import OpenTime
from server.planning.service import planning_settings
from server.production import rules as production_rules



@dataclass(frozen=True)
class Behind:
    run: int
    site: str
    operation: str
    production_order: str
    work_centre: str
    planned_start: datetime
    planned_end: datetime
    behind_minutes: int
    done_pct: int  # of what was left when it was scheduled


def _aware(moment: Any) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def behind_by(now: datetime, start: datetime, end: datetime, centre: dict[str, Any], zone: ZoneInfo, minutes: int,
              quantity: int, good_then: int, good_now: int) -> int:
    """Working minutes an operation is behind its place (the module's docstring); 0 when on or ahead of plan. The
    calendar is the work centre's, from the day before the operation's start."""
    base = datetime.combine(start.astimezone(zone).date(), datetime.min.time())

    def minute(moment: datetime) -> int:
        return int((moment.astimezone(zone).replace(tzinfo=None) - base).total_seconds() // 60)
    days = (max(now, end).astimezone(zone).replace(tzinfo=None) - base).days + 2
    clock = OpenTime(open_time(centre, base.date(), days))
    a, b, t = clock.open_before(minute(start)), clock.open_before(minute(end)), clock.open_before(minute(now))
    planned = max(0, min(t, b) - a)
    left = quantity - good_then
    done = minutes * max(0, good_now - good_then) / left if left > 0 else minutes
    return max(0, int(planned - done))


async def operations_behind(now: datetime | None = None) -> list[Behind]:
    """Every site's operations behind its accepted schedule by more than the threshold, the most behind first."""
    now = now or datetime.now(timezone.utc)
    threshold = int((await planning_settings())["behind_minutes"])
    runs = await sql_read("SELECT r.id, r.site, s.timezone FROM schedule_run r JOIN site s ON s.code = r.site "
                          "WHERE r.status = 'accepted'")
    found: list[Behind] = []
    for run in runs:
        ops = await sql_read(
            "SELECT s.production_order, s.sequence, s.work_centre, s.start_at, s.end_at, s.minutes, s.quantity_micro, "
            "s.good_micro, o.good_micro AS good_now, o.status FROM scheduled_operation s "
            "JOIN production_order p ON p.code = s.production_order "
            "JOIN production_operation o ON o.production_order = p.id AND o.sequence = s.sequence "
            "WHERE s.run = $1 AND s.start_at < $2 AND o.status != $3 AND p.status IN ($4, $5)", run["id"], now,
            production_rules.COMPLETED, *production_rules.MAKING)
        if not ops:
            continue
        zone = ZoneInfo(run["timezone"] or "UTC")
        codes = sorted({op["work_centre"] for op in ops})
        centres = {row["code"]: {**row, **{k: _json(row[k]) for k in ("shifts", "working_days", "holidays")}}
                   for row in await sql_read("SELECT code, shifts, working_days, holidays FROM work_centre "
                                             f"WHERE code IN ({placeholders(len(codes))})", *codes)}
        for op in ops:
            late = behind_by(now, _aware(op["start_at"]), _aware(op["end_at"]), centres[op["work_centre"]], zone,
                             int(op["minutes"]), int(op["quantity_micro"]), int(op["good_micro"]),
                             int(op["good_now"] or 0))
            if late > threshold:
                left = int(op["quantity_micro"]) - int(op["good_micro"])
                done = max(0, int(op["good_now"] or 0) - int(op["good_micro"]))
                found.append(Behind(int(run["id"]), run["site"], f"{op['production_order']}/{op['sequence']}",
                                    op["production_order"], op["work_centre"], _aware(op["start_at"]),
                                    _aware(op["end_at"]), late, min(100, done * 100 // left) if left > 0 else 100))
    found.sort(key=lambda b: (-b.behind_minutes, b.operation))
    return found


async def scheduled_finishes(order_codes: list[str]) -> dict[tuple[str, int], date]:
    """Per (sales order, line): the site-local day the accepted schedule finishes the production order made for it
    (its last operation's end); lines with no scheduled production are absent."""
    if not order_codes:
        return {}
    rows = await sql_read(
        "SELECT p.sales_order, p.sales_order_line, MAX(s.end_at) AS finish, t.timezone FROM production_order p "
        "JOIN schedule_run r ON r.site = p.site AND r.status = 'accepted' "
        "JOIN scheduled_operation s ON s.run = r.id AND s.production_order = p.code "
        "JOIN site t ON t.code = p.site "
        f"WHERE p.sales_order IN ({placeholders(len(order_codes))}) AND p.sales_order_line IS NOT NULL "
        "GROUP BY p.sales_order, p.sales_order_line, t.timezone", *order_codes)
    finishes: dict[tuple[str, int], date] = defaultdict(lambda: date.min)
    for row in rows:
        day = _aware(row["finish"]).astimezone(ZoneInfo(row["timezone"] or "UTC")).date()
        key = (row["sales_order"], int(row["sales_order_line"]))
        finishes[key] = max(finishes[key], day)
    return dict(finishes)

