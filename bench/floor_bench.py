"""Floor transaction benchmarks on PostgreSQL, each with its baseline measured in the same run.

- count: one device counts 5,000 item-locations, pushed in batches at the protocol's limit (MAX_BATCH), timed from
  the first push to the last result; baseline: the same ledger and on-hand rows written by asyncpg in
  transactions of the same size.
- on-hand: GET /api/stock by item, location and lot over a ledger of 1,000,000 moves (loaded with COPY, its
  projection consistent with it), p50/p95 over 300 requests; baselines: GET /health on the same server (the cost of
  HTTP) and the same question answered from the ledger itself (SUM over the item's moves), which the projection
  exists to avoid.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx

from bench.common import QUIET, block, enrol_devices, import_items, percentile, verdict
from schemas.sync import MAX_BATCH
from tests import servers
from tests.clients import office

COUNT_ITEMS = 1_000
COUNT_LOCATIONS = ["RM-A-01-01", "RM-A-01-02", "RM-A-02-01", "RM-B-01-01", "RM-B-01-02"]
COUNT_TARGET_SECONDS = 5.0
LEDGER_MOVES = 1_000_000
ON_HAND_ITEMS = 2_000
ON_HAND_LOTS = 2
ON_HAND_REQUESTS = 300
ON_HAND_TARGET_P95_MS = 50.0


def _mutation(seq: int, item: str, location: str, quantity: int) -> dict:
    return {"seq": seq, "id": str(uuid.uuid4()), "name": "stock.count",
            "args": {"item": item, "location": location, "counted_quantity": str(quantity)},
            "client_time": datetime.now(timezone.utc).isoformat()}


async def _push_counts(base_url: str, token: str, places: list[tuple[str, str]]) -> tuple[float, int]:
    bodies, seq = [], 1
    for start in range(0, len(places), MAX_BATCH):
        batch = []
        for item, location in places[start:start + MAX_BATCH]:
            batch.append(_mutation(seq, item, location, 10 + seq % 7))
            seq += 1
        bodies.append(json.dumps({"protocol": 1, "mutations": batch}).encode())
    applied = 0
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}",
                                                             "content-type": "application/json"}, timeout=120) as client:
        started = time.perf_counter()
        for body in bodies:
            response = await client.post("/api/sync/push", content=body)
            response.raise_for_status()
            applied += sum(r["status"] == "applied" for r in response.json()["results"])
        return time.perf_counter() - started, applied


async def _raw_counts(database_url: str, places: list[tuple[str, str]]) -> float:
    """The floor: per batch of MAX_BATCH, one transaction writing the ledger rows and upserting the projection."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE bench_move (LIKE stock_move INCLUDING ALL)")
        await conn.execute("CREATE TABLE bench_on_hand (LIKE stock_on_hand INCLUDING ALL)")
        now = datetime.now(timezone.utc)
        started = time.perf_counter()
        for start in range(0, len(places), MAX_BATCH):
            chunk = places[start:start + MAX_BATCH]
            async with conn.transaction():
                await conn.executemany(
                    "INSERT INTO bench_on_hand (item, location, lot, status, quantity_micro) VALUES ($1, $2, '', 'available', $3) "
                    "ON CONFLICT (item, location, lot, status) DO UPDATE SET quantity_micro = excluded.quantity_micro",
                    [(item, location, 10_000_000) for item, location in chunk])
                await conn.executemany(
                    "INSERT INTO bench_move (at, item, location, lot, status, quantity_micro, reason, note) "
                    "VALUES ($1, $2, $3, '', 'available', $4, 'count', '')",
                    [(now, item, location, 10_000_000) for item, location in chunk])
        return time.perf_counter() - started
    finally:
        await conn.close()


def bench_count() -> None:
    servers.BACKEND = "postgres"
    places = [(f"CNT-{i:06d}", location) for i in range(COUNT_ITEMS) for location in COUNT_LOCATIONS]
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            import_items(office(server.url, "planner"), "CNT", COUNT_ITEMS)
            device = asyncio.run(enrol_devices(server.url, 1))[0]
            seconds, applied = asyncio.run(_push_counts(server.url, device["token"], places))
            raw_seconds = asyncio.run(_raw_counts(server.database.url, places))
        finally:
            server.stop()
            server.database.drop()
    assert applied == len(places), f"only {applied} of {len(places)} counts applied"
    block(f"Stock count, one device, {len(places):,} item-locations in batches of {MAX_BATCH} (PostgreSQL)", [
        ("push", f"{seconds:.2f} s from first push to last result ({len(places) / seconds:,.0f} counts/s, all applied)"),
        ("baseline", f"raw asyncpg, same ledger + on-hand rows, 1 txn per {MAX_BATCH}: {raw_seconds:.2f} s"),
        ("ratio", f"{seconds / raw_seconds:.1f}x the raw writes"),
        ("target", f"< {COUNT_TARGET_SECONDS:.0f} s -> {verdict(seconds < COUNT_TARGET_SECONDS)}"),
    ])


