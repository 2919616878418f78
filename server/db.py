"""The database engine (SQLite or PostgreSQL, from settings) and the one way to open a write transaction."""

from __future__ import annotations

from pathlib import Path
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


def write_transaction():
    """A transaction for a business write.

    On SQLite it starts IMMEDIATE, taking the write lock up front: a DEFERRED transaction that reads and then
    writes can fail with "database is locked" when another writer got in between.
    """
    if isinstance(DB, SQLiteEngine):
        return DB.transaction(transaction_type=TransactionType.immediate)
    return DB.transaction()


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
