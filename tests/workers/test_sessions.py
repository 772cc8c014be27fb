"""Sessions the platform ends in the middle of a job: the worker logs in again with the
stored credentials and carries on, and nothing scraped goes missing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.config import SandboxConfig
from tests.helpers.fleet import Fleet, on_own_sandbox

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
    assert fleet.get("/v1/conversations", account_id=account_id, limit=100)["total"] == 23
    texts = set()
    for conversation in fleet.get("/v1/conversations", account_id=account_id, limit=100)["items"]:
        messages = fleet.get(f"/v1/conversations/{conversation['id']}/messages")["items"]
        texts.update(m["text"] for m in messages)
    assert texts == {f"message {index}" for index in range(23)}
    assert fleet.sandbox.login_count(account) >= 2, "the session never expired mid-sweep"
