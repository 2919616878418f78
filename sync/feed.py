"""The change feed: what every write that a device can see appends, in the writer's transaction.

Positions come from the one-row `feed_counter`, taken by UPDATE … RETURNING as the last statement before
commit. The row lock is held until commit, so positions are handed out in commit order: a pull that has seen
position P can never later meet a smaller position committing behind it (DESIGN.md: never skip a change).
Taking it last keeps the serialised section to the feed insert and the commit itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


from server.db import WriteContext, current_write
from sync.tables import FeedChange, FeedCounter

PENDING_KEY = "feed_changes"
FEED_INSERT_CHUNK = 2000  # rows of 12 columns per INSERT, under the 32,767-parameter limit


@dataclass(frozen=True)
class Visibility:
    """Which devices may see a change. None in a dimension means every device, whatever its scope there."""

    site: str | None = None
    warehouse: str | None = None
    work_centre: str | None = None
    route: str | None = None
    device_id: str | None = None

    def key(self) -> str:
        return "|".join(v or "" for v in (self.site, self.warehouse, self.work_centre, self.route, self.device_id))


@dataclass(frozen=True)
class PendingChange:
    entity: str
    entity_key: str
    op: str
    data: dict[str, Any] | None
    visibility: Visibility


def record_change(entity: str, entity_key: str, data: dict[str, Any] | None, visibility: Visibility) -> None:
    """Append an upsert (data) or a delete (data None) to the feed of the current write transaction."""
    _pending().append(PendingChange(entity, entity_key, "delete" if data is None else "upsert", data, visibility))


def record_move(entity: str, entity_key: str, data: dict[str, Any] | None, old: Visibility | None, new: Visibility | None) -> None:
    """A change whose visibility may differ before and after: devices that saw the old row and may not see the new
    one get a delete (membership is decided from both rows, here, in the writing transaction)."""
    if old is not None and old != new:
        record_change(entity, entity_key, None, old)
    if new is not None:
        record_change(entity, entity_key, data, new)


Announcer = Callable[[int, set[Visibility]], Awaitable[None]]
_announcer: Announcer | None = None


def set_announcer(announce: Announcer | None) -> None:
    """Who tells live listeners (devices' websockets) that the feed moved; set by the app at start-up."""
    global _announcer
    _announcer = announce


def pending_changes(write: WriteContext) -> list[PendingChange]:
    """The changes this transaction will append; the first call arranges the flush and the announcement."""
    if PENDING_KEY not in write.state:
        write.state[PENDING_KEY] = []
        write.before_commit.append(_flush)
        write.after_commit.append(lambda: _announce(write))
    return write.state[PENDING_KEY]


def _pending() -> list[PendingChange]:
    return pending_changes(current_write())


async def _announce(write: WriteContext) -> None:
    if _announcer is not None and "feed_head" in write.state:
        await _announcer(write.state["feed_head"], write.state["feed_visibilities"])


def _scope_key(change: PendingChange) -> str:
    return f"{change.entity}:{change.entity_key}:{change.visibility.key()}"


async def _flush() -> None:
    write = current_write()
    changes: list[PendingChange] = write.state.get(PENDING_KEY, [])
    if not changes:
        return
    rows = await FeedCounter.raw(
        "UPDATE feed_counter SET position = position + {} WHERE id = 1 RETURNING position", len(changes)
    )
    last = rows[0]["position"]
    first = last - len(changes) + 1
    now = datetime.now(timezone.utc)
    feed_rows = [
        FeedChange(
            position=first + offset,
            entity=change.entity,
            entity_key=change.entity_key,
            op=change.op,
            data=change.data,
            site=change.visibility.site,
            warehouse=change.visibility.warehouse,
            work_centre=change.visibility.work_centre,
            route=change.visibility.route,
            device_id=change.visibility.device_id,
            scope_key=_scope_key(change),
            at=now,
        )
        for offset, change in enumerate(changes)
    ]
    # PostgreSQL takes at most 32,767 parameters per statement: a large CSV import writes its feed in chunks.
    for start in range(0, len(feed_rows), FEED_INSERT_CHUNK):
        await FeedChange.insert(*feed_rows[start : start + FEED_INSERT_CHUNK])
    write.state["feed_head"] = last
    write.state["feed_visibilities"] = {change.visibility for change in changes}


async def head_position() -> int:
    row = await FeedCounter.select(FeedCounter.position).where(FeedCounter.id == 1).first()
    return row["position"] if row else 0
