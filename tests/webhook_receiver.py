"""A real webhook receiver for the tests: an HTTP server in a thread of the test process, on a free port, that
records every request and can be told to fail (500) the first N requests, or the first N of each delivery."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer



@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def delivery(self) -> str:
        return self.headers["floorsync-delivery"]


def signature_valid(secret: str, header: str, body: bytes, tolerance_seconds: int = 300) -> bool:
    """What the README tells a receiver to do, written out independently of the server's code."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance_seconds:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Received] = []
        self.fail_next = 0  # the next N requests answer 500
        self.fail_first_per_delivery = 0  # the first N requests of each delivery id answer 500
        self.always_fail = False
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                with receiver._lock:
                    delivery = headers.get("floorsync-delivery", "")
                    receiver._seen[delivery] += 1
                    failing = receiver.always_fail or receiver.fail_next > 0 or (
                        receiver._seen[delivery] <= receiver.fail_first_per_delivery)
                    receiver.fail_next = max(0, receiver.fail_next - 1)
                    status = 500 if failing else 200
                    receiver.requests.append(Received(headers, body, status))
                answer = b"receiver says no" if failing else b"ok"
                self.send_response(status)
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.host = host
        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks"

    def of(self, delivery_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.delivery == delivery_id]

    def wait_for(self, delivery_id: str, count: int = 1, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.of(delivery_id)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"delivery {delivery_id}: {len(self.of(delivery_id))} requests, wanted {count}")

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
