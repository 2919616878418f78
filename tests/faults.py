"""Faults for the sync tests: an httpx transport that can take a device offline, lose a response after the server
applied the request, and watch every pull page; and the database as the oracle (direct SQL, no app code)."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.servers import Database


class FaultyTransport(httpx.BaseTransport):
    """Real HTTP underneath. `offline` refuses every request before it leaves (the tablet lost Wi-Fi);
    `lose_responses` forwards a request, lets the server act on it, then drops the answer (a dropped connection).
    Every push body sent is kept (for replays), and every pull page is handed to the stream checker."""

    def __init__(self, watcher: PullStreamWatcher | None = None, before_request=None):
        self.inner = httpx.HTTPTransport()
        self.offline = False
        self.lose_responses = 0
        self.lost: list[httpx.Request] = []
        self.pushed_bodies: list[dict[str, Any]] = []
        self.watcher = watcher
        self.before_request = before_request
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.before_request is not None:
            self.before_request(request)
        if self.offline:
            raise httpx.ConnectError("device offline (fault injected)", request=request)
        if request.url.path == "/api/sync/push":
            with self._lock:
                self.pushed_bodies.append(json.loads(request.content))
        response = self.inner.handle_request(request)
        with self._lock:
            lose = self.lose_responses > 0
            if lose:
                self.lose_responses -= 1
        if lose:
            response.read()
            response.close()
            self.lost.append(request)
            raise httpx.ReadError("response lost after the server applied it (fault injected)", request=request)
        if self.watcher is not None and request.url.path == "/api/sync/pull" and response.status_code == 200:
            response.read()
            self.watcher.page(int(request.url.params.get("cursor", "0")), response.json())
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class PullStreamWatcher:
    """What the server sent one device, page by page. Within one cursor stream (from a cursor 0 to the next reset)
    every change must come after the request's cursor, in order, and never older than what the stream already
    sent for that entity."""

    device: str
    violations: list[str] = field(default_factory=list)
    positions_seen: list[int] = field(default_factory=list)
    _stream: dict[tuple[str, str], int] = field(default_factory=dict)

    def page(self, cursor: int, body: dict[str, Any]) -> None:
        if cursor == 0 or body["reset"]:
            self._stream = {}
        previous = cursor
        for change in body["changes"]:
            version = change["version"]
            if version <= previous:
                self.violations.append(f"{self.device}: position {version} after {previous} (cursor {cursor})")
            previous = version
            key = (change["entity"], change["id"])
            if self._stream.get(key, -1) >= version:
                self.violations.append(f"{self.device}: {key} at {version} after {self._stream[key]} in one stream")
            self._stream[key] = version
            self.positions_seen.append(version)
        if not body["reset"] and body["cursor"] < cursor:
            self.violations.append(f"{self.device}: cursor went back from {cursor} to {body['cursor']}")


@dataclass
class ReplicaWatcher:
    """The device's replica as its operator sees it, read from the client's own state file between requests:
    an entity it holds must never be at an older version than one it held before (a deleted one may come back
    only newer)."""

    device: str
    state_path: str
    violations: list[str] = field(default_factory=list)
    _highest: dict[tuple[str, str], int] = field(default_factory=dict)

    def look(self, *_: Any) -> None:
        db = sqlite3.connect(self.state_path, timeout=30)
        try:
            rows = db.execute("SELECT entity, id, version FROM replica").fetchall()
        finally:
            db.close()
        for entity, key, version in rows:
            highest = self._highest.get((entity, key), -1)
            if version < highest:
                self.violations.append(f"{self.device}: replica shows {entity} {key} at {version} after {highest}")
            else:
                self._highest[(entity, key)] = version


def _micro_text(quantity_micro: int) -> str:
    from decimal import Decimal

    return format((Decimal(quantity_micro) * Decimal("0.000001")).normalize(), "f") if quantity_micro else "0"


class Oracle:
    """Direct SQL on the server's database: what really happened, whatever the server or the devices say."""

    def __init__(self, database: Database):
        self.url = database.url

    def query(self, sql: str, *args: Any) -> list[tuple]:
        if self.url.startswith("sqlite"):
            db = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=30)
            try:
                return db.execute(re.sub(r"\$\d+", "?", sql), args).fetchall()
            finally:
                db.close()
        return asyncio.run(_pg_query(self.url, sql, *args))

    def head(self) -> int:
        return self.query("SELECT position FROM feed_counter WHERE id = 1")[0][0]

    def log_rows(self) -> dict[str, list[tuple]]:
        rows: dict[str, list[tuple]] = defaultdict(list)
        for mutation_id, device_id, seq, status in self.query("SELECT mutation_id, device_id, seq, status FROM mutation_log"):
            rows[mutation_id].append((device_id, seq, status))
        return rows

    def moves_by_mutation(self) -> dict[str, list[int]]:
        rows: dict[str, list[int]] = defaultdict(list)
        for mutation_id, quantity in self.query("SELECT mutation_id, quantity_micro FROM stock_move WHERE mutation_id IS NOT NULL"):
            rows[mutation_id].append(quantity)
        return rows

    def counts_by_mutation(self) -> dict[str, int]:
        rows: dict[str, int] = defaultdict(int)
        for (mutation_id,) in self.query("SELECT mutation_id FROM stock_count WHERE mutation_id IS NOT NULL"):
            rows[mutation_id] += 1
        return rows

    def ledger_against_projection(self) -> list[str]:
        """Every item/location/lot/status where the ledger's sum and the on-hand projection disagree."""
        ledger = {tuple(r[:4]): r[4] for r in self.query(
            "SELECT item, location, lot, status, SUM(quantity_micro) FROM stock_move GROUP BY item, location, lot, status")}
        projection = {tuple(r[:4]): r[4] for r in self.query(
            "SELECT item, location, lot, status, quantity_micro FROM stock_on_hand")}
        return [f"{key}: ledger {ledger.get(key, 0)} projection {projection.get(key, 0)}"
                for key in set(ledger) | set(projection) if int(ledger.get(key, 0)) != int(projection.get(key, 0))]

    def scoped_state(self, site: str, warehouses: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
        """What a device with this scope must hold: live items, live locations of its warehouses, non-zero stock there."""
        items = {code: {"code": code, "name": name} for code, name in self.query("SELECT code, name FROM item WHERE NOT archived")}
        locations = {}
        for code, name, warehouse, wsite in self.query(
            "SELECT l.code, l.name, l.warehouse, w.site FROM location l JOIN warehouse w ON w.code = l.warehouse WHERE NOT l.archived"
        ):
            if wsite == site and (not warehouses or warehouse in warehouses):
                locations[code] = {"code": code, "name": name, "warehouse": warehouse}
        stock = {}
        for item, location, lot, status, quantity in self.query(
            "SELECT item, location, lot, status, quantity_micro FROM stock_on_hand WHERE quantity_micro <> 0"
        ):
            if location in locations:
                stock[f"{item}|{location}|{lot}|{status}"] = {"item": item, "location": location, "lot": lot or None,
                                                              "status": status, "quantity": _micro_text(quantity)}
        return {"item": items, "location": locations, "stock": stock}


async def _pg_query(url: str, sql: str, *args: Any) -> list[tuple]:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        return [tuple(r) for r in await connection.fetch(sql, *args)]
    finally:
        await connection.close()


def replica_view(client, entity: str, fields: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    return {key: {f: data.get(f) for f in fields} for key, data in client.replica(entity).items()}


def push_raw(base_url: str, token: str, mutations: list[dict[str, Any]], timeout: float = 60) -> httpx.Response:
    """A push as a second tab, a stale retry or a replayed request would send it: the device's token, our own batch."""
    return httpx.post(f"{base_url}/api/sync/push", json={"protocol": 1, "mutations": mutations},
                      headers={"Authorization": f"Bearer {token}"}, timeout=timeout)
