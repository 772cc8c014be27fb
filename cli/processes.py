"""Child processes of the CLI: start them in their own process group, wait until they
answer, and stop every one of them on exit (Ctrl-C included)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from loguru import logger


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path


@dataclass
class ChildGroup:
    """Children started by one CLI command, stopped together."""

    log_dir: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Child:
        """Start `argv` (a `python -m ...` style command) with its output in a log file."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        log_file = log_path.open("ab")
        process = subprocess.Popen(
            [sys.executable, *argv],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log_file.close()
        child = Child(name, process, log_path)
        self.children.append(child)
        logger.bind(child=name, pid=process.pid, log=str(log_path)).debug("child started")
        return child

    def check_alive(self) -> None:
        """Raise if a child died, naming it and pointing at its log."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                tail = child.log_path.read_text(errors="replace").splitlines()[-15:]
                raise RuntimeError(
                    f"{child.name} exited with code {code}; last lines of {child.log_path}:\n"
                    + "\n".join(tail)
                )

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM every child's process group, then SIGKILL what is left."""
        for child in reversed(self.children):
            if child.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for child in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.process.wait(timeout=remaining)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
        self.children.clear()


def wait_until(
    check: Callable[[], bool], timeout_s: float, what: str, alive: Callable[[], None]
) -> None:
    """Poll `check` until true; raise naming `what` on timeout. `alive` raises if a
    child died, so a crash is reported as such instead of as a timeout."""
    deadline = time.monotonic() + timeout_s
    while not check():
        alive()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.1)


def http_ok(url: str) -> Callable[[], bool]:
    """A check that `url` answers with a status below 500."""

    def check() -> bool:
        try:
            return httpx.get(url, timeout=2.0).status_code < 500
        except httpx.TransportError:
            return False

    return check
