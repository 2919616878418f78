"""Floor app (PWA) benchmarks, each with a baseline measured in the same run.

- shell: the gzipped size of what the service worker precaches (the app shell; the camera decoder is loaded lazily
  and left out), against the 200 KB target; baseline: the vendored libraries alone.
- scan: scan-to-feedback in Debian Chromium with the network off, 100 keyboard-wedge scans of a GS1 string into the
  app's scan test page, p50/p95; baseline: a bare key -> next frame round trip in the same page.
- drain: 1,000 counts queued offline in the app, then online: seconds until the outbox is empty and the server has
  applied them all; baseline: the Python reference client pushing the same 1,000 counts to the same server.
"""

from __future__ import annotations

import gzip
import re
import tempfile
import time
from pathlib import Path

from bench.common import QUIET, block, percentile, verdict
from tests import servers
from tests.clients import office
from tests.pwa_browser import chromium, enrol, new_context, poll, wedge
from tests.sync_fixtures import enrolled_device

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "pwa" / "dist"
SHELL_TARGET_KB = 200
SCAN_TARGET_P95_MS = 50.0
DRAIN_MUTATIONS = 1_000
DRAIN_TARGET_SECONDS = 10.0
GS = "\x1d"


def _gz(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), 9))


def bench_shell() -> None:
    listed = re.findall(r'url:"/app/([^"]+)"', (DIST / "sw.js").read_text())
    files = [DIST / name for name in listed] + [DIST / "sw.js"]
    total = sum(_gz(f) for f in files)
    vendor = sum(_gz(f) for f in files if "/vendor/" in str(f))
    largest = sorted(files, key=_gz, reverse=True)[:4]
    camera = _gz(DIST / "vendor" / "zxing_reader.wasm") + sum(_gz(f) for f in (DIST / "vendor" / "barcode-detector").iterdir())
    block("Floor app shell (gzipped, what the service worker precaches)", [
        ("shell", f"{total / 1024:.1f} KB in {len(files)} files; largest: "
                  + ", ".join(f"{f.relative_to(DIST)} {_gz(f) / 1024:.1f} KB" for f in largest)),
        ("baseline", f"the vendored libraries alone: {vendor / 1024:.1f} KB (ratio {total / max(vendor, 1):.1f}x); "
                     f"the lazily loaded camera decoder, not in the shell: {camera / 1024:.0f} KB"),
        ("target", f"< {SHELL_TARGET_KB} KB -> {verdict(total / 1024 < SHELL_TARGET_KB)}"),
    ])


def bench_scan() -> None:
    servers.BACKEND = "sqlite"
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            context = new_context(browser)
            page = context.new_page()
            page.goto(f"{server.url}/app/scan-test.html")
            poll(page, "navigator.serviceWorker.ready.then(() => true)")
            page.reload()
            poll(page, "navigator.serviceWorker.controller !== null")
            context.set_offline(True)
            page.reload()
            poll(page, "window.scanHarness !== undefined")
            page.locator("#scan-field").focus()
            for n in range(100):
                wedge(page, f"]C1010950600013435210LOT{n:03d}{GS}21S{n}", delay=2)
                poll(page, f"window.scanHarness.timings.length >= {n + 1}")
            timings = page.evaluate("window.scanHarness.timings")
            frame = page.evaluate("""async () => {
                const times = [];
                for (let i = 0; i < 100; i++) {
                    const start = performance.now();
                    await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
                    times.push(performance.now() - start);
                }
                return times;
            }""")
            context.set_offline(False)
        finally:
            server.stop()
            server.database.drop()
    p50, p95 = percentile(timings, 50), percentile(timings, 95)
    block("Scan to feedback, offline, Chromium (100 keyboard-wedge GS1 scans)", [
        ("scan", f"p50 {p50:.1f} ms, p95 {p95:.1f} ms (from the key that ends the scan to the frame after feedback)"),
        ("baseline", f"a bare frame round trip in the same page: p95 {percentile(frame, 95):.1f} ms"),
        ("ratio", f"p95 {p95 / max(percentile(frame, 95), 0.1):.1f}x the frame round trip"),
        ("target", f"p95 < {SCAN_TARGET_P95_MS:.0f} ms -> {verdict(p95 < SCAN_TARGET_P95_MS)}"),
    ])


def bench_drain() -> None:
    servers.BACKEND = "postgres"
    with tempfile.TemporaryDirectory() as tmp, chromium() as browser:
        server = servers.make_server(Path(tmp), **QUIET)
        try:
            clerk = office(server.url, "warehouse")
            planner = office(server.url, "planner")
            items = [f"DRN-{i:04d}" for i in range(DRAIN_MUTATIONS)]
            csv = "code,name,type,unit\n" + "".join(f"{code},Drain bench {code},raw,PCS\n" for code in items)
            planner.post("/api/csv/items", files={"data": ("items.csv", csv, "text/csv")}, timeout=300).raise_for_status()
            context = new_context(browser)
            page = context.new_page()
            enrol(page, server.url, clerk)
            context.set_offline(True)
            page.evaluate("""async (items) => {
                const sync = await import('/app/sync.js');
                for (const item of items) {
                    await sync.enqueue('stock.count', {item, location: 'RM-A-01-01', counted_quantity: '7'});
                }
            }""", items)
            started = time.perf_counter()
            context.set_offline(False)
            page.evaluate("import('/app/sync.js').then(sync => sync.requestSync())")
            poll(page, "document.querySelector('#sync-status').dataset.pending === '0'", timeout_ms=120_000)
            seconds = time.perf_counter() - started
            counted = clerk.get("/api/stock", params={"location": "RM-A-01-01", "limit": 1}).json()["total"]

            reference = enrolled_device(server.url, clerk, Path(tmp))
            for item in items:
                reference.enqueue("stock.count", {"item": item, "location": "RM-A-01-02", "counted_quantity": "7"})
            began = time.perf_counter()
            while reference.pending():
                reference.push_once()
            reference_seconds = time.perf_counter() - began
            reference.close()
        finally:
            server.stop()
            server.database.drop()
    assert counted >= DRAIN_MUTATIONS, f"only {counted} counts reached the server"
    block(f"Drain of {DRAIN_MUTATIONS:,} mutations queued offline in the app, after reconnect (PostgreSQL)", [
        ("app", f"{seconds:.2f} s until the outbox was empty ({DRAIN_MUTATIONS / seconds:,.0f} mutations/s); "
                f"{counted:,} on-hand rows at the location on the server"),
        ("baseline", f"the Python reference client pushing the same {DRAIN_MUTATIONS:,}: {reference_seconds:.2f} s"),
        ("ratio", f"{seconds / reference_seconds:.1f}x the reference client"),
        ("target", f"< {DRAIN_TARGET_SECONDS:.0f} s -> {verdict(seconds < DRAIN_TARGET_SECONDS)}"),
    ])


GROUPS = {
    "pwa-shell": lambda args: bench_shell(),
    "pwa-scan": lambda args: bench_scan(),
    "pwa-drain": lambda args: bench_drain(),
}
