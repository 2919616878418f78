"""Push: apply a device's mutations exactly once (DESIGN.md section 2).

One transaction per batch. The device row is locked first, so two pushes from one device (two tabs, a retry
racing its original) run one after the other; each mutation's effect, its log row, its `mutation_result` feed
entry and the device's `last_seq` commit together. A business refusal rolls back that mutation's effect and still
consumes the seq: a batch first runs straight through (the common case, all applied); at the first refusal that
attempt is rolled back whole and the batch runs again with a savepoint around each mutation. A transient
database fault aborts the whole batch (nothing consumed) and, if the server's own retries do not clear it,
becomes a 503 the device retries later.

Stock places: after the device row, every place the batch's commands name (`stock_places`) is locked in one
canonical order before the first mutation runs (server/inventory/stock.py), so batches moving A->B and B->A queue
behind each other instead of deadlocking, and a hot bin degrades to serial speed. A place a handler meets only on
the way is tried without waiting; if it is busy (PlacesBusy), the batch runs again with that place locked up front.

The statements go straight to the driver (server.db's fast path), master data is read once per batch, and the
append-only rows (ledger, log, feed) are written at commit in one pipelined statement per table. At most
PUSH_SHARE_OF_POOL of the process's database connections push at once: the rest stay free for office reads and
writes however long pushes queue for a hot bin.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import asyncpg
from piccolo.utils.encoding import load_json
from pydantic import ValidationError

from schemas.sync import Mutation, MutationError, MutationResult, PushRequest, PushResponse
from server.db import (
    DB, WriteContext, defer_insert, defer_write, defers_writes, json_text, placeholders, sql_execute, sql_fetch,
    write_transaction,
)
from server.errors import ApiError
from server.settings import db_pool_size_from_env
from sync.feed import Visibility, record_change
from sync.registry import Command, CommandContext, DeviceIdentity, PlacesBusy, StockPlace, lock_places, resolve

log = logging.getLogger("floorsync.sync.push")
SERVER_RETRIES = 3
PLACE_RELEARNS = 3  # attempts run again because a place met on the way was busy (next time it is locked first)
PUSH_SHARE_OF_POOL = 0.75
_push_slots: asyncio.Semaphore | None = None


def _slots() -> asyncio.Semaphore:
    global _push_slots
    if _push_slots is None:
        _push_slots = asyncio.Semaphore(max(1, int(db_pool_size_from_env() * PUSH_SHARE_OF_POOL)))
    return _push_slots


class TransientFault(Exception):
    """The database could not take the batch now (down, overloaded, serialization failure, deadlock)."""


def is_transient(exc: BaseException) -> bool:
    # A lock wait cut short (lock_timeout) or a statement cancelled (statement_timeout) is load, not a verdict.
    if isinstance(exc, (asyncpg.exceptions.SerializationError, asyncpg.exceptions.DeadlockDetectedError,
                        asyncpg.exceptions.LockNotAvailableError, asyncpg.exceptions.QueryCanceledError,
                        asyncpg.exceptions.TooManyConnectionsError, asyncpg.exceptions.CannotConnectNowError,
                        asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.exceptions.InterfaceError,
                        ConnectionError, OSError, TimeoutError)):
        return True
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(moment: datetime | None) -> datetime | None:
    """A device clock without a zone is taken as UTC (the protocol sends UTC)."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


class _Refused(Exception):
    """A mutation of a batch run without savepoints was refused: the attempt is abandoned and run with them."""


async def push(device: DeviceIdentity, request: PushRequest) -> PushResponse:
    careful = False
    learned: set[StockPlace] = set()  # places met on the way: locked up front from the next attempt on
    faults = relearns = 0
    while faults < SERVER_RETRIES and relearns <= PLACE_RELEARNS:
        try:
            async with _slots():
                if not careful:
                    try:
                        return await _push_once(device, request, learned, careful=False)
                    except _Refused:
                        careful = True  # run again below, outside this handler, so its log is not chained to this
                return await _push_once(device, request, learned, careful=True)
        except PlacesBusy as exc:
            learned.update(exc.places)
            relearns += 1
        except Exception as exc:
            if not is_transient(exc):
                raise
            faults += 1
            log.warning("push from %s hit a transient fault (%s), attempt %d", device.device_id, type(exc).__name__, faults)
            await asyncio.sleep(0.05 * (2**faults) * (1 + random.random()))
    raise TransientFault("the database is busy or unavailable")


