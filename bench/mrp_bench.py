"""MRP benchmarks on PostgreSQL, each with its baseline measured in the same run (group `mrp`).

A factory of 10,000 items on 5 BOM levels (1,000 end items; every made item has a BOM of 3 components one level
down, a routing of one operation, and the bought ones a supplier), 20,000 open sales order lines spread over 52
weekly periods, stock for a fifth of the items and open purchase orders for a tenth of the bought ones, loaded by
raw SQL. Then:

- a live run through POST /api/mrp/runs (read one snapshot, plan, write records, planned orders, pegging and
  exceptions as a new run, one HTTP request), against the floor: the same input rows read raw by asyncpg in one
  REPEATABLE READ transaction (the statements the run sends, recorded and replayed);
- the same problem written as a file and planned by `floorsync mrp FILE` (a process: start-up, read, plan, print).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg

from bench.common import QUIET, block, verdict
from server.planning.snapshot import read_input
from tests import servers
from tests.clients import office

LEVELS = (1_000, 1_500, 2_000, 2_500, 3_000)  # items per level, end items first: 10,000
ORDERS, LINES_PER_ORDER = 2_000, 10
HORIZON = 52
TARGET_SECONDS = 5.0


def _ranges() -> list[tuple[int, int]]:
    out, start = [], 0
    for size in LEVELS:
        out.append((start, start + size))
        start += size
    return out


LOAD = """
INSERT INTO item (code, archived, created_at, updated_at, name, type, unit, gtin, lot_tracked, serial_tracked,
                  shelf_life_days, inspection_required, safety_stock, lead_time_days, standard_cost, price, description,
                  receipt_tolerance_pct, make_or_buy, lot_rule, lot_quantity, lot_periods, order_minimum, order_multiple,
                  order_maximum, planning_time_fence_days)
SELECT 'M-' || lpad(g::text, 5, '0'), false, now(), now(), 'MRP bench item ' || g,
       CASE WHEN g < {raw_from} THEN (CASE WHEN g < {end_items} THEN 'finished' ELSE 'semi_finished' END) ELSE 'raw' END,
       'PCS', NULL, false, false, NULL, false, (g % 5) * 10, 7 + g % 14, 1, 1, '', NULL,
       CASE WHEN g < {raw_from} THEN 'make' ELSE 'buy' END,
       (ARRAY['lot_for_lot', 'fixed', 'period', 'lot_for_lot'])[1 + g % 4], CASE WHEN g % 4 = 1 THEN 50 ELSE 0 END,
       CASE WHEN g % 4 = 2 THEN 3 ELSE 1 END, 0, 0, 0, 0
FROM generate_series(0, {items} - 1) AS g;
INSERT INTO work_centre (code, archived, created_at, updated_at, name, site, parallel_capacity, efficiency_pct, shifts,
                         working_days, holidays, issue_location)
VALUES ('MRP-WC', false, now(), now(), 'MRP bench cell', 'NB1', 4, 100,
        '[{{"name": "Day", "start": "08:00", "end": "16:00"}}]', '[1, 2, 3, 4, 5]', '[]', NULL);
INSERT INTO bom (code, archived, created_at, updated_at, item, version, description, valid_from)
SELECT 'MB-' || lpad(g::text, 5, '0'), false, now(), now(), 'M-' || lpad(g::text, 5, '0'), 1, '', NULL
FROM generate_series(0, {raw_from} - 1) AS g;
INSERT INTO routing (code, archived, created_at, updated_at, item, version, description, yield_pct)
SELECT 'MR-' || lpad(g::text, 5, '0'), false, now(), now(), 'M-' || lpad(g::text, 5, '0'), 1, '', 100
FROM generate_series(0, {raw_from} - 1) AS g;
INSERT INTO routing_operation (routing, sequence, work_centre, description, setup_minutes, run_minutes_per_unit)
SELECT r.id, 10, 'MRP-WC', '', 30, 2 FROM routing r WHERE r.code LIKE 'MR-%';
INSERT INTO supplier (code, archived, created_at, updated_at, name, currency, payment_terms_days, address, contacts,
                      receipt_tolerance_pct)
