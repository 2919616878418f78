"""Several real server processes on one PostgreSQL, sharing live events through Redis; and what happens when a
process is SIGKILLed mid-push or Redis goes away. PostgreSQL + Redis run only: on SQLite there is no shared
broker, and conftest.py deselects this module there (saying so in the report)."""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

import httpx
import pytest
import redis
from websockets.sync.client import connect

from sync.client import DeviceClient, TransientError
from tests.clients import office
from tests.live_sockets import closed_with, drain, next_message, open_live
from tests.servers import Server, free_port, make_server
from tests.sync_fixtures import enrolled_device, enrolment_code

POKE_WITHIN_SECONDS = 2.0


def sql_rows(server: Server, query: str) -> list[list[str]]:
    out = subprocess.run(["psql", server.database.url, "-v", "ON_ERROR_STOP=1", "-tAF", "\t", "-c", query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def new_item(base_url: str) -> str:
    code = f"MP-{uuid.uuid4().hex[:8].upper()}"
    with closing(office(base_url, "planner")) as planner:
        planner.post("/api/items", json={"code": code, "name": "Multi-process part", "type": "raw", "unit": "PCS"}).raise_for_status()
    return code


@contextmanager
def holding_row_lock(server: Server, locking_select: str):
    """Holds a row lock from a psql session of the test's own until a server backend is waiting for it."""
    holder = subprocess.Popen(["psql", server.database.url, "-v", "ON_ERROR_STOP=1", "-q"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, text=True)
    try:
        holder.stdin.write(f"BEGIN; {locking_select};\n")
        holder.stdin.flush()
        deadline = time.monotonic() + 15
        while sql_rows(server, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                               "AND wait_event_type = 'Lock'") == [["0"]]:
            assert time.monotonic() < deadline, "no push came to wait for the held row"
            time.sleep(0.01)
        yield
    finally:
        holder.stdin.close()  # psql ends; its transaction rolls back and the lock is released
        holder.wait(10)


@pytest.fixture(scope="module")
def process_b(server, tmp_path_factory):
    """A second `floorsync serve` process on the session server's database (and its Redis). Stateless like every
    server process (what it knows is the database's and Redis's), it is started once for the module's tests."""
    other = make_server(tmp_path_factory.mktemp("process_b"), demo=False, database=server.database)
    yield other
    other.stop()


def test_a_push_to_process_a_pokes_a_socket_held_on_process_b(server, process_b, login, tmp_path):
    item = new_item(server.url)
    pusher = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["RM"])
    listener = enrolled_device(process_b.url, login("warehouse"), tmp_path, warehouses=["RM"])
    socket = open_live(process_b.url, listener.token)
    try:
        drain(socket)
        pusher.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "3"})
        pushed_at = time.monotonic()
        pusher.push_once()
        poke = next_message(socket, "poke", POKE_WITHIN_SECONDS)
        assert poke is not None and time.monotonic() - pushed_at < POKE_WITHIN_SECONDS
        listener.pull_all()
        assert listener.cursor >= poke["cursor"]
        assert listener.replica("stock")[f"{item}|RM-A-01-01||available"]["quantity"] == "3"
    finally:
        socket.close()
        pusher.close()
        listener.close()


def test_revoking_on_process_a_closes_the_socket_on_process_b_at_once(server, process_b, login, tmp_path):
    device = enrolled_device(server.url, login("warehouse"), tmp_path, warehouses=["RM"])
    socket = open_live(process_b.url, device.token)
    try:
        drain(socket)
        login("admin").post(f"/api/devices/{device.device_id}/revoke").raise_for_status()
        messages, code = closed_with(socket, POKE_WITHIN_SECONDS)
        assert code == 4401, f"the socket on process B was still open {POKE_WITHIN_SECONDS}s after revocation on A"
        assert messages[-1]["code"] == "device_revoked"
    finally:
        socket.close()
        device.close()


DEVICES = 5
BATCHES_PER_DEVICE = 8
BATCH = 20


