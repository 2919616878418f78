"""Sync push throughput against real `floorsync serve` processes on PostgreSQL and Redis (two, the production shape of
docker-compose.yml; BENCH_PUSH_SERVERS=1 for one), each scenario against its baseline measured in the same run: 50
enrolled devices push batches of 20 `stock.move` over raw HTTP, device d to server d mod N,

- spread: each device moves its own item between two bins of its own (no two devices touch the same on-hand row);
- shared: every device moves one item between the same 4 bins, in random directions (A->B in one batch, B->A in
  another: the pattern that deadlocked when rows were locked in the order of the moves).

Baseline: the same ledger rows (2 per move, into a copy of `stock_move` with its indexes) inserted by asyncpg, one
transaction per batch of 20 moves, from 50 connections. Afterwards every mutation is checked in SQL to have applied
once, the ledger to equal the on-hand projection, and PostgreSQL's deadlock counter for the server's database to be
unchanged. `--profile` runs the server under cProfile."""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx

from bench.common import QUIET, block, cpu_seconds, enrol_devices, import_items, mutation, post_push, verdict
from tests import servers
from tests.clients import office

PUSH_DEVICES = 50
PUSH_BATCH = int(os.environ.get("BENCH_PUSH_BATCH", "20"))
PUSH_BATCHES = int(os.environ.get("BENCH_PUSH_BATCHES", "5"))
PUSH_SERVERS = int(os.environ.get("BENCH_PUSH_SERVERS", "2"))  # docker-compose.yml runs two
SPREAD_TARGET_RATIO = 0.2
SHARED_TARGET_RATIO = 0.05
SHARED_BINS = ("RM-A-01-01", "RM-A-01-02", "RM-A-02-01", "RM-B-01-01")
SEED_QUANTITY = "1000000"
Move = tuple[str, str, str]  # item, from, to


@dataclass
class Scenario:
    name: str
    description: str
    target: float
    seeds: list[list[tuple[str, str]]]  # per device: (item, location) counted in before the clock starts
    batches: list[list[list[Move]]]  # per device, per batch
    sent_ids: list[str] = field(default_factory=list)

    @property
    def moves(self) -> int:
        return sum(len(batch) for device in self.batches for batch in device)


def spread_scenario(batches: int) -> Scenario:
    """Device d moves item BP-d back and forth between bins PB-d-A and PB-d-B."""
    plan, seeds = [], []
    for d in range(PUSH_DEVICES):
        item, here, there = f"BP-{d:06d}", f"PB-{d:03d}-A", f"PB-{d:03d}-B"
        seeds.append([(item, here), (item, there)])
        plan.append([[(item, here, there) if k % 2 == 0 else (item, there, here) for k in range(PUSH_BATCH)]
                     for _ in range(batches)])
    return Scenario("spread", "each device its own item and its own two bins", SPREAD_TARGET_RATIO, seeds, plan)


def shared_scenario(batches: int) -> Scenario:
    """Every device moves item BS-SHARED between two of the same 4 bins, chosen at random (seeded) per move."""
    item = "BS-SHARED"
    plan = []
    for d in range(PUSH_DEVICES):
        rng = random.Random(d)
        plan.append([[(item, *rng.sample(SHARED_BINS, 2)) for _ in range(PUSH_BATCH)] for _ in range(batches)])
    seeds = [[(item, location) for location in SHARED_BINS]] + [[] for _ in range(PUSH_DEVICES - 1)]
    return Scenario("shared", f"one item, {len(SHARED_BINS)} bins shared by all devices, random directions",
                    SHARED_TARGET_RATIO, seeds, plan)


def make_bins(admin: httpx.Client) -> None:
    lines = ["code,name,warehouse,kind"] + [f"PB-{d:03d}-{side},Bench bin {d} {side},RM,storage"
                                             for d in range(PUSH_DEVICES) for side in "AB"]
    response = admin.post("/api/csv/locations", files={"data": ("locations.csv", "\n".join(lines) + "\n", "text/csv")},
                            timeout=600)
    response.raise_for_status()


