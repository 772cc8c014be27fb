"""Request logging (one structured line per request, never a body, under a request id
bound to every line the request logs), and the API's own error body for a request too
large to read."""

from __future__ import annotations

import json
import re
import time
import uuid

from loguru import logger
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept when it looks like one (a UUID, a trace id); anything else is
# replaced, so that a log line never carries what a client chose to put there.
_CALLER_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
# Paths whose successful requests log at DEBUG: every worker beats every few seconds.
QUIET_PATHS = frozenset({"/v1/worker/heartbeat"})


def request_id(headers: list[tuple[bytes, bytes]]) -> str:
    """The request's id: the caller's `X-Request-ID` when it is a plain token, else a new
    one."""
    for name, value in headers:
        if name.lower() == b"x-request-id":
            given = value.decode("latin-1")
            if _CALLER_ID.fullmatch(given):
                return given
    return uuid.uuid4().hex


class RequestLogMiddleware:
    """Give each request an id (`X-Request-ID`, taken or made, and echoed back), bound to
    every log line written while it is served, and log its method, path, status, duration
    and the name of the key that called."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on and log how it ended."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500
        rid = request_id(scope.get("headers", []))

        async def send_and_note_status(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode(), rid.encode()),
                ]
            await send(message)

        with logger.contextualize(request_id=rid):
            try:
                await self.app(scope, receive, send_and_note_status)
            finally:
                quiet = scope["path"] in QUIET_PATHS and status_code < 400
                logger.bind(
                    method=scope["method"],
                    path=scope["path"],
                    status=status_code,
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                    key=scope.get("state", {}).get("key_name"),
                ).log("DEBUG" if quiet else "INFO", "request")


TOO_LARGE = (
    "the request body is larger than this route takes (FLEET_MAX_BODY_BYTES; "
    "FLEET_MAX_WORKER_BODY_BYTES for /v1/worker routes, FLEET_MAX_IMPORT_BYTES for imports)"
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
