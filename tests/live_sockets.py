"""A device's live socket as the PWA holds it: `WS /api/sync/live`, token in the first message, pokes read with a
bounded wait. Shared by the live tests on one process and on two."""

from __future__ import annotations

import json
import time

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


def open_live(base_url: str, token: str) -> ClientConnection:
    socket = connect(base_url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10, legacy=True)
    socket.send(json.dumps({"type": "hello", "token": token}))
    hello = json.loads(socket.recv(timeout=10))
    assert hello["type"] == "hello", hello
    return socket


def next_message(socket: ClientConnection, kind: str, within_seconds: float) -> dict | None:
    """The next message of this type within the wait (others are passed over), or None."""
    deadline = time.monotonic() + within_seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = json.loads(socket.recv(timeout=left))
        except TimeoutError:
            return None
        if message["type"] == kind:
            return message
    return None


def drain(socket: ClientConnection, quiet_seconds: float = 0.3) -> None:
    """Read whatever is already on its way (pokes for the set-up's own writes)."""
    while True:
        try:
            socket.recv(timeout=quiet_seconds)
        except TimeoutError:
            return


def closed_with(socket: ClientConnection, within_seconds: float) -> tuple[list[dict], int | None]:
    """Read until the server closes the socket: the messages it sent last, and the close code (None if still open)."""
    messages: list[dict] = []
    deadline = time.monotonic() + within_seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            messages.append(json.loads(socket.recv(timeout=left)))
        except TimeoutError:
            return messages, None
        except ConnectionClosed as closed:
            return messages, closed.rcvd.code if closed.rcvd else None
    return messages, None


def open_board(base_url: str, session_cookie: str | None, topics: list, origin: str | None = None):
    """A supervisor's board: an office session's socket subscribed to board topics."""
    headers = {"Cookie": f"floorsync_session={session_cookie}"} if session_cookie else {}
    socket = connect(base_url.replace("http://", "ws://") + "/api/sync/live", open_timeout=10,
                     additional_headers=headers, origin=origin, legacy=True)
    socket.send(json.dumps({"type": "subscribe", "topics": topics}))
    return socket
