"""Stopping a worker: one SIGTERM finishes the send in hand, a second one stops between
keystrokes and leaves the send for verification; no Chromium outlives its worker."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.workers.conftest import REPO, Fleet

# Long enough that the worker is still typing when the test signals it.
LONG_TEXT = "Thanks so much for this, it really made my day and I can't wait to show you more!"


def _start_worker(fleet: Fleet, time_scale: float) -> subprocess.Popen[str]:
    env = fleet.worker_env(FLEET_TIME_SCALE=str(time_scale))
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "worker", "--queues", "send,scrape"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _queued_send(fleet: Fleet, username: str) -> tuple[object, int]:
    account = fleet.sandbox.create_account(username)
    fan = fleet.sandbox.create_fan(account, "Fan")
    fleet.sandbox.inbound(account, fan, "hi")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    conversation = fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"]
    send = fleet.post("/v1/sends", {"conversation_id": conversation, "text": LONG_TEXT})
    return account, int(send["id"])


def _wait_for_status(fleet: Fleet, send_id: int, status: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while fleet.get(f"/v1/sends/{send_id}")["status"] != status:
        assert time.monotonic() < deadline, f"send {send_id} never reached {status}"
        time.sleep(0.05)


def _wait_for_heartbeat(fleet: Fleet, job_id: str, timeout_s: float = 30) -> dict:
    """The heartbeat of the worker running `job_id`, as `GET /v1/fleet` shows it."""
    deadline = time.monotonic() + timeout_s
    while True:
        for beat in fleet.get("/v1/fleet")["workers"]:
            if beat["current_job"] == job_id:
                return beat
        assert time.monotonic() < deadline, f"no heartbeat reported job {job_id}"
        time.sleep(0.05)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigterm_finishes_the_send_in_hand_then_exits(fleet: Fleet) -> None:
    account, send_id = _queued_send(fleet, "warm")
    worker = _start_worker(fleet, time_scale=0.1)
    try:
        _wait_for_status(fleet, send_id, "typing")
        beat = _wait_for_heartbeat(fleet, f"send-{send_id}-a1")
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=90)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert worker.returncode == 0, stderr[-3000:]
    assert beat["pid"] == worker.pid and beat["rss_bytes"] > 0 and beat["chromium_rss_bytes"] > 0
    lease = fleet.get("/v1/workers")["leases"]
    assert lease == [], "the worker left its account lease behind"
    assert fleet.get(f"/v1/sends/{send_id}")["status"] == "delivered"
    assert [m.text for m in fleet.sandbox.delivered(account)] == [LONG_TEXT]
    assert not _group_alive(worker.pid), "a process of the worker outlived it"


def test_second_sigterm_stops_between_keystrokes_and_leaves_the_send_to_verify(
    fleet: Fleet,
) -> None:
    account, send_id = _queued_send(fleet, "cold")
    worker = _start_worker(fleet, time_scale=0.2)
    try:
        _wait_for_status(fleet, send_id, "typing")
        worker.send_signal(signal.SIGTERM)
        time.sleep(1.2)  # RQ ignores a second signal within one second of the first
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert fleet.sandbox.delivered(account) == [], "the half-typed send went out"
    assert fleet.get(f"/v1/sends/{send_id}")["status"] == "typing"
    assert not _group_alive(worker.pid), "Chromium outlived its worker"
