"""Sync protocol benchmarks against real `floorsync serve` processes, each with its baseline measured in the same run.

- push: 50 enrolled devices push batches of 20 `stock.move` over raw HTTP to one server on PostgreSQL; baseline:
  the same ledger rows (2 per move, into a copy of `stock_move` with its indexes) inserted by asyncpg, one
  transaction per batch of 20 moves, from 50 connections. Every mutation is checked in SQL to have applied once.
- initial sync: 100,000 items imported through the CSV API, then a fresh device's `pull_all` (reference client,
  largest page) timed, with the server's RSS growth; baseline: one raw SELECT of the same feed rows.
- poke: two server processes on PostgreSQL + Redis, 500 device websockets split across them; latency from a push
  acknowledged to the poke on every socket; baseline: a raw Redis PUBLISH -> SUBSCRIBE round trip.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import tempfile
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import httpx
import redis.asyncio as aioredis
from websockets.asyncio.client import connect as ws_connect

from sync.client import DeviceClient
from tests import servers
from tests.clients import CSRF_COOKIE, office

PUSH_DEVICES = 50
PUSH_BATCH = int(os.environ.get("BENCH_PUSH_BATCH", "20"))
PUSH_BATCHES = int(os.environ.get("BENCH_PUSH_BATCHES", "5"))
PUSH_TARGET_RATIO = 0.1
SYNC_ITEMS = int(os.environ.get("BENCH_SYNC_ITEMS", "100000"))
SYNC_IMPORT_CHUNK = 10_000
SYNC_TARGET_SECONDS = 10.0
SYNC_TARGET_RSS_MB = 100.0
POKE_SOCKETS = int(os.environ.get("BENCH_POKE_SOCKETS", "500"))
POKE_ROUNDS = int(os.environ.get("BENCH_POKE_ROUNDS", "20"))
POKE_TARGET_P99_MS = 100.0
FROM, TO = "RM-A-01-01", "RM-A-01-02"
QUIET = {"FLOORSYNC_LOG_LEVEL": "WARNING"}


# -- shared helpers --------------------------------------------------------------------------------------
def block(title: str, lines: list[tuple[str, str]]) -> None:
    print(f"\n== {title} ==")
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"  {label.ljust(width)} : {value}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far: a figure that does not depend on what else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def bench_items_csv(prefix: str, start: int, count: int) -> str:
    lines = ["code,name,type,unit"] + [f"{prefix}-{i:06d},Sync bench item {i},raw,PCS" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def import_items(planner: httpx.Client, prefix: str, count: int) -> None:
    for start in range(0, count, SYNC_IMPORT_CHUNK):
        chunk = bench_items_csv(prefix, start, min(SYNC_IMPORT_CHUNK, count - start))
        response = planner.post("/api/csv/items", files={"data": ("items.csv", chunk, "text/csv")}, timeout=600)
        response.raise_for_status()


async def enrol_devices(base_url: str, count: int, site: str = "NB1", concurrency: int = 8) -> list[dict]:
    """Enrol devices as an office admin would (one-time code, then the device's own enrol call)."""
    admin = office(base_url, "admin")
    headers = {"x-csrftoken": admin.cookies.get(CSRF_COOKIE)}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, cookies=admin.cookies, headers=headers, timeout=60) as client:

        async def one(index: int) -> dict:
            async with gate:
                made = await client.post("/api/devices/enrolments", json={"scope": {"site": site}})
                assert made.status_code == 201, made.text
                enrolled = await client.post("/api/sync/enroll", json={"code": made.json()["code"], "device_name": f"Bench {index}",
                                                                       "platform": "bench"})
                assert enrolled.status_code == 200, enrolled.text
                return enrolled.json()

        devices = await asyncio.gather(*(one(i) for i in range(count)))
    admin.close()
    return list(devices)


def mutation(seq: int, name: str, args: dict) -> dict:
    return {"seq": seq, "id": str(uuid.uuid4()), "name": name, "args": args,
            "client_time": datetime.now(timezone.utc).isoformat()}


