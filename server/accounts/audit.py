"""The audit trail: one row per office write, with the record before and after, in the writer's transaction."""

from __future__ import annotations

from datetime import datetime, timezone
from collections.abc import Sequence
from typing import Any

from server.accounts.tables import AuditEntry
from server.actors import Who
from server.db import json_text, sql_copy


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


AUDIT_COLUMNS = ("at", "user_id", "username", "action", "entity", "entity_key", "before", "after", "summary")


async def record_audits(
    who: Who,
    action: str,
    entity: str,
    entries: Sequence[tuple[str, dict[str, Any] | str | None, dict[str, Any] | str | None]],
    summary: str = "",
) -> None:
    """The same rows as `record_audit` for many records of one action (an import): (key, before, after) each, the
    records as dicts or as their JSON text already, in one bulk statement."""
    now = datetime.now(timezone.utc)
    user_id = who.actor.id if who.actor else None
    await sql_copy("audit_entry", AUDIT_COLUMNS, [
        (now, user_id, who.name, action, entity, key, _json(before), _json(after), summary[:2000])
        for key, before, after in entries])


def _json(record: dict[str, Any] | str | None) -> str | None:
    return record if record is None or isinstance(record, str) else json_text(record)
