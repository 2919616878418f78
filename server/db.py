"""The database engine (SQLite or PostgreSQL, from settings) and the one way to open a write transaction."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.settings import database_url_from_env, is_postgres_url, sqlite_path_from_url


def make_engine(database_url: str) -> Engine:
    if is_postgres_url(database_url):
        parsed = urlparse(database_url)
        config = {
            "host": parsed.hostname or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": unquote(parsed.username or "postgres"),
            "database": parsed.path.lstrip("/") or "postgres",
        }
        if parsed.password:
            config["password"] = unquote(parsed.password)
        # No extensions: a production role need not be allowed to CREATE EXTENSION; ids come from Python.
        return PostgresEngine(config=config, extensions=())
    # timeout is SQLite's busy timeout: writers wait for the lock instead of failing at once.
    return SQLiteEngine(path=str(sqlite_path_from_url(database_url)), timeout=30)


DB: Engine = make_engine(database_url_from_env())


@dataclass
class WriteContext:
    """What one business transaction collects: work to do just before commit (the change feed is written
    last, to hold its position counter as briefly as possible) and events to publish once it has committed."""

    transaction: Any
    before_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


_current_write: ContextVar[WriteContext | None] = ContextVar("floorsync_write", default=None)
log = logging.getLogger("floorsync.db")


def current_write() -> WriteContext:
    context = _current_write.get()
    if context is None:
        raise RuntimeError("this must run inside write_transaction()")
    return context


def _begin():
    # On SQLite the transaction starts IMMEDIATE, taking the write lock up front: a DEFERRED transaction that
    # reads and then writes can fail with "database is locked" when another writer got in between.
    if isinstance(DB, SQLiteEngine):
        return DB.transaction(transaction_type=TransactionType.immediate)
    return DB.transaction()


@asynccontextmanager
async def write_transaction() -> AsyncIterator[WriteContext]:
    """The one way to open a business write. Nested calls join the outer transaction.

    Nothing registered in `after_commit` runs unless the transaction committed, so no live event ever
    announces what was rolled back; a failure there is logged, never turned into a failed request.
    """
    outer = _current_write.get()
    if outer is not None:
        yield outer
        return
    async with _begin() as transaction:
        context = WriteContext(transaction=transaction)
        token = _current_write.set(context)
        try:
            yield context
            for hook in context.before_commit:
                await hook()
        finally:
            _current_write.reset(token)
    for hook in context.after_commit:
        try:
            await hook()
        except Exception:  # noqa: BLE001 - the write is committed; a lost event costs latency, not data
            log.exception("after-commit hook failed")


async def prepare_engine() -> None:
    """Per-process start-up: WAL for SQLite (readers never block the writer), a pool for PostgreSQL."""
    if isinstance(DB, SQLiteEngine):
        Path(DB.path).parent.mkdir(parents=True, exist_ok=True)
        await DB.run_ddl("PRAGMA journal_mode=WAL")
    else:
        await DB.start_connection_pool(min_size=1, max_size=10)


async def release_engine() -> None:
    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()
