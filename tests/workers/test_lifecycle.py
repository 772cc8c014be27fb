"""A worker's long life: contexts recycle and Chromium restarts on schedule, as the
browser host's own events say, and a worker over its memory watermark stops taking jobs
(its supervisor starts a fresh one)."""

from __future__ import annotations

import pytest

from tests.helpers.fleet import Fleet
from workers.browser import BrowserEvent, HostEvent, events_in_log


def _queue_sends(fleet: Fleet, username: str, count: int) -> tuple[int, list[int]]:
    account = fleet.sandbox.create_account(username)
    fan = fleet.sandbox.create_fan(account, "Fan")
    fleet.sandbox.inbound(account, fan, "hi")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    conversation = fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"]
    sends = [
        fleet.post("/v1/sends", {"conversation_id": conversation, "text": f"note {n}"})["id"]
        for n in range(count)
    ]
    return account_id, sends


def _run_logging_events(fleet: Fleet, **env: str) -> list[HostEvent]:
    return events_in_log(fleet.run_browser_worker(extra_env=env))


@pytest.mark.mechanics
def test_chromium_restarts_after_its_jobs(fleet: Fleet) -> None:
    _, ids = _queue_sends(fleet, "restarts", 4)
    events = _run_logging_events(
        fleet, FLEET_BROWSER_RESTART_EVERY="2", FLEET_CONTEXTS_RECYCLE_EVERY="100"
    )
    assert all(fleet.get(f"/v1/sends/{i}")["status"] == "delivered" for i in ids)
    assert [event.kind for event in events] == [
        BrowserEvent.launched,
        BrowserEvent.restarted,
        BrowserEvent.launched,
    ]


@pytest.mark.mechanics
def test_an_accounts_context_is_recycled_after_its_jobs(fleet: Fleet) -> None:
    account_id, ids = _queue_sends(fleet, "recycles", 4)
    events = _run_logging_events(
        fleet, FLEET_BROWSER_RESTART_EVERY="100", FLEET_CONTEXTS_RECYCLE_EVERY="2"
    )
    assert all(fleet.get(f"/v1/sends/{i}")["status"] == "delivered" for i in ids)
    assert events == [
        HostEvent(BrowserEvent.launched),
        HostEvent(BrowserEvent.context_recycled, account_id),
    ]


@pytest.mark.mechanics
def test_worker_over_its_memory_watermark_stops_taking_jobs(fleet: Fleet) -> None:
    _, ids = _queue_sends(fleet, "watermark", 3)
    log = fleet.run_browser_worker(extra_env={"FLEET_MEMORY_WATERMARK_MB": "1"})
    assert "memory watermark reached; taking no more jobs" in log
    states = [fleet.get(f"/v1/sends/{i}")["status"] for i in ids]
    assert states.count("delivered") == 1, states
    assert states.count("queued") == 2, states
