"""Sessions the platform ends: the worker logs in again with the stored credentials and
carries on, nothing scraped goes missing, and workers sharing an account on a platform
that allows one session share its login rather than end each other's."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from tests.helpers.fleet import Fleet, on_own_sandbox, start_worker

# Enough requests for a login and the page it leads to, few enough that a sweep of 23
# threads outlives several sessions. Counted, not timed: however slow the machine, the
# sessions end at the same points of the sweep.
SESSION_REQUESTS = 8


@pytest.fixture
def expiring_fleet(fleet: Fleet, tmp_path: Path) -> Iterator[Fleet]:
    """The test's fleet, pointed at a second sandbox whose sessions end after a few
    requests."""
    config = SandboxConfig(
        db_path=tmp_path / "short.db",
        time_scale=0.01,
        control_enabled=True,
        session_max_requests=SESSION_REQUESTS,
    )
    with on_own_sandbox(fleet, config) as expiring:
        yield expiring


def test_session_expiring_mid_sweep_logs_in_again_and_misses_nothing(
    expiring_fleet: Fleet,
) -> None:
    fleet = expiring_fleet
    account = fleet.sandbox.create_account("expiring")
    for index in range(23):
        fan = fleet.sandbox.create_fan(account, f"Fan {index:02d}")
        fleet.sandbox.inbound(account, fan, f"message {index}")
    account_id = fleet.register(account)

    sweep_id = fleet.sweep(account_id)
    fleet.run_browser_worker()

    sweep = fleet.get(f"/v1/sweeps/{sweep_id}")
    assert sweep["status"] == "done", sweep
    assert sweep["conversations_read"] == 23
    assert len(fleet.get("/v1/conversations", account_id=account_id, limit=100)["items"]) == 23
    texts = set()
    for conversation in fleet.get("/v1/conversations", account_id=account_id, limit=100)["items"]:
        messages = fleet.get(f"/v1/conversations/{conversation['id']}/messages")["items"]
        texts.update(m["text"] for m in messages)
    assert texts == {f"message {index}" for index in range(23)}
    assert fleet.sandbox.login_count(account) >= 2, "the session never expired mid-sweep"


def _until(fleet: Fleet, path: str, status: str) -> None:
    deadline = time.monotonic() + 90
    while fleet.get(path)["status"] != status:
        assert time.monotonic() < deadline, f"{path} never reached {status}"
        time.sleep(0.05)


def test_two_workers_share_one_login_on_a_single_session_platform(fleet: Fleet) -> None:
    # One worker takes sweeps and the other sends, so both keep a context for the account.
    # The platform allows one session per account: a worker that logged in for itself
    # would end the other's session, and they would take turns logging each other out.
    account = fleet.sandbox.create_account("shared")
    fan = fleet.sandbox.create_fan(account, "Fan")
    fleet.sandbox.inbound(account, fan, "hi")
    account_id = fleet.register(account)
    sweeper = start_worker(fleet, time_scale=0.01, queues="scrape")
    sender = start_worker(fleet, time_scale=0.01, queues="send")
    try:
        _until(fleet, f"/v1/sweeps/{fleet.sweep(account_id)}", "done")
        conversation = fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"]
        first = fleet.post("/v1/sends", {"conversation_id": conversation, "text": "one"})
        _until(fleet, f"/v1/sends/{first['id']}", "delivered")
        assert fleet.sandbox.login_count(account) == 1

        # The session ends; the sweeper logs in again, and the sender must take that login.
        fleet.sandbox.expire_sessions(account)
        fleet.sandbox.inbound(account, fan, "still there?")
        _until(fleet, f"/v1/sweeps/{fleet.sweep(account_id)}", "done")
        second = fleet.post("/v1/sends", {"conversation_id": conversation, "text": "two"})
        _until(fleet, f"/v1/sends/{second['id']}", "delivered")
        third_sweep = fleet.sweep(account_id)
        _until(fleet, f"/v1/sweeps/{third_sweep}", "done")
    finally:
        for worker in (sweeper, sender):
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
    assert fleet.sandbox.login_count(account) == 2
    assert [m.text for m in fleet.sandbox.delivered(account)] == ["one", "two"]
