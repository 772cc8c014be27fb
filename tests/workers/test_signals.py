"""Stopping a worker: one SIGTERM finishes the send in hand, a second one stops between
keystrokes and leaves the send for verification; no Chromium outlives its worker."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.helpers.fleet import (
    LONG_TEXT,
    Fleet,
    group_alive,
    queued_send,
    start_worker,
    wait_for_heartbeat,
    wait_for_status,
)


@pytest.mark.mechanics
def test_sigterm_finishes_the_send_in_hand_then_exits(fleet: Fleet) -> None:
    account, send_id = queued_send(fleet, "warm")
    worker = start_worker(fleet, time_scale=0.1)
    try:
        wait_for_status(fleet, send_id, "typing")
        beat = wait_for_heartbeat(fleet, f"send-{send_id}-a1")
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
    assert not group_alive(worker.pid), "a process of the worker outlived it"


@pytest.mark.mechanics
def test_second_sigterm_stops_between_keystrokes_and_leaves_the_send_to_verify(
    fleet: Fleet,
) -> None:
    account, send_id = queued_send(fleet, "cold")
    worker = start_worker(fleet, time_scale=0.2)
    try:
        wait_for_status(fleet, send_id, "typing")
        worker.send_signal(signal.SIGTERM)
        time.sleep(1.2)  # RQ ignores a second signal within one second of the first
        worker.send_signal(signal.SIGTERM)
        worker.communicate(timeout=60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
    assert fleet.sandbox.delivered(account) == [], "the half-typed send went out"
    assert fleet.get(f"/v1/sends/{send_id}")["status"] == "typing"
    assert not group_alive(worker.pid), "Chromium outlived its worker"
