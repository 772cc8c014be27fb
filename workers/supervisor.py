"""`fleet worker -n N`: N worker processes, each restarted with backoff when it dies."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from loguru import logger

MAX_BACKOFF_S = 30.0


@dataclass
class _Slot:
    index: int
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0


def supervise(argv: Sequence[str], count: int, poll_s: float = 0.5) -> int:
    """Run `count` copies of `python -m <argv>` until SIGTERM/SIGINT; restart the dead.

    A child that lived under a minute counts towards its backoff (1 s doubling to 30 s);
    one that lived longer restarts at once. Each child gets its own process group, and on
    exit the whole group is killed so no Chromium outlives its worker. Stopping, only the
    worker itself is sent SIGTERM: its Chromium is in its group, and must live until the
    worker has finished the send in hand and closed it.
    """
    slots = [_Slot(i) for i in range(count)]
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        logger.bind(signal=signum).info("stopping workers")

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        now = time.monotonic()
        for slot in slots:
            if slot.process is not None and slot.process.poll() is not None:
                code = slot.process.returncode
                lived = now - slot.started_at
                slot.restarts = 0 if lived > 60 else slot.restarts + 1
                backoff = (
                    0.0 if slot.restarts == 0 else min(2 ** (slot.restarts - 1), MAX_BACKOFF_S)
                )
                slot.next_start = now + backoff
                logger.bind(worker=slot.index, code=code, backoff_s=backoff).warning(
                    "worker exited, restarting"
                )
                _kill_group(slot.process)
                slot.process = None
            if slot.process is None and now >= slot.next_start:
                slot.process = subprocess.Popen([sys.executable, *argv], start_new_session=True)
                slot.started_at = now
                logger.bind(worker=slot.index, pid=slot.process.pid).info("worker started")
        time.sleep(poll_s)
    for slot in slots:
        if slot.process is not None and slot.process.poll() is None:
            slot.process.send_signal(signal.SIGTERM)
    for slot in slots:
        if slot.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                slot.process.wait(timeout=60)
            _kill_group(slot.process)
    return 0


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