async def post_push(client: httpx.AsyncClient, body: bytes) -> dict:
    """One push; a 503 (the server's own retries did not clear a transient fault) is retried as a device would."""
    for attempt in range(20):
        response = await client.post("/api/sync/push", content=body, headers={"content-type": "application/json"})
        if response.status_code == 503:
            await asyncio.sleep(0.1 * (attempt + 1))
            continue
        response.raise_for_status()
        return response.json()
    raise RuntimeError("push kept getting 503")


# -- 1. push throughput -------------------------------------------------------------------------------------
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


# -- 2. initial sync ------------------------------------------------------------------------------------------
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

            device = DeviceClient(server.url, Path(tmp) / "device.sqlite", page_size=1000, timeout=120)
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
    block(f"Initial sync, {SYNC_ITEMS:,} items ({name}, reference client, pages of 1000)", [
        ("initial sync", f"{sync_seconds:.2f} s, {pages} pages, {items_in_replica:,} items in the replica "
                         f"({http_seconds:.2f} s in HTTP calls, {sync_seconds - http_seconds:.2f} s applying on the device)"),
        ("server RSS", f"{rss_before:.0f} MB before, peak {rss_peak:.0f} MB, {rss_after:.0f} MB after: growth {growth:+.1f} MB (peak)"),
        ("baseline", f"one raw SELECT of the same {raw_rows:,} feed rows: {raw_seconds:.3f} s"),
        ("ratio", f"{sync_seconds / raw_seconds:.0f}x the raw SELECT (HTTP part alone: {http_seconds / raw_seconds:.0f}x)"),
        ("target", f"< {SYNC_TARGET_SECONDS:.0f} s and < {SYNC_TARGET_RSS_MB:.0f} MB -> {verdict(ok)}"),
        ("setup", f"CSV import of {SYNC_ITEMS:,} items in chunks of {SYNC_IMPORT_CHUNK:,}: {import_seconds:.1f} s "
                  f"({SYNC_ITEMS / import_seconds:,.0f} items/s)"),
    ])


# -- 3. poke latency --------------------------------------------------------------------------------------------
async def redis_round_trips(rounds: int = 200) -> list[float]:
    """The floor: PUBLISH on one connection, the message read on a subscribed one, same machine."""
    client = aioredis.from_url(servers.REDIS_URL)
    pubsub = client.pubsub()
    channel = f"bench:{uuid.uuid4().hex[:8]}"
    await pubsub.subscribe(channel)
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    samples = []
    try:
        for i in range(rounds):
            started = time.perf_counter()
            await client.publish(channel, str(i))
            while True:
                message = await pubsub.get_message(timeout=1, ignore_subscribe_messages=True)
                if message is not None:
                    break
            samples.append(time.perf_counter() - started)
    finally:
        await pubsub.aclose()
        await client.aclose()
    return samples


