"""Helpers for sync tests: enrol devices through the office API and drive them with the reference client."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from sync.client import DeviceClient


def enrolment_code(office: httpx.Client, site: str, warehouses: list[str] | None = None, ttl_minutes: int = 15,
                    work_centres: list[str] | None = None, route: str | None = None) -> str:
    scope = {"site": site, "warehouses": warehouses or [], "work_centres": work_centres or [], "route": route}
    response = office.post("/api/devices/enrolments", json={"scope": scope, "ttl_minutes": ttl_minutes})
    assert response.status_code == 201, response.text
    return response.json()["code"]


def enrolled_device(base_url: str, office: httpx.Client, state_dir: Path, site: str = "NB1",
                    warehouses: list[str] | None = None, work_centres: list[str] | None = None, route: str | None = None,
                    **client_kwargs) -> DeviceClient:
    client = DeviceClient(base_url, state_dir / f"device-{uuid.uuid4().hex[:8]}.sqlite", **client_kwargs)
    code = enrolment_code(office, site, warehouses, work_centres=work_centres, route=route)
    client.enroll(code, device_name=f"Tablet {uuid.uuid4().hex[:4]}")
    return client
