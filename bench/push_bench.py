"""Sync push throughput against a real `floorsync serve` on PostgreSQL, with its baseline measured in the same run:
50 enrolled devices push batches of 20 `stock.move` over raw HTTP; baseline: the same ledger rows (2 per move, into
a copy of `stock_move` with its indexes) inserted by asyncpg, one transaction per batch of 20 moves, from 50
connections. Every mutation is checked in SQL to have applied once. `--profile` runs the server under cProfile."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx

from bench.common import FROM, QUIET, TO, block, cpu_seconds, enrol_devices, import_items, mutation, post_push, verdict
from tests import servers
from tests.clients import office

PUSH_DEVICES = 50
PUSH_BATCH = int(os.environ.get("BENCH_PUSH_BATCH", "20"))
PUSH_BATCHES = int(os.environ.get("BENCH_PUSH_BATCHES", "5"))
PUSH_TARGET_RATIO = 0.1


async def drive_pushes(base_url: str, devices: list[dict], items: list[str], batches: int) -> tuple[float, list[str], int]:
    """Seed each device's item at both locations with stock.count (seq 1, 2), then time `batches` pushes of
    PUSH_BATCH moves per device, all devices at once. Bodies are serialised before the clock starts."""
    bodies: list[list[bytes]] = []
    sent_ids: list[str] = []
    for item in items:
        seq, device_bodies = 3, []
        for _ in range(batches):
            batch = []
            for k in range(PUSH_BATCH):
                source, target = (FROM, TO) if k % 2 == 0 else (TO, FROM)
                batch.append(mutation(seq, "stock.move", {"item": item, "from_location": source, "to_location": target, "quantity": "1"}))
                seq += 1
            sent_ids.extend(m["id"] for m in batch)
            device_bodies.append(json.dumps({"protocol": 1, "mutations": batch}).encode())
        bodies.append(device_bodies)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {d['token']}"}, timeout=120, limits=limits)
               for d in devices]
    not_applied = 0
    try:
        async def seed(client: httpx.AsyncClient, item: str) -> None:
            counts = [mutation(1, "stock.count", {"item": item, "location": FROM, "counted_quantity": "1000000"}),
                      mutation(2, "stock.count", {"item": item, "location": TO, "counted_quantity": "1000000"})]
            body = await post_push(client, json.dumps({"protocol": 1, "mutations": counts}).encode())
            assert [r["status"] for r in body["results"]] == ["applied", "applied"], body

        await asyncio.gather(*(seed(c, i) for c, i in zip(clients, items)))

        async def device_run(client: httpx.AsyncClient, device_bodies: list[bytes]) -> int:
            refused = 0
            for body in device_bodies:
                answer = await post_push(client, body)
                refused += sum(r["status"] != "applied" for r in answer["results"])
            return refused

        started = time.perf_counter()
        refused = await asyncio.gather(*(device_run(c, b) for c, b in zip(clients, bodies)))
        seconds = time.perf_counter() - started
        not_applied = sum(refused)
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return seconds, sent_ids, not_applied


async def raw_ledger_insert(database_url: str, connections: int, batches: int) -> float:
    """The floor: the same ledger rows (2 per move) into a copy of stock_move with its indexes, one transaction
    per batch of PUSH_BATCH moves, from `connections` concurrent connections."""
    admin = await asyncpg.connect(database_url)
    await admin.execute("DROP TABLE IF EXISTS bench_ledger; CREATE TABLE bench_ledger (LIKE stock_move INCLUDING DEFAULTS INCLUDING INDEXES)")
    await admin.execute("ALTER TABLE bench_ledger ALTER COLUMN id SET DEFAULT nextval('stock_move_id_seq')")
    insert = ("INSERT INTO bench_ledger (at, item, location, lot, status, quantity_micro, reason, note, mutation_id, device_id,"
              " username, event_time) VALUES ($1, $2, $3, '', 'available', $4, 'move', '', $5, $6, NULL, $7)")
    pool = await asyncpg.create_pool(database_url, min_size=connections, max_size=connections)

    async def one(index: int) -> None:
        device_id = str(uuid.uuid4())
        item = f"RAW-{index:03d}"
        async with pool.acquire() as conn:
            for _ in range(batches):
                now = datetime.now(timezone.utc)
                rows = []
                for k in range(PUSH_BATCH):
                    mutation_id = str(uuid.uuid4())
                    source, target = (FROM, TO) if k % 2 == 0 else (TO, FROM)
                    rows.append((now, item, source, -1_000_000, mutation_id, device_id, now))
                    rows.append((now, item, target, 1_000_000, mutation_id, device_id, now))
                async with conn.transaction():
                    await conn.executemany(insert, rows)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(connections)))
        seconds = time.perf_counter() - started
        count = await admin.fetchval("SELECT count(*) FROM bench_ledger")
        assert count == connections * batches * PUSH_BATCH * 2, count
        await admin.execute("DROP TABLE bench_ledger")
        return seconds
    finally:
        await pool.close()
        await admin.close()


async def verify_exactly_once(database_url: str, devices: list[dict], items: list[str], sent_ids: list[str], batches: int) -> str:
    """Every mutation sent is in the log once, applied, with exactly its two ledger rows; every device's last_seq
    is its last mutation; each item's on-hand is where the alternating moves leave it."""
    conn = await asyncpg.connect(database_url)
    try:
        logged = await conn.fetch("SELECT mutation_id, status FROM mutation_log WHERE name = 'stock.move'")
        assert len(logged) == len(sent_ids), (len(logged), len(sent_ids))
        assert {r["mutation_id"] for r in logged} == set(sent_ids), "the log's mutation ids differ from those sent"
        assert all(r["status"] == "applied" for r in logged), "some moves were not applied"
        ledger = await conn.fetch("SELECT mutation_id, count(*) AS n, sum(quantity_micro) AS net FROM stock_move "
                                  "WHERE reason = 'move' GROUP BY mutation_id")
        assert len(ledger) == len(sent_ids) and all(r["n"] == 2 and r["net"] == 0 for r in ledger), "ledger rows per move are not 2"
        expected_seq = 2 + batches * PUSH_BATCH
        last = await conn.fetch("SELECT device_id, last_seq FROM device WHERE device_id = any($1::varchar[])", [d["device_id"] for d in devices])
        assert len(last) == len(devices) and all(r["last_seq"] == expected_seq for r in last), "a device's last_seq is off"
        on_hand = await conn.fetch("SELECT item, location, quantity_micro FROM stock_on_hand WHERE item = any($1::varchar[])", items)
        # Moves alternate FROM->TO and TO->FROM within each batch of 20, so both places end where they were counted.
        assert len(on_hand) == 2 * len(items) and all(r["quantity_micro"] == 10**12 for r in on_hand), "on-hand drifted"
        results = await conn.fetchval("SELECT count(*) FROM feed_change WHERE entity = 'mutation_result'")
        assert results >= len(sent_ids), "a mutation_result feed entry is missing"
    finally:
        await conn.close()
    return (f"{len(sent_ids):,} moves applied exactly once (log ids = ids sent, 2 ledger rows each, "
            f"last_seq = {2 + batches * PUSH_BATCH} on all {len(devices)} devices, on-hand conserved)")


