"""Pull: a device's page of the change feed, filtered to its scope, read as one consistent checkpoint.

The page and the device's `last_seq` come from one snapshot (REPEATABLE READ on PostgreSQL; a single read
transaction in SQLite's WAL mode), so a device never applies changes that disagree with the mutations the server
says it has taken. Cursor 0 is the initial sync: the feed is compacted per entity, so reading it from the start
is a snapshot of the newest state of everything in scope.

The page is written straight to JSON bytes: each change's `data` is the JSON text the writer stored in the feed,
spliced into the page as it is (it was valid JSON when written, and the page is exactly `PullResponse`), so an
initial sync of 100,000 rows never parses and re-validates each one only to serialise it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from devices.tables import Device
from schemas.sync import DeviceScope
from server.db import DB, write_transaction
from sync.registry import DeviceIdentity
from sync.tables import FeedChange, FeedCounter

# A device asks for up to MAX_PAGE changes a page; the reference client and the PWA ask for the largest during an
# initial sync, where the cost of a round trip and a local transaction per page dominates.
MAX_PAGE = 5000
LAST_SEEN_EVERY = timedelta(seconds=5)


class PageChange(msgspec.Struct):
    """One change of a page, in the field order of `schemas.sync.Change`."""

    entity: str
    id: str
    op: str
    data: msgspec.Raw | None
    version: int


class Page(msgspec.Struct):
    """The wire form of `schemas.sync.PullResponse` (the contract, and what OpenAPI shows)."""

    changes: list[PageChange]
    cursor: int
    has_more: bool
    reset: bool
    head: int
    last_seq: int
    server_time: datetime


_encode = msgspec.json.Encoder().encode


def visible_to(device_id: str, scope: DeviceScope):
    """The SQL condition for 'this device may see this change' (NULL in a dimension = everyone)."""
    condition = FeedChange.device_id.is_null() | (FeedChange.device_id == device_id)
    condition = condition & (FeedChange.site.is_null() | (FeedChange.site == scope.site))
    if scope.warehouses:
        condition = condition & (FeedChange.warehouse.is_null() | FeedChange.warehouse.is_in(scope.warehouses))
    if scope.work_centres:
        condition = condition & (FeedChange.work_centre.is_null() | FeedChange.work_centre.is_in(scope.work_centres))
    if scope.route:
        condition = condition & (FeedChange.route.is_null() | (FeedChange.route == scope.route))
    return condition


async def _start_reset_if_asked(device: DeviceIdentity, cursor: int) -> None:
    """A device that restarts from 0 has taken its reset: clear the flag (before the read snapshot starts)."""
    if cursor == 0:
        async with write_transaction():
            await Device.update({Device.reset_required: False}).where(
                (Device.device_id == device.device_id) & (Device.reset_required == True)  # noqa: E712
            )


async def pull(device: DeviceIdentity, cursor: int, limit: int) -> bytes:
    """The page as the JSON bytes of a `PullResponse`."""
    await _start_reset_if_asked(device, cursor)
    limit = min(limit, MAX_PAGE)
    async with DB.transaction():
        if DB.engine_type == "postgres":
            await FeedCounter.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # A page walks the position index from the cursor and stops at the limit. Without statistics (a feed
            # just filled by an import, before autovacuum analyses it) the planner would rather gather every row
            # past the cursor through the device index and sort them: 200 ms a page of 5000 out of 100,000, each
            # page again, instead of 4 ms. Only the walk needs no sort.
            await FeedCounter.raw("SET LOCAL enable_sort = off")
        state = (await FeedCounter.raw(
            "SELECT feed_counter.position, feed_counter.compacted_through, device.last_seq, device.reset_required, "
            "device.scope FROM feed_counter, device WHERE feed_counter.id = 1 AND device.device_id = {}",
            device.device_id))[0]
        head, compacted, last_seq = state["position"], state["compacted_through"], state["last_seq"]
        if cursor and (state["reset_required"] or cursor < compacted or cursor > head):
            return _page([], 0, False, True, head, last_seq)
        scope = DeviceScope.model_validate_json(state["scope"]) if isinstance(state["scope"], str) \
            else DeviceScope.model_validate(state["scope"])
        # data stays JSON text (no load_json): it goes onto the page as it was stored.
        rows = (
            await FeedChange.select(FeedChange.position, FeedChange.entity, FeedChange.entity_key, FeedChange.op, FeedChange.data)
            .where((FeedChange.position > cursor) & (FeedChange.position <= head) & visible_to(device.device_id, scope))
            .order_by(FeedChange.position)
            .limit(limit + 1)
        )
    has_more = len(rows) > limit
    if has_more:
        del rows[limit:]
    # With no more to read, jump to the head: positions in between belonged to other scopes.
    next_cursor = rows[-1]["position"] if has_more else head
    await _seen(device.device_id, next_cursor, has_more)
    return _page(rows, next_cursor, has_more, False, head, last_seq)


def _page(rows: list[dict[str, Any]], cursor: int, has_more: bool, reset: bool, head: int, last_seq: int) -> bytes:
    changes = [PageChange(row["entity"], row["entity_key"], row["op"],
                          None if row["data"] is None else msgspec.Raw(row["data"]), row["position"]) for row in rows]
    return _encode(Page(changes, cursor, has_more, reset, head, last_seq, datetime.now(timezone.utc)))


async def _seen(device_id: str, cursor: int, has_more: bool) -> None:
    """Last seen and sync lag for the office; written at most every few seconds per device to spare the writer,
    and on the page that reaches the head (an initial sync's pages in between count as seen)."""
    now = datetime.now(timezone.utc)
    stale = Device.last_seen_at.is_null() | (Device.last_seen_at < now - LAST_SEEN_EVERY)
    async with write_transaction():
        await Device.update({Device.last_seen_at: now, Device.last_pull_cursor: cursor}).where(
            (Device.device_id == device_id) & (stale if has_more else stale | (Device.last_pull_cursor < cursor))
        )
