"""Benchmarks, each against a baseline measured in the same run: `python -m bench [--only GROUP]`.

Office API (group `office`), on SQLite and on PostgreSQL + Redis:

- CSV import of 10,000 items through HTTP (validated, audited, one transaction), against the baseline of the
  same rows inserted raw by the database driver in one transaction.
- Item list (search, filter, sort, a page of 50) with those 10,000 items, p50/p95 over 200 requests, against the
  baseline of GET /health on the same server (the cost of HTTP, auth-free).

Sync protocol: groups `push` (bench/push_bench.py), `initial-sync` (bench/initial_sync_bench.py) and `poke`
(bench/poke_bench.py).
Floor transactions (groups `count`, `on-hand`): see bench/floor_bench.py.
Floor app (groups `pwa-shell`, `pwa-scan`, `pwa-drain`): see bench/pwa_bench.py.
Sales (groups `sales-import`, `sales-list`): see bench/sales_bench.py.
Master-data import (group `import`): see bench/import_bench.py.
Planning (group `mrp`): see bench/mrp_bench.py. Scheduling (groups `jobshop`, `schedule`): see bench/jobshop_bench.py
and bench/schedule_bench.py. Order promising (group `ctp`): see bench/promise_bench.py.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench import (
    floor_bench, import_bench, initial_sync_bench, jobshop_bench, mrp_bench, poke_bench, promise_bench, push_bench,
    pwa_bench, sales_bench, schedule_bench,
)
from bench.import_bench import items_csv, raw_insert_seconds
from tests import servers
from tests.clients import office

servers.DURABLE_COMMITS = True  # the figures are the production setting's (the suite's own databases skip the flush)

# Each area's benchmarks, in the order a full run takes them after the office group; each has GROUPS: name -> run(args).
AREAS = (import_bench, push_bench, initial_sync_bench, poke_bench, floor_bench, pwa_bench, sales_bench, mrp_bench,
         jobshop_bench, schedule_bench, promise_bench)
ITEMS = 10_000
LIST_REQUESTS = 200


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def timed_get(client, path: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed


def run(backend: str) -> None:
    servers.BACKEND = backend
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), FLOORSYNC_LOG_LEVEL="WARNING")
        try:
            planner = office(server.url, "planner")
            planner.post("/api/units", json={"code": "BENCH-PCS", "name": "Piece"}).raise_for_status()
            started = time.perf_counter()
            response = planner.post("/api/csv/items", files={"data": ("items.csv", items_csv("BENCH-PCS", ITEMS), "text/csv")},
                                   timeout=600)
            import_seconds = time.perf_counter() - started
            response.raise_for_status()
            raw_seconds = asyncio.run(raw_insert_seconds(server.database.url, ITEMS))

            params = {"q": "steel", "type": "raw", "unit": "BENCH-PCS", "sort": "-name", "limit": 50, "offset": 100}
            for _ in range(10):
                timed_get(planner, "/api/items", params)
                timed_get(planner, "/health")
            list_times = [timed_get(planner, "/api/items", params) for _ in range(LIST_REQUESTS)]
            health_times = [timed_get(planner, "/health") for _ in range(LIST_REQUESTS)]
        finally:
            server.stop()
            server.database.drop()

    ms = lambda s: s * 1000  # noqa: E731
    print(f"\n== {backend} ==")
    print(f"CSV import, {ITEMS} items: {import_seconds:.2f} s ({ITEMS / import_seconds:,.0f} rows/s); "
          f"raw driver insert baseline {raw_seconds:.3f} s ({ITEMS / raw_seconds:,.0f} rows/s); "
          f"ratio {import_seconds / raw_seconds:.1f}x")
    p50, p95 = percentile(list_times, 50), percentile(list_times, 95)
    h50, h95 = percentile(health_times, 50), percentile(health_times, 95)
    print(f"Item list (search+filter+sort, page of 50, {ITEMS} items): p50 {ms(p50):.1f} ms, p95 {ms(p95):.1f} ms, "
          f"mean {ms(statistics.mean(list_times)):.1f} ms; GET /health baseline p50 {ms(h50):.1f} ms, p95 {ms(h95):.1f} ms; "
          f"p95 ratio {p95 / h95:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", choices=["office", *(group for area in AREAS for group in area.GROUPS)],
                        action="append",
                        help="run only this group (repeat for several); default: all")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both",
                        help="backends of the office group (the sync groups run on PostgreSQL + Redis)")
    parser.add_argument("--initial-sync-sqlite", action="store_true", help="run the initial-sync benchmark on SQLite too")
    parser.add_argument("--profile", action="store_true", help="run the push benchmark's server under cProfile and print the top")
    args = parser.parse_args()
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    # The initial sync imports 100,000 items through the API first (minutes): PostgreSQL only, unless asked.
    args.sync_backends = ["postgres"] + (["sqlite"] if args.initial_sync_sqlite else [])
    groups = args.only or ["office", *(group for area in AREAS for group in area.GROUPS)]
    if "office" in groups:
        for backend in backends:
            run(backend)
    for area in AREAS:
        for group in area.GROUPS:
            if group in groups:
                area.GROUPS[group](args)


if __name__ == "__main__":
    main()
