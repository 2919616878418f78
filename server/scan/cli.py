"""`floorsync scan CODE`: the reading as JSON and, when the database is there, what the scan resolves to."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from server.db import DB
from server.errors import ApiError
from server.scan.gs1 import ScanError, read_scan
from server.scan.resolve import resolve_reading
from server.settings import SettingsError, scan_gs_standin_from_env

DATABASE_TIMEOUT_SECONDS = 5


def scan_command(code: str, offline: bool = False) -> tuple[dict[str, Any], int]:
    """(JSON to print, exit status): 1 only when the string itself cannot be read; a failed lookup is reported
    under `resolved`, since the interpretation still stands."""
    try:
        reading = read_scan(code, scan_gs_standin_from_env())
    except (ScanError, SettingsError) as exc:
        return {"error": {"code": getattr(exc, "code", "invalid_setting"), "message": str(exc)}}, 1
    output = reading.to_json()
    if not offline and _database_exists():
        output["resolved"] = asyncio.run(_resolved(reading))
    return output, 0


def _database_exists() -> bool:
    # Never create an empty SQLite file just to find nothing in it.
    path = getattr(DB, "path", None)
    return path is None or Path(path).exists()


async def _resolved(reading) -> dict[str, Any]:
    try:
        result = await asyncio.wait_for(resolve_reading(reading), DATABASE_TIMEOUT_SECONDS)
    except ApiError as exc:
        return {"error": {"code": exc.code, "message": exc.message}}
    except Exception as exc:  # noqa: BLE001 - any database failure: the parse above is still the answer
        return {"error": {"code": "database_unavailable", "message": f"{type(exc).__name__}: {exc}"[:300]}}
    return result.model_dump(mode="json", exclude_none=True)
