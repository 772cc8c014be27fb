"""`fleet scheduler` on RQ's cron, at a small time scale: it queues an account's sweep
when due, never a second while one waits or runs, and the next once the interval has
passed since the last was queued."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq.cron import get_cron_job_ids

from core.db import Database
from core.enums import SweepStatus
from core.models import Sweep
from core.settings import Settings
from tests.helpers.api import make_account
from tests.helpers.stores import REPO

# Unscaled seconds; at the tests' scale (0.01) a tick each second, a sweep every 3.
TICK_S, EVERY_S = 100, 300


@pytest.fixture
def scheduler(settings: Settings) -> Iterator[subprocess.Popen[str]]:
    """`fleet scheduler` against the test's stores, stopped (SIGTERM) after the test."""
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": settings.database_url,
        "FLEET_REDIS_URL": settings.redis_url or "",
        "FLEET_REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "FLEET_TIME_SCALE": str(settings.time_scale),
        "FLEET_SCHEDULER_TICK_S": str(TICK_S),
        "FLEET_SWEEP_EVERY_S": str(EVERY_S),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "scheduler"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr[-3000:]


def _sweeps(db: Database) -> list[Sweep]:
    with db.session() as session:
        return list(session.query(Sweep).order_by(Sweep.id))


def _run_ticks_until(
    run_ai: Callable[[], int], redis: Redis, done: Callable[[], bool], ticks: int = 0
) -> None:
    """Run the ai queue's jobs as the drafting worker does until `done`, and at least
    `ticks` scheduler ticks have run; fail after a minute."""
    deadline = time.monotonic() + 60
    seen = len(get_cron_job_ids("fleet-sweeps", redis))
    while True:
        run_ai()
        ran = len(get_cron_job_ids("fleet-sweeps", redis)) - seen
        if done() and ran >= ticks:
            return
        assert time.monotonic() < deadline, "the scheduler never got there"
        time.sleep(0.1)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_sweeps_are_queued_on_schedule_and_never_two_at_once(
    client: TestClient,
    admin: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    scheduler: subprocess.Popen[str],
    run_draft_jobs: Callable[[], int],
) -> None:
    account = make_account(client, admin)["id"]

    _run_ticks_until(run_draft_jobs, redis, lambda: len(_sweeps(db)) == 1)
    [first] = _sweeps(db)
    assert (first.account_id, first.requested_by, first.status) == (account, "scheduler", "queued")
    # More ticks, past the interval: the waiting sweep covers them all.
    _run_ticks_until(run_draft_jobs, redis, lambda: True, ticks=4)
    assert [sweep.id for sweep in _sweeps(db)] == [first.id]

    with db.session() as session:
        session.get_one(Sweep, first.id).status = SweepStatus.done
        session.commit()
    _run_ticks_until(run_draft_jobs, redis, lambda: len(_sweeps(db)) == 2)
    second = _sweeps(db)[1]
    assert second.created_at - first.created_at >= timedelta(seconds=settings.scaled(EVERY_S))
    assert scheduler.poll() is None, "the scheduler stopped"
