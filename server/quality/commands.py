"""The quality area's floor command: how `quality.record` from a device reaches `server.quality.service`."""

from __future__ import annotations

from typing import Any

from schemas.quality import QualityRecordArgs
from server.inventory.commands import who_for
from server.quality.service import record_inspection
from sync.registry import CommandContext, register


@register("quality.record", 1, QualityRecordArgs)
async def quality_record(ctx: CommandContext, args: QualityRecordArgs) -> dict[str, Any]:
    return await record_inspection(args, who_for(ctx))