async def _lock_device(device_id: str, batch: list[Mutation]) -> tuple[int, set[str]]:
    """The device's last seq, its row locked for this batch, and which of the batch's ids are already logged
    (one round trip for both). On SQLite the IMMEDIATE transaction already holds the single write lock."""
    ids = [str(m.id) for m in batch] or [""]
    lock = " FOR UPDATE OF device" if DB.engine_type == "postgres" else ""
    rows = await sql_fetch(
        "SELECT device.last_seq, logged.mutation_id FROM device LEFT JOIN mutation_log logged "
        f"ON logged.mutation_id IN ({placeholders(len(ids), start=2)}) WHERE device.device_id = $1{lock}",
        device_id, *ids,
    )
    return rows[0]["last_seq"], {row["mutation_id"] for row in rows if row["mutation_id"] is not None}


async def _push_once(device: DeviceIdentity, request: PushRequest, learned: set[StockPlace], careful: bool) -> PushResponse:
    results: list[MutationResult] = []
    async with write_transaction() as write:
        last_seq, logged_ids = await _lock_device(device.device_id, request.mutations)
        stored = await _stored_results(device, [m for m in request.mutations if m.seq <= last_seq])
        parsed = {m.seq: _parse(m) for m in _to_apply(request.mutations, last_seq)}
        await lock_places(learned.union(*(p.command.stock_places(p.args) for p in parsed.values() if p.args is not None)))
        seen_ids = logged_ids
        for mutation in request.mutations:
            if mutation.seq <= last_seq:
                results.append(_answer_again(mutation, stored.get(mutation.seq)))
                continue
            if mutation.seq != last_seq + 1:
                results.append(MutationResult(seq=mutation.seq, id=mutation.id, status="gap", expected=last_seq + 1))
                break
            results.append(await _apply(write, device, mutation, parsed[mutation.seq], seen_ids, careful))
            last_seq = mutation.seq
        seen = ("UPDATE device SET last_seq = $1, last_seen_at = $2, pending_reported = COALESCE($3, pending_reported), "
                "app_version = COALESCE($4, app_version) WHERE device_id = $5",
                last_seq, _now(), request.pending, request.app_version or None, device.device_id)
        if defers_writes():
            defer_write(*seen)  # with the commit's other writes, in one statement
        else:
            await sql_execute(*seen)
    return PushResponse(results=results, last_seq=last_seq, server_time=_now())


async def _stored_results(device: DeviceIdentity, repeated: list[Mutation]) -> dict[int, dict[str, Any]]:
    """The logged outcomes of the mutations this batch repeats, by seq (one query for the lot)."""
    if not repeated:
        return {}
    seqs = [m.seq for m in repeated]
    rows = await sql_fetch(
        "SELECT seq, mutation_id, status, error, effect FROM mutation_log WHERE device_id = $1 AND seq >= $2 AND seq <= $3",
        device.device_id, min(seqs), max(seqs),
    )
    return {row["seq"]: {**row, "error": _from_json(row["error"]), "effect": _from_json(row["effect"])} for row in rows}


def _from_json(text: str | None) -> Any:
    return None if text is None else load_json(text)


def _answer_again(mutation: Mutation, row: dict[str, Any] | None) -> MutationResult:
    if row is None or str(mutation.id) not in (row["mutation_id"], _refused_id(row)):
        # The device reused a seq for a different mutation: a client bug. Nothing is applied; say so.
        return MutationResult(
            seq=mutation.seq, id=mutation.id, status="rejected",
            error=MutationError(code="seq_conflict", message=f"seq {mutation.seq} was already used by another mutation",
                                details={"stored_id": row["mutation_id"] if row else None}),
        )
    return MutationResult(
        seq=mutation.seq, id=mutation.id, status="duplicate", outcome=row["status"],
        error=MutationError(**row["error"]) if row["error"] else None, effect=row["effect"],
    )


def _refused_id(row: dict[str, Any]) -> str | None:
    """The id a `duplicate_id` refusal was sent with (its log row is kept under an id of its own)."""
    error = row["error"] or {}
    return error.get("details", {}).get("id") if error.get("code") == "duplicate_id" else None


