"""A reader of the server's database run in the test's own process through the bare driver: the engines' input
readers (`read_schedule_input`, `read_promise_input`) take a `fetch`, which the server gives them over one
consistent view (`server.db.read_snapshot`); a test reads a database nothing writes meanwhile, so a plain
connection does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg

from server.db import _sqlite_statement

T = TypeVar("T")
Fetch = Callable[..., Awaitable[list[dict[str, Any]]]]


def read_with_driver(database_url: str, reader: Callable[[Fetch], Awaitable[T]]) -> T:
    if database_url.startswith("postgresql"):
        async def run() -> T:
            connection = await asyncpg.connect(database_url)
            try:
                async def fetch(query: str, *args: Any) -> list[dict[str, Any]]:
                    return [dict(row) for row in await connection.fetch(query, *args)]
                return await reader(fetch)
            finally:
                await connection.close()
        return asyncio.run(run())
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    connection.row_factory = sqlite3.Row
    try:
        async def fetch(query: str, *args: Any) -> list[dict[str, Any]]:
            return [dict(row) for row in connection.execute(_sqlite_statement(query), args).fetchall()]
        return asyncio.run(reader(fetch))
    finally:
        connection.close()
