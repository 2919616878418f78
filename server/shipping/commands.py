"""The shipping area's floor commands: how `shipment.pack`, `shipment.load` and `delivery.sign` from a device
reach `packing.py` and `delivery.py`. Each runs inside the push's transaction; a refusal leaves nothing behind."""

from __future__ import annotations

from typing import Any

from schemas.shipping import DeliverySignArgs, ShipmentLoadArgs, ShipmentPackArgs
from server.actors import Who
from server.shipping import delivery, packing
from sync.registry import Command, CommandContext


async def shipment_pack(ctx: CommandContext, args: ShipmentPackArgs) -> dict[str, Any]:
    return await packing.pack(args, Who.device(ctx))


async def shipment_load(ctx: CommandContext, args: ShipmentLoadArgs) -> dict[str, Any]:
    return await packing.load(args, Who.device(ctx))


async def delivery_sign(ctx: CommandContext, args: DeliverySignArgs) -> dict[str, Any]:
    return await delivery.sign(args, Who.device(ctx))


COMMANDS = (
    Command("shipment.pack", 1, ShipmentPackArgs, shipment_pack,
            stock_places=lambda args: [(content.item, content.location) for content in args.contents]),
    Command("shipment.load", 1, ShipmentLoadArgs, shipment_load),
    Command("delivery.sign", 1, DeliverySignArgs, delivery_sign),
)
