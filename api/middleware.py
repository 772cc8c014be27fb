"""Request logging: one structured line per request, never a body."""

from __future__ import annotations

import time

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestLogMiddleware:
    """Log method, path, status, duration and the name of the key that called."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and log how it ended."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            logger.bind(
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                key=scope.get("state", {}).get("key_name"),
            ).info("request")
