"""GET /health: which database and broker this process uses, and whether each answers."""

from __future__ import annotations

import asyncio
import time
from litestar import MediaType, Request, Response, get
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE
from piccolo.querystring import QueryString
from pydantic import BaseModel

from server.db import DB
from server.settings import Settings


HEALTH_TIMEOUT_SECONDS = 1.0


class Dependency(BaseModel):
    kind: str
    url: str
    ok: bool
    latency_ms: float | None = None
    error: str | None = None


class Health(BaseModel):
    status: str
    database: Dependency
    broker: Dependency
    version: str


async def _probe(check) -> tuple[bool, float | None, str | None]:
    started = time.perf_counter()
    try:
        await check()
    except Exception as exc:  # noqa: BLE001 - any failure is "down", reported by type only
        return False, None, type(exc).__name__
    return True, round((time.perf_counter() - started) * 1000, 2), None


@get("/health", tags=["Operations"], summary="Liveness and dependencies", exclude_from_auth=True)
async def health(request: Request) -> Response[Health]:
    settings: Settings = request.app.state.settings

    async def database() -> None:
        await DB.run_querystring(QueryString("SELECT 1"))

    async def broker() -> None:
        redis = request.app.state.get("redis")
        if redis is not None:
            # Answer promptly during an outage rather than after the client's retries.
            await asyncio.wait_for(redis.ping(), timeout=HEALTH_TIMEOUT_SECONDS)

    db_ok, db_ms, db_err = await _probe(database)
    br_ok, br_ms, br_err = await _probe(broker)
    body = Health(
        status="ok" if db_ok and br_ok else "degraded",
        database=Dependency(
            kind="postgresql" if settings.is_postgres else "sqlite", url=settings.database_label, ok=db_ok, latency_ms=db_ms, error=db_err
        ),
        broker=Dependency(
            kind="redis" if settings.redis_url else "memory", url=settings.broker_label, ok=br_ok, latency_ms=br_ms, error=br_err
        ),
        version=request.app.state.version,
    )
    return Response(body, status_code=HTTP_200_OK if db_ok else HTTP_503_SERVICE_UNAVAILABLE, media_type=MediaType.JSON)