def _rejection(code: str, message: str, details: dict[str, Any] | None = None) -> MutationError:
    return MutationError(code=code, message=message, details=details or {})


def _to_apply(mutations: list[Mutation], last_seq: int) -> list[Mutation]:
    """The mutations this batch will apply: from last_seq + 1 on, up to the first gap."""
    taken: list[Mutation] = []
    for mutation in mutations:
        if mutation.seq == last_seq + len(taken) + 1:
            taken.append(mutation)
        elif mutation.seq > last_seq:
            break
    return taken


@dataclass(frozen=True)
class _Parsed:
    """A mutation's command and validated args, or why it cannot run (read before the batch locks its places)."""

    command: Command | None
    args: Any = None
    error: MutationError | None = None


def _parse(mutation: Mutation) -> _Parsed:
    command = resolve(mutation.name)
    if command is None:
        return _Parsed(None, error=_rejection("unknown_command", f"no command {mutation.name!r}", {"name": mutation.name}))
    try:
        return _Parsed(command, command.args_model.model_validate(mutation.args))
    except ValidationError as exc:
        return _Parsed(command, error=_rejection(
            "invalid_args", "the command's arguments are invalid",
            {"errors": [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]}))


LOG_COLUMNS = ("device_id", "seq", "mutation_id", "name", "args", "client_time", "received_at", "status", "error", "effect")


async def _apply(write: WriteContext, device: DeviceIdentity, mutation: Mutation, parsed: _Parsed, seen_ids: set[str],
                 careful: bool) -> MutationResult:
    effect: dict[str, Any] | None = None
    error: MutationError | None = None
    client_time = _aware(mutation.client_time)
    log_id = str(mutation.id)
    if log_id in seen_ids:
        error = _rejection("duplicate_id", "this mutation id was already sent under another seq", {"id": log_id})
        # The id already keys the original's outcome: this refusal is logged under an id derived from its seq.
        log_id = str(uuid.uuid5(mutation.id, f"{device.device_id}:{mutation.seq}"))
    elif parsed.error is not None:
        error = parsed.error
    else:
        context = CommandContext(device=device, mutation_id=log_id, seq=mutation.seq, event_time=client_time)
        if careful:
            effect, error = await _run_in_savepoint(write, parsed.command.handler, context, parsed.args)
        else:
            effect = await _run_optimistically(parsed.command.handler, context, parsed.args)
    seen_ids.add(log_id)
    status = "rejected" if error else "applied"
    error_body = error.model_dump() if error else None
    defer_insert("mutation_log", LOG_COLUMNS, (
        device.device_id, mutation.seq, log_id, mutation.name, json_text(mutation.args), client_time, _now(),
        status, None if error_body is None else json_text(error_body), None if effect is None else json_text(effect),
    ))
    record_change(
        "mutation_result", log_id,
        {"seq": mutation.seq, "id": str(mutation.id), "status": status, "error": error_body, "effect": effect},
        Visibility(device_id=device.device_id),
    )
    return MutationResult(seq=mutation.seq, id=mutation.id, status=status, error=error, effect=effect)


async def _run_optimistically(handler, context: CommandContext, args) -> dict | None:
    """Most batches apply in full: they run without a savepoint per mutation (two round trips each saved). The
    first refusal or crash abandons the whole attempt, which rolls back, and the batch runs again with them."""
    try:
        return await handler(context, args)
    except Exception as exc:
        if is_transient(exc) or isinstance(exc, PlacesBusy):
            raise
        raise _Refused from exc


async def _run_in_savepoint(write: WriteContext, handler, context: CommandContext, args) -> tuple[dict | None, MutationError | None]:
    """Run a handler so that a refusal leaves no trace: the savepoint undoes its rows, and the rows, feed changes
    and after-commit events it buffered in memory are dropped with them."""
    try:
        async with write.savepoint():
            effect = await handler(context, args)
    except PlacesBusy:
        raise  # not the mutation's fault: the whole attempt runs again, with that place locked up front
    except ApiError as exc:
        return None, _rejection(exc.code, exc.message, exc.details)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("command %s crashed on mutation %s", getattr(handler, "__name__", handler), context.mutation_id)
        return None, _rejection("internal", "the server failed to apply this mutation; it has been logged")
    return effect, None
