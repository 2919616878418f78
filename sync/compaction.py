"""Feed compaction: keep only the newest change per entity and scope, so the feed stays a snapshot of the present.

Below the horizon (all but the newest `keep` positions): a change superseded by a newer one for the same entity
and scope goes; deletes go too, and `compacted_through` records the newest delete removed, so a device whose
cursor is older re-snapshots (`reset`) instead of missing a delete; a `mutation_result` goes once its device
has pulled past it.
"""

from __future__ import annotations

from server.db import write_transaction
from sync.tables import FeedChange, FeedCounter


async def compact(keep: int = 100_000) -> dict[str, int]:
    async with write_transaction():
        counter = await FeedCounter.select().where(FeedCounter.id == 1).first()
        horizon = counter["position"] - keep
        if horizon <= 0:
            return {"horizon": max(horizon, 0), "removed": 0, "compacted_through": counter["compacted_through"]}
        before = await FeedChange.count()
        await FeedChange.raw(
            "DELETE FROM feed_change WHERE position <= {} AND EXISTS (SELECT 1 FROM feed_change newer "
            "WHERE newer.scope_key = feed_change.scope_key AND newer.position > feed_change.position)",
            horizon,
        )
        newest_delete = await FeedChange.raw(
            "SELECT MAX(position) AS position FROM feed_change WHERE op = 'delete' AND position <= {}", horizon
        )
        await FeedChange.raw("DELETE FROM feed_change WHERE op = 'delete' AND position <= {}", horizon)
        await FeedChange.raw(
            "DELETE FROM feed_change WHERE entity = 'mutation_result' AND position <= {} AND position <= "
            "(SELECT device.last_pull_cursor FROM device WHERE device.device_id = feed_change.device_id)",
            horizon,
        )
        through = max(counter["compacted_through"], newest_delete[0]["position"] or 0)
        await FeedCounter.update({FeedCounter.compacted_through: through}).where(FeedCounter.id == 1)
        removed = before - await FeedChange.count()
    return {"horizon": horizon, "removed": removed, "compacted_through": through}
