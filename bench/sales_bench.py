"""Sales benchmarks on PostgreSQL against a real `floorsync serve`, each with its baseline measured in the same run.

- sales-import: a CSV of 10,000 order lines (1,000 orders of 10 lines) through POST /api/sales-orders/import
  (checked, written with revisions and audit rows, one transaction), and its dry run; baselines: the same order and
  line rows written by asyncpg into copies of the tables in one transaction, by COPY and by executemany.
- sales-list: 100,000 orders with 500,000 lines loaded by raw SQL, then the order list (newest first, a page of
  50), the list by status and by customer, a search (trigram indexes where pg_trgm can be had), one order and its
  tracking page, p50/p95 over 200 requests each; baselines: the same SQL the service runs, sent raw by asyncpg, and
  GET /health.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from bench.common import QUIET, block, percentile, verdict
from tests import servers
from tests.clients import office

IMPORT_ORDERS, IMPORT_LINES_PER_ORDER = 1_000, 10
IMPORT_TARGET_SECONDS = 10.0
LIST_ORDERS, LIST_LINES_PER_ORDER = 100_000, 5
LIST_CUSTOMERS = 200
LIST_REQUESTS = 200
LIST_TARGET_P95_MS = 300.0
ITEMS = ("CH-TASK", "CH-ERGO")
HEADER = "order_ref,customer,site,customer_reference,line_no,item,quantity,unit_price,discount_pct,due_date"


def ms(seconds: float) -> float:
    return seconds * 1000


def _customers_csv(count: int) -> str:
    rows = ["code,name,grade,credit_limit,currency,payment_terms_days,address"]
    rows += [f"BC-{i:04d},Bench customer {i},B,100000000,CNY,30,{i} Bench Road" for i in range(count)]
    return "\n".join(rows) + "\n"


def _import_csv(due: str) -> str:
    rows = [HEADER]
    for order in range(IMPORT_ORDERS):
        for line in range(IMPORT_LINES_PER_ORDER):
            rows.append(f"WEB-{order:05d},BC-{order % 20:04d},NB1,PO-{order},{(line + 1) * 10},{ITEMS[line % 2]},"
                        f"{line + 1},{100 + line}.50,{line % 3},{due}")
    return "\n".join(rows) + "\n"


def _post_import(client: httpx.Client, text: str, dry_run: bool) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = client.post("/api/sales-orders/import", params={"dry_run": "true"} if dry_run else None,
                           files={"file": ("orders.csv", text.encode(), "text/csv")}, timeout=600)
    return time.perf_counter() - started, response


async def _raw_import_seconds(database_url: str, due: date) -> tuple[float, float]:
    """The floor: the same 1,000 orders and 10,000 lines written into copies of the tables (their indexes too) in
    one transaction, no validation, no revisions or audit: by COPY, then by executemany."""
    conn = await asyncpg.connect(database_url)
    try:
        timings = []
        for method in ("copy", "executemany"):
            suffix = f"bench_{method}"
            await conn.execute(f"CREATE TABLE so_{suffix} (LIKE sales_order INCLUDING DEFAULTS INCLUDING INDEXES)")
            await conn.execute(f"CREATE TABLE sol_{suffix} (LIKE sales_order_line INCLUDING DEFAULTS INCLUDING INDEXES)")
            now = (await conn.fetchval("SELECT now()"))
            orders = [(i + 1, f"SO-RAW-{i:05d}", f"BC-{i % 20:04d}", "NB1", "draft", "", "CNY", 30, "addr", f"PO-{i}",
                       "import", f"import:BC-{i % 20:04d}:WEB-{i:05d}", "", Decimal(0), "bench", now, now, 1)
                      for i in range(IMPORT_ORDERS)]
            lines = [(i + 1, (k + 1) * 10, ITEMS[k % 2], (k + 1) * 1_000_000, Decimal(100 + k) + Decimal('0.5'), Decimal(k % 3), due, 0, 0)
                     for i in range(IMPORT_ORDERS) for k in range(IMPORT_LINES_PER_ORDER)]
            order_columns = ["id", "code", "customer", "site", "status", "notes", "currency", "payment_terms_days",
                             "delivery_address", "customer_reference", "source", "idempotency_key", "hold_reason",
                             "paid_amount", "created_by", "created_at", "updated_at", "version"]
            line_columns = ["sales_order", "line_no", "item", "quantity_micro", "unit_price", "discount_pct", "due_date",
                            "shipped_quantity_micro", "backorder_quantity_micro"]
            started = time.perf_counter()
            async with conn.transaction():
                if method == "copy":
                    await conn.copy_records_to_table(f"so_{suffix}", records=orders, columns=order_columns)
                    await conn.copy_records_to_table(f"sol_{suffix}", records=lines, columns=line_columns)
                else:
                    await conn.executemany(
                        f"INSERT INTO so_{suffix} ({', '.join(order_columns)}) VALUES "
                        f"({', '.join(f'${n}' for n in range(1, len(order_columns) + 1))})", orders)
                    await conn.executemany(
                        f"INSERT INTO sol_{suffix} ({', '.join(line_columns)}) VALUES "
                        f"({', '.join(f'${n}' for n in range(1, len(line_columns) + 1))})", lines)
            timings.append(time.perf_counter() - started)
        return timings[0], timings[1]
    finally:
        await conn.close()


def bench_import() -> None:
    servers.BACKEND = "postgres"
    due = date.today() + timedelta(days=30)
    text = _import_csv(due.isoformat())
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            sales = office(server.url, "sales")
            sales.post("/api/csv/customers", files={"data": ("c.csv", _customers_csv(20), "text/csv")},
                       timeout=120).raise_for_status()
            check_seconds, checked = _post_import(sales, text, dry_run=True)
            assert checked.status_code == 200, checked.text[:1000]
            import_seconds, imported = _post_import(sales, text, dry_run=False)
            assert imported.status_code == 200, imported.text[:1000]
            assert imported.json()["lines"] == IMPORT_ORDERS * IMPORT_LINES_PER_ORDER
            again_seconds, again = _post_import(sales, text, dry_run=False)
            assert again.status_code == 422, again.text[:500]
            copy_seconds, executemany_seconds = asyncio.run(_raw_import_seconds(server.database.url, due))
        finally:
            server.stop()
            server.database.drop()
    lines = IMPORT_ORDERS * IMPORT_LINES_PER_ORDER
    block(f"Sales order import (PostgreSQL, CSV of {lines:,} lines in {IMPORT_ORDERS:,} orders, {len(text) / 1e6:.1f} MB)", [
        ("import (HTTP)", f"{import_seconds:.2f} s ({lines / import_seconds:,.0f} lines/s): checked, orders + lines + "
                          "revisions + audit in one transaction"),
        ("dry run (HTTP)", f"{check_seconds:.2f} s (read, check, references: everything but the writes)"),
        ("same file again", f"{again_seconds:.2f} s to refuse all {IMPORT_ORDERS:,} orders as already_imported"),
        ("baseline COPY", f"{copy_seconds:.3f} s (asyncpg COPY of the same order and line rows, one transaction)"),
        ("baseline executemany", f"{executemany_seconds:.3f} s (asyncpg executemany of the same rows)"),
        ("ratio", f"{import_seconds / copy_seconds:.1f}x COPY, {import_seconds / executemany_seconds:.1f}x executemany"),
        ("target", f"< {IMPORT_TARGET_SECONDS:.0f} s -> {verdict(import_seconds < IMPORT_TARGET_SECONDS)}"),
    ])


# -- list, search, one order -------------------------------------------------------------------------------------------

LOAD_ORDERS = f"""
INSERT INTO sales_order (code, customer, site, status, notes, currency, payment_terms_days, delivery_address,
                         customer_reference, source, hold_reason, paid_amount, created_by, created_at, updated_at, version)
