"""The store behind the rate limits: Redis, shared by every process, falling back to this process's memory while
Redis is down. A push, a pull or a login must not fail because the broker did (DESIGN.md section 4); during an
outage each process counts on its own, which still holds a runaway client back."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore
from redis.asyncio import Redis

log = logging.getLogger("floorsync.rate_limit")
REDIS_TIMEOUT_SECONDS = 0.5
RETRY_REDIS_AFTER_SECONDS = 1.0


class RedisStoreWithFallback(RedisStore):
    def __init__(self, redis: Redis, namespace: str) -> None:
        super().__init__(redis, namespace=namespace)
        self._fallback = MemoryStore()
        self._redis_again_at = 0.0

    async def _attempt(self, operation, fallback):
        if time.monotonic() >= self._redis_again_at:
            try:
                return await asyncio.wait_for(operation(), REDIS_TIMEOUT_SECONDS)
            except Exception as exc:  # noqa: BLE001 - any Redis failure: count in memory for a while
                if time.monotonic() >= self._redis_again_at:
                    log.warning("rate limit: Redis unavailable (%s); counting in this process meanwhile", type(exc).__name__)
                self._redis_again_at = time.monotonic() + RETRY_REDIS_AFTER_SECONDS
        return await fallback()

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        await self._attempt(lambda: super(RedisStoreWithFallback, self).set(key, value, expires_in),
                            lambda: self._fallback.set(key, value, expires_in))

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        return await self._attempt(lambda: super(RedisStoreWithFallback, self).get(key, renew_for),
                                   lambda: self._fallback.get(key, renew_for))

    async def delete(self, key: str) -> None:
        await self._attempt(lambda: super(RedisStoreWithFallback, self).delete(key), lambda: self._fallback.delete(key))

    async def exists(self, key: str) -> bool:
        return await self._attempt(lambda: super(RedisStoreWithFallback, self).exists(key), lambda: self._fallback.exists(key))

    async def expires_in(self, key: str) -> int | None:
        return await self._attempt(lambda: super(RedisStoreWithFallback, self).expires_in(key),
                                   lambda: self._fallback.expires_in(key))
