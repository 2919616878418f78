"""Where a webhook may go, decided on the address and not on the URL's text: the receiver's name is resolved once,
every address it gave is checked (`rules.target_refusal`: loopback, link-local, unspecified, multicast and reserved
addresses only when FLOORSYNC_WEBHOOK_ALLOW names them), and the connection goes to an address that was checked.
So `http://2130706433/`, `http://0x7f.1/`, `localhost` or `[::ffff:127.0.0.1]` are refused like `127.0.0.1`, and a
name that answers differently between the check and the connection (DNS rebinding) cannot slip through.

The check runs when a subscription names its URL (a name that does not resolve yet is accepted: every delivery
checks again) and inside the dispatcher's HTTP client, as its network backend, at every connection it opens."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from functools import cache
from urllib.parse import urlsplit

import httpcore
import httpx

from server.settings import webhook_allow_from_env
from server.webhooks import rules

RESOLVE_TIMEOUT_SECONDS = 5.0


class TargetRefused(Exception):
    """The receiver's address is not one a delivery may go to; nothing was sent."""


@cache
def configured_allow_list() -> rules.AllowList:
    return rules.allow_list(webhook_allow_from_env())


async def resolve(host: str, port: int) -> list[str]:
    """The addresses `host` stands for, as the system's resolver reads it (so `2130706433` and `0x7f.1` come back as
    127.0.0.1), each once, in the resolver's order."""
    async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def url_refusal(url: str, allowed: rules.AllowList | None = None) -> rules.Refusal | None:
    """Why a subscription may not name `url` (its text already checked by `rules.url_problem`), or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        addresses = await resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except (OSError, TimeoutError, UnicodeError):
        return None  # not resolvable now: each delivery resolves and checks it again
    return rules.target_refusal(host, addresses, allowed or configured_allow_list())


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with the check between resolving a name and connecting to what it resolved to."""

    def __init__(self, allowed: rules.AllowList):
        self._allowed = allowed
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except (OSError, TimeoutError, UnicodeError) as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        if rules.target_refusal(host, addresses, self._allowed) is not None:
            raise TargetRefused(host)
        failure: Exception = httpcore.ConnectError(f"{host} resolved to no address")
        for address in addresses:
            try:
                return await self._backend.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                                       socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        raise TargetRefused(path)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (requests, responses, its exceptions) over a connection pool on the guarded backend.
    httpx takes no network backend, so the pool it built is replaced by one with the same TLS context; no proxy
    from the environment either (trust_env=False): a proxy would make the connection we could not check."""

    def __init__(self, allowed: rules.AllowList):
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(ssl_context=self._pool._ssl_context,
                                                  network_backend=GuardedNetworkBackend(allowed))
