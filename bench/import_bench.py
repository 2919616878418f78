"""Master-data import benchmark (group `import`), on SQLite and on PostgreSQL + Redis against a real `floorsync serve`:

- 10,000 items in one CSV through POST /api/csv/items (checked in bulk, written with an audit row and a feed entry
  each, one transaction), then the same file again (every row read and compared, nothing written); the server's CPU
  time beside each;
- the baseline, measured in the same run: the same number of rows inserted by the bare database driver into a table
  of the same shape, in one transaction, no checks, no audit, no feed.

Target: under 2 s on PostgreSQL (issue 18: 20x faster than the 25-63 s it took).

Then, on PostgreSQL, opening stock balances: 10,000 rows (2,000 items, half of them lot-tracked, in 5 bins) through
POST /api/stock/opening-balances (checked, posted to the ledger through stock.post, lots created, kept and audited,
one transaction), and the same file again (every row found loaded before, nothing written); the baseline: a COPY of
as many rows into a table shaped like the ledger, in one transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.common import QUIET, block, cpu_seconds, verdict
from tests import servers
from tests.clients import office

ITEMS = 10_000
TARGET_SECONDS = 2.0


def items_csv(unit: str, count: int) -> str:
    lines = ["code,name,type,unit,safety_stock,lead_time_days,standard_cost"]
    for i in range(count):
        kind = ("raw", "semi_finished", "finished")[i % 3]
        lines.append(f"B-{i:06d},Bench item {i} {'steel' if i % 2 else 'foam'},{kind},{unit},{i % 50},{i % 20},{i % 97}.25")
    return "\n".join(lines) + "\n"


def raw_rows(count: int) -> list[tuple]:
    return [(f"R-{i:06d}", f"Bench item {i}", "raw", "PCS", i % 50, i % 20, i % 97) for i in range(count)]


async def raw_insert_seconds(database_url: str, count: int) -> float:
    """The floor: the same number of rows written by the bare driver in one transaction, no validation, no audit."""
    rows = raw_rows(count)
    ddl = (
        "CREATE TABLE bench_raw (code VARCHAR(40) PRIMARY KEY, name VARCHAR(200), type VARCHAR(20), unit VARCHAR(40),"
        " safety_stock NUMERIC(18,6), lead_time_days INTEGER, standard_cost NUMERIC(18,4))"
    )
    insert = "INSERT INTO bench_raw VALUES ({})"
    if database_url.startswith("postgresql"):
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(ddl)
            started = time.perf_counter()
            async with conn.transaction():
                await conn.executemany(insert.format(", ".join(f"${i}" for i in range(1, 8))), rows)
            return time.perf_counter() - started
        finally:
            await conn.close()
    path = database_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path)
    try:
        conn.execute(ddl)
        started = time.perf_counter()
        with conn:
            conn.executemany(insert.format(", ".join("?" * 7)), rows)
        return time.perf_counter() - started
    finally:
        conn.close()


def _timed_import(client, pid: int, text: str) -> tuple[float, float, dict]:
    cpu, started = cpu_seconds(pid), time.perf_counter()
    response = client.post("/api/csv/items", files={"data": ("items.csv", text, "text/csv")}, timeout=600)
    seconds = time.perf_counter() - started
    response.raise_for_status()
    return seconds, cpu_seconds(pid) - cpu, response.json()


def bench_items(backend: str) -> float:
    servers.BACKEND = backend
    text = items_csv("BENCH-PCS", ITEMS)
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            planner = office(server.url, "planner")
            planner.post("/api/units", json={"code": "BENCH-PCS", "name": "Piece"}).raise_for_status()
            pid = server.process.pid
            import_seconds, import_cpu, created = _timed_import(planner, pid, text)
            assert created == {"created": ITEMS, "updated": 0, "rows": ITEMS}, created
            again_seconds, again_cpu, unchanged = _timed_import(planner, pid, text)
            assert unchanged == {"created": 0, "updated": 0, "rows": ITEMS}, unchanged
            raw_seconds = asyncio.run(raw_insert_seconds(server.database.url, ITEMS))
        finally:
            server.stop()
            server.database.drop()
    name = "PostgreSQL + Redis" if backend == "postgres" else "SQLite"
    lines = [
        ("import (HTTP)", f"{import_seconds:.2f} s ({ITEMS / import_seconds:,.0f} items/s; server CPU {import_cpu:.2f} s): "
                          "checked, written with an audit row and a feed entry each, one transaction"),
        ("same file again", f"{again_seconds:.2f} s (server CPU {again_cpu:.2f} s): every row compared, nothing written"),
        ("baseline", f"{raw_seconds:.3f} s (bare driver insert of {ITEMS:,} rows, one transaction)"),
        ("ratio", f"{import_seconds / raw_seconds:.1f}x the bare insert"),
    ]
    if backend == "postgres":
        lines.append(("target", f"< {TARGET_SECONDS:.0f} s -> {verdict(import_seconds < TARGET_SECONDS)}"))
    block(f"Master-data import, {ITEMS:,} items ({name})", lines)
    return import_seconds


BALANCE_ITEMS = 2_000
BALANCE_BINS = ("RM-A-01-01", "RM-A-01-02", "RM-A-02-01", "RM-B-01-01", "RM-B-01-02")


def _balances_csv() -> tuple[str, str]:
    items = ["code,name,type,unit,lot_tracked"] + [f"OB-{i:05d},Opening {i},raw,PCS,{'true' if i % 2 else 'false'}"
                                                  for i in range(BALANCE_ITEMS)]
    rows = ["item,location,lot,expiry,quantity,unit_cost"]
    for i in range(BALANCE_ITEMS):
        lot, expiry = (f"L{i % 7}", "2027-06-30") if i % 2 else ("", "")
        rows += [f"OB-{i:05d},{bin_},{lot},{expiry},{i % 90 + 1},1.5" for bin_ in BALANCE_BINS]
    return "\n".join(items) + "\n", "\n".join(rows) + "\n"


async def _copy_seconds(database_url: str, count: int) -> float:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("CREATE TABLE bench_ledger (LIKE stock_move INCLUDING DEFAULTS INCLUDING INDEXES)")
        rows = [(i + 1, f"OB-{i // 5:05d}", BALANCE_BINS[i % 5], "", "available", (i % 90 + 1) * 1_000_000,
                 "opening_balance") for i in range(count)]
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("bench_ledger", records=rows, columns=[
                "id", "item", "location", "lot", "status", "quantity_micro", "reason"])
        return time.perf_counter() - started
    finally:
        await conn.close()


def bench_balances() -> None:
    servers.BACKEND = "postgres"
    items, balances = _balances_csv()
    count = BALANCE_ITEMS * len(BALANCE_BINS)
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            planner, clerk = office(server.url, "planner"), office(server.url, "warehouse")
            planner.post("/api/csv/items", files={"data": ("items.csv", items, "text/csv")}, timeout=600).raise_for_status()
            pid, timings = server.process.pid, []
            for expected in (count, 0):
                cpu, started = cpu_seconds(pid), time.perf_counter()
                response = clerk.post("/api/stock/opening-balances", files={"file": ("opening.csv", balances, "text/csv")},
                                      timeout=600)
                timings.append((time.perf_counter() - started, cpu_seconds(pid) - cpu))
                response.raise_for_status()
                assert response.json()["posted"] == expected, response.text[:300]
            copy_seconds = asyncio.run(_copy_seconds(server.database.url, count))
        finally:
            server.stop()
            server.database.drop()
    (load_seconds, load_cpu), (again_seconds, again_cpu) = timings
    block(f"Opening stock balances, {count:,} rows (PostgreSQL + Redis)", [
        ("load (HTTP)", f"{load_seconds:.2f} s ({count / load_seconds:,.0f} rows/s; server CPU {load_cpu:.2f} s): checked, "
                        "posted to the ledger and on hand, lots made, kept and audited, one transaction"),
        ("same file again", f"{again_seconds:.2f} s (server CPU {again_cpu:.2f} s): every row loaded before, nothing written"),
        ("baseline", f"{copy_seconds:.3f} s (COPY of {count:,} ledger rows, one transaction)"),
        ("ratio", f"{load_seconds / copy_seconds:.1f}x the COPY"),
    ])


def bench_import(args) -> None:
    for backend in ("sqlite", "postgres"):
        bench_items(backend)
    bench_balances()


GROUPS = {"import": bench_import}
