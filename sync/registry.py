"""The floor commands a device may send: name, version, argument contract and handler.

A handler gets the device's context and validated args, changes the database through the same domain functions
the office uses, and returns the effect to report (or raises ApiError to refuse). It never opens a transaction:
push runs it inside the batch's transaction, under a savepoint.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
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
