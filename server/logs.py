"""Structured logs: one JSON object per line (time, level, logger, message and any fields), and one line per request.

Litestar's own logging middleware writes a request line and a response line with no duration, and uvicorn's access
log is plain text with the query string, so the request line (method, path, status, duration) comes from `RequestLog`.
Query strings, headers and bodies are never logged: they carry session cookies, CSRF tokens and passwords.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from typing import Any

from litestar.logging.config import LoggingConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_LOGGER = "floorsync.requests"

# Attributes every LogRecord has; anything else on a record came in through `extra=` and is a structured field.
# uvicorn adds `color_message`, the same text with terminal colours.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName", "color_message"
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str) -> LoggingConfig:
    """Every logger (ours, Litestar's, uvicorn's, Piccolo's) writes JSON lines through one queue handler."""
    json_handler = {"level": level, "handlers": ["queue_listener"], "propagate": False}
    # Python warnings (Piccolo warns through them) would otherwise print plain text to stderr.
    logging.captureWarnings(True)
    return LoggingConfig(
        root={"level": level, "handlers": ["queue_listener"]},
        formatters={"standard": {"()": "server.logs.JsonFormatter"}},
        loggers={
            "litestar": json_handler,
            "uvicorn": json_handler,
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            # Replaced by RequestLog's line; uvicorn's would add the query string, which may carry a token.
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            # Piccolo logs every query at INFO, parameters included: only its warnings are wanted.
            "piccolo": {"level": "WARNING", "handlers": ["queue_listener"], "propagate": False},
            REQUEST_LOGGER: json_handler,
        },
    )


class RequestLog:
    """Wraps the whole ASGI app so that every HTTP request gets its line, the ones refused before routing too.

    (Litestar runs app middleware only for a matched route, after authentication: a 401 or a 404 would go unlogged.)
    The line has the method, the path without its query string, the status and the duration in milliseconds.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.logger = logging.getLogger(REQUEST_LOGGER)

    def __getattr__(self, name: str) -> Any:
        # The wrapped Litestar app stays reachable (state, routes) for anything that inspects it.
        return getattr(self.app, name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app raises before a response starts

        async def remember_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, remember_status)
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 2)
            method, path = scope["method"], scope["path"]
            self.logger.info(
                "%s %s %s",
                method,
                path,
                status,
                extra={"method": method, "path": path, "status": status, "duration_ms": duration_ms},
            )
