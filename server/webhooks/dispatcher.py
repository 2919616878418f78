"""The dispatcher: a background task in every server process that sends due deliveries, signed, and books each
attempt. A delivery is claimed in a short transaction that pushes its `next_attempt_at` past the send's time limit
(a lease; on PostgreSQL the claim skips rows another process is claiming, FOR UPDATE SKIP LOCKED), so no two
processes send one delivery at once, and a process that dies mid-send leaves it to be retried when the lease ends.
It is woken after a commit that emitted events, and otherwise looks again when the next retry is due.

What an attempt keeps of the answer is its status code, and for no answer one of two reasons in our own words
(`no_answer`, `target_refused`): never the receiver's body or reason phrase, nor how a connection failed, so a
receiver URL cannot be used to read, or to map, the services the server itself can reach (targets.py decides
where a delivery may go)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx

from server.db import DB, sql_execute, sql_fetch, sql_read, write_transaction
from server.webhooks import rules, targets

log = logging.getLogger("floorsync.webhooks")

SEND_TIMEOUT_SECONDS = 10.0
LEASE_SECONDS = 60.0  # well past the send's time limit: a lease never ends while its send may still be running
IDLE_POLL_SECONDS = 5.0  # deliveries another process emitted, or made due by a redelivery there
CONCURRENT_SENDS = 8
USER_AGENT = "Floorsync-Webhooks/1"

_DUE = ("FROM webhook_delivery d JOIN webhook_subscription s ON s.id = d.subscription "
        "WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND s.active")


@dataclass(frozen=True)
class Claimed:
    id: int
    delivery_id: str
    event_type: str
    body: str
    attempts: int
    attempts_at_requeue: int
    url: str
    secret: str


@dataclass(frozen=True)
class AttemptResult:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def claim_due(limit: int) -> list[Claimed]:
    now = _now()
    if not await sql_read(f"SELECT d.id {_DUE} LIMIT 1", now):
        return []  # the common case reads only: no write lock taken on SQLite, no transaction on PostgreSQL
    skip_locked = " FOR UPDATE OF d SKIP LOCKED" if DB.engine_type == "postgres" else ""
    async with write_transaction():
        rows = await sql_fetch(
            "SELECT d.id, d.delivery_id, d.event_type, d.body, d.attempts, d.attempts_at_requeue, s.url, s.secret "
            f"{_DUE} ORDER BY d.next_attempt_at LIMIT $2{skip_locked}", now, limit)
        lease_until = now + timedelta(seconds=LEASE_SECONDS)
        for row in rows:
            await sql_execute("UPDATE webhook_delivery SET next_attempt_at = $1 WHERE id = $2", lease_until, row["id"])
    return [Claimed(**row) for row in rows]


async def seconds_until_next_due() -> float:
    rows = await sql_read("SELECT min(next_attempt_at) AS due FROM webhook_delivery WHERE status = 'pending'")
    due = rows[0]["due"] if rows else None
    if due is None:
        return IDLE_POLL_SECONDS
    if isinstance(due, str):  # SQLite's min() loses the column's type, so the text comes back as stored
        due = datetime.fromisoformat(due)
    if due.tzinfo is None:
        due = due.replace(tzinfo=timezone.utc)
    return min(IDLE_POLL_SECONDS, max(0.0, (due - _now()).total_seconds()))


async def send(client: httpx.AsyncClient, job: Claimed) -> AttemptResult:
    """One POST, signed now; its status is the attempt's record, and any way of getting none is one of two reasons.
    The answer's body is not read."""
    body = job.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Floorsync-Event": job.event_type,
        "Floorsync-Delivery": job.delivery_id,
        "Floorsync-Signature": rules.signature_header(job.secret, int(time.time()), body),
    }
    started_at, started = _now(), time.monotonic()
    status_code, error = None, ""
    try:
        async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
            async with client.stream("POST", job.url, content=body, headers=headers) as response:
                status_code = response.status_code
    except targets.TargetRefused:
        error = rules.TARGET_REFUSED_REASON
    except (TimeoutError, httpx.HTTPError):
        if status_code is None:
            error = rules.NO_ANSWER_REASON
    return AttemptResult(started_at, int((time.monotonic() - started) * 1000), status_code, error)


