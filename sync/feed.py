"""The change feed: what every write that a device can see appends, in the writer's transaction.

Positions come from the one-row `feed_counter`, taken by UPDATE … RETURNING as the last statement before
commit. The row lock is held until commit, so positions are handed out in commit order: a pull that has seen
position P can never later meet a smaller position committing behind it (DESIGN.md: never skip a change).
Taking it last keeps the serialised section to the feed insert and the commit itself; on PostgreSQL the counter
and the insert are one statement, so the section is one round trip and the commit.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from server.db import (
    FinalStage, WriteContext, current_write, defer_write, defers_writes, json_text, placeholders, sql_executemany,
    sql_fetch,
)
from sync.tables import FeedCounter

PENDING_KEY = "feed_changes"


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


def _pending() -> list[PendingChange]:
    return current_write().buffer(PENDING_KEY)


def _scope_key(entity: str, entity_key: str, visibility: Visibility) -> str:
    return f"{entity}:{entity_key}:{visibility.key()}"


FEED_COLUMNS = ("position", "entity", "entity_key", "op", "data", "site", "warehouse", "work_centre", "route",
                "device_id", "scope_key", "at")
INSERT_FEED = f"INSERT INTO feed_change ({', '.join(FEED_COLUMNS)}) VALUES ({placeholders(len(FEED_COLUMNS))})"


# Counter and insert in one statement: the counter's row stays locked from here to commit.
# The feed's rows, numbered after the counter the commit's statement moves on (`feed_numbers`, see _flush).
INSERT_NUMBERED_FEED = (
    f"INSERT INTO feed_change ({', '.join(FEED_COLUMNS)}) "
    "SELECT feed_numbers.position - $1 + change.n, change.entity, change.entity_key, change.op, change.data::json, "
    "change.site, change.warehouse, change.work_centre, change.route, change.device_id, change.scope_key, $2 "
    "FROM feed_numbers, unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], "
    "$10::text[], $11::text[], $12::text[]) WITH ORDINALITY AS change(entity, entity_key, op, data, site, warehouse, "
    "work_centre, route, device_id, scope_key, n)"
)


def _feed_rows(changes: list[PendingChange]) -> list[tuple]:
    return [(change.entity, change.entity_key, change.op, None if change.data is None else json_text(change.data),
             change.visibility.site, change.visibility.warehouse, change.visibility.work_centre, change.visibility.route,
             change.visibility.device_id,
             _scope_key(change.entity, change.entity_key, change.visibility)) for change in changes]


async def _flush(write: WriteContext) -> None:
    changes: list[PendingChange] = write.buffers.get(PENDING_KEY, [])
    if not changes:
        return
    rows = _feed_rows(changes)
    now = datetime.now(timezone.utc)
    if defers_writes():  # numbered and written with the commit's other writes, in one statement
        defer_write("UPDATE feed_counter SET position = position + $1 WHERE id = 1 RETURNING position",
                    len(rows), name="feed_numbers")
        defer_write(INSERT_NUMBERED_FEED, len(rows), now, *(list(column) for column in zip(*rows)),
                    result="(SELECT position FROM feed_numbers)",
                    on_result=lambda position: write.state.__setitem__("feed_head", position))
        write.state["feed_visibilities"] = {change.visibility for change in changes}
        return
    numbered = await sql_fetch("UPDATE feed_counter SET position = position + $1 WHERE id = 1 RETURNING position", len(rows))
    last = numbered[0]["position"]
    first = last - len(rows) + 1
    await sql_executemany(INSERT_FEED, [(first + offset, *row, now) for offset, row in enumerate(rows)])
    write.state["feed_head"] = last
    write.state["feed_visibilities"] = {change.visibility for change in changes}


async def _announce(write: WriteContext) -> None:
    if _announcer is not None and "feed_head" in write.state:
        await _announcer(write.state["feed_head"], write.state["feed_visibilities"])


# The feed's stage runs last before commit: its position counter is taken as late as possible.
FEED_STAGE = FinalStage(before_commit=_flush, after_commit=_announce)


async def newest_upserts(entity: str, visibilities: dict[str, Visibility]) -> dict[str, dict[str, Any]]:
    """What the devices of each scope hold now of an entity, by key: the data of the newest change the feed keeps for
    (entity, key, visibility), when it is an upsert. Compaction keeps the newest change of each, so this is what a
    device pulls, and what a snapshot gives one that starts over."""
    keys = {_scope_key(entity, key, visibility): key for key, visibility in visibilities.items()}
    if not keys:
        return {}
    rows = await sql_fetch(f"SELECT scope_key, op, data FROM feed_change WHERE scope_key IN ({placeholders(len(keys))}) "
                           "ORDER BY position", *keys)
    newest = {keys[row["scope_key"]]: row for row in rows}
    return {key: json.loads(row["data"]) if isinstance(row["data"], (str, bytes)) else row["data"]
            for key, row in newest.items() if row["op"] == "upsert"}


async def head_position() -> int:
    row = await FeedCounter.select(FeedCounter.position).where(FeedCounter.id == 1).first()
    return row["position"] if row else 0