async def drive_pushes(base_urls: list[str], devices: list[dict], next_seq: list[int], scenario: Scenario) -> float:
    """Count each seed place in, then time every device pushing its batches, all devices at once, device d to
    server d mod N (as a load balancer spreads them). Bodies are serialised before the clock starts."""
    bodies: list[list[bytes]] = []
    for d, device_batches in enumerate(scenario.batches):
        seq, device_bodies = next_seq[d] + len(scenario.seeds[d]), []
        for moves in device_batches:
            batch = [mutation(seq + k, "stock.move", {"item": item, "from_location": source, "to_location": target, "quantity": "1"})
                     for k, (item, source, target) in enumerate(moves)]
            seq += len(batch)
            scenario.sent_ids.extend(m["id"] for m in batch)
            device_bodies.append(json.dumps({"protocol": 1, "mutations": batch}).encode())
        bodies.append(device_bodies)
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=base_urls[n % len(base_urls)], headers={"Authorization": f"Bearer {d['token']}"},
                                 timeout=120, limits=limits) for n, d in enumerate(devices)]
    try:
        async def seed(d: int) -> None:
            counts = [mutation(next_seq[d] + k, "stock.count", {"item": item, "location": location, "counted_quantity": SEED_QUANTITY})
                      for k, (item, location) in enumerate(scenario.seeds[d])]
            if counts:
                body = await post_push(clients[d], json.dumps({"protocol": 1, "mutations": counts}).encode())
                assert all(r["status"] == "applied" for r in body["results"]), body

        await asyncio.gather(*(seed(d) for d in range(len(devices))))

        async def device_run(client: httpx.AsyncClient, device_bodies: list[bytes]) -> int:
            refused = 0
            for body in device_bodies:
                answer = await post_push(client, body)
                refused += sum(r["status"] != "applied" for r in answer["results"])
            return refused

        started = time.perf_counter()
        refused = await asyncio.gather(*(device_run(c, b) for c, b in zip(clients, bodies)))
        seconds = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    assert sum(refused) == 0, f"{sum(refused)} moves of {scenario.name} were not applied"
    for d in range(len(devices)):
        next_seq[d] += len(scenario.seeds[d]) + sum(len(b) for b in scenario.batches[d])
    return seconds


async def raw_ledger_insert(database_url: str, scenario: Scenario) -> float:
    """The floor: the scenario's ledger rows (2 per move) into a copy of stock_move with its indexes, one
    transaction per batch, from one connection per device, all at once."""
    admin = await asyncpg.connect(database_url)
    await admin.execute("DROP TABLE IF EXISTS bench_ledger; CREATE TABLE bench_ledger (LIKE stock_move INCLUDING DEFAULTS INCLUDING INDEXES)")
    await admin.execute("ALTER TABLE bench_ledger ALTER COLUMN id SET DEFAULT nextval('stock_move_id_seq')")
    insert = ("INSERT INTO bench_ledger (at, item, location, lot, status, quantity_micro, reason, note, mutation_id, device_id,"
              " username, event_time) VALUES ($1, $2, $3, '', 'available', $4, 'move', '', $5, $6, NULL, $7)")
    pool = await asyncpg.create_pool(database_url, min_size=PUSH_DEVICES, max_size=PUSH_DEVICES)

    async def one(device_batches: list[list[Move]]) -> None:
        device_id = str(uuid.uuid4())
        async with pool.acquire() as conn:
            for moves in device_batches:
                now = datetime.now(timezone.utc)
                rows = []
                for item, source, target in moves:
                    mutation_id = str(uuid.uuid4())
                    rows.append((now, item, source, -1_000_000, mutation_id, device_id, now))
                    rows.append((now, item, target, 1_000_000, mutation_id, device_id, now))
                async with conn.transaction():
                    await conn.executemany(insert, rows)

    try:
        started = time.perf_counter()
        await asyncio.gather(*(one(b) for b in scenario.batches))
        seconds = time.perf_counter() - started
        count = await admin.fetchval("SELECT count(*) FROM bench_ledger")
        assert count == 2 * scenario.moves, count
        await admin.execute("DROP TABLE bench_ledger")
        return seconds
    finally:
        await pool.close()
        await admin.close()


