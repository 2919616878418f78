"""The audit trail: one row per office write, with the record before and after, in the writer's transaction."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from server.accounts.tables import AuditEntry
from server.actors import Who


async def record_audit(
    who: Who,
    action: str,
    entity: str,
    entity_key: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    summary: str = "",
) -> None:
    await AuditEntry.insert(
        AuditEntry(
            at=datetime.now(timezone.utc),
            user_id=who.actor.id if who.actor else None,
            username=who.name,
            action=action,
            entity=entity,
            entity_key=entity_key,
            before=before,
            after=after,
            summary=summary[:2000],
        )
    )
