"""Push: apply a device's mutations exactly once (DESIGN.md section 2).

One transaction per batch. The device row is locked first, so two pushes from one device (two tabs, a retry
racing its original) run one after the other; each mutation runs under a savepoint, and its outcome, its log row,
its `mutation_result` feed entry and the device's `last_seq` commit together. A business refusal rolls back to the
savepoint and still consumes the seq; a transient database fault aborts the whole batch (nothing consumed) and,
if the server's own retries do not clear it, becomes a 503 the device retries later.
"""

from __future__ import annotations

import asyncio
import logging
import random
import sqlite3
import uuid
from datetime import datetime, timezone
from typing import Any

import asyncpg
from pydantic import ValidationError

from devices.tables import Device
from schemas.sync import Mutation, MutationError, MutationResult, PushRequest, PushResponse
from server.db import DB, WriteContext, write_transaction
from server.errors import ApiError
from sync.feed import Visibility, pending_changes, record_change
from sync.registry import CommandContext, DeviceIdentity, resolve
from sync.tables import MutationLog

log = logging.getLogger("floorsync.sync.push")
SERVER_RETRIES = 3


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


async def push(device: DeviceIdentity, request: PushRequest) -> PushResponse:
    for attempt in range(SERVER_RETRIES):
        try:
            return await _push_once(device, request)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("push from %s hit a transient fault (%s), attempt %d", device.device_id, type(exc).__name__, attempt + 1)
            await asyncio.sleep(0.05 * (2**attempt) * (1 + random.random()))
    raise TransientFault("the database is busy or unavailable")


async def _lock_device(device_id: str) -> int:
    if DB.engine_type == "postgres":
        rows = await Device.raw("SELECT last_seq FROM device WHERE device_id = {} FOR UPDATE", device_id)
    else:  # SQLite: the IMMEDIATE transaction already holds the database's single write lock
        rows = await Device.raw("SELECT last_seq FROM device WHERE device_id = {}", device_id)
    return rows[0]["last_seq"]


async def _push_once(device: DeviceIdentity, request: PushRequest) -> PushResponse:
    results: list[MutationResult] = []
    async with write_transaction() as write:
        last_seq = await _lock_device(device.device_id)
        for mutation in request.mutations:
            if mutation.seq <= last_seq:
                results.append(await _stored_result(device, mutation))
                continue
            if mutation.seq != last_seq + 1:
                results.append(MutationResult(seq=mutation.seq, id=mutation.id, status="gap", expected=last_seq + 1))
                break
            results.append(await _apply(write, device, mutation))
            last_seq = mutation.seq
        values: dict[Any, Any] = {Device.last_seq: last_seq, Device.last_seen_at: _now()}
        if request.pending is not None:
            values[Device.pending_reported] = request.pending
        if request.app_version:
            values[Device.app_version] = request.app_version
        await Device.update(values).where(Device.device_id == device.device_id)
    return PushResponse(results=results, last_seq=last_seq, server_time=_now())


async def _stored_result(device: DeviceIdentity, mutation: Mutation) -> MutationResult:
    row = await MutationLog.select().where(
        (MutationLog.device_id == device.device_id) & (MutationLog.seq == mutation.seq)
    ).first().output(load_json=True)
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


async def _apply(write: WriteContext, device: DeviceIdentity, mutation: Mutation) -> MutationResult:
    effect: dict[str, Any] | None = None
    error: MutationError | None = None
    command = resolve(mutation.name)
    log_id = str(mutation.id)
    if await MutationLog.exists().where(MutationLog.mutation_id == str(mutation.id)):
        error = _rejection("duplicate_id", "this mutation id was already sent under another seq", {"id": str(mutation.id)})
        # The id already keys the original's outcome: this refusal is logged under an id derived from its seq.
        log_id = str(uuid.uuid5(mutation.id, f"{device.device_id}:{mutation.seq}"))
    elif command is None:
        error = _rejection("unknown_command", f"no command {mutation.name!r}", {"name": mutation.name})
    else:
        try:
            args = command.args_model.model_validate(mutation.args)
        except ValidationError as exc:
            error = _rejection("invalid_args", "the command's arguments are invalid",
                               {"errors": [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()]})
        else:
            context = CommandContext(device=device, mutation_id=str(mutation.id), seq=mutation.seq,
                                     event_time=mutation.client_time)
            effect, error = await _run_in_savepoint(write, command.handler, context, args)
    status = "rejected" if error else "applied"
    error_body = error.model_dump() if error else None
    await MutationLog.insert(
        MutationLog(device_id=device.device_id, seq=mutation.seq, mutation_id=log_id, name=mutation.name,
                    args=mutation.args, client_time=mutation.client_time, received_at=_now(), status=status,
                    error=error_body, effect=effect)
    )
    record_change(
        "mutation_result", log_id,
        {"seq": mutation.seq, "id": str(mutation.id), "status": status, "error": error_body, "effect": effect},
        Visibility(device_id=device.device_id),
    )
    return MutationResult(seq=mutation.seq, id=mutation.id, status=status, error=error, effect=effect)


async def _run_in_savepoint(write: WriteContext, handler, context: CommandContext, args) -> tuple[dict | None, MutationError | None]:
    """Run a handler so that a refusal leaves no trace: the savepoint undoes its rows, and the feed changes and
    after-commit events it queued in memory are dropped with them."""
    pending = pending_changes(write)
    marks = (len(pending), len(write.before_commit), len(write.after_commit))
    savepoint = await write.transaction.savepoint()

    async def undo() -> None:
        await savepoint.rollback_to()
        del pending[marks[0]:]
        del write.before_commit[marks[1]:]
        del write.after_commit[marks[2]:]

    try:
        effect = await handler(context, args)
    except ApiError as exc:
        await undo()
        return None, _rejection(exc.code, exc.message, exc.details)
    except Exception as exc:
        if is_transient(exc):
            raise
        log.exception("command %s crashed on mutation %s", type(handler).__name__, context.mutation_id)
        await undo()
        return None, _rejection("internal", "the server failed to apply this mutation; it has been logged")
    await savepoint.release()
    return effect, None


