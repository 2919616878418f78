"""Initial sync against a real `floorsync serve`, with its baseline measured in the same run: 100,000 items
imported through the CSV API, then a fresh device's `pull_all` (reference client, the largest initial-sync page) timed, with the
server's RSS growth; baseline: one raw SELECT of the same feed rows. PostgreSQL, and SQLite when asked."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import asyncpg

from bench.common import IMPORT_CHUNK, QUIET, block, enrol_devices, import_items, rss_mb, verdict
from sync.client import MAX_INITIAL_PAGE_SIZE, DeviceClient
from tests import servers
from tests.clients import office

SYNC_ITEMS = int(os.environ.get("BENCH_SYNC_ITEMS", "100000"))
SYNC_TARGET_SECONDS = 5.0  # issue 12: under 5 s
SYNC_TARGET_RSS_MB = 100.0


class RssSampler(threading.Thread):
    """The server's RSS every 20 ms while a sync runs: the peak matters, not only what is left after."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, rss_mb(pid), True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def stop(self) -> float:
        self.running = False
        self.join()
        return self.peak


async def raw_feed_select_pg(database_url: str, device_id: str) -> tuple[float, int]:
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        rows = await conn.fetch(
            "SELECT position, entity, entity_key, op, data FROM feed_change "
            "WHERE (device_id IS NULL OR device_id = $1) AND (site IS NULL OR site = 'NB1') ORDER BY position", device_id)
        return time.perf_counter() - started, len(rows)
    finally:
        await conn.close()


def raw_feed_select_sqlite(database_url: str, device_id: str) -> tuple[float, int]:
    conn = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        started = time.perf_counter()
        rows = conn.execute(
            "SELECT position, entity, entity_key, op, data FROM feed_change "
            "WHERE (device_id IS NULL OR device_id = ?) AND (site IS NULL OR site = 'NB1') ORDER BY position", (device_id,)).fetchall()
        return time.perf_counter() - started, len(rows)
    finally:
        conn.close()


def bench_initial_sync(backend: str) -> None:
    servers.BACKEND = backend
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            planner = office(server.url, "planner")
            started = time.perf_counter()
            import_items(planner, "IS", SYNC_ITEMS)
            import_seconds = time.perf_counter() - started
            planner.close()

            device = DeviceClient(server.url, Path(tmp) / "device.sqlite", page_size=1000,
                                  initial_page_size=MAX_INITIAL_PAGE_SIZE, timeout=120)
            enrolled = asyncio.run(enrol_devices(server.url, 1))[0]
            device._set_meta("token", enrolled["token"])
            device._set_meta("device_id", enrolled["device_id"])
            http_seconds = 0.0
            call = device._call

            def timed_call(*args, **kwargs):
                nonlocal http_seconds
                begun = time.perf_counter()
                try:
                    return call(*args, **kwargs)
                finally:
                    http_seconds += time.perf_counter() - begun

            device._call = timed_call  # type: ignore[method-assign]
            pid = server.process.pid
            rss_before = rss_mb(pid)
            sampler = RssSampler(pid)
            sampler.start()
            started = time.perf_counter()
            pages = device.pull_all()
            sync_seconds = time.perf_counter() - started
            rss_peak = sampler.stop()
            rss_after = rss_mb(pid)
            items_in_replica = len(device.replica("item"))
            assert items_in_replica >= SYNC_ITEMS, items_in_replica
            device.close()

            raw = raw_feed_select_pg if backend == "postgres" else raw_feed_select_sqlite
            if backend == "postgres":
                raw_seconds, raw_rows = asyncio.run(raw(server.database.url, enrolled["device_id"]))
            else:
                raw_seconds, raw_rows = raw(server.database.url, enrolled["device_id"])
        finally:
            server.stop()
            server.database.drop()
    growth = rss_peak - rss_before
    ok = sync_seconds < SYNC_TARGET_SECONDS and growth < SYNC_TARGET_RSS_MB
    name = "PostgreSQL" if backend == "postgres" else "SQLite"
    block(f"Initial sync, {SYNC_ITEMS:,} items ({name}, reference client, pages of {MAX_INITIAL_PAGE_SIZE})", [
        ("initial sync", f"{sync_seconds:.2f} s, {pages} pages, {items_in_replica:,} items in the replica "
                         f"({http_seconds:.2f} s in HTTP calls, {sync_seconds - http_seconds:.2f} s applying on the device)"),
        ("server RSS", f"{rss_before:.0f} MB before, peak {rss_peak:.0f} MB, {rss_after:.0f} MB after: growth {growth:+.1f} MB (peak)"),
        ("baseline", f"one raw SELECT of the same {raw_rows:,} feed rows: {raw_seconds:.3f} s"),
        ("ratio", f"{sync_seconds / raw_seconds:.0f}x the raw SELECT (HTTP part alone: {http_seconds / raw_seconds:.0f}x)"),
        ("target", f"< {SYNC_TARGET_SECONDS:.0f} s and < {SYNC_TARGET_RSS_MB:.0f} MB -> {verdict(ok)}"),
        ("setup", f"CSV import of {SYNC_ITEMS:,} items in chunks of {IMPORT_CHUNK:,}: {import_seconds:.1f} s "
                  f"({SYNC_ITEMS / import_seconds:,.0f} items/s)"),
    ])


GROUPS = {"initial-sync": lambda args: [bench_initial_sync(b) for b in args.sync_backends]}
