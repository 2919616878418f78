"""Failed logins per username, with a growing lockout: guesses at one account from many addresses (a botnet, or a
client choosing its own X-Forwarded-For) are held back even where the per-address limit cannot see them.

A username may fail `failures_allowed` times; from then on each further attempt waits out a lockout that doubles
with every failure, up to `longest_lockout_seconds`. While locked, every attempt gets the same 429 `rate_limited`
with Retry-After whatever the password, so the answer tells nothing about it. A successful login forgets the
failures. The counts live in the rate limiter's store (Redis shared by every process, in-process memory on the
embedded default), keyed by a digest of the username, known or not: an unknown name is locked the same way.

An attempt is counted before its password is checked, and past the allowance it takes the lock before it is
checked, so guesses sent in parallel cannot slip between the check and the count.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from litestar.exceptions import TooManyRequestsException

from server.rate_limit_store import CountingMemoryStore

# Failures are remembered this long after the last one: longer than the longest lockout, so a guesser at the pace the
# lockout allows stays escalated; no longer, so names sprayed at random do not pile up in the store.
FAILURE_MEMORY_SECONDS = 3600


class CountingStore(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def delete(self, key: str) -> None: ...
    async def expires_in(self, key: str) -> int | None: ...
    async def increment(self, key: str, expires_in: int) -> int: ...
    async def add(self, key: str, value: str, expires_in: int) -> bool: ...


@dataclass(frozen=True)
class LockoutPolicy:
    failures_allowed: int = 5
    first_lockout_seconds: int = 30
    longest_lockout_seconds: int = 900

    def lockout_seconds(self, attempts: int) -> int:
        """How long an attempt numbered `attempts` since the last success locks the username should it fail: none
        before the allowance is used up, then the first lockout, doubled with each attempt after it, capped."""
        if attempts < self.failures_allowed:
            return 0
        doubling = min(attempts - self.failures_allowed, 32)
        return min(self.first_lockout_seconds * 2**doubling, self.longest_lockout_seconds)


_store: CountingStore = CountingMemoryStore()
_policy = LockoutPolicy()


def configure(store: CountingStore, policy: LockoutPolicy) -> None:
    """Called once by the app factory: the rate limiter's store and the settings' policy."""
    global _store, _policy
    _store, _policy = store, policy


def _keys(username: str) -> tuple[str, str]:
    digest = hashlib.sha256(username.encode()).hexdigest()[:32]
    return f"login-failures:{digest}", f"login-locked:{digest}"


async def _refuse_while_locked(lock_key: str) -> None:
    if await _store.get(lock_key) is None:
        return
    seconds = max(1, await _store.expires_in(lock_key) or 1)
    raise TooManyRequestsException(
        "Too many failed logins for this user", headers={"Retry-After": str(seconds)}, extra={"retry_after_seconds": seconds}
    )


@asynccontextmanager
async def attempt(username: str) -> AsyncIterator[None]:
    """Around checking one login: refuses (429) while the username is locked; a body that ends without raising was a
    success and forgets the failures; one that raises (a wrong password) leaves the attempt counted."""
    failures_key, lock_key = _keys(username)
    await _refuse_while_locked(lock_key)
    attempts = await _store.increment(failures_key, FAILURE_MEMORY_SECONDS)
    lockout = _policy.lockout_seconds(attempts)
    if lockout and not await _store.add(lock_key, "1", lockout):
        await _refuse_while_locked(lock_key)  # a parallel attempt took this turn
    yield
    await _store.delete(lock_key)
    await _store.delete(failures_key)
