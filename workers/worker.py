"""The RQ worker class for browser jobs: no fork, one browser for the worker's life.

RQ's default `Worker` forks a work horse per job, and Playwright objects do not survive a
fork. `BrowserWorker` runs jobs in its own process (RQ's `SimpleWorker`), owns the
`WorkerRuntime`, and closes its Chromium on the way out so none outlives it.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Sequence

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from rq.job import Job

from core.fleet.heartbeats import heartbeat_ttl_s
from core.fleet.metrics import record_job
from core.fleet.queues import QueueName
from core.settings import Settings
from workers.browser import BrowserHost
from workers.control_client import ControlPlaneClient
from workers.errors import ConfigurationError
from workers.heartbeat import Doing, HeartbeatSender
from workers.resources import tree_rss
from workers.runtime import WorkerRuntime, install

BROWSER_QUEUES = (QueueName.send.value, QueueName.scrape.value)


def new_worker_id() -> str:
    """A fleet-unique worker name: host, pid and a random tail."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class BrowserWorker(SimpleWorker):
    """A non-forking RQ worker holding one Playwright browser."""

    def __init__(self, queues: Sequence[str], runtime: WorkerRuntime, **kwargs: object) -> None:
        super().__init__(list(queues), name=runtime.worker_id, **kwargs)  # type: ignore[arg-type]
        self.runtime = runtime
        self.doing = Doing()
        install(runtime)
        self.heartbeats = HeartbeatSender(
            runtime.worker_id,
            self.doing,
            runtime.control.heartbeat,
            heartbeat_ttl_s(runtime.settings) / 3,
        )
        self.heartbeats.start()

    def execute_job(self, job: Job, queue: Queue) -> None:
        logger.bind(job_id=job.id, queue=queue.name).debug("job starting")
        self.doing.job = job.id
        # Both browser jobs take (row id, account id).
        self.doing.account_id = int(job.args[1]) if len(job.args) > 1 else None
        self.runtime.pacer_waited_s = 0.0
        started = time.perf_counter()
        try:
            super().execute_job(job, queue)
        finally:
            self.doing.job = None
            self.doing.account_id = None
            self.doing.jobs_done += 1
            self._record(queue.name, time.perf_counter() - started)
        self._check_memory()

    def _record(self, kind: str, seconds: float) -> None:
        """The job's duration and pacer wait, for `/metrics`; never fails the worker."""
        try:
            record_job(
                self.runtime.redis,
                self.runtime.settings.redis_key_prefix,
                kind,
                seconds,
                self.runtime.pacer_waited_s,
            )
        except RedisError as exc:
            logger.bind(error=type(exc).__name__).debug("job metrics not recorded")

    def _check_memory(self) -> None:
        own, browser = tree_rss()
        limit = self.runtime.settings.memory_watermark_mb * 1024 * 1024
        if own + browser > limit:
            # Finish here rather than swap: the supervisor starts a fresh process.
            logger.bind(
                rss_mb=own // 2**20, chromium_rss_mb=browser // 2**20, limit_mb=limit // 2**20
            ).warning("memory watermark reached; taking no more jobs")
            self._stop_requested = True

    def teardown(self) -> None:
        try:
            super().teardown()
        finally:
            self.heartbeats.stop()
            self.runtime.close()


def build_worker(settings: Settings, queues: Sequence[str], redis: Redis) -> SimpleWorker:
    """A worker for `queues`: a `BrowserWorker` for scrape/send, a plain one for `ai`.

    Drafting jobs open the database, so they run beside the control plane and never in
    a browser worker, whose host holds nothing but its worker token.
    """
    unknown = set(queues) - {q.value for q in QueueName}
    if unknown:
        raise ConfigurationError(
            f"unknown queue(s) {sorted(unknown)}; choose from {[q.value for q in QueueName]}"
        )
    browser_queues = [q for q in queues if q in BROWSER_QUEUES]
    if not browser_queues:
        return SimpleWorker(list(queues), connection=redis, name=new_worker_id())
    if QueueName.ai.value in queues:
        raise ConfigurationError(
            "the ai queue needs the database: run it in its own worker (--queues ai)"
        )
    if not settings.worker_token:
        raise ConfigurationError(
            "FLEET_WORKER_TOKEN is not set: create one with `fleet keys create --role worker`"
        )
    browser = BrowserHost(
        settings.chromium_path,
        settings.headless,
        sandbox=settings.chromium_sandbox,
        recycle_every=settings.contexts_recycle_every,
        restart_every=settings.browser_restart_every,
        max_age_s=settings.browser_max_age_s,
    )
    # A worker whose Chromium cannot start would fail every job it took: it stops here.
    browser.start()
    runtime = WorkerRuntime(
        settings=settings,
        worker_id=new_worker_id(),
        redis=redis,
        control=ControlPlaneClient(settings.api_url, settings.worker_token),
        browser=browser,
    )
    return BrowserWorker(browser_queues, runtime, connection=redis)