async def deadlocks(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
    finally:
        await conn.close()


async def verify_exactly_once(database_url: str, devices: list[dict], next_seq: list[int], scenario: Scenario) -> str:
    """Every move sent is in the log once, applied, with exactly its two ledger rows; every device's last_seq is
    its last mutation; the ledger sums to the on-hand projection at every place."""
    conn = await asyncpg.connect(database_url)
    try:
        logged = await conn.fetch("SELECT mutation_id, status FROM mutation_log WHERE mutation_id = any($1::varchar[])",
                                  scenario.sent_ids)
        assert len(logged) == len(scenario.sent_ids), (len(logged), len(scenario.sent_ids))
        assert all(r["status"] == "applied" for r in logged), "some moves were not applied"
        ledger = await conn.fetch("SELECT mutation_id, count(*) AS n, sum(quantity_micro) AS net FROM stock_move "
                                  "WHERE mutation_id = any($1::varchar[]) GROUP BY mutation_id", scenario.sent_ids)
        assert len(ledger) == len(scenario.sent_ids) and all(r["n"] == 2 and r["net"] == 0 for r in ledger), "ledger rows per move are not 2"
        last = await conn.fetch("SELECT device_id, last_seq FROM device WHERE device_id = any($1::varchar[])", [d["device_id"] for d in devices])
        expected = {d["device_id"]: next_seq[i] - 1 for i, d in enumerate(devices)}
        assert all(r["last_seq"] == expected[r["device_id"]] for r in last), "a device's last_seq is off"
        drift = await conn.fetchval(
            "SELECT count(*) FROM (SELECT item, location, lot, status, sum(quantity_micro) AS q FROM stock_move "
            "GROUP BY item, location, lot, status) ledger FULL JOIN stock_on_hand s USING (item, location, lot, status) "
            "WHERE coalesce(ledger.q, 0) <> coalesce(s.quantity_micro, 0)")
        assert drift == 0, f"{drift} on-hand rows differ from their ledger"
        results = await conn.fetchval("SELECT count(*) FROM feed_change WHERE entity = 'mutation_result' "
                                      "AND entity_key = any($1::varchar[])", scenario.sent_ids)
        assert results == len(scenario.sent_ids), "a mutation_result feed entry is missing"
    finally:
        await conn.close()
    return f"{len(scenario.sent_ids):,} moves applied exactly once (logged once, 2 ledger rows each, last_seq right, ledger = on hand)"


def run_scenario(fleet: list[servers.Server], devices: list[dict], next_seq: list[int], scenario: Scenario) -> None:
    server = fleet[0]
    deadlocks_before = asyncio.run(deadlocks(server.database.url))
    transient_before = sum(s.log_text().count("hit a transient fault") for s in fleet)
    cpu_before = sum(cpu_seconds(s.process.pid) for s in fleet)
    seconds = asyncio.run(drive_pushes([s.url for s in fleet], devices, next_seq, scenario))
    server_cpu = sum(cpu_seconds(s.process.pid) for s in fleet) - cpu_before
    checked = asyncio.run(verify_exactly_once(server.database.url, devices, next_seq, scenario))
    raw_seconds = asyncio.run(raw_ledger_insert(server.database.url, scenario))
    time.sleep(1.5)  # a backend reports its deadlock count to pg_stat_database at most once a second
    deadlocks_seen = asyncio.run(deadlocks(server.database.url)) - deadlocks_before
    retried = sum(s.log_text().count("hit a transient fault") for s in fleet) - transient_before
    moves = scenario.moves
    rate, raw_rate = moves / seconds, moves / raw_seconds
    ratio = rate / raw_rate
    batches = len(scenario.batches[0])
    processes = f"{len(fleet)} server processes" if len(fleet) > 1 else "1 server process"
    block(f"Sync push, {scenario.name} (PostgreSQL + Redis, {processes}, {PUSH_DEVICES} devices x {batches} batches x "
          f"{PUSH_BATCH} stock.move, raw HTTP: "
          f"{scenario.description})", [
        ("push", f"{rate:,.0f} mutations/s ({moves:,} in {seconds:.2f} s; each: 2 ledger rows, 2 on-hand rows, log row, 3 feed rows)"),
        ("baseline", f"raw asyncpg, {PUSH_DEVICES} connections, 1 txn per {PUSH_BATCH} moves: {raw_rate:,.0f} moves/s "
                     f"({2 * raw_rate:,.0f} ledger rows/s, {raw_seconds:.2f} s)"),
        ("ratio", f"{ratio:.3f}x raw"),
        ("server CPU", f"{server_cpu * 1e6 / moves:,.0f} us per mutation (user + system, seeding included; "
                       f"{server_cpu / seconds:.0%} of one core over the timed part, all processes)"),
        ("deadlocks", f"{deadlocks_seen} (pg_stat_database), {retried} pushes retried on a transient fault (server log)"),
        ("target", f">= {scenario.target}x raw, no deadlock -> {verdict(ratio >= scenario.target and deadlocks_seen == 0)}"),
        ("verified", checked),
    ])


def bench_push(profile: bool = False) -> None:
    servers.BACKEND = "postgres"
    batches = PUSH_BATCHES
    with tempfile.TemporaryDirectory() as tmp:
        server = start_profiled(Path(tmp)) if profile else servers.make_server(Path(tmp), **QUIET)
        try:
            planner = office(server.url, "planner")
            import_items(planner, "BP", PUSH_DEVICES)
            planner.post("/api/items", json={"code": "BS-SHARED", "name": "Shared bench item", "type": "raw", "unit": "PCS"}
                         ).raise_for_status()
            make_bins(office(server.url, "admin"))
            devices = asyncio.run(enrol_devices(server.url, PUSH_DEVICES))
            next_seq = [1] * PUSH_DEVICES
            # the production shape (docker-compose.yml): two server processes on one PostgreSQL and Redis
            fleet = [server] + [servers.Server(database=server.database, port=servers.free_port(), env=server.env).start()
                                for _ in range(PUSH_SERVERS - 1)]
            try:
                for scenario in (spread_scenario(batches), shared_scenario(batches)):
                    if scenario.name not in os.environ.get("BENCH_PUSH_SCENARIOS", "spread,shared").split(","):
                        continue
                    run_scenario(fleet, devices, next_seq, scenario)
            finally:
                for other in fleet[1:]:
                    other.stop()
            if profile:
                print_profile(Path(tmp) / "push.prof")
        finally:
            server.stop()
            server.database.drop()


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
