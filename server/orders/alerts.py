"""The late-order watch: every few minutes each server process looks for order lines that are late or at risk of
missing their promise date (server/orders/tracking.py `late_lines`) and announces each line once per risk it reaches
as a `sales_order.late` webhook. The office home shows the same lines live; the webhook tells other systems."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from server.db import sql_fetch, write_transaction
from server.documents import utc_now
from server.orders import tracking
from server.webhooks import service as webhooks

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


class LateOrderWatch:
    def __init__(self, interval_seconds: float):
        self.interval_seconds = interval_seconds
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="late-order-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        while True:
            # Not at start-up: a process (re)starting does no reading or writing it need not do then.
            await asyncio.sleep(self.interval_seconds)
            try:
                count = await announce_late_lines()
                if count:
                    log.info("announced %d late or at-risk order line(s)", count)
            except Exception:  # noqa: BLE001 - the database may be away for a while; the next run catches up
                log.exception("late-order watch failed")


_watch: LateOrderWatch | None = None


def start(interval_seconds: float) -> None:
    global _watch
    _watch = LateOrderWatch(interval_seconds)
    _watch.start()


async def stop() -> None:
    global _watch
    if _watch is not None:
        await _watch.stop()
        _watch = None
