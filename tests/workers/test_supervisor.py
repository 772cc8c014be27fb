"""`fleet worker -n N`: N worker processes, a dead one restarted, all stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from tests.helpers.fleet import Fleet
from tests.helpers.stores import REPO


def _pids(fleet: Fleet) -> set[int]:
    return {beat["pid"] for beat in fleet.get("/v1/fleet")["workers"]}


def _wait_for_pids(fleet: Fleet, what: str, ok: Callable[[set[int]], bool]) -> set[int]:
    """Poll the fleet's heartbeats until their worker pids satisfy `ok`."""
    deadline = time.monotonic() + 60
    while not ok(pids := _pids(fleet)):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return pids


@pytest.mark.mechanics
def test_supervisor_restarts_a_killed_worker_and_stops_them_all(fleet: Fleet) -> None:
    env = fleet.worker_env()
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "-n", "2", "--queues", "send,scrape"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        first = _wait_for_pids(fleet, "two workers", lambda pids: len(pids) == 2)
        victim = min(first)
        os.killpg(victim, signal.SIGKILL)
        replaced = _wait_for_pids(
            fleet, "a replacement", lambda pids: len(pids) == 2 and victim not in pids
        )
        assert len(replaced - first) == 1
        supervisor.send_signal(signal.SIGTERM)
        assert supervisor.wait(timeout=60) == 0
    finally:
        if supervisor.poll() is None:
            os.killpg(supervisor.pid, signal.SIGKILL)
    for pid in first | replaced:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"worker group {pid} outlived its supervisor")