def test_a_process_killed_mid_push_under_load_loses_nothing_acknowledged_and_applies_nothing_twice(fresh_server, tmp_path):
    first = fresh_server()
    items = [new_item(first.url) for _ in range(DEVICES)]
    state_paths: list[Path] = []
    with closing(office(first.url, "warehouse")) as warehouse:
        for index, item in enumerate(items):
            path = tmp_path / f"device-{index}.sqlite"
            client = DeviceClient(first.url, path)
            client.enroll(enrolment_code(warehouse, "NB1", ["RM"]), device_name=f"Loader {index}")
            client.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "100000"})
            client.sync()
            client.close()
            state_paths.append(path)

    enqueued: list[list[str]] = [[] for _ in range(DEVICES)]
    acknowledged: list[set[str]] = [set() for _ in range(DEVICES)]
    faults: list[list[str]] = [[] for _ in range(DEVICES)]
    lock = threading.Lock()
    failures: list[BaseException] = []

    def run_device(index: int) -> None:
        rng = random.Random(index)
        client = DeviceClient(first.url, state_paths[index], batch_size=BATCH, timeout=10, rng=rng)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if not client.pending():
                    if len(enqueued[index]) >= BATCHES_PER_DEVICE * BATCH:
                        break
                    batch = [client.enqueue("stock.move", {"item": items[index], "from_location": "RM-A-01-01",
                                                           "to_location": "RM-A-01-02", "quantity": 1}) for _ in range(BATCH)]
                    enqueued[index].extend(batch)
                try:
                    results = client.push_once()
                except TransientError as fault:
                    faults[index].append(str(fault))
                    time.sleep(rng.uniform(0.05, 0.3))
                    continue
                with lock:
                    acknowledged[index].update(r["id"] for r in results if r["status"] != "gap")
            while True:  # the pull settles anything whose response was lost in the kill
                try:
                    client.pull_all()
                    break
                except TransientError:
                    time.sleep(0.2)
            assert client.pending() == [], "the outbox did not drain"
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            failures.append(exc)
        finally:
            client.close()

    threads = [threading.Thread(target=run_device, args=(i,)) for i in range(DEVICES)]
    for thread in threads:
        thread.start()
    while sum(len(a) for a in acknowledged) < DEVICES * BATCH and all(t.is_alive() for t in threads):
        time.sleep(0.01)
    # Pushes are fast enough that a kill at a random moment may find none in flight. So one is held mid-transaction:
    # a lock on the first device's on-hand row makes its next push wait inside the server, and the kill cuts it off.
    with holding_row_lock(first, f"SELECT 1 FROM stock_on_hand WHERE item = '{items[0]}' FOR UPDATE"):
        first.process.send_signal(signal.SIGKILL)  # every other device is pushing in a loop too
        first.process.wait(10)
    with lock:
        acknowledged_before_kill = set().union(*acknowledged)
    time.sleep(1)
    second = Server(database=first.database, port=first.port, env=first.env).start()
    try:
        for thread in threads:
            thread.join(180)
        assert not failures, failures
        assert not any(t.is_alive() for t in threads)
    finally:
        second.stop()

    all_enqueued = [m for per_device in enqueued for m in per_device]
    assert len(all_enqueued) == DEVICES * BATCHES_PER_DEVICE * BATCH
    assert 0 < len(acknowledged_before_kill) < len(all_enqueued), "the kill did not land in the middle of the load"
    assert any("ConnectError" not in f for f in faults[0]), "the push held in flight was not cut off by the kill"

    ids = ",".join(f"'{m}'" for m in all_enqueued)
    logged = sql_rows(first, f"SELECT mutation_id, status, count(*) OVER (PARTITION BY mutation_id) FROM mutation_log "
                             f"WHERE mutation_id IN ({ids})")
    assert all(row[2] == "1" for row in logged), "a mutation was logged twice"
    statuses = {row[0]: row[1] for row in logged}
    assert set(statuses) == set(all_enqueued), "an enqueued mutation was neither applied nor rejected"
    assert acknowledged_before_kill <= set(statuses), "an acknowledged mutation was lost in the kill"
    assert set(statuses.values()) == {"applied"}
    ledger = dict(sql_rows(first, f"SELECT mutation_id, count(*) FROM stock_move WHERE mutation_id IN ({ids}) GROUP BY mutation_id"))
    assert ledger == {m: "2" for m in all_enqueued}, "an applied move does not have exactly its two ledger rows"
    per_item = dict(sql_rows(first, "SELECT item, count(*) FROM mutation_log l JOIN stock_move m USING (mutation_id) "
                                    "WHERE m.location = 'RM-A-01-02' GROUP BY item"))
    assert per_item == {item: str(BATCHES_PER_DEVICE * BATCH) for item in items}


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test may stop and start again."""

    def __init__(self, tmp: Path):
        self.port, self.tmp, self.process = free_port(), tmp, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.tmp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path):
    broker = PrivateRedis(tmp_path)
    broker.start()
    yield broker
    broker.stop()


def connect_live_when_possible(base_url: str, token: str, within_seconds: float):
    """Reconnect as a device does: try, and on a refusal (1013, broker unavailable) try again a little later."""
    deadline = time.monotonic() + within_seconds
    while True:
        try:
            return open_live(base_url, token)
        except Exception:  # noqa: BLE001 - refused while live is down; the device keeps pulling meanwhile
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_with_redis_stopped_push_and_pull_keep_working_and_live_recovers_when_it_returns(fresh_server, private_redis, tmp_path):
    srv = fresh_server(FLOORSYNC_REDIS_URL=private_redis.url)
    item = new_item(srv.url)
    with closing(office(srv.url, "warehouse")) as warehouse:
        pusher = enrolled_device(srv.url, warehouse, tmp_path, warehouses=["RM"])
        listener = enrolled_device(srv.url, warehouse, tmp_path, warehouses=["RM"])
    socket = open_live(srv.url, listener.token)
    try:
        drain(socket)
        pusher.enqueue("stock.count", {"item": item, "location": "RM-A-01-01", "counted_quantity": "50"})
        pusher.push_once()
        assert next_message(socket, "poke", POKE_WITHIN_SECONDS) is not None

        private_redis.stop()
        messages, code = closed_with(socket, 15)
        assert code == 1013, "the socket whose subscription died was not closed for the device to reconnect"
        assert messages[-1]["code"] == "broker_unavailable"

        health = httpx.get(f"{srv.url}/health", timeout=30)
        assert health.status_code == 200
        assert health.json()["status"] == "degraded" and health.json()["broker"]["ok"] is False

        for quantity in (1, 2, 3):
            moved = pusher.enqueue("stock.move", {"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02",
                                                  "quantity": quantity})
            pusher.push_once()  # raises on any 4xx/5xx
            assert pusher.result(moved)["status"] == "applied"
        listener.pull_all()
        assert listener.replica("stock")[f"{item}|RM-A-01-02||available"]["quantity"] == "6"

        # A device reconnecting meanwhile is told to try again later (1013); it keeps pulling on its timer.
        while_down = connect(srv.url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10, legacy=True)
        while_down.send('{"type": "hello", "token": "%s"}' % listener.token)
        messages, code = closed_with(while_down, 10)
        assert code == 1013 and messages[-1]["code"] == "broker_unavailable"

        private_redis.start()
        socket = connect_live_when_possible(srv.url, listener.token, 30)
        drain(socket)
        pusher.enqueue("stock.move", {"item": item, "from_location": "RM-A-01-01", "to_location": "RM-A-01-02", "quantity": 4})
        pusher.push_once()
        assert next_message(socket, "poke", POKE_WITHIN_SECONDS) is not None, "live pokes did not recover with Redis"
        assert httpx.get(f"{srv.url}/health", timeout=30).json()["broker"]["ok"] is True
    finally:
        socket.close()
        pusher.close()
        listener.close()
