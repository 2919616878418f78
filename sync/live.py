"""Live: pokes to devices and progress events to boards, through Litestar Channels (memory backend embedded,
Redis in production, so an event from one server process reaches sockets on every other).

A poke is only a hint: devices also pull on reconnect, after every push and on a timer. When the broker is
down, publishing fails quietly and devices fall back to those pulls; nothing is lost but latency.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from litestar import WebSocket
from litestar.channels import ChannelsPlugin

from schemas.sync import DeviceScope
from sync import feed
from sync.feed import Visibility

log = logging.getLogger("floorsync.sync.live")
_channels: ChannelsPlugin | None = None
_prefix = "floorsync"


def feed_channel() -> str:
    return f"{_prefix}:feed"


def board_channel(topic: str) -> str:
    return f"{_prefix}:{topic}"


def configure(channels: ChannelsPlugin, deployment_key: str) -> None:
    global _channels, _prefix
    _channels, _prefix = channels, f"floorsync:{deployment_key}"
    feed.set_announcer(announce_feed)


def _visibility_json(v: Visibility) -> list[str | None]:
    return [v.site, v.warehouse, v.work_centre, v.route, v.device_id]


async def announce_feed(head: int, visibilities: set[Visibility]) -> None:
    publish(feed_channel(), {"head": head, "visibilities": [_visibility_json(v) for v in visibilities]})


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


async def serve_device_socket(socket: WebSocket, device_id: str, scope: DeviceScope, heartbeat) -> None:
    """Poke the device whenever the feed moves within its scope; answer its heartbeats."""
    assert _channels is not None
    await socket.send_json({"type": "hello", "device_id": device_id})
    async with _channels.start_subscription([feed_channel()]) as subscriber:

        async def forward() -> None:
            async for raw in subscriber.iter_events():
                event = json.loads(raw)
                if any(concerns(device_id, scope, v) for v in event["visibilities"]):
                    await socket.send_json({"type": "poke", "cursor": event["head"]})

        forwarder = asyncio.create_task(forward())
        try:
            while True:
                message = await socket.receive_json()
                if isinstance(message, dict) and message.get("type") == "ping":
                    await heartbeat(message)
                    await socket.send_json({"type": "pong"})
        finally:
            forwarder.cancel()
