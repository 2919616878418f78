"""The audit trail: one row per office write, with the record before and after, in the writer's transaction."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from server.accounts.identity import OfficeUser
from server.accounts.tables import AuditEntry


async def record_audit(
    actor: OfficeUser | None,
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
            user_id=actor.id if actor else None,
            username=actor.username if actor else "system",
            action=action,
            entity=entity,
            entity_key=entity_key,
            before=before,
            after=after,
            summary=summary[:2000],
        )
    )
