"""Live: pokes to devices and progress events to boards, through Litestar Channels (memory backend embedded,
Redis in production, so an event from one server process reaches sockets on every other).

A poke is only a hint: devices also pull on reconnect, after every push and on a timer. When the broker is
down, publishing fails quietly and devices fall back to those pulls; nothing is lost but latency. A device
socket whose subscription dies with the broker is closed (1013, try again later), so the device reconnects and
gets pokes again once Redis is back.

Until it has said who it is, a socket is held on a short leash: it must send its first message within the hello
timeout, and one address may keep only so many such sockets open at once in a process. An office board re-checks
its session on each ping, as a device checks its token, and at once when its user's sessions change (a logout, a
password reset, a deactivation), and closes when the session has ended.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterable
from typing import Any

from litestar import WebSocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.exceptions import WebSocketDisconnect

from schemas.sync import DeviceScope
from server.db import FinalStage, WriteContext, current_write
from sync import feed
from sync.feed import Visibility

log = logging.getLogger("floorsync.sync.live")
_channels: ChannelsPlugin | None = None
_prefix = "floorsync"

REVOKED_CLOSE_CODE = 4401
SESSION_ENDED_CLOSE_CODE = 4401
HELLO_TIMEOUT_CLOSE_CODE = 4408
TOO_MANY_SOCKETS_CLOSE_CODE = 4429
TRY_AGAIN_LATER_CLOSE_CODE = 1013
PUBLISH_TIMEOUT_SECONDS = 1.0
REDIS_RETRY_SECONDS = (0.2, 5.0)


def feed_channel() -> str:
    return f"{_prefix}:feed"


def devices_channel() -> str:
    return f"{_prefix}:devices"


def board_channel(topic: str) -> str:
    return f"{_prefix}:{topic}"


def accounts_channel() -> str:
    return f"{_prefix}:accounts"


class BrokerLink:
    """Whether this process's subscription to the broker is alive. `lost` is set when it dies; a fresh event
    replaces it once the subscription is restored, so a socket holds the event of the link it subscribed on."""

    def __init__(self) -> None:
        self._lost: asyncio.Event | None = None

    @property
    def lost(self) -> asyncio.Event:
        if self._lost is None:  # created lazily, inside the server's event loop
            self._lost = asyncio.Event()
        return self._lost

    @property
    def up(self) -> bool:
        return not self.lost.is_set()

    def mark_lost(self) -> None:
        self.lost.set()

    def mark_restored(self) -> None:
        if self.lost.is_set():
            self._lost = asyncio.Event()


broker = BrokerLink()


class ResilientRedisBackend(RedisChannelsPubSubBackend):
    """Litestar's Redis pub/sub backend, made to outlive a Redis outage.

    The stock backend lets a connection error escape: the plugin's publishing and streaming tasks die with it, so
    live stays dead after Redis returns, and a failed subscribe leaves the plugin believing the channel is
    subscribed. Here nothing raises: a publish that fails is dropped (pokes are hints), a subscribe or unsubscribe
    that fails is redone on reconnection, and the event stream reconnects with backoff, marking `broker` lost
    meanwhile so device sockets close and their devices reconnect.
    """

    def __init__(self, *, redis, link: BrokerLink, **kwargs: Any) -> None:
        super().__init__(redis=redis, **kwargs)
        self._link = link
        self._wanted: set[str] = set()
        self._publish_again_at = 0.0

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        if time.monotonic() < self._publish_again_at:
            return  # Redis failed a moment ago: do not make every commit wait for it again
        try:
            await asyncio.wait_for(super().publish(data, channels), PUBLISH_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - a lost event costs latency, never data
            self._publish_again_at = time.monotonic() + REDIS_RETRY_SECONDS[0] * 5
            log.warning("broker: could not publish on %s (%s)", ", ".join(channels), type(exc).__name__)

    async def subscribe(self, channels: Iterable[str]) -> None:
        channels = set(channels)
        self._wanted |= channels
        try:
            await asyncio.wait_for(super().subscribe(channels), PUBLISH_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - redone when the stream reconnects
            log.warning("broker: could not subscribe (%s)", type(exc).__name__)
            self._link.mark_lost()
            self._has_subscribed.set()  # wakes the stream, which reconnects and subscribes what is wanted

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        channels = set(channels)
        self._wanted -= channels
        try:
            await asyncio.wait_for(super().unsubscribe(channels), PUBLISH_TIMEOUT_SECONDS)
        except Exception as exc:  # noqa: BLE001 - nobody listens there any more; a stray event is ignored
            log.warning("broker: could not unsubscribe (%s)", type(exc).__name__)

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            if self._link.up:
                try:
                    async for event in super().stream_events():
                        yield event
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the subscription died with the broker; reconnect below
                    log.warning("broker: subscription lost (%s); live pokes stop until it is back", type(exc).__name__)
                    self._link.mark_lost()
            await self._reconnect()

    async def _reconnect(self) -> None:
        delay = REDIS_RETRY_SECONDS[0]
        while True:
            await asyncio.sleep(delay)
            try:
                await asyncio.wait_for(self._redis.ping(), PUBLISH_TIMEOUT_SECONDS * 2)
                # Reconnecting the pub/sub connection re-subscribes what it had; subscribe what failed meanwhile.
                await asyncio.wait_for(self._pub_sub.connect(), PUBLISH_TIMEOUT_SECONDS * 2)
                missing = {c for c in self._wanted if c.encode() not in self._pub_sub.channels}
                if missing:
                    await asyncio.wait_for(super().subscribe(missing), PUBLISH_TIMEOUT_SECONDS * 2)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - still down: try again later
                delay = min(delay * 2, REDIS_RETRY_SECONDS[1])
                continue
            log.warning("broker: subscription restored")
            self._publish_again_at = 0.0  # Redis answers again: publish the next event instead of waiting out the pause
            self._link.mark_restored()
            return


def configure(channels: ChannelsPlugin, deployment_key: str, *, hello_timeout_seconds: float = 10.0,
              unauthenticated_per_address: int = 50) -> None:
    global _channels, _prefix
    _channels, _prefix = channels, f"floorsync:{deployment_key}"
    feed.set_announcer(announce_feed)
    strangers.configure(hello_timeout_seconds, unauthenticated_per_address)


def _visibility_json(v: Visibility) -> list[str | None]:
    return [v.site, v.warehouse, v.work_centre, v.route, v.device_id]


async def announce_feed(head: int, visibilities: set[Visibility]) -> None:
    publish(feed_channel(), {"type": "feed", "head": head, "visibilities": [_visibility_json(v) for v in visibilities]})


async def announce_device_changed(device_id: str) -> None:
    """After a device is revoked or re-scoped: its open sockets, on every process, re-read it (and close if revoked)."""
    publish(devices_channel(), {"type": "device_changed", "device_id": device_id})


async def announce_user_changed(user_id: int) -> None:
    """After a user's sessions ended (logout, password change, deactivation): their boards, on every process, re-check
    their session and close if it is gone."""
    publish(accounts_channel(), {"type": "user_changed", "user_id": user_id})


def publish(channel: str, message: dict[str, Any]) -> None:
    if _channels is None:
        return
    try:
        _channels.publish(json.dumps(message), channels=[channel])
    except Exception:  # noqa: BLE001 - a lost event costs latency, never data
        log.warning("could not publish on %s", channel, exc_info=True)


def concerns(device_id: str, scope: DeviceScope, visibility: list[str | None]) -> bool:
    """Whether a change with this visibility is one the device may see (the same rule as the pull's SQL)."""
    site, warehouse, work_centre, route, only_device = visibility
    return (
        (only_device is None or only_device == device_id)
        and (site is None or site == scope.site)
        and (warehouse is None or not scope.warehouses or warehouse in scope.warehouses)
        and (work_centre is None or not scope.work_centres or work_centre in scope.work_centres)
        and (route is None or not scope.route or route == scope.route)
    )


class SocketClosing(Exception):
    """Why the server ends a device's socket: sent to the device as an error, then the close code."""

    def __init__(self, close_code: int, code: str, message: str):
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message


# What the socket asks the database about its device: the current scope, or None when it has been revoked.
CurrentScope = Callable[[], Awaitable[DeviceScope | None]]
# A heartbeat: records last seen; False when the device has been revoked meanwhile.
Heartbeat = Callable[[dict], Awaitable[bool]]


BROKER_DOWN = "Live events are unavailable: pull on a timer and reconnect later"


async def _serve(socket: WebSocket, channels: list[str], hello: dict[str, Any],
                 on_event: Callable[[dict[str, Any]], Awaitable[None]],
                 on_message: Callable[[Any], Awaitable[None]]) -> None:
    """One live socket: subscribe, greet, then forward events and answer messages until either side ends it,
    the handlers refuse to go on (SocketClosing), or the broker link dies (close 1013: the client reconnects)."""
    assert _channels is not None
    link_lost = broker.lost
    try:
        if link_lost.is_set():
            raise SocketClosing(TRY_AGAIN_LATER_CLOSE_CODE, "broker_unavailable", BROKER_DOWN)
        async with _channels.start_subscription(channels) as subscriber:
            if link_lost.is_set():  # the subscription itself failed
                raise SocketClosing(TRY_AGAIN_LATER_CLOSE_CODE, "broker_unavailable", BROKER_DOWN)
            await socket.send_json(hello)

            async def forward() -> None:
                async for raw in subscriber.iter_events():
                    await on_event(json.loads(raw))

            async def answer() -> None:
                while True:
                    await on_message(await socket.receive_json())

            async def broker_lost() -> None:
                await link_lost.wait()
                raise SocketClosing(TRY_AGAIN_LATER_CLOSE_CODE, "broker_unavailable", "Live events were interrupted: reconnect")

            tasks = [asyncio.create_task(job()) for job in (forward, answer, broker_lost)]
            try:
                done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            for task in done:
                task.result()  # re-raises why the socket ends
    except SocketClosing as closing:
        await _close(socket, closing)
    except WebSocketDisconnect:
        pass


async def serve_device_socket(socket: WebSocket, device_id: str, scope: DeviceScope, heartbeat: Heartbeat,
                              current_scope: CurrentScope) -> None:
    """Poke the device whenever the feed moves within its scope; answer its heartbeats; forward the boards it
    subscribed to (a supervisor's tablet); close the socket at once when the device is revoked (an event from any
    process; each heartbeat checks too) or the broker link dies."""
    scope_now = scope
    boards = DeviceBoards(socket)

    async def on_event(event: dict[str, Any]) -> None:
        nonlocal scope_now
        if event.get("type") == "device_changed":
            if event["device_id"] == device_id:
                changed = await current_scope()
                if changed is None:
                    raise _revoked()
                scope_now = changed
                kept = [t for t in boards.topics if board_topic_in_scope(t, scope_now)]
                if kept != boards.topics:  # re-scoped away from a watched board: stop watching it
                    await boards.watch(kept)
        elif any(concerns(device_id, scope_now, v) for v in event.get("visibilities", [])):
            await socket.send_json({"type": "poke", "cursor": event["head"]})

    async def on_message(message: Any) -> None:
        if not isinstance(message, dict):
            return
        if message.get("type") == "ping":
            if not await heartbeat(message):
                raise _revoked()
            await socket.send_json({"type": "pong"})
        elif message.get("type") == "subscribe":
            await boards.subscribe(message.get("topics"), scope_now)

    try:
        await _serve(socket, [feed_channel(), devices_channel()], {"type": "hello", "device_id": device_id},
                     on_event, on_message)
    finally:
        await boards.stop()


# Supervisors' boards: one topic per thing watched. Events on them are progress, not data: a board that missed
# one reloads its page. board:warehouse:<code> carries stock bookings; the other topics get their events from the
# production, sales and shipping areas as those land.
BOARD_TOPIC = re.compile(r"^board:(?:(?:workcentre|warehouse):[A-Za-z0-9][A-Za-z0-9._-]{0,39}|orders|dock)$")
MAX_BOARD_TOPICS = 20


# Whether the office session a board was opened on still holds (not logged out or expired, its user still active).
StillSignedIn = Callable[[], Awaitable[bool]]


async def serve_board_socket(socket: WebSocket, topics: list[str], user_id: int, still_signed_in: StillSignedIn) -> None:
    """Forward the topics' events to an office board; on each ping, and whenever its user's sessions change, check
    the session again and close (4401 `session_ended`) once it no longer holds."""

    async def check_session() -> None:
        if not await still_signed_in():
            raise SocketClosing(SESSION_ENDED_CLOSE_CODE, "session_ended", "Your session has ended: log in again")

    async def on_event(event: dict[str, Any]) -> None:
        if event.get("type") == "user_changed":
            if event.get("user_id") == user_id:
                await check_session()
            return
        await socket.send_json({"type": "board", **event})

    async def on_message(message: Any) -> None:
        if isinstance(message, dict) and message.get("type") == "ping":
            await check_session()
            await socket.send_json({"type": "pong"})

    await _serve(socket, [*(board_channel(t) for t in topics), accounts_channel()],
                 {"type": "subscribed", "topics": topics}, on_event, on_message)


class Strangers:
    """Sockets that have not said who they are yet, per client address, in this process. Each must send its first
    message within the hello timeout, and an address holding the most allowed gets its next one closed at once:
    idle upgrades by the thousand cannot pile up (each holds memory for as long as it stays open)."""

    def __init__(self) -> None:
        self.hello_timeout_seconds = 10.0
        self.per_address = 50
        self._waiting: dict[str, int] = {}

    def configure(self, hello_timeout_seconds: float, per_address: int) -> None:
        self.hello_timeout_seconds, self.per_address = hello_timeout_seconds, per_address

    async def first_message(self, socket: WebSocket) -> Any:
        """The socket's first message, or None once the socket has been closed (too many from its address, no hello
        in time, or the client went away)."""
        address = socket.client.host if socket.client else ""
        if self._waiting.get(address, 0) >= self.per_address:
            await _close(socket, SocketClosing(TOO_MANY_SOCKETS_CLOSE_CODE, "too_many_sockets",
                                               "Too many sockets from this address are still to say who they are"))
            return None
        self._waiting[address] = self._waiting.get(address, 0) + 1
        try:
            return await asyncio.wait_for(socket.receive_json(), self.hello_timeout_seconds)
        except TimeoutError:
            await _close(socket, SocketClosing(HELLO_TIMEOUT_CLOSE_CODE, "hello_timeout",
                                               "Say who you are (hello or subscribe) as soon as the socket opens"))
            return None
        except WebSocketDisconnect:
            return None
        finally:
            self._waiting[address] -= 1
            if not self._waiting[address]:
                del self._waiting[address]


strangers = Strangers()


async def _close(socket: WebSocket, closing: SocketClosing) -> None:
    try:
        await socket.send_json({"type": "error", "code": closing.code, "message": closing.message})
        await socket.close(code=closing.close_code, reason=closing.code)
    except Exception:  # noqa: BLE001 - the client went away first
        pass


def board_topic_in_scope(topic: str, scope: DeviceScope) -> bool:
    """A device watches only the boards of the work centres and warehouses its scope names: a topic carries no site,
    so a device scoped to a whole site, and the site-wide boards (orders, dock), stay the office's."""
    kind, _, code = topic.removeprefix("board:").partition(":")
    return (kind == "workcentre" and code in scope.work_centres) or (kind == "warehouse" and code in scope.warehouses)


class DeviceBoards:
    """The boards one device socket watches besides its pokes. A new `subscribe` replaces the topics (an empty list
    stops watching); a refused one is answered with an error on the socket and changes nothing, so the pokes go on."""

    def __init__(self, socket: WebSocket) -> None:
        self._socket = socket
        self._lock = asyncio.Lock()
        self._subscriber: Any = None
        self._task: asyncio.Task | None = None
        self.topics: list[str] = []

    async def subscribe(self, topics: object, scope: DeviceScope) -> None:
        if (not isinstance(topics, list) or len(topics) > MAX_BOARD_TOPICS
                or not all(isinstance(t, str) and BOARD_TOPIC.match(t) for t in topics)):
            await self._refuse("invalid_topics", f"Send 0 to {MAX_BOARD_TOPICS} topics like 'board:workcentre:CUT'")
            return
        outside = [t for t in topics if not board_topic_in_scope(t, scope)]
        if outside:
            await self._refuse("topic_out_of_scope", "This device may watch only the boards of its own work centres "
                               f"and warehouses: {', '.join(outside)}", topics=outside)
            return
        await self.watch(list(dict.fromkeys(topics)))

    async def watch(self, topics: list[str]) -> None:
        assert _channels is not None
        async with self._lock:
            await self._stop()
            if topics:
                channels = [board_channel(t) for t in topics]
                self._subscriber = await _channels.subscribe(channels)
                self._task = asyncio.create_task(self._forward(self._subscriber))
            self.topics = topics
            await self._socket.send_json({"type": "subscribed", "topics": topics})

    async def _forward(self, subscriber: Any) -> None:
        async for raw in subscriber.iter_events():
            await self._socket.send_json({"type": "board", **json.loads(raw)})

    async def _refuse(self, code: str, message: str, **details: Any) -> None:
        await self._socket.send_json({"type": "error", "code": code, "message": message, **details})

    async def _stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._subscriber is not None and _channels is not None:
            await _channels.unsubscribe(self._subscriber, [board_channel(t) for t in self.topics])
            self._subscriber = None

    async def stop(self) -> None:
        async with self._lock:
            await self._stop()
            self.topics = []


BOARD_BUFFER = "board:"


def publish_board_after_commit(topic: str, event: dict[str, Any]) -> None:
    """Announce progress on a board once the current write transaction has committed (never what rolled back).
    A board gets one message per transaction and topic, `{"topic", "events": [...]}` in the order they happened:
    a device's batch of twenty moves is one message, not twenty."""
    current_write().buffer(BOARD_BUFFER + topic).append(event)


async def _announce_boards(write: WriteContext) -> None:
    for name, events in write.buffers.items():
        if name.startswith(BOARD_BUFFER) and events:
            topic = name[len(BOARD_BUFFER):]
            publish(board_channel(topic), {"topic": topic, "events": list(events)})


BOARDS_STAGE = FinalStage(after_commit=_announce_boards)


def _revoked() -> SocketClosing:
    return SocketClosing(REVOKED_CLOSE_CODE, "device_revoked", "This device has been revoked: ask the office to enrol it again")
