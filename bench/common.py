"""What the benchmarks share: how results are printed, percentiles, a process's CPU and memory, and the setup
steps several of them take through the real API (items imported by CSV, devices enrolled, mutations pushed)."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx

from tests.clients import CSRF_COOKIE, office

IMPORT_CHUNK = 10_000
FROM, TO = "RM-A-01-01", "RM-A-01-02"
QUIET = {"FLOORSYNC_LOG_LEVEL": "WARNING"}


def block(title: str, lines: list[tuple[str, str]]) -> None:
    print(f"\n== {title} ==")
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        print(f"  {label.ljust(width)} : {value}")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def percentile(samples: list[float], pct: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far: a figure that does not depend on what else the machine runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/{pid}/status")


def bench_items_csv(prefix: str, start: int, count: int) -> str:
    lines = ["code,name,type,unit"] + [f"{prefix}-{i:06d},Sync bench item {i},raw,PCS" for i in range(start, start + count)]
    return "\n".join(lines) + "\n"


def import_items(planner: httpx.Client, prefix: str, count: int) -> None:
    for start in range(0, count, IMPORT_CHUNK):
        chunk = bench_items_csv(prefix, start, min(IMPORT_CHUNK, count - start))
        response = planner.post("/api/csv/items", files={"data": ("items.csv", chunk, "text/csv")}, timeout=600)
        response.raise_for_status()


async def enrol_devices(base_url: str, count: int, site: str = "NB1", concurrency: int = 8) -> list[dict]:
    """Enrol devices as an office admin would (one-time code, then the device's own enrol call)."""
    admin = office(base_url, "admin")
    headers = {"x-csrftoken": admin.cookies.get(CSRF_COOKIE)}
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, cookies=admin.cookies, headers=headers, timeout=60) as client:

        async def one(index: int) -> dict:
            async with gate:
                made = await client.post("/api/devices/enrolments", json={"scope": {"site": site}})
                assert made.status_code == 201, made.text
                enrolled = await client.post("/api/sync/enroll", json={"code": made.json()["code"], "device_name": f"Bench {index}",
                                                                       "platform": "bench"})
                assert enrolled.status_code == 200, enrolled.text
                return enrolled.json()

        devices = await asyncio.gather(*(one(i) for i in range(count)))
    admin.close()
    return list(devices)


def mutation(seq: int, name: str, args: dict) -> dict:
    return {"seq": seq, "id": str(uuid.uuid4()), "name": name, "args": args,
            "client_time": datetime.now(timezone.utc).isoformat()}


async def post_push(client: httpx.AsyncClient, body: bytes) -> dict:
    """One push; a 503 (the server's own retries did not clear a transient fault) is retried as a device would."""
    for attempt in range(20):
        response = await client.post("/api/sync/push", content=body, headers={"content-type": "application/json"})
        if response.status_code == 503:
            await asyncio.sleep(0.1 * (attempt + 1))
            continue
        response.raise_for_status()
        return response.json()
    raise RuntimeError("push kept getting 503")
