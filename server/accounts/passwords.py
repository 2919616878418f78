"""Password hashing with argon2 (argon2-cffi's defaults, rehashed when they change).

An argon2 hash costs, by design, about a quarter of a CPU-second and 64 MiB. It runs in a worker thread (argon2-cffi
releases the GIL), so the event loop keeps answering pages, pushes and sockets while a login is checked, and at most
HASHING_AT_ONCE run at once in a process: a burst of logins queues for the slots instead of taking every core and
64 MiB a guess."""

import asyncio
import weakref
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHING_AT_ONCE = 2
_hasher = PasswordHasher()
# Verified against when the username is unknown, so that a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")
_slots: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore]" = weakref.WeakKeyDictionary()
T = TypeVar("T")


async def _in_a_slot(work: Callable[[], T]) -> T:
    slots = _slots.setdefault(asyncio.get_running_loop(), asyncio.Semaphore(HASHING_AT_ONCE))
    async with slots:
        return await asyncio.to_thread(work)


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await _in_a_slot(lambda: _hasher.hash(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    return await _in_a_slot(lambda: _verify(password_hash, password))


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
