"""The shipping area's floor commands: how `shipment.pack`, `shipment.load` and `delivery.sign` from a device
reach `packing.py` and `delivery.py`. Each runs inside the push's transaction; a refusal leaves nothing behind."""

from __future__ import annotations

from typing import Any

from schemas.shipping import DeliverySignArgs, ShipmentLoadArgs, ShipmentPackArgs
from server.inventory.commands import who_for
from server.shipping import delivery, packing
from server.shipping.rules import Scope
from sync.registry import CommandContext, register


def scope_of(ctx: CommandContext) -> Scope:
    scope = ctx.device.scope
    return Scope(site=scope.site, warehouses=frozenset(scope.warehouses), route=scope.route)


@register("shipment.pack", 1, ShipmentPackArgs)
async def shipment_pack(ctx: CommandContext, args: ShipmentPackArgs) -> dict[str, Any]:
    return await packing.pack(args, who_for(ctx), scope_of(ctx))


@register("shipment.load", 1, ShipmentLoadArgs)
async def shipment_load(ctx: CommandContext, args: ShipmentLoadArgs) -> dict[str, Any]:
    return await packing.load(args, scope_of(ctx))


@register("delivery.sign", 1, DeliverySignArgs)
async def delivery_sign(ctx: CommandContext, args: DeliverySignArgs) -> dict[str, Any]:
    return await delivery.sign(args, ctx.device.device_id, ctx.mutation_id, scope_of(ctx))
