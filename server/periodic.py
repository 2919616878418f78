"""Work a server process does by itself every so often (the late-order watch, scheduled MRP runs): a background
task that waits an interval, runs its action, logs a failure and tries again at the next round. Not at start-up:
a process (re)starting does no reading or writing it need not do then."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable


class PeriodicTask:
    def __init__(self, name: str, interval_seconds: float, action: Callable[[], Awaitable[object]],
                 log: logging.Logger):
        self.name = name
        self.interval_seconds = interval_seconds
        self.action = action
        self.log = log
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                await self.action()
            except Exception:  # noqa: BLE001 - the database may be away for a while; the next round catches up
                self.log.exception("%s failed", self.name)
