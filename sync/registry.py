"""The floor commands a device may send: name, version, argument contract and handler.

A handler gets the device's context and validated args, changes the database through the same domain functions
the office uses, and returns the effect to report (or raises ApiError to refuse). It never opens a transaction:
push runs it inside the batch's transaction, under a savepoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from schemas.sync import DeviceScope


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


@dataclass(frozen=True)
class Command:
    name: str
    version: int
    args_model: type[BaseModel]
    handler: Handler


_COMMANDS: dict[tuple[str, int], Command] = {}


def register(name: str, version: int, args_model: type[BaseModel]) -> Callable[[Handler], Handler]:
    def decorate(handler: Handler) -> Handler:
        _COMMANDS[(name, version)] = Command(name, version, args_model, handler)
        return handler

    return decorate


def resolve(wire_name: str) -> Command | None:
    """'stock.move' is the newest version; 'stock.move@1' a given one (kept while devices may still queue it)."""
    name, _, version = wire_name.partition("@")
    if version:
        return _COMMANDS.get((name, int(version)))
    versions = [v for (n, v) in _COMMANDS if n == name]
    return _COMMANDS[(name, max(versions))] if versions else None