def bench_push(profile: bool = False) -> None:
    servers.BACKEND = "postgres"
    batches = PUSH_BATCHES
    with tempfile.TemporaryDirectory() as tmp:
        server = start_profiled(Path(tmp)) if profile else servers.make_server(Path(tmp), **QUIET)
        try:
            planner = office(server.url, "planner")
            items = [f"BP-{i:06d}" for i in range(PUSH_DEVICES)]
            import_items(planner, "BP", PUSH_DEVICES)
            devices = asyncio.run(enrol_devices(server.url, PUSH_DEVICES))
            cpu_before = cpu_seconds(server.process.pid)
            seconds, sent_ids, not_applied = asyncio.run(drive_pushes(server.url, devices, items, batches))
            server_cpu = cpu_seconds(server.process.pid) - cpu_before
            assert not_applied == 0, f"{not_applied} moves were not applied"
            checked = asyncio.run(verify_exactly_once(server.database.url, devices, items, sent_ids, batches))
            raw_seconds = asyncio.run(raw_ledger_insert(server.database.url, PUSH_DEVICES, batches))
            if profile:
                print_profile(Path(tmp) / "push.prof")
        finally:
            server.stop()
            server.database.drop()
    moves = len(sent_ids)
    rate, raw_rate = moves / seconds, moves / raw_seconds
    ratio = rate / raw_rate
    block(f"Sync push throughput (PostgreSQL, {PUSH_DEVICES} devices x {batches} batches x {PUSH_BATCH} stock.move, raw HTTP)", [
        ("push", f"{rate:,.0f} mutations/s ({moves:,} in {seconds:.2f} s; each: 2 ledger rows, 2 on-hand rows, log row, 3 feed rows)"),
        ("baseline", f"raw asyncpg, {PUSH_DEVICES} connections, 1 txn per {PUSH_BATCH} moves: {raw_rate:,.0f} moves/s "
                     f"({2 * raw_rate:,.0f} ledger rows/s, {raw_seconds:.2f} s)"),
        ("ratio", f"{ratio:.3f}x raw"),
        ("server CPU", f"{server_cpu * 1e6 / (moves + 2 * PUSH_DEVICES):,.0f} us per mutation (user + system, seeding included; "
                       f"{server_cpu / seconds:.0%} of one core over the timed part)"),
        ("target", f">= {PUSH_TARGET_RATIO}x raw -> {verdict(ratio >= PUSH_TARGET_RATIO)}"),
        ("verified", checked),
    ])


def start_profiled(tmp: Path) -> servers.Server:
    """A push server running under cProfile (bench/profiled_serve.py), to see where a push's time goes."""
    real_popen = servers.subprocess.Popen

    def popen(args, **kwargs):
        if "serve" in args:
            args = [servers.sys.executable, str(Path(__file__).with_name("profiled_serve.py")), str(tmp / "push.prof"), *args[1:]]
        return real_popen(args, **kwargs)

    servers.subprocess.Popen = popen
    try:
        return servers.make_server(tmp, **QUIET)
    finally:
        servers.subprocess.Popen = real_popen


def print_profile(path: Path) -> None:
    import pstats

    (path.parent / (path.name + ".go")).touch()
    for _ in range(100):
        if path.exists():
            break
        time.sleep(0.1)
    if not path.exists():
        print("(no profile written)")
        return
    print("\n-- push server profile (own time, top 30) --")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(int(os.environ.get("BENCH_PROFILE_LINES", "30")))
    if os.environ.get("BENCH_PROFILE_CALLEES"):
        stats = pstats.Stats(str(path)).sort_stats("cumulative")
        for pattern in os.environ["BENCH_PROFILE_CALLEES"].split(","):
            stats.print_callees(pattern)
    print("\n-- cumulative, floorsync and litestar frames --")
    pstats.Stats(str(path)).sort_stats("cumulative").print_stats("floorsync|work/|litestar/middleware|controllers", 40)


GROUPS = {"push": lambda args: bench_push(profile=args.profile)}
