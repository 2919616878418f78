"""The quality area's floor command: how `quality.record` from a device reaches `server.quality.service`."""

from __future__ import annotations

from typing import Any

from schemas.quality import QualityRecordArgs
from server.actors import Who
from server.quality.service import record_inspection
from sync.registry import Command, CommandContext


async def quality_record(ctx: CommandContext, args: QualityRecordArgs) -> dict[str, Any]:
    return await record_inspection(args, Who.device(ctx))


COMMANDS = (
    # A lot inspected without a location is held wherever it lies: those places are locked when met.
    Command("quality.record", 1, QualityRecordArgs, quality_record,
            stock_places=lambda args: [(args.item, args.location)] if args.location else []),
)
