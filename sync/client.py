"""The reference device client of sync protocol v1, in Python: what the PWA does in JavaScript.

It keeps, in a SQLite file of its own, the outbox (seq allocated durably before anything is sent), the read-only
replica with each entity's version, the cursor, the results the server reported and the needs-attention list.
Tests, the fault simulation and the benchmarks drive the server through it, over real HTTP.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import msgspec

PROTOCOL = 1
MAX_INITIAL_PAGE_SIZE = 5000
# meta `snapshot_running` while a snapshot from cursor 0 runs: over a replica that held rows ("1", also what
# clients of before wrote), or into an empty one.
SNAPSHOT_CONFIRMING, SNAPSHOT_INTO_EMPTY = "1", "empty"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, name TEXT NOT NULL,
    args TEXT NOT NULL, client_time TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS replica (entity TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL,
    PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS results (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, status TEXT NOT NULL, error TEXT, effect TEXT);
CREATE TABLE IF NOT EXISTS attention (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL,
    error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_confirmed (entity TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY (entity, id));
"""


_encode_json = msgspec.json.Encoder().encode


def _json_text(value: Any) -> str:
    return _encode_json(value).decode()


class TransientError(Exception):
    """The server or the network could not take the request now; try again later (nothing was lost)."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ProtocolError(Exception):
    """The server refused the request itself (bad token, revoked device, unsupported protocol…)."""

    def __init__(self, status: int, body: dict[str, Any]):
        super().__init__(f"{status} {body.get('code')}: {body.get('message')}")
        self.status = status
        self.code = body.get("code")
        self.body = body


@dataclass
class Backoff:
    """Exponential backoff with full jitter, driven by the caller's clock (a timer, not the operator)."""

    base_seconds: float = 0.5
    cap_seconds: float = 60.0
    failures: int = 0
    next_attempt_at: float = 0.0

    def failed(self, now: float, rng: random.Random, retry_after: float | None = None) -> float:
        self.failures += 1
        delay = rng.uniform(0, min(self.cap_seconds, self.base_seconds * 2**self.failures))
        if retry_after is not None:
            delay = max(delay, retry_after)
        self.next_attempt_at = now + delay
        return delay

    def succeeded(self) -> None:
        self.failures = 0
        self.next_attempt_at = 0.0

    def due(self, now: float) -> bool:
        return now >= self.next_attempt_at


