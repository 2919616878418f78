"""The database engine (SQLite or PostgreSQL, from settings) and the one way to open a write transaction."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import unquote, urlparse

import msgspec
from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from server.settings import (
    database_url_from_env, db_lock_timeout_ms_from_env, db_pool_size_from_env, is_postgres_url, sqlite_path_from_url,
)


P = ParamSpec("P")
R = TypeVar("R")


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
class Deferred:
    """A write that can wait for commit (PostgreSQL): `sql` is one data-modifying statement, its parameters numbered
    from $1 in `args`. The commit sends all of them as one statement (each a CTE, `name`d where another reads its
    RETURNING), so a push's ledger rows, log rows, on-hand rows, feed entries and device row cost one round trip,
    not one each. `result` is an expression the final SELECT evaluates (over the named CTEs) and hands to
    `on_result`."""

    sql: str
    args: Sequence[Any]
    name: str | None = None
    result: str | None = None
    on_result: Callable[[Any], None] | None = None


@dataclass
class WriteContext:
    """What one business transaction collects and does at its edges.

    - `buffer(name)`: rows and changes to write in one go at commit (append-only ledger rows, mutation outcomes,
      feed changes): a savepoint rolled back truncates them, so a refused step leaves no trace there either.
    - `after_commit`: events to publish once it has committed (work at commit itself is a final stage, below).
    - `state`: per-transaction memo (master-data lookups a batch repeats, for instance).
    """

    transaction: Any
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    buffers: dict[str, list[Any]] = field(default_factory=dict)
    savepoints_taken: int = 0
    rollbacks: int = 0  # savepoints rolled back so far: a memo of buffered rows made before one is stale
    deferred: list[Deferred] = field(default_factory=list)  # PostgreSQL: the commit's writes, sent as one statement

    def buffer(self, name: str) -> list[Any]:
        return self.buffers.setdefault(name, [])

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A step that either completes or leaves nothing behind: its rows roll back to the savepoint, and what it
        buffered or queued for commit is dropped with them."""
        buffered = {name: len(rows) for name, rows in self.buffers.items()}
        queued, deferred = len(self.after_commit), len(self.deferred)
        self.savepoints_taken += 1
        name = f"step_{self.savepoints_taken}"
        await sql_execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await sql_execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.rollbacks += 1
            for buffer_name, rows in self.buffers.items():
                del rows[buffered.get(buffer_name, 0):]
            del self.after_commit[queued:]
            del self.deferred[deferred:]
            raise
        await sql_execute(f"RELEASE SAVEPOINT {name}")


Stage = Callable[[WriteContext], Awaitable[None]]


@dataclass(frozen=True)
class FinalStage:
    """Work a write transaction ends with (`before_commit`: buffered on-hand rows, the change feed) and what it
    announces once committed (`after_commit`)."""

    before_commit: Stage | None = None
    after_commit: Stage | None = None


# Installed once per process by server/app.py (`wire_areas`), in the order they must run.
_final_stages: tuple[FinalStage, ...] = ()


def install_final_stages(stages: Sequence[FinalStage]) -> None:
    global _final_stages
    _final_stages = tuple(stages)


_current_write: ContextVar[WriteContext | None] = ContextVar("floorsync_write", default=None)
log = logging.getLogger("floorsync.db")


def current_write() -> WriteContext:
    context = _current_write.get()
    if context is None:
        raise RuntimeError("this must run inside write_transaction(), opened by the entry point")
    return context


def write_in_progress() -> WriteContext | None:
    """The write transaction this code runs in, if any."""
    return _current_write.get()