SELECT 'SO-B-' || lpad(g::text, 7, '0'),
       'BC-' || lpad((g % {LIST_CUSTOMERS})::text, 4, '0'),
       'NB1',
       (ARRAY['draft','submitted','approved','in_production','ready','shipped','delivered','closed','cancelled',
              'on_hold'])[1 + g % 10],
       (ARRAY['call-off','framework order','trade fair stock','rush','repeat order'])[1 + g % 5] || ' ' || g,
       'CNY', 30, g || ' Bench Road', 'PO-' || (g * 7919 % 1000003), 'import', '', 0, 'bench',
       now() - make_interval(mins => {LIST_ORDERS} - g), now(), 1
FROM generate_series(1, {LIST_ORDERS}) AS g
"""
LOAD_LINES = f"""
INSERT INTO sales_order_line (sales_order, line_no, item, quantity_micro, unit_price, discount_pct, due_date,
                              promised_date, shipped_quantity_micro, backorder_quantity_micro)
SELECT o.id, n * 10, (ARRAY['CH-TASK','CH-ERGO'])[1 + n % 2], n * 1000000, 100 + n, 0, current_date + (o.id % 66) - 5,
       NULL, 0, 0
FROM sales_order o CROSS JOIN generate_series(1, {LIST_LINES_PER_ORDER}) AS n
WHERE o.code LIKE 'SO-B-%'
"""

# The SQL the service's list sends (Piccolo), written out for the raw baseline: the page, its total, its lines.
RAW_PAGE = "SELECT * FROM sales_order WHERE id > 0 {where} ORDER BY created_at DESC, id DESC LIMIT 50 OFFSET 0"
RAW_COUNT = "SELECT COUNT(*) FROM sales_order WHERE id > 0 {where}"
RAW_LINES = "SELECT * FROM sales_order_line WHERE sales_order = ANY($1::int[]) ORDER BY line_no"
RAW_LATE_CANDIDATES = (
    "SELECT l.*, o.code, o.customer, o.status FROM sales_order_line l JOIN sales_order o ON o.id = l.sales_order "
    "WHERE o.status IN ('approved', 'in_production', 'ready', 'shipped') AND l.quantity_micro > l.shipped_quantity_micro "
    "AND l.due_date <= current_date + (SELECT max(lead_time_days) FROM item) ORDER BY l.due_date, l.id LIMIT 80")
SEARCH_WHERE = "AND (code ILIKE $1 OR notes ILIKE $1 OR customer_reference ILIKE $1)"


async def _load_orders(database_url: str) -> float:
    conn = await asyncpg.connect(database_url)
    try:
        started = time.perf_counter()
        await conn.execute(LOAD_ORDERS)
        await conn.execute(LOAD_LINES)
        # A steady state, as autovacuum keeps it: statistics, and the trigram indexes' pending lists merged.
        await conn.execute("VACUUM ANALYZE sales_order")
        await conn.execute("VACUUM ANALYZE sales_order_line")
        return time.perf_counter() - started
    finally:
        await conn.close()


async def _raw_samples(database_url: str, questions: dict[str, Callable[[asyncpg.Connection, int], Awaitable[None]]],
                       count: int) -> dict[str, list[float]]:
    conn = await asyncpg.connect(database_url)
    try:
        samples: dict[str, list[float]] = {}
        for name, ask in questions.items():
            for i in range(10):
                await ask(conn, i)
            timings = []
            for i in range(count):
                started = time.perf_counter()
                await ask(conn, i)
                timings.append(time.perf_counter() - started)
            samples[name] = timings
        return samples
    finally:
        await conn.close()


async def _raw_list(conn: asyncpg.Connection, where: str, *args: object) -> None:
    rows = await conn.fetch(RAW_PAGE.format(where=where), *args)
    await conn.fetchval(RAW_COUNT.format(where=where), *args)
    await conn.fetch(RAW_LINES, [row["id"] for row in rows])


async def _raw_detail(conn: asyncpg.Connection, code: str) -> None:
    row = await conn.fetchrow("SELECT * FROM sales_order WHERE code = $1 LIMIT 1", code)
    await conn.fetch(RAW_LINES, [row["id"]])


def _http_samples(client: httpx.Client, path_and_params: Callable[[int], tuple[str, dict]], count: int) -> list[float]:
    for i in range(10):
        path, params = path_and_params(i)
        client.get(path, params=params).raise_for_status()
    timings = []
    for i in range(count):
        path, params = path_and_params(i)
        started = time.perf_counter()
        response = client.get(path, params=params)
        timings.append(time.perf_counter() - started)
        response.raise_for_status()
    return timings


def _figures(samples: list[float]) -> str:
    return f"p50 {ms(percentile(samples, 50)):.1f} ms, p95 {ms(percentile(samples, 95)):.1f} ms"


def RAW_QUESTIONS(customers: list[str], searches: list[str],
                  codes: list[str]) -> dict[str, Callable[[asyncpg.Connection, int], Awaitable[None]]]:
    """The same questions as the HTTP requests, in the SQL the service sends, raw."""
    return {
        "list (newest first)": lambda conn, i: _raw_list(conn, ""),
        "list by status": lambda conn, i: _raw_list(conn, "AND status = $1", "approved"),
        "list by customer": lambda conn, i: _raw_list(conn, "AND customer = $1", customers[i]),
        "search": lambda conn, i: _raw_list(conn, SEARCH_WHERE, f"%{searches[i]}%"),
        "one order": lambda conn, i: _raw_detail(conn, codes[i]),
        # The tracking page asks more (shipments, reservations, production, purchasing, history, stock); its baseline
        # is the order and its lines, raw: the ratio is what the rest costs.
        "tracking page": lambda conn, i: _raw_detail(conn, codes[i]),
        "late and at-risk lines": lambda conn, i: conn.fetch(RAW_LATE_CANDIDATES),
    }


def bench_list() -> None:
    servers.BACKEND = "postgres"
    rng = random.Random(7)
    codes = [f"SO-B-{rng.randint(1, LIST_ORDERS):07d}" for _ in range(LIST_REQUESTS)]
    customers = [f"BC-{rng.randrange(LIST_CUSTOMERS):04d}" for _ in range(LIST_REQUESTS)]
    searches = [f"PO-{rng.randint(1, 999_999)}"[:7] for _ in range(LIST_REQUESTS)]
    with tempfile.TemporaryDirectory() as tmp:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            sales = office(server.url, "sales")
            sales.post("/api/csv/customers", files={"data": ("c.csv", _customers_csv(LIST_CUSTOMERS), "text/csv")},
                       timeout=120).raise_for_status()
            load_seconds = asyncio.run(_load_orders(server.database.url))
            http = {
                "list (newest first)": _http_samples(sales, lambda i: ("/api/sales-orders", {"limit": 50}), LIST_REQUESTS),
                "list by status": _http_samples(sales, lambda i: ("/api/sales-orders", {"status": "approved", "limit": 50}),
                                                LIST_REQUESTS),
                "list by customer": _http_samples(sales, lambda i: ("/api/sales-orders", {"customer": customers[i]}),
                                                  LIST_REQUESTS),
                "search": _http_samples(sales, lambda i: ("/api/sales-orders", {"q": searches[i]}), LIST_REQUESTS),
                "one order": _http_samples(sales, lambda i: (f"/api/sales-orders/{codes[i]}", {}), LIST_REQUESTS),
                "tracking page": _http_samples(sales, lambda i: (f"/api/sales-orders/{codes[i]}/tracking", {}),
                                               LIST_REQUESTS),
                "late and at-risk lines": _http_samples(sales, lambda i: ("/api/sales-orders/late", {"limit": 20}),
                                                        LIST_REQUESTS // 4),
            }
            health = _http_samples(sales, lambda i: ("/health", {}), LIST_REQUESTS)
            raw = asyncio.run(_raw_samples(server.database.url, RAW_QUESTIONS(customers, searches, codes), LIST_REQUESTS))
        finally:
            server.stop()
            server.database.drop()
    lines: list[tuple[str, str]] = [("data", f"{LIST_ORDERS:,} orders, {LIST_ORDERS * LIST_LINES_PER_ORDER:,} lines "
                                             f"loaded by raw SQL in {load_seconds:.1f} s")]
    worst = 0.0
    for name, samples in http.items():
        p95, raw95 = percentile(samples, 95), percentile(raw[name], 95)
        worst = max(worst, p95)
        lines.append((name, f"{_figures(samples)}; raw SQL baseline {_figures(raw[name])}; p95 ratio {p95 / raw95:.1f}x"))
    lines.append(("GET /health", _figures(health)))
    lines.append(("target", f"p95 < {LIST_TARGET_P95_MS:.0f} ms -> {verdict(ms(worst) < LIST_TARGET_P95_MS)} "
                            f"(worst p95 {ms(worst):.1f} ms)"))
    block(f"Sales order list, search and one order (PostgreSQL, {LIST_REQUESTS} requests each)", lines)


GROUPS = {
    "sales-import": lambda args: bench_import(),
    "sales-list": lambda args: bench_list(),
}
