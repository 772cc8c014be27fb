"""A local OpenAI-compatible chat-completions server for the drafting tests.

A real HTTP server on loopback, in a thread: the `openai` client talks to it exactly as to
OpenAI or vLLM. Like a real server it refuses a wrong key (401) and an unknown model (404).
It records every request it answers, and plays a script of replies: a draft, a 429, a
500, a hang past the client's timeout, or content that is not the JSON asked for.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.helpers.stores import free_port

# The key and model the stub accepts; anything else is refused as a real server would.
STUB_KEY = "sk-stub-test-key"
STUB_MODEL = "stub-chat-1"
# How long a hanging reply waits at most; teardown releases it at once.
HANG_LIMIT_S = 10.0


@dataclass(frozen=True)
class StubReply:
    """One scripted answer. `content` is the assistant message's content as sent."""

    status: int = 200
    content: str | None = None
    hang: bool = False
    usage: bool = True

    @classmethod
    def draft(cls, text: str, confidence: int = 90) -> StubReply:
        """A well-formed answer carrying `text` as the draft's one variant."""
        return cls.variants((text, confidence, "answers what the fan said"))

    @classmethod
    def variants(cls, *variants: tuple[str, int, str]) -> StubReply:
        """A well-formed answer carrying (text, confidence, reason) variants, in order."""
        items = [{"text": t, "confidence": c, "reason": r} for t, c, r in variants]
        return cls(content=json.dumps({"variants": items}))

    @classmethod
    def classified(cls, text: str, kind: str, kind_confidence: int) -> StubReply:
        """A well-formed answer that also classifies the message as `kind`."""
        variants = [{"text": text, "confidence": 90, "reason": "answers what the fan said"}]
        payload = {"kind": kind, "kind_confidence": kind_confidence, "variants": variants}
        return cls(content=json.dumps(payload))


@dataclass
class Recorded:
    """What one request carried; header names in lower case."""

    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def system(self) -> str:
        return self.body["messages"][0]["content"]

    @property
    def turns(self) -> list[tuple[str, str]]:
        return [(m["role"], m["content"]) for m in self.body["messages"][1:]]


@dataclass
class LLMStub:
    """The server's state: the key and model it accepts, its script and its records."""

    api_key: str
    model: str
    default: StubReply = field(default_factory=lambda: StubReply.draft("Hey you, thanks!"))
    script: deque[StubReply] = field(default_factory=deque)
    requests: list[Recorded] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def will(self, *replies: StubReply) -> None:
        """Answer the next requests with `replies`, in order, then with `default`."""
        self.script.extend(replies)

    def next_reply(self) -> StubReply:
        return self.script.popleft() if self.script else self.default


def _completion(stub: LLMStub, reply: StubReply) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "created": 1_770_000_000,
        "model": stub.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.content},
                "finish_reason": "stop",
            }
        ],
    }
    if reply.usage:
        body["usage"] = {"prompt_tokens": 321, "completion_tokens": 17, "total_tokens": 338}
    return body


def _handler(stub: LLMStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests read `stub.requests`, not stderr."""

        def _send(self, status: int, payload: dict[str, Any], **headers: str) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str, **headers: str) -> None:
            self._send(status, {"error": {"message": message, "type": "stub"}}, **headers)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
            if self.path != "/v1/chat/completions":
                self._error(404, f"no route {self.path}")
                return
            if self.headers.get("Authorization") != f"Bearer {stub.api_key}":
                self._error(401, "invalid api key")
                return
            if body.get("model") != stub.model:
                self._error(404, "model not found")
                return
            messages = body.get("messages")
            if not isinstance(messages, list) or not messages or messages[0]["role"] != "system":
                self._error(400, "messages must start with a system message")
                return
            stub.requests.append(Recorded({k.lower(): v for k, v in self.headers.items()}, body))
            reply = stub.next_reply()
            if reply.hang:
                stub.release.wait(HANG_LIMIT_S)
            try:
                if reply.status != 200:
                    # retry-after-ms keeps the client's retries instant in tests.
                    self._error(reply.status, "scripted failure", **{"retry-after-ms": "1"})
                else:
                    self._send(200, _completion(stub, reply))
            except OSError:
                # The client gave up on a hanging reply and closed the connection.
                pass

    return Handler


class RunningStub:
    """Serves an `LLMStub` on a free loopback port until `close()`."""

    def __init__(self, stub: LLMStub) -> None:
        port = free_port()
        self.stub = stub
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(stub))
        self.server.daemon_threads = True
        stub.url = f"http://127.0.0.1:{port}/v1"
        # A short poll interval: `shutdown()` waits for the loop's next poll.
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"llm-stub-{port}",
            daemon=True,
        )
        self.thread.start()

    def close(self) -> None:
        """Release hanging replies and stop serving."""
        self.stub.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
