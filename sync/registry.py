"""The floor commands a device may send: name, version, argument contract and handler.

A handler gets the device's context and validated args, changes the database through the same domain functions
the office uses, and returns the effect to report (or raises ApiError to refuse). It never opens a transaction:
push runs it inside the batch's transaction, under a savepoint. A command that changes on-hand names the stock
places its args touch (`stock_places`), so the push can lock them all before the batch starts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.status_codes import HTTP_503_SERVICE_UNAVAILABLE
from pydantic import BaseModel

from schemas.sync import DeviceScope
from server.errors import ApiError


@dataclass(frozen=True)
class DeviceIdentity:
    device_id: str
    name: str
    scope: DeviceScope


@dataclass(frozen=True)
class CommandContext:
    device: DeviceIdentity
    mutation_id: str
    seq: int
    event_time: datetime | None


Handler = Callable[[CommandContext, Any], Awaitable[dict[str, Any] | None]]
# The stock places (item code, location code) a command's args say it changes: the push locks every place of a
# batch before its first mutation, in one order, so two batches never wait for each other in opposite orders.
StockPlace = tuple[str, str]
Places = Callable[[Any], Iterable[StockPlace]]


def no_places(args: Any) -> Iterable[StockPlace]:
    return ()


class PlacesBusy(ApiError):
    """A stock place a transaction met only after its start is held by another transaction: it does not wait
    there, since a wait out of the canonical order could deadlock. The push runs the batch again with those
    places locked up front; an office request answers 503 (nothing was written)."""

    def __init__(self, places: list[StockPlace]):
        super().__init__(HTTP_503_SERVICE_UNAVAILABLE, "unavailable", "The database is busy: try again",
                         {"retry_after_seconds": 1})
        self.places = places


PlaceLocker = Callable[[Iterable[StockPlace]], Awaitable[None]]
_place_locker: PlaceLocker | None = None


def install_place_locker(locker: PlaceLocker) -> None:
    """How stock places are locked (the inventory area's `lock_stock_places`), named once by server/app.py."""
    global _place_locker
    _place_locker = locker


async def lock_places(places: Iterable[StockPlace]) -> None:
    if _place_locker is None:
        raise RuntimeError("no stock place locker installed: call server.app.wire_areas() once in this process")
    await _place_locker(places)


@dataclass(frozen=True)
class Command:
    name: str
    version: int
    args_model: type[BaseModel]
    handler: Handler
    stock_places: Places = no_places  # a place it cannot name up front is locked when met (or the batch runs again)


_COMMANDS: dict[tuple[str, int], Command] = {}


def install_commands(commands: Iterable[Command]) -> None:
    """The floor commands this process accepts, named once by server/app.py (`wire_areas`)."""
    installed: dict[tuple[str, int], Command] = {}
    for command in commands:
        key = (command.name, command.version)
        if key in installed and installed[key] is not command:
            raise ValueError(f"floor command {command.name}@{command.version} is defined twice")
        installed[key] = command
    _COMMANDS.clear()
    _COMMANDS.update(installed)


def resolve(wire_name: str) -> Command | None:
    """'stock.move' is the newest version; 'stock.move@1' a given one (kept while devices may still queue it)."""
    name, _, version = wire_name.partition("@")
    if version:
        return _COMMANDS.get((name, int(version)))
    versions = [v for (n, v) in _COMMANDS if n == name]
    return _COMMANDS[(name, max(versions))] if versions else None