async def record_attempt(job: Claimed, result: AttemptResult, retry_base_seconds: float, max_attempts: int) -> str:
    attempt_no = job.attempts + 1
    delivered = rules.outcome(result.status_code) and not result.error
    status = rules.status_after_attempt(delivered, attempt_no - job.attempts_at_requeue, max_attempts)
    now = _now()
    next_attempt_at = now
    if status == "pending":
        delay = rules.retry_delay_seconds(attempt_no - job.attempts_at_requeue, retry_base_seconds, random.random())
        next_attempt_at = now + timedelta(seconds=delay)
    async with write_transaction():
        await sql_execute(
            "INSERT INTO webhook_attempt (delivery, attempt_no, started_at, duration_ms, status_code, error) "
            "VALUES ($1, $2, $3, $4, $5, $6)",
            job.id, attempt_no, result.started_at, result.duration_ms, result.status_code, result.error)
        await sql_execute(
            "UPDATE webhook_delivery SET attempts = $1, status = $2, next_attempt_at = $3, delivered_at = $4 WHERE id = $5",
            attempt_no, status, next_attempt_at, now if delivered else None, job.id)
    return status


class Dispatcher:
    def __init__(self, retry_base_seconds: float, max_attempts: int):
        self.retry_base_seconds = retry_base_seconds
        self.max_attempts = max_attempts
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._sending: set[asyncio.Task] = set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    def wake(self) -> None:
        self._wake.set()

    async def stop(self) -> None:
        """Sends cut off here are sent again once their lease ends."""
        for task in [*self._sending, *([self._task] if self._task else [])]:
            task.cancel()
        for task in [*self._sending, *([self._task] if self._task else [])]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _run(self) -> None:
        transport = targets.GuardedTransport(targets.configured_allow_list())
        async with httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=SEND_TIMEOUT_SECONDS,
                                     trust_env=False) as client:
            while True:
                self._wake.clear()
                wait = IDLE_POLL_SECONDS
                try:
                    room = CONCURRENT_SENDS - len(self._sending)
                    if room > 0:
                        for job in await claim_due(room):
                            task = asyncio.create_task(self._deliver(client, job))
                            self._sending.add(task)
                    wait = await seconds_until_next_due()
                except Exception:  # noqa: BLE001 - the database may be away for a while; deliveries wait in it
                    log.exception("webhook dispatcher: claiming due deliveries failed")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()

    async def _deliver(self, client: httpx.AsyncClient, job: Claimed) -> None:
        try:
            result = await send(client, job)
            status = await record_attempt(job, result, self.retry_base_seconds, self.max_attempts)
            log.info("webhook %s %s to %s: %s", job.event_type, job.delivery_id, job.url,
                     result.status_code or result.error, extra={"delivery": job.delivery_id, "status": status})
        except Exception:  # noqa: BLE001 - the lease ends and the delivery is tried again
            log.exception("webhook delivery %s could not be booked", job.delivery_id)
        finally:
            self._sending.discard(asyncio.current_task())  # type: ignore[arg-type]
            self._wake.set()


_dispatcher: Dispatcher | None = None


def start(retry_base_seconds: float, max_attempts: int) -> None:
    global _dispatcher
    _dispatcher = Dispatcher(retry_base_seconds, max_attempts)
    _dispatcher.start()


async def stop() -> None:
    global _dispatcher
    if _dispatcher is not None:
        await _dispatcher.stop()
        _dispatcher = None


def wake() -> None:
    if _dispatcher is not None:
        _dispatcher.wake()
