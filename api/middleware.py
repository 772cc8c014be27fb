"""Request logging (one structured line per request, never a body), and the API's own
error body for a request too large to read."""

from __future__ import annotations

import json
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


TOO_LARGE = (
    "the request body is larger than this route takes (FLEET_MAX_BODY_BYTES; "
    "FLEET_MAX_WORKER_BODY_BYTES for /v1/worker routes)"
)


class TooLargeAsJsonMiddleware:
    """Answer a body past its route's limit with the API's error body: Starlette's limit
    answers 413 in plain text, which a client reading `detail` cannot parse."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, rewriting a plain-text 413."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replacing = False

        async def send_json_413(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers", []))
                if not headers.get(b"content-type", b"").startswith(b"application/json"):
                    replacing = True
                    body = json.dumps({"detail": TOO_LARGE}).encode()
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 413,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": body})
                    return
            if replacing:
                return
            await send(message)

        await self.app(scope, receive, send_json_413)