def needs_write(service: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
    """Marks a service that runs inside its entry point's transaction (a controller, a page handler, the push), and
    refuses to run outside one: there each ORM statement would commit on its own, half an action at a time."""

    @wraps(service)
    async def inside_a_write(*args: P.args, **kwargs: P.kwargs) -> R:
        current_write()
        return await service(*args, **kwargs)

    return inside_a_write


def _begin():
    # On SQLite the transaction starts IMMEDIATE, taking the write lock up front: a DEFERRED transaction that
    # reads and then writes can fail with "database is locked" when another writer got in between.
    if isinstance(DB, SQLiteEngine):
        return DB.transaction(transaction_type=TransactionType.immediate)
    return DB.transaction()


@asynccontextmanager
async def write_transaction() -> AsyncIterator[WriteContext]:
    """The one way to open a business write, by the entry point of the action (a controller, a page handler, the
    push, a command-line command, a background watch); services run inside it (`needs_write`) and never open one.
    A second one opened inside the first is a mistake of structure, refused at once.

    At the end: buffered inserts, final stages (on hand, then the feed), commit. Nothing registered in
    `after_commit` runs unless the transaction committed, so no live event ever announces what was rolled back;
    a failure there is logged, never turned into a failed request.
    """
    if _current_write.get() is not None:
        raise RuntimeError("a write transaction is open already: the entry point opens it, services run inside it")
    if not _final_stages:  # without them the on-hand rows and the change feed would silently not be written
        raise RuntimeError("no final stages installed: call server.app.wire_areas() once in this process")
    async with _begin() as transaction:
        context = WriteContext(transaction=transaction)
        token = _current_write.set(context)
        try:
            yield context
            await _flush_inserts(context)
            for stage in _final_stages:
                if stage.before_commit is not None:
                    await stage.before_commit(context)
            await _send_deferred(context)
        finally:
            _current_write.reset(token)
    after = [*context.after_commit,
             *(lambda stage=stage: stage.after_commit(context) for stage in _final_stages if stage.after_commit)]
    for hook in after:
        try:
            await hook()
        except Exception:  # noqa: BLE001 - the write is committed; a lost event costs latency, not data
            log.exception("after-commit hook failed")


class _RollBack(Exception):
    """Ends a trial write: the transaction rolls back and nothing after commit runs."""


@asynccontextmanager
async def trial_write() -> AsyncIterator[WriteContext]:
    """A write that is always rolled back: a preview runs the real action in it and shows what it did, so the
    preview is exactly what the action will do, and nothing of it is kept or announced."""
    try:
        async with write_transaction() as context:
            yield context
            raise _RollBack
    except _RollBack:
        pass


# -- the fast path ----------------------------------------------------------------------------------------
# The push of a device batch runs a handful of statements per mutation; through the ORM each costs far more
# Python than the database spends on it. These run a statement straight on the current write's connection.
# Statements are written with PostgreSQL's $1 placeholders; SQLite reads the same numbers as ?1.

_PLACEHOLDER = re.compile(r"\$(\d+)")
INSERT_PREFIX = "insert:"


@lru_cache(maxsize=512)
def _sqlite_statement(query: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", query)


def _connection() -> Any:
    return current_write().transaction.connection


async def sql_fetch(query: str, *args: Any) -> list[dict[str, Any]]:
    connection = _connection()
    if DB.engine_type == "postgres":
        return [dict(row) for row in await connection.fetch(query, *args)]
    async with connection.execute(_sqlite_statement(query), args) as cursor:
        return list(await cursor.fetchall())  # Piccolo's connection yields dicts


async def sql_read(query: str, *args: Any) -> list[dict[str, Any]]:
    """A read on the fast path, inside a write (its connection) or outside one (a pooled connection)."""
    if _current_write.get() is not None:
        return await sql_fetch(query, *args)
    if isinstance(DB, PostgresEngine):
        if DB.pool is not None:
            return [dict(row) for row in await DB.pool.fetch(query, *args)]
        connection = await DB.get_new_connection()
        try:
            return [dict(row) for row in await connection.fetch(query, *args)]
        finally:
            await connection.close()
    connection = await DB.get_connection()  # SQLite: a connection per read, as Piccolo itself does
    try:
        async with connection.execute(_sqlite_statement(query), args) as cursor:
            return list(await cursor.fetchall())
    finally:
        await connection.close()


Fetch = Callable[..., Awaitable[list[dict[str, Any]]]]


@asynccontextmanager
async def read_snapshot() -> AsyncIterator[Fetch]:
    """One consistent view for a long read of many tables (the input of an MRP run): every read through the
    yielded `fetch` sees the database as it was at the first one, whatever commits meanwhile. PostgreSQL: a
    read-only REPEATABLE READ transaction; SQLite (WAL): one read transaction on one connection. Nothing is
    written, nothing is locked, writers are not held up."""
    if isinstance(DB, PostgresEngine):
        connection = await DB.pool.acquire() if DB.pool is not None else await DB.get_new_connection()
        try:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                async def fetch(query: str, *args: Any) -> list[dict[str, Any]]:
                    return [dict(row) for row in await connection.fetch(query, *args)]

                yield fetch
        finally:
            if DB.pool is not None:
                await DB.pool.release(connection)
            else:
                await connection.close()
        return
    connection = await DB.get_connection()
    try:
        await connection.execute("BEGIN")

        async def fetch(query: str, *args: Any) -> list[dict[str, Any]]:
            async with connection.execute(_sqlite_statement(query), args) as cursor:
                return list(await cursor.fetchall())

        try:
            yield fetch
        finally:
            await connection.execute("ROLLBACK")
    finally:
        await connection.close()


async def sql_execute(query: str, *args: Any) -> None:
    connection = _connection()
    if DB.engine_type == "postgres":
        await connection.execute(query, *args)
    else:
        await connection.execute(_sqlite_statement(query), args)


async def sql_executemany(query: str, rows: Sequence[Sequence[Any]]) -> None:
    connection = _connection()
    if DB.engine_type == "postgres":
        await connection.executemany(query, rows)  # pipelined: one round trip for the lot
    else:
        await connection.executemany(_sqlite_statement(query), rows)


async def sql_copy(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Many rows into one table on the current write: PostgreSQL's COPY (one stream, no statement per row), SQLite's
    executemany. For bulk results such as an MRP plan's hundreds of thousands of rows."""
    if not rows:
        return
    connection = _connection()
    if DB.engine_type == "postgres":
        await connection.copy_records_to_table(table, records=rows, columns=list(columns))
    else:
        marks = ", ".join(f"?{n}" for n in range(1, len(columns) + 1))
        await connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def defers_writes() -> bool:
    """Whether writes that can wait for commit are sent with it in one statement (`defer_write`): PostgreSQL."""
    return DB.engine_type == "postgres"


def defer_write(sql: str, *args: Any, name: str | None = None, result: str | None = None,
                on_result: Callable[[Any], None] | None = None) -> None:
    """Send this data-modifying statement with the commit (PostgreSQL only: see `Deferred`)."""
    current_write().deferred.append(Deferred(sql, args, name, result, on_result))


_PARAMETER = re.compile(r"\$(\d+)")


async def _send_deferred(context: WriteContext) -> None:
    writes, context.deferred = context.deferred, []
    if not writes:
        return
    if len(writes) == 1 and writes[0].result is None:
        await sql_execute(writes[0].sql, *writes[0].args)
        return
    parts, args, results = [], [], []
    for number, write in enumerate(writes):
        offset = len(args)
        sql = _PARAMETER.sub(lambda m, offset=offset: f"${int(m.group(1)) + offset}", write.sql)
        parts.append(f"{write.name or f'write_{number}'} AS ({sql})")
        args.extend(write.args)
        if write.result is not None:
            results.append(write)
    select = ", ".join(f"{write.result} AS result_{n}" for n, write in enumerate(results)) or "1"
    row = (await sql_fetch(f"WITH {', '.join(parts)} SELECT {select}", *args))[0]
    for n, write in enumerate(results):
        if write.on_result is not None:
            write.on_result(row[f"result_{n}"])


_column_types: dict[str, dict[str, str]] = {}


async def column_types(table: str) -> dict[str, str]:
    """A table's column types as PostgreSQL writes them (`character varying(40)`), read once per process: what
    `unnest` casts a column's array of values to."""
    if table not in _column_types:
        rows = await sql_fetch("SELECT attname, format_type(atttypid, atttypmod) AS type FROM pg_attribute "
                               "WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped", table)
        _column_types[table] = {row["attname"]: row["type"] for row in rows}
    return _column_types[table]


async def defer_insert_rows(table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Rows of one table written with the commit as one INSERT over arrays (PostgreSQL)."""
    types = await column_types(table)
    arrays = ", ".join(f"${n}::{types[column]}[]" for n, column in enumerate(columns, start=1))
    defer_write(f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})",
                *(list(values) for values in zip(*rows)))


def json_text(value: Any) -> str:
    """JSON for a JSON column on the fast path (msgspec, which Litestar already brings: several times faster
    than the standard library for the small documents the feed and the log hold)."""
    return msgspec.json.encode(value).decode()


def placeholders(count: int, start: int = 1) -> str:
    return ", ".join(f"${n}" for n in range(start, start + count))


def defer_insert(table: str, columns: tuple[str, ...], row: tuple[Any, ...]) -> None:
    """Insert this row at commit, with every other row for the same table and columns, in one statement."""
    current_write().buffer(f"{INSERT_PREFIX}{table}({', '.join(columns)})").append(row)


async def _flush_inserts(context: WriteContext) -> None:
    for name, rows in context.buffers.items():
        if name.startswith(INSERT_PREFIX) and rows:
            target = name[len(INSERT_PREFIX):]
            if defers_writes():
                table, _, columns = target.partition("(")
                await defer_insert_rows(table, [c.strip() for c in columns.rstrip(")").split(",")], rows)
            else:
                await sql_executemany(f"INSERT INTO {target} VALUES ({placeholders(len(rows[0]))})", rows)
            rows.clear()


async def _back_to_pool(connection: Any) -> None:
    """asyncpg resets every connection it takes back (advisory locks, cursors, LISTEN, settings): a round trip
    per request. Floorsync keeps no session state on a connection (settings are per transaction), so only an
    open transaction, which a cancelled request could leave, is ended."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


# A statement waits at most FLOORSYNC_DB_LOCK_TIMEOUT_MS (5 s by default) for a lock, then fails as a transient fault
# (a push retries, then answers 503; an office request answers 503): a stuck writer cannot hold the pool hostage.


async def prepare_engine() -> None:
    """Per-process start-up: WAL for SQLite (readers never block the writer), a pool for PostgreSQL."""
    if isinstance(DB, SQLiteEngine):
        Path(DB.path).parent.mkdir(parents=True, exist_ok=True)
        await DB.run_ddl("PRAGMA journal_mode=WAL")
    else:
        # Set per connection when it opens (no statement per transaction); sessions keep no other state.
        await DB.start_connection_pool(min_size=1, max_size=db_pool_size_from_env(), reset=_back_to_pool,
                                       server_settings={"lock_timeout": str(db_lock_timeout_ms_from_env())})


async def release_engine() -> None:
    if isinstance(DB, PostgresEngine):
        await DB.close_connection_pool()
