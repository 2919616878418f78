"""Pull: a device's page of the change feed, filtered to its scope, read as one consistent checkpoint.

The page and the device's `last_seq` come from one snapshot (REPEATABLE READ on PostgreSQL; a single read
transaction in SQLite's WAL mode), so a device never applies changes that disagree with the mutations the server
says it has taken. Cursor 0 is the initial sync: the feed is compacted per entity, so reading it from the start
is a snapshot of the newest state of everything in scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from devices.tables import Device
from schemas.sync import Change, DeviceScope, PullResponse
from server.db import DB, write_transaction
from sync.registry import DeviceIdentity
from sync.tables import FeedChange, FeedCounter

MAX_PAGE = 1000
LAST_SEEN_EVERY = timedelta(seconds=5)


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


async def pull(device: DeviceIdentity, cursor: int, limit: int) -> PullResponse:
    await _start_reset_if_asked(device, cursor)
    limit = min(limit, MAX_PAGE)
    async with DB.transaction():
        if DB.engine_type == "postgres":
            await FeedCounter.raw("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        counter = await FeedCounter.select().where(FeedCounter.id == 1).first()
        device_row = await Device.select(Device.last_seq, Device.reset_required, Device.scope).where(
            Device.device_id == device.device_id
        ).first().output(load_json=True)
        head, compacted = counter["position"], counter["compacted_through"]
        scope = DeviceScope.model_validate(device_row["scope"])
        if cursor and (device_row["reset_required"] or cursor < compacted or cursor > head):
            return _response([], 0, False, True, head, device_row["last_seq"])
        rows = (
            await FeedChange.select(FeedChange.position, FeedChange.entity, FeedChange.entity_key, FeedChange.op, FeedChange.data)
            .where((FeedChange.position > cursor) & (FeedChange.position <= head) & visible_to(device.device_id, scope))
            .order_by(FeedChange.position)
            .limit(limit + 1)
            .output(load_json=True)
        )
    has_more = len(rows) > limit
    rows = rows[:limit]
    # With no more to read, jump to the head: positions in between belonged to other scopes.
    next_cursor = rows[-1]["position"] if has_more else head
    changes = [
        Change(entity=r["entity"], id=r["entity_key"], op=r["op"], data=r["data"], version=r["position"]) for r in rows
    ]
    await _seen(device.device_id, next_cursor)
    return _response(changes, next_cursor, has_more, False, head, device_row["last_seq"])


def _response(changes: list[Change], cursor: int, has_more: bool, reset: bool, head: int, last_seq: int) -> PullResponse:
    return PullResponse(changes=changes, cursor=cursor, has_more=has_more, reset=reset, head=head, last_seq=last_seq,
                        server_time=datetime.now(timezone.utc))


async def _seen(device_id: str, cursor: int) -> None:
    """Last seen and sync lag for the office; written at most every few seconds per device to spare the writer."""
    now = datetime.now(timezone.utc)
    async with write_transaction():
        await Device.update({Device.last_seen_at: now, Device.last_pull_cursor: cursor}).where(
            (Device.device_id == device_id)
            & (Device.last_seen_at.is_null() | (Device.last_seen_at < now - LAST_SEEN_EVERY) | (Device.last_pull_cursor < cursor))
        )


