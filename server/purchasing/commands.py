"""The purchasing area's floor command: `receipt.receive` from a device reaches receipts.py, as the desk's receipt does."""

from __future__ import annotations

from typing import Any

from schemas.inventory import ReceiptArgs
from server.actors import Who
from server.purchasing.receipts import receive
from sync.registry import Command, CommandContext


async def receipt_receive(ctx: CommandContext, args: ReceiptArgs) -> dict[str, Any]:
    return await receive(args, Who.device(ctx))


COMMANDS = (
    Command("receipt.receive", 1, ReceiptArgs, receipt_receive, stock_places=lambda args: [(args.item, args.location)]),
)
