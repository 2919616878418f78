"""What the generic record service needs to know about one kind of record."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from piccolo.table import Table
from pydantic import BaseModel


@dataclass(frozen=True)
class Reference:
    """A field whose value is the code of a record in another table (it must exist and not be archived)."""

    field: str
    table: type[Table]
    entity: str


@dataclass(frozen=True)
class Children:
    """Lines that belong to a record (BOM components, routing operations), written and read with it."""

    field: str
    table: type[Table]
    parent_column: str
    model: type[BaseModel]
    order_by: str
    csv_prefix: str
    references: tuple[Reference, ...] = ()


@dataclass(frozen=True)
class Resource:
    entity: str
    path: str
    title: str
    table: type[Table]
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    read_model: type[BaseModel]
    search_fields: tuple[str, ...] = ("code", "name")
    filters: tuple[str, ...] = ()
    sort_fields: tuple[str, ...] = ("code", "name", "created_at", "updated_at")
    references: tuple[Reference, ...] = ()
    unique_fields: tuple[str, ...] = ()
    # Fields unique only in combination, such as a BOM's item and version.
    unique_together: tuple[tuple[str, ...], ...] = ()
    children: Children | None = None
    # Cross-field rules on the whole record, after the contract validated each field: returns problems.
    rules: Callable[[dict[str, Any]], list[tuple[str, str, str]]] | None = None
    # Rules that need to read other records (a BOM cycle through other BOMs), run last: returns problems.
    checks: Callable[[dict[str, Any]], Awaitable[list[tuple[str, str, str]]]] | None = None
    # Called in the writer's transaction with the record before and after a write (None when it did not exist):
    # how a change reaches the devices' feed.
    on_change: Callable[[BaseModel | None, BaseModel | None], Awaitable[None]] | None = None
    list_columns: tuple[str, ...] = ("code", "name")
    # Fields the office form shows under a heading of their own (`form.section.<name>`), after the others.
    sections: tuple[tuple[str, tuple[str, ...]], ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def read_permission(self) -> str:
        return f"{self.path}.read"

    @property
    def write_permission(self) -> str:
        return f"{self.path}.write"
