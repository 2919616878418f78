"""Pushes on shared bins under contention (PostgreSQL, where writers run side by side; SQLite has one writer at a
time): devices moving stock between the same bins in opposite directions at once never deadlock, every move takes
effect exactly once, and the office is answered meanwhile."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import datetime, timezone

import httpx

from tests.clients import CSRF_COOKIE
from tests.factory import make_item
from tests.faults import Oracle

PAIR = ("RM-A-01-01", "RM-A-01-02")
SHARED = ("RM-A-01-01", "RM-A-01-02", "RM-A-02-01", "RM-B-01-01")


async def _enrol(base_url: str, warehouse: httpx.Client, count: int) -> list[dict]:
    """Devices enrolled as an office user does it (a one-time code each), several at a time."""
    headers = {"x-csrftoken": warehouse.cookies.get(CSRF_COOKIE)}
    gate = asyncio.Semaphore(8)
    async with httpx.AsyncClient(base_url=base_url, cookies=warehouse.cookies, headers=headers, timeout=60) as client:
        async def one(index: int) -> dict:
            async with gate:
                made = await client.post("/api/devices/enrolments", json={"scope": {"site": "NB1"}})
                assert made.status_code == 201, made.text
                enrolled = await client.post("/api/sync/enroll", json={"code": made.json()["code"],
                                                                       "device_name": f"Contention {index}", "platform": "test"})
                assert enrolled.status_code == 200, enrolled.text
                return enrolled.json()

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def _batch(first_seq: int, moves: list[tuple[str, str, str]]) -> list[dict]:
    now = datetime.now(timezone.utc).isoformat()
    return [{"seq": first_seq + k, "id": str(uuid.uuid4()), "name": "stock.move", "client_time": now,
             "args": {"item": item, "from_location": source, "to_location": target, "quantity": "1"}}
            for k, (item, source, target) in enumerate(moves)]


async def _push_all(base_url: str, plans: list[tuple[dict, list[list[dict]]]], office_read) -> tuple[list[dict], dict]:
    """Every device pushes its batches one after the other, all devices at once; once the first answer is in, the
    office reads the item list. Returns every result and what the office read saw."""
    first_answer, all_done = asyncio.Event(), asyncio.Event()
    results: list[dict] = []

    async def device_run(device: dict, batches: list[list[dict]]) -> None:
        async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {device['token']}"},
                                     timeout=60) as client:
            for batch in batches:
                response = await client.post("/api/sync/push", json={"protocol": 1, "mutations": batch})
                assert response.status_code == 200, response.text
                results.extend(response.json()["results"])
                first_answer.set()

    async def read_meanwhile() -> dict:
        await first_answer.wait()
        started = time.perf_counter()
        response = await office_read()
        return {"status": response.status_code, "seconds": time.perf_counter() - started,
                "pushes_still_running": not all_done.is_set()}

    async def pushes() -> None:
        await asyncio.gather(*(device_run(device, batches) for device, batches in plans))
        all_done.set()

    _, read = await asyncio.gather(pushes(), read_meanwhile())
    return results, read


def test_devices_moving_stock_between_shared_bins_in_opposite_directions_never_deadlock(server, login, unique):
    """10 devices move one item back and forth between two bins (half of them A->B first, half B->A) and 50 devices
    move another between four bins in random directions, all pushing at once through the real endpoint."""
    warehouse, viewer = login("warehouse"), login("viewer")
    pair_item, shared_item = unique("PAIR"), unique("SHARE")
    for item, bins in ((pair_item, PAIR), (shared_item, SHARED)):
        make_item(login("planner"), item, stock={location: "1000" for location in bins}, clerk=warehouse)
    devices = asyncio.run(_enrol(server.url, warehouse, 60))
    rng = random.Random(12)
    plans: list[tuple[dict, list[list[dict]]]] = []
    for index, device in enumerate(devices[:10]):
        there, back = (PAIR, PAIR[::-1])[index % 2], (PAIR[::-1], PAIR)[index % 2]
        moves = [(pair_item, *(there if k % 2 == 0 else back)) for k in range(20)]
        plans.append((device, [_batch(1, moves[:10]), _batch(11, moves[10:])]))
    for device in devices[10:]:
        plans.append((device, [_batch(1, [(shared_item, *rng.sample(SHARED, 2)) for _ in range(10)])]))
    oracle = Oracle(server.database)
    deadlocks_before = oracle.query("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")[0][0]
    log_before = len(server.log_text())

    async def office_read() -> httpx.Response:
        async with httpx.AsyncClient(base_url=server.url, cookies=viewer.cookies, timeout=60) as client:
            return await client.get("/api/items", params={"q": shared_item, "limit": 50})

    results, read = asyncio.run(_push_all(server.url, plans, office_read))

    sent = {m["id"] for _, batches in plans for batch in batches for m in batch}
    assert len(results) == len(sent) == 700 and {r["status"] for r in results} == {"applied"}
    log = server.log_text()[log_before:]
    assert "Deadlock" not in log and "transient fault" not in log, log[-2000:]
    deadlocks_after = oracle.query("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")[0][0]
    assert deadlocks_after == deadlocks_before
    logged = oracle.log_rows()
    assert all([row[2] for row in logged[mutation_id]] == ["applied"] for mutation_id in sent)
    moves = oracle.moves_by_mutation()
    assert all(sorted(moves[mutation_id]) == [-1_000_000, 1_000_000] for mutation_id in sent)
    assert [place for place in oracle.ledger_against_projection() if pair_item in place or shared_item in place] == []
    last_seqs = dict(oracle.query("SELECT device_id, last_seq FROM device WHERE device_id = any($1::varchar[])",
                                  [device["device_id"] for device in devices]))
    assert [last_seqs[device["device_id"]] for device in devices] == [20] * 10 + [10] * 50
    # The office was answered while devices were still queueing for the hot bins, not after them.
    assert read["status"] == 200 and read["pushes_still_running"], read