VALUES ('MRP-SUP', false, now(), now(), 'MRP bench supplier', 'CNY', 30, '', '[]', NULL);
INSERT INTO supplier_item (supplier, item, supplier_item_code, price, lead_time_days, min_order_quantity, preferred)
SELECT s.id, 'M-' || lpad(g::text, 5, '0'), '', 1 + g % 7, 7 + 7 * (g % 3), 0, true
FROM supplier s, generate_series({raw_from}, {items} - 1) AS g WHERE s.code = 'MRP-SUP';
"""


def _bom_lines() -> list[tuple[str, int, str, int]]:
    """Three components one level down for every made item (a parent's components spread over its level below)."""
    ranges, rows = _ranges(), []
    for level in range(len(ranges) - 1):
        (start, end), (below, below_end) = ranges[level], ranges[level + 1]
        for parent in range(start, end):
            picks = {below + (parent * 7 + k * 131) % (below_end - below) for k in range(3)}
            for n, child in enumerate(sorted(picks), start=1):
                rows.append((f"MB-{parent:05d}", n * 10, f"M-{child:05d}", 1 + (parent + child) % 3))
    return rows


async def _load(database_url: str) -> float:
    end_items, raw_from = LEVELS[0], sum(LEVELS[:-1])
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        async with conn.transaction():
            await conn.execute(LOAD.format(items=sum(LEVELS), end_items=end_items, raw_from=raw_from))
            ids = {row["code"]: row["id"] for row in await conn.fetch("SELECT id, code FROM bom WHERE code LIKE 'MB-%'")}
            await conn.executemany(
                "INSERT INTO bom_line (bom, line_no, component, quantity, scrap_pct, issue_method, operation) "
                "VALUES ($1, $2, $3, $4, $5, 'manual', NULL)",
                [(ids[bom], line, child, qty, 2 if line == 10 else 0) for bom, line, child, qty in _bom_lines()])
            await conn.execute(
                "INSERT INTO customer (code, archived, created_at, updated_at, name, grade, credit_limit, currency, "
                "payment_terms_days, address, contacts) VALUES ('MRP-C', false, now(), now(), 'MRP bench customer', "
                "'A', 0, 'CNY', 30, '', '[]')")
            await conn.execute(
                "INSERT INTO sales_order (code, customer, site, status, notes, currency, payment_terms_days, "
                "delivery_address, customer_reference, source, hold_reason, paid_amount, created_by, created_at, "
                "updated_at, version) SELECT 'SO-M-' || lpad(g::text, 5, '0'), 'MRP-C', 'NB1', 'approved', '', 'CNY', "
                "30, '', '', 'import', '', 0, 'bench', now(), now(), 1 FROM generate_series(1, $1) AS g", ORDERS)
            await conn.execute(
                "INSERT INTO sales_order_line (sales_order, line_no, item, quantity_micro, unit_price, discount_pct, "
                "due_date, promised_date, shipped_quantity_micro, backorder_quantity_micro) "
                "SELECT o.id, n * 10, 'M-' || lpad(((o.id * 13 + n * 101) % $1)::text, 5, '0'), "
                "(1 + (o.id + n) % 20) * 1000000, 1, 0, current_date + ((o.id * 7 + n * 3) % 364), NULL, 0, 0 "
                "FROM sales_order o CROSS JOIN generate_series(1, $2) AS n WHERE o.code LIKE 'SO-M-%'",
                LEVELS[0], LINES_PER_ORDER)
            await conn.execute(
                "INSERT INTO stock_on_hand (item, location, lot, status, quantity_micro) "
                "SELECT 'M-' || lpad(g::text, 5, '0'), 'RM-A-01-01', '', 'available', (10 + g % 90) * 1000000 "
                "FROM generate_series(0, $1 - 1, 5) AS g", sum(LEVELS))
            await conn.execute(
                "INSERT INTO purchase_order (code, supplier, site, status, currency, notes, created_by, created_at, "
                "updated_at, version) VALUES ('PO-M-1', 'MRP-SUP', 'NB1', 'approved', 'CNY', '', 'bench', now(), now(), 1)")
            await conn.execute(
                "INSERT INTO purchase_order_line (purchase_order, line_no, item, quantity_micro, unit_price, due_date, "
                "received_quantity_micro, status, sales_order, production_order) "
                "SELECT p.id, g, 'M-' || lpad(g::text, 5, '0'), 500000000, 1, current_date + (g % 60), 0, 'open', NULL, "
                "NULL FROM purchase_order p, generate_series($1, $2 - 1, 10) AS g WHERE p.code = 'PO-M-1'",
                raw_from, sum(LEVELS))
        for table in ("item", "bom", "bom_line", "routing", "routing_operation", "sales_order", "sales_order_line",
                      "stock_on_hand", "purchase_order_line", "supplier_item"):
            await conn.execute(f"ANALYZE {table}")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def _read_floor(database_url: str) -> tuple[float, float, Any]:
    """The run's own reads replayed raw: the statements `read_input` sends, timed at the driver (the floor), and the
    whole of `read_input` (reads plus turning rows into the engine's data) on the same snapshot."""
    conn = await asyncpg.connect(database_url)
    statements: list[tuple[str, tuple]] = []
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            async def recording(query: str, *args: Any) -> list[dict[str, Any]]:
                statements.append((query, args))
                return [dict(row) for row in await conn.fetch(query, *args)]

            started = time.perf_counter()
            snapshot = await read_input(recording, "NB1", "week", HORIZON, date.today())
            whole = time.perf_counter() - started
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            started = time.perf_counter()
            for query, args in statements:
                await conn.fetch(query, *args)
            floor = time.perf_counter() - started
        return floor, whole, snapshot
    finally:
        await conn.close()


def _problem_file(snapshot: Any) -> dict[str, Any]:
    """The live problem in the command's file format (DESIGN.md section 6)."""
    problem = snapshot.problem
    unit = 1_000_000

    def number(micro: int) -> float | int:
        return micro // unit if micro % unit == 0 else micro / unit

    items, gross = [], {}
    for code, item in problem.items.items():
        rule = item.lot_rule
        lot = {"rule": rule.rule, "periods": rule.periods}
        if rule.rule == "fixed":
            lot["quantity"] = number(rule.quantity)
        items.append({"code": code, "lead_time": item.lead_time, "on_hand": number(sum(l.quantity for l in item.on_hand)),
                      "safety_stock": number(item.safety_stock), "lot_size": lot,
                      "scheduled_receipts": {}})
    by_code = {entry["code"]: entry for entry in items}
    for receipt in problem.receipts:
        if 1 <= receipt.period <= HORIZON:
            periods = by_code[receipt.item]["scheduled_receipts"]
            periods[str(receipt.period)] = periods.get(str(receipt.period), 0) + number(receipt.quantity)
    for demand in problem.demands:
        if 1 <= demand.period <= HORIZON:
            periods = gross.setdefault(demand.item, {})
            periods[str(demand.period)] = periods.get(str(demand.period), 0) + number(demand.quantity)
    bom = [{"parent": c.parent, "child": c.child, "quantity": number(c.quantity_micro),
            "scrap_pct": c.scrap_ppm / 10_000} for c in problem.components]
    return {"horizon": HORIZON, "items": items, "bom": bom, "gross_requirements": gross}


def bench_mrp() -> None:
    servers.BACKEND = "postgres"
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            load_seconds = asyncio.run(_load(server.database.url))
            planner = office(server.url, "planner")
            response = planner.put("/api/planning/settings", json={"bucket": "week", "horizon": HORIZON})
            assert response.status_code == 200, response.text
            runs = []
            for _ in range(2):  # the second run also compares with the first
                started = time.perf_counter()
                response = planner.post("/api/mrp/runs", json={"site": "NB1"}, timeout=600)
                runs.append(time.perf_counter() - started)
                assert response.status_code == 201, response.text[:500]
            run = response.json()
            floor, whole_read, snapshot = asyncio.run(_read_floor(server.database.url))
            problem = Path(tmp) / "problem.json"
            problem.write_text(json.dumps(_problem_file(snapshot)))
            problem_mb = problem.stat().st_size / 1e6
            started = time.perf_counter()
            result = subprocess.run([servers.FLOORSYNC, "mrp", str(problem)], capture_output=True, text=True,
                                    env=server.env, cwd=servers.REPO, timeout=600)
            file_seconds = time.perf_counter() - started
            assert result.returncode == 0, result.stdout[:500] + result.stderr[-2000:]
            planned = len(json.loads(result.stdout)["planned_orders"])
        finally:
            server.stop()
            server.database.drop()
    best = min(runs)
    block(f"MRP (PostgreSQL, {sum(LEVELS):,} items on {len(LEVELS)} levels, {ORDERS * LINES_PER_ORDER:,} open order "
          f"lines, {HORIZON} weekly periods)", [
        ("data", f"loaded by raw SQL in {load_seconds:.1f} s"),
        ("live run (HTTP)", f"{best:.2f} s best of {len(runs)} ({', '.join(f'{s:.2f}' for s in runs)}); the run's own "
                            f"figure {run['seconds']:.2f} s; {run['planned_orders']:,} planned orders, "
                            f"{run['exceptions']:,} exceptions"),
        ("read into the engine", f"{whole_read:.2f} s (the run's statements and turning rows into the engine's data)"),
        ("baseline: raw read", f"{floor:.2f} s (the same statements replayed by asyncpg, one snapshot)"),
        ("ratio", f"{best / floor:.1f}x the raw read"),
        ("floorsync mrp FILE", f"{file_seconds:.2f} s for the same problem as a file ({problem_mb:.1f} "
                               f"MB, {planned:,} planned orders), process start-up included"),
        ("target", f"< {TARGET_SECONDS:.0f} s -> {verdict(best < TARGET_SECONDS)}"),
    ])


GROUPS = {"mrp": lambda args: bench_mrp()}
