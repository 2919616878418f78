"""The inventory area's floor commands: how `stock.move` and `stock.count` from a device reach moves.py."""

from __future__ import annotations

from typing import Any

from schemas.sync import StockCountArgs, StockMoveArgs
from server.inventory.moves import count_stock, move_stock
from server.actors import Who
from sync.registry import Command, CommandContext


async def stock_move(ctx: CommandContext, args: StockMoveArgs) -> dict[str, Any]:
    return await move_stock(args.item, args.lot, args.from_location, args.to_location, args.quantity, Who.device(ctx), args.serials,
                            args.for_order)


async def stock_count(ctx: CommandContext, args: StockCountArgs) -> dict[str, Any]:
    return await count_stock(args.item, args.lot, args.location, args.counted_quantity, args.reason, Who.device(ctx))


COMMANDS = (
    Command("stock.move", 1, StockMoveArgs, stock_move,
            stock_places=lambda args: [(args.item, args.from_location), (args.item, args.to_location)]),
    Command("stock.count", 1, StockCountArgs, stock_count, stock_places=lambda args: [(args.item, args.location)]),
)
