"""Two server processes on one PostgreSQL database both run a webhook dispatcher: each delivery is sent by one of
them at a time, never twice. PostgreSQL run only (conftest.py deselects it on SQLite, where one process serves)."""

from __future__ import annotations

from collections import Counter
from contextlib import closing

import pytest

from tests.clients import office
from tests.servers import make_server
from tests.system.test_webhooks import delivery_when, ping, subscribe
from tests.webhook_receiver import Receiver

PINGS = 30


@pytest.fixture
def two_processes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("webhooks-mp")
    quick = {"FLOORSYNC_WEBHOOK_RETRY_BASE_SECONDS": "0.2"}
    first = make_server(tmp, **quick)
    second = make_server(tmp, demo=False, database=first.database, **quick)
    yield first, second
    second.stop()
    first.stop()
    first.database.drop()


def test_two_processes_send_each_delivery_once(two_processes):
    first, second = two_processes
    receiver = Receiver()
    # Every delivery's first request fails, so its retry falls due while both dispatchers are looking for work.
    receiver.fail_first_per_delivery = 1
    try:
        with closing(office(first.url, "admin")) as on_first, closing(office(second.url, "admin")) as on_second:
            subscription = subscribe(on_first, receiver.url)
            queued = [ping(on_first if n % 2 else on_second, subscription)["id"] for n in range(PINGS)]
            for delivery_id in queued:
                delivered = delivery_when(on_first, delivery_id, "delivered")
                assert delivered["attempt_count"] == 2, delivered
        per_delivery = Counter(r.delivery for r in receiver.requests)
        assert per_delivery == {delivery_id: 2 for delivery_id in queued}, "a delivery was sent more than once"
        answered_ok = Counter(r.delivery for r in receiver.requests if r.answered == 200)
        assert set(answered_ok.values()) == {1}
        senders = [sum(delivery_id in server.log_text() for delivery_id in queued) for server in (first, second)]
        assert all(senders), f"both processes sent deliveries: {senders}"
    finally:
        receiver.close()