async def _load_ledger(database_url: str) -> list[tuple[str, str, str]]:
    """1,000,000 moves over ON_HAND_ITEMS x locations x lots, and the projection that sums them."""
    rng = random.Random(7)
    keys = [(f"OH-{i:06d}", location, f"L{lot}") for i in range(ON_HAND_ITEMS) for location in COUNT_LOCATIONS
            for lot in range(ON_HAND_LOTS)]
    now = datetime.now(timezone.utc)
    totals: dict[tuple[str, str, str], int] = {}
    records = []
    for n in range(LEDGER_MOVES):
        key = keys[n % len(keys)] if n < len(keys) else rng.choice(keys)
        delta = rng.randint(1, 50) * 1_000_000
        totals[key] = totals.get(key, 0) + delta
        records.append((now, key[0], key[1], key[2], "available", delta, "move", ""))
    conn = await asyncpg.connect(database_url)
    try:
        await conn.copy_records_to_table("stock_move", records=records, columns=[
            "at", "item", "location", "lot", "status", "quantity_micro", "reason", "note"])
        await conn.copy_records_to_table("stock_on_hand", records=[(*key, "available", q) for key, q in totals.items()],
                                         columns=["item", "location", "lot", "status", "quantity_micro"])
        await conn.execute("ANALYZE stock_move; ANALYZE stock_on_hand")
    finally:
        await conn.close()
    return keys


async def _ledger_sums(database_url: str, keys: list[tuple[str, str, str]]) -> list[float]:
    conn = await asyncpg.connect(database_url)
    try:
        times = []
        for item, location, lot in keys:
            started = time.perf_counter()
            await conn.fetchval("SELECT SUM(quantity_micro) FROM stock_move WHERE item = $1 AND location = $2 AND lot = $3",
                                item, location, lot)
            times.append(time.perf_counter() - started)
        return times
    finally:
        await conn.close()


def bench_on_hand() -> None:
    servers.BACKEND = "postgres"
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            started = time.perf_counter()
            keys = asyncio.run(_load_ledger(server.database.url))
            load_seconds = time.perf_counter() - started
            sample = [rng.choice(keys) for _ in range(ON_HAND_REQUESTS)]
            viewer = office(server.url, "viewer")

            def timed(path: str, params: dict | None = None) -> float:
                began = time.perf_counter()
                response = viewer.get(path, params=params)
                elapsed = time.perf_counter() - began
                response.raise_for_status()
                return elapsed

            for item, location, lot in sample[:20]:
                timed("/api/stock", {"item": item, "location": location, "lot": lot})
            api = [timed("/api/stock", {"item": item, "location": location, "lot": lot}) for item, location, lot in sample]
            health = [timed("/health") for _ in range(ON_HAND_REQUESTS)]
            ledger = asyncio.run(_ledger_sums(server.database.url, sample))
        finally:
            server.stop()
            server.database.drop()
    ms = lambda s: s * 1000  # noqa: E731
    p50, p95 = percentile(api, 50), percentile(api, 95)
    block(f"On hand by item, location and lot over a ledger of {LEDGER_MOVES:,} moves (PostgreSQL)", [
        ("GET /api/stock", f"p50 {ms(p50):.1f} ms, p95 {ms(p95):.1f} ms over {ON_HAND_REQUESTS} requests "
                           f"({len(keys):,} on-hand rows; ledger loaded with COPY in {load_seconds:.1f} s)"),
        ("baseline", f"GET /health p95 {ms(percentile(health, 95)):.1f} ms; the same answer summed from the ledger in SQL "
                     f"p95 {ms(percentile(ledger, 95)):.1f} ms"),
        ("ratio", f"p95 {p95 / percentile(health, 95):.1f}x /health"),
        ("target", f"p95 < {ON_HAND_TARGET_P95_MS:.0f} ms -> {verdict(ms(p95) < ON_HAND_TARGET_P95_MS)}"),
    ])


GROUPS = {
    "count": lambda args: bench_count(),
    "on-hand": lambda args: bench_on_hand(),
}
