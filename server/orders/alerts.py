"""The late-order watch: every few minutes each server process looks for order lines that are late or at risk of
missing their promise date (server/orders/tracking.py `late_lines`) and announces each line once per risk it reaches
as a `sales_order.late` webhook. The office home shows the same lines live; the webhook tells other systems. It
also looks for operations behind the accepted schedule (server/planning/plan_actual.py) and announces each once per
schedule, as a `production.behind_plan` webhook and on its work centre's board."""

from __future__ import annotations

import logging

from server.db import sql_fetch, write_transaction
from server.documents import utc_now
from server.orders import tracking
from server.planning import plan_actual
from server.production.execution import workcentre_board
from server.periodic import PeriodicTask
from server.webhooks import service as webhooks
from sync.live import publish_board_after_commit

log = logging.getLogger("floorsync.sales.alerts")
LINES_PER_RUN = 1000


async def announce_late_lines() -> int:
    """Announce the lines not announced before at their present risk; returns how many were announced."""
    found = await tracking.late_lines(LINES_PER_RUN)
    if not found:
        return 0
    announced = 0
    async with write_transaction():
        now = utc_now()
        for line in found:
            inserted = await sql_fetch(
                "INSERT INTO sales_order_alert (sales_order, line_no, risk, first_seen_at) VALUES ($1, $2, $3, $4) "
                "ON CONFLICT (sales_order, line_no, risk) DO NOTHING RETURNING id",
                line.sales_order, line.line_no, line.risk, now)
            if inserted:
                await webhooks.emit("sales_order.late", line.model_dump(mode="json"))
                announced += 1
    return announced


async def announce_behind_plan() -> int:
    """Announce the operations behind plan not announced before for the schedule they are behind."""
    found = await plan_actual.operations_behind()
    if not found:
        return 0
    announced = 0
    async with write_transaction():
        now = utc_now()
        for behind in found:
            inserted = await sql_fetch(
                "INSERT INTO schedule_alert (run, operation, work_centre, behind_minutes, first_seen_at) "
                "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run, operation) DO NOTHING RETURNING id",
                behind.run, behind.operation, behind.work_centre, behind.behind_minutes, now)
            if inserted:
                event = {"schedule": behind.run, "site": behind.site, "operation": behind.operation,
                         "production_order": behind.production_order, "work_centre": behind.work_centre,
                         "planned_start": behind.planned_start.isoformat(), "planned_end": behind.planned_end.isoformat(),
                         "behind_minutes": behind.behind_minutes, "done_pct": behind.done_pct}
                await webhooks.emit("production.behind_plan", event)
                publish_board_after_commit(workcentre_board(behind.work_centre), {"kind": "behind_plan", **event})
                announced += 1
    return announced


async def _announce() -> None:
    count = await announce_late_lines()
    if count:
        log.info("announced %d late or at-risk order line(s)", count)
    behind = await announce_behind_plan()
    if behind:
        log.info("announced %d operation(s) behind plan", behind)


_watch: PeriodicTask | None = None


def start(interval_seconds: float) -> None:
    global _watch
    _watch = PeriodicTask("late-order-watch", interval_seconds, _announce, log)
    _watch.start()


async def stop() -> None:
    global _watch
    if _watch is not None:
        await _watch.stop()
        _watch = None
