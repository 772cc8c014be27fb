"""Running the sandbox under uvicorn: in the foreground, or on a thread for tests."""

from __future__ import annotations

import threading
import time

import uvicorn

from sandbox.app import create_app
from sandbox.config import SandboxConfig

_START_TIMEOUT_S = 15.0


def serve(config: SandboxConfig, host: str = "127.0.0.1", port: int = 8710) -> None:
    """Serve the sandbox until interrupted (Ctrl-C or SIGTERM)."""
    uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)


class BackgroundServer:
    """The sandbox served by uvicorn on a daemon thread of this process.

    For tests and benchmarks: one process, no subprocess to reap, started in well under a
    second. `start()` returns once the port accepts connections.
    """

    def __init__(self, config: SandboxConfig, host: str = "127.0.0.1", port: int = 8710) -> None:
        self.url = f"http://{host}:{port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                create_app(config), host=host, port=port, log_level="warning", access_log=False
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="sandbox", daemon=True)

    def start(self) -> None:
        """Start serving; raises RuntimeError if the server fails to come up."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"sandbox server failed to start on {self.url}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sandbox server did not start on {self.url} in time")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop serving and wait for the thread to finish."""
        self._server.should_exit = True
        self._thread.join(timeout=_START_TIMEOUT_S)
