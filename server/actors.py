"""Who causes a change: an office user at a desk, a device's mutation on the floor, or the system itself (the demo
loader, a command-line command). One type for every area, so the ledger, the audit trail and each document's history
name the same actor the same way."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from litestar import Request

from sync.registry import CommandContext


class OfficeIdentity(Protocol):
    """What a change needs of an office user (server/accounts/identity.py: OfficeUser). A protocol rather than an
    import, so that accounts, below every area, can take a `Who` without an import cycle."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def roles(self) -> tuple[str, ...]: ...


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
    actor: OfficeIdentity | None = None  # an office user: the change also goes to the audit trail

    @classmethod
    def office(cls, user: OfficeIdentity) -> Who:
        return cls(username=user.username, actor=user)

    @classmethod
    def system(cls) -> Who:
        """The server acting on its own account: loading the demo, a command-line command."""
        return cls()

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

    @property
    def name(self) -> str:
        """How documents and the audit trail name the actor: the username, else the device, else "system"."""
        return self.username or self.device_id or "system"


def office_who(request: Request) -> Who:
    """The office user behind a request (its guard already let them in), as the actor of what the request writes."""
    return Who.office(request.user)
