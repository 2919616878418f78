"""The store behind the rate limits: Redis, shared by every process, falling back to this process's memory while
Redis is down. A push, a pull or a login must not fail because the broker did (DESIGN.md section 4); during an
outage each process counts on its own, which still holds a runaway client back.

Besides Litestar's get and set, both stores take the two atomic steps the per-username login lockout needs
(server/accounts/login_throttle.py): `increment` a counter and `add` a key only when it is absent, so that guesses
sent in parallel are each counted and only one of them takes a turn past the limit."""

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


class CountingMemoryStore(MemoryStore):
    """Litestar's in-process store, with the counter and the set-if-absent taken atomically within this process."""

    SWEEP_EVERY = 1000  # Litestar's memory store forgets an expired key only when it is read again

    def __init__(self) -> None:
        super().__init__()
        self._steps = asyncio.Lock()
        self._counted = 0

    async def increment(self, key: str, expires_in: int) -> int:
        """Add one to the counter at `key` (0 when absent) and keep it for `expires_in` seconds from now."""
        async with self._steps:
            count = int(await self.get(key) or 0) + 1
            await self.set(key, str(count), expires_in)
            self._counted += 1
        if self._counted % self.SWEEP_EVERY == 0:  # counters of names tried once and never again
            await self.delete_expired()
        return count

    async def add(self, key: str, value: str, expires_in: int) -> bool:
        """Set `key` for `expires_in` seconds unless it is there already; whether it was set."""
        async with self._steps:
            if await self.get(key) is not None:
                return False
            await self.set(key, value, expires_in)
            return True


class RedisStoreWithFallback(RedisStore):
    def __init__(self, redis: Redis, namespace: str) -> None:
        super().__init__(redis, namespace=namespace)
        self._fallback = CountingMemoryStore()
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

    async def increment(self, key: str, expires_in: int) -> int:
        async def in_redis() -> int:
            name = self._make_key(key)
            async with self._redis.pipeline(transaction=True) as pipe:
                count, _ = await pipe.incr(name).expire(name, expires_in).execute()
            return int(count)

        return await self._attempt(in_redis, lambda: self._fallback.increment(key, expires_in))

    async def add(self, key: str, value: str, expires_in: int) -> bool:
        async def in_redis() -> bool:
            return bool(await self._redis.set(self._make_key(key), value, ex=expires_in, nx=True))

        return await self._attempt(in_redis, lambda: self._fallback.add(key, value, expires_in))