class DeviceClient:
    def __init__(self, base_url: str, state_path: str | Path, *, transport: httpx.BaseTransport | None = None,
                 rng: random.Random | None = None, batch_size: int = 100, page_size: int = 500, timeout: float = 30,
                 initial_page_size: int | None = None):
        self.base_url = base_url.rstrip("/")
        self.db = sqlite3.connect(str(state_path), isolation_level=None)
        self.db.executescript(SCHEMA)
        self._depth = 0
        self.http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout)
        self.rng = rng or random.Random()
        self.batch_size = batch_size
        self.page_size = page_size
        # An initial sync (or a re-snapshot) may ask for larger pages, up to what the server serves (sync/pull.py
        # MAX_PAGE): fewer round trips and local commits when it is the cost of a page that dominates.
        self.initial_page_size = min(initial_page_size or page_size, MAX_INITIAL_PAGE_SIZE)
        self.backoff = Backoff()
        self.clock_offset_seconds = float(self._meta("clock_offset") or 0)

    # -- local state -------------------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: Any) -> None:
        self.db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, str(value)))

    @property
    def token(self) -> str | None:
        return self._meta("token")

    @property
    def device_id(self) -> str | None:
        return self._meta("device_id")

    @property
    def cursor(self) -> int:
        return int(self._meta("cursor") or 0)

    @property
    def last_seq_acknowledged(self) -> int:
        return int(self._meta("last_seq") or 0)

    def close(self) -> None:
        self.http.close()
        self.db.close()

    # -- enrolment -------------------------------------------------------------------------------------
    def enroll(self, code: str, device_name: str, platform: str = "python") -> dict[str, Any]:
        response = self.http.post("/api/sync/enroll", json={"code": code, "device_name": device_name, "platform": platform})
        body = self._json(response)
        self._set_meta("token", body["token"])
        self._set_meta("device_id", body["device_id"])
        self._set_meta("scope", json.dumps(body["scope"]))
        return body

    # -- the operator's actions ------------------------------------------------------------------------
    def enqueue(self, name: str, args: dict[str, Any]) -> str:
        """Queue a mutation. Its seq is taken here, durably, in one local transaction: never reused, never skipped."""
        mutation_id = str(uuid.uuid4())
        event_time = datetime.now(timezone.utc).timestamp() + self.clock_offset_seconds
        with self._local_transaction():
            next_seq = int(self._meta("next_seq") or 1)
            self.db.execute("INSERT INTO outbox (seq, id, name, args, client_time) VALUES (?, ?, ?, ?, ?)",
                            (next_seq, mutation_id, name, json.dumps(args), datetime.fromtimestamp(event_time, timezone.utc).isoformat()))
            self._set_meta("next_seq", next_seq + 1)
        return mutation_id

    def pending(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT seq, id, name, args, client_time FROM outbox ORDER BY seq").fetchall()
        return [{"seq": s, "id": i, "name": n, "args": json.loads(a), "client_time": t} for s, i, n, a, t in rows]

    def attention(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT id, seq, name, args, error FROM attention ORDER BY seq").fetchall()
        return [{"id": i, "seq": s, "name": n, "args": json.loads(a), "error": json.loads(e)} for i, s, n, a, e in rows]

    def result(self, mutation_id: str) -> dict[str, Any] | None:
        row = self.db.execute("SELECT seq, status, error, effect FROM results WHERE id = ?", (mutation_id,)).fetchone()
        if row is None:
            return None
        return {"seq": row[0], "status": row[1], "error": json.loads(row[2]) if row[2] else None,
                "effect": json.loads(row[3]) if row[3] else None}

    def replica(self, entity: str) -> dict[str, dict[str, Any]]:
        rows = self.db.execute("SELECT id, data FROM replica WHERE entity = ?", (entity,)).fetchall()
        return {i: json.loads(d) for i, d in rows}

    # -- talking to the server -------------------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _json(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code in (502, 503, 504):
            retry_after = response.headers.get("retry-after")
            raise TransientError(f"server busy ({response.status_code})", float(retry_after) if retry_after else None)
        body = msgspec.json.decode(response.content)  # a page of thousands of changes: several times json's speed
        if response.status_code >= 400:
            raise ProtocolError(response.status_code, body)
        return body

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        sent = time.time()
        try:
            response = self.http.request(method, path, headers=self._headers(), **kwargs)
        except httpx.TransportError as exc:  # connection refused, reset, timeout, response lost
            raise TransientError(f"network: {type(exc).__name__}") from exc
        body = self._json(response)
        if "server_time" in body:
            received = time.time()
            server = datetime.fromisoformat(body["server_time"].replace("Z", "+00:00")).timestamp()
            self.clock_offset_seconds = server - (sent + received) / 2
            self._set_meta("clock_offset", self.clock_offset_seconds)
        return body

    def push_once(self) -> list[dict[str, Any]]:
        """Send the oldest batch of the outbox; settle what the server answered. Raises TransientError."""
        batch = self.pending()[: self.batch_size]
        if not batch:
            return []
        body = self._call("POST", "/api/sync/push",
                          json={"protocol": PROTOCOL, "mutations": batch, "pending": len(self.pending())})
        with self._local_transaction():
            for result in body["results"]:
                if result["status"] == "gap":
                    break  # the server wants an earlier seq: it is still in the outbox and goes first next time
                outcome = result["outcome"] if result["status"] == "duplicate" else result["status"]
                self._settle(result["id"], result["seq"], outcome, result.get("error"), result.get("effect"))
            self._set_meta("last_seq", body["last_seq"])
        return body["results"]

    def _settle(self, mutation_id: str, seq: int, status: str, error: dict | None, effect: dict | None) -> None:
        """An outcome the server holds durably: out of the outbox, into results (and needs-attention if refused)."""
        queued = self.db.execute("SELECT name, args FROM outbox WHERE id = ?", (mutation_id,)).fetchone()
        self.db.execute("DELETE FROM outbox WHERE id = ?", (mutation_id,))
        self.db.execute(
            "INSERT INTO results (id, seq, status, error, effect) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
            (mutation_id, seq, status, json.dumps(error) if error else None, json.dumps(effect) if effect else None))
        if status == "rejected" and queued is not None:
            self.db.execute("INSERT INTO attention (id, seq, name, args, error) VALUES (?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
                            (mutation_id, seq, queued[0], queued[1], json.dumps(error)))

    def resend(self, mutation_id: str, args: dict[str, Any]) -> str:
        """The operator corrected a refused mutation: it goes again as a new mutation (new seq, new id)."""
        row = self.db.execute("SELECT name FROM attention WHERE id = ?", (mutation_id,)).fetchone()
        if row is None:
            raise KeyError(mutation_id)
        with self._local_transaction():
            self.db.execute("DELETE FROM attention WHERE id = ?", (mutation_id,))
        return self.enqueue(row[0], args)

    def pull_once(self) -> dict[str, Any]:
        """One page of changes, applied atomically; a `reset` clears the replica and starts again from 0."""
        snapshot = self.cursor == 0 or bool(self._meta("snapshot_running"))
        limit = self.initial_page_size if snapshot else self.page_size
        body = self._call("GET", "/api/sync/pull", params={"protocol": PROTOCOL, "cursor": self.cursor, "limit": limit})
        with self._local_transaction():
            if body["reset"]:
                self._set_meta("cursor", 0)
                return body
            if self.cursor == 0:
                # A snapshot from 0 (first sync or after a reset) replays the feed, older states first. The replica
                # keeps what it shows (never an older state after a newer one) and drops, once the snapshot is
                # complete, every row the snapshot did not confirm: what left the scope while the device was away.
                # A replica empty at the start holds, at the end, only what the snapshot upserted last: nothing to
                # confirm then (a first sync spares a row of bookkeeping per change).
                self.db.execute("DELETE FROM snapshot_confirmed")
                empty = self.db.execute("SELECT 1 FROM replica LIMIT 1").fetchone() is None
                self._set_meta("snapshot_running", SNAPSHOT_INTO_EMPTY if empty else SNAPSHOT_CONFIRMING)
            self._apply_page(body["changes"])
            running = self._meta("snapshot_running")
            if not body["has_more"] and running:
                if running == SNAPSHOT_CONFIRMING:
                    self.db.execute("DELETE FROM replica WHERE NOT EXISTS (SELECT 1 FROM snapshot_confirmed c "
                                    "WHERE c.entity = replica.entity AND c.id = replica.id)")
                    self.db.execute("DELETE FROM snapshot_confirmed")
                self.db.execute("DELETE FROM meta WHERE key = 'snapshot_running'")
            self._set_meta("cursor", body["cursor"])
            self._set_meta("head", body["head"])
        return body

    def _apply_page(self, changes: list[dict[str, Any]]) -> None:
        """A page's changes, a statement for all its upserts and one for all its deletes. Each keeps the newest
        state per entity (never an older one after a newer one), so applied together they leave what applying them
        one by one in feed order would: an entity ends at its highest version, absent if that was a delete."""
        replicated = []
        for change in changes:
            if change["entity"] == "mutation_result":
                data = change["data"]
                self._settle(data["id"], data["seq"], data["status"], data.get("error"), data.get("effect"))
            else:
                replicated.append(change)
        upserts = [change for change in replicated if change["op"] == "upsert"]
        if self._meta("snapshot_running") == SNAPSHOT_CONFIRMING:
            # Confirmed unless the replica already holds a newer state (read before this page's upserts land).
            self.db.executemany(
                "INSERT OR IGNORE INTO snapshot_confirmed (entity, id) SELECT ?1, ?2 WHERE NOT EXISTS "
                "(SELECT 1 FROM replica WHERE entity = ?1 AND id = ?2 AND version > ?3)",
                [(change["entity"], change["id"], change["version"]) for change in upserts])
        self.db.executemany(
            "INSERT INTO replica (entity, id, data, version) VALUES (?, ?, ?, ?) ON CONFLICT(entity, id) DO UPDATE "
            "SET data = excluded.data, version = excluded.version WHERE excluded.version > replica.version",
            [(change["entity"], change["id"], _json_text(change["data"]), change["version"]) for change in upserts])
        self.db.executemany(
            "DELETE FROM replica WHERE entity = ? AND id = ? AND version < ?",
            [(change["entity"], change["id"], change["version"]) for change in replicated if change["op"] == "delete"])

    def pull_all(self, max_pages: int = 10_000) -> int:
        pages = 0
        while pages < max_pages:
            body = self.pull_once()
            pages += 1
            if not body["has_more"] and not body["reset"]:
                break
        return pages

    def sync(self, now: float | None = None) -> bool:
        """One round as the device's timer runs it: push everything queued, then pull to the head.
        Returns False when a transient fault stopped it (the backoff says when to try again)."""
        now = time.monotonic() if now is None else now
        if not self.backoff.due(now):
            return False
        try:
            while self.pending():
                self.push_once()
            self.pull_all()
        except TransientError as exc:
            self.backoff.failed(now, self.rng, exc.retry_after)
            return False
        self.backoff.succeeded()
        return True

    class _Tx:
        """A local transaction; nested uses join the outermost one."""

        def __init__(self, client: DeviceClient):
            self.client = client

        def __enter__(self) -> None:
            if self.client._depth == 0:
                self.client.db.execute("BEGIN IMMEDIATE")
            self.client._depth += 1

        def __exit__(self, exc_type, exc, tb) -> None:
            self.client._depth -= 1
            if self.client._depth == 0:
                self.client.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _local_transaction(self) -> DeviceClient._Tx:
        return DeviceClient._Tx(self)
