"""Heartbeats: every few seconds a worker tells the control plane who and where it is,
what it is doing and how much memory it and its Chromium use (`GET /v1/fleet` shows them)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from loguru import logger

from core.fleet.protocol import WorkerHeartbeat
from workers.resources import tree_rss


@dataclass
class Doing:
    """What the worker is busy with right now; the job thread writes, the sender reads."""

    job: str | None = None
    account_id: int | None = None
    jobs_done: int = 0


class HeartbeatSender:
    """Posts a heartbeat every `interval_s` from a daemon thread until stopped."""

    def __init__(
        self,
        worker_id: str,
        doing: Doing,
        post: Callable[[WorkerHeartbeat], None],
        interval_s: float,
    ) -> None:
        self._worker_id = worker_id
        self._doing = doing
        self._post = post
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def beat(self) -> WorkerHeartbeat:
        """Build and send one heartbeat now; a failure is logged, never raised."""
        own, browser = tree_rss()
        body = WorkerHeartbeat(
            worker_id=self._worker_id,
            host=socket.gethostname(),
            pid=os.getpid(),
            current_job=self._doing.job,
            account_id=self._doing.account_id,
            jobs_done=self._doing.jobs_done,
            rss_bytes=own,
            chromium_rss_bytes=browser,
        )
        try:
            self._post(body)
        except Exception as exc:  # the control plane may be restarting; the next beat will do
            logger.bind(error=type(exc).__name__).debug("heartbeat not delivered")
        return body

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self._interval_s + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self._interval_s)
