"""Who causes a change: an office user at a desk, or a device's mutation on the floor. One type for every area, so
the ledger, the audit trail and each document's history name the same actor the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.accounts.identity import OfficeUser
from sync.registry import CommandContext


@dataclass(frozen=True)
class Who:
    """A device's mutation (its id, the device, the operator's event time and the device's scope: site, warehouses,
    work centres, route) or an office user."""

    mutation_id: str | None = None
    device_id: str | None = None
    username: str | None = None
    event_time: datetime | None = None
    allowed_warehouses: frozenset[str] | None = None  # a device's scope; None = no restriction
    allowed_site: str | None = None
    work_centres: frozenset[str] | None = None  # a device's work centres; None = no restriction
    route: str | None = None  # a driver's device: the route it signs for
    actor: OfficeUser | None = None  # an office user: the change also goes to the audit trail

    @classmethod
    def office(cls, user: OfficeUser) -> Who:
        return cls(username=user.username, actor=user)

    @classmethod
    def device(cls, ctx: CommandContext) -> Who:
        """The device that sent a floor command, limited to its scope."""
        scope = ctx.device.scope
        return cls(
            mutation_id=ctx.mutation_id,
            device_id=ctx.device.device_id,
            event_time=ctx.event_time,
            allowed_site=scope.site,
            allowed_warehouses=frozenset(scope.warehouses) if scope.warehouses else None,
            work_centres=frozenset(scope.work_centres) if scope.work_centres else None,
            route=scope.route,
        )

    @property
    def on_a_device(self) -> bool:
        return self.device_id is not None
