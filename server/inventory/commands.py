"""The inventory area's floor commands: how `stock.move`, `stock.count` and `receipt.receive` from a device reach
moves.py and receipts.py."""

from __future__ import annotations

from typing import Any

from schemas.inventory import ReceiptArgs
from schemas.sync import StockCountArgs, StockMoveArgs
from server.inventory.moves import count_stock, move_stock
from server.inventory.receipts import receive
from server.inventory.stock import Who
from sync.registry import CommandContext, register


def who_for(ctx: CommandContext) -> Who:
    scope = ctx.device.scope
    return Who(
        mutation_id=ctx.mutation_id,
        device_id=ctx.device.device_id,
        event_time=ctx.event_time,
        allowed_site=scope.site,
        allowed_warehouses=frozenset(scope.warehouses) if scope.warehouses else None,
    )


@register("stock.move", 1, StockMoveArgs)
async def stock_move(ctx: CommandContext, args: StockMoveArgs) -> dict[str, Any]:
    return await move_stock(args.item, args.lot, args.from_location, args.to_location, args.quantity, who_for(ctx), args.serials)


@register("stock.count", 1, StockCountArgs)
async def stock_count(ctx: CommandContext, args: StockCountArgs) -> dict[str, Any]:
    return await count_stock(args.item, args.lot, args.location, args.counted_quantity, args.reason, who_for(ctx))


@register("receipt.receive", 1, ReceiptArgs)
async def receipt_receive(ctx: CommandContext, args: ReceiptArgs) -> dict[str, Any]:
    return await receive(args, who_for(ctx))
