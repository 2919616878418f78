"""Poke latency against two real `floorsync serve` processes on PostgreSQL + Redis, with its baseline measured in
the same run: 500 device websockets split across them; latency from a push acknowledged to the poke on every
socket; baseline: a raw Redis PUBLISH -> SUBSCRIBE round trip."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import redis.asyncio as aioredis
from websockets.asyncio.client import connect as ws_connect

from bench.common import FROM, QUIET, block, enrol_devices, import_items, mutation, percentile, post_push, verdict
from tests import servers
from tests.clients import office

POKE_SOCKETS = int(os.environ.get("BENCH_POKE_SOCKETS", "500"))
POKE_ROUNDS = int(os.environ.get("BENCH_POKE_ROUNDS", "20"))
POKE_TARGET_P99_MS = 100.0


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


GROUPS = {"poke": lambda args: bench_poke()}