async def poke_rounds(urls: list[str], listeners: list[dict], pusher: dict, item: str, rounds: int) -> tuple[list[float], list[float], int]:
    """Connect every listener's websocket (alternating between the servers), then push one stock.count per round
    and time the poke on every socket from the moment the push's response arrived."""
    arrivals: list[float | None] = [None] * len(listeners)
    all_arrived = asyncio.Event()
    expecting = {"count": 0}

    async def listen(index: int, ws) -> None:
        async for raw in ws:
            if json.loads(raw).get("type") == "poke" and arrivals[index] is None:
                arrivals[index] = time.perf_counter()
                expecting["count"] -= 1
                if expecting["count"] == 0:
                    all_arrived.set()

    sockets = []

    async def open_socket(index: int, device: dict) -> None:
        url = urls[index % len(urls)].replace("http://", "ws://") + "/api/sync/live"
        ws = await ws_connect(url, additional_headers={"Authorization": f"Bearer {device['token']}"}, max_queue=None,
                              ping_interval=None, open_timeout=60)
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        sockets.append(ws)
        tasks.append(asyncio.create_task(listen(index, ws)))

    tasks: list[asyncio.Task] = []
    gate = asyncio.Semaphore(50)

    async def gated(index: int, device: dict) -> None:
        async with gate:
            await open_socket(index, device)

    await asyncio.gather(*(gated(i, d) for i, d in enumerate(listeners)))
    from_ack: list[float] = []
    from_send: list[float] = []
    missed = 0
    async with httpx.AsyncClient(base_url=urls[0], headers={"Authorization": f"Bearer {pusher['token']}"}, timeout=30) as client:
        for round_number in range(rounds + 1):  # round 0 warms up
            await asyncio.sleep(0.3)
            for i in range(len(arrivals)):
                arrivals[i] = None
            expecting["count"] = len(listeners)
            all_arrived.clear()
            body = json.dumps({"protocol": 1, "mutations": [
                mutation(round_number + 1, "stock.count", {"item": item, "location": FROM, "counted_quantity": str(10 + round_number % 2)})
            ]}).encode()
            sent = time.perf_counter()
            answer = await post_push(client, body)
            acknowledged = time.perf_counter()
            assert answer["results"][0]["status"] == "applied", answer
            try:
                await asyncio.wait_for(all_arrived.wait(), timeout=5)
            except TimeoutError:
                pass
            if round_number == 0:
                continue
            for arrived in arrivals:
                if arrived is None:
                    missed += 1
                    continue
                from_ack.append(arrived - acknowledged)
                from_send.append(arrived - sent)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return from_ack, from_send, missed


def bench_poke() -> None:
    servers.BACKEND = "postgres"
    with tempfile.TemporaryDirectory() as tmp:
        first = servers.make_server(Path(tmp), **QUIET)
        second = None
        try:
            second = servers.make_server(Path(tmp), database=first.database, **QUIET)
            planner = office(first.url, "planner")
            import_items(planner, "PK", 1)
            planner.close()
            started = time.perf_counter()
            devices = asyncio.run(enrol_devices(first.url, POKE_SOCKETS + 1))
            enrol_seconds = time.perf_counter() - started
            pusher, listeners = devices[0], devices[1:]
            from_ack, from_send, missed = asyncio.run(poke_rounds([first.url, second.url], listeners, pusher, "PK-000000", POKE_ROUNDS))
            redis_samples = asyncio.run(redis_round_trips())
        finally:
            if second is not None:
                second.stop()
            first.stop()
            first.database.drop()
    ms = lambda s: s * 1000  # noqa: E731
    p50, p99 = percentile(from_ack, 50), percentile(from_ack, 99)
    r50, r99 = percentile(redis_samples, 50), percentile(redis_samples, 99)
    before_ack = sum(1 for s in from_ack if s < 0)
    block(f"Poke latency (2 server processes, PostgreSQL + Redis, {POKE_SOCKETS} device websockets, {POKE_ROUNDS} pushes)", [
        ("push ack -> poke", f"p50 {ms(p50):.1f} ms, p99 {ms(p99):.1f} ms, max {ms(max(from_ack)):.1f} ms "
                             f"({len(from_ack):,} pokes, {missed} missed; {before_ack} arrived before the ack)"),
        ("push sent -> poke", f"p50 {ms(percentile(from_send, 50)):.1f} ms, p99 {ms(percentile(from_send, 99)):.1f} ms"),
        ("baseline", f"raw Redis PUBLISH -> SUBSCRIBE round trip: p50 {ms(r50):.2f} ms, p99 {ms(r99):.2f} ms"),
        ("ratio", f"p99 {p99 / r99:.0f}x the Redis round trip"),
        ("target", f"p99 < {POKE_TARGET_P99_MS:.0f} ms and none missed -> {verdict(ms(p99) < POKE_TARGET_P99_MS and missed == 0)}"),
        ("setup", f"{POKE_SOCKETS + 1} devices enrolled through the office API in {enrol_seconds:.1f} s"),
    ])


GROUPS = {
    "push": lambda args: bench_push(profile=args.profile),
    "initial-sync": lambda args: [bench_initial_sync(b) for b in args.sync_backends],
    "poke": lambda args: bench_poke(),
}


def run(groups: list[str], args) -> None:
    for group in groups:
        GROUPS[group](args)

