"""A worker's long life: Chromium restarts on schedule, and a worker over its memory
watermark stops taking jobs (its supervisor starts a fresh one)."""

from __future__ import annotations

from tests.workers.conftest import Fleet


def _queue_sends(fleet: Fleet, username: str, count: int) -> list[int]:
    account = fleet.sandbox.create_account(username)
    fan = fleet.sandbox.create_fan(account, "Fan")
    fleet.sandbox.inbound(account, fan, "hi")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    conversation = fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"]
    return [
        fleet.post("/v1/sends", {"conversation_id": conversation, "text": f"note {n}"})["id"]
        for n in range(count)
    ]


def test_browser_restarts_every_n_jobs_and_contexts_recycle(fleet: Fleet) -> None:
    ids = _queue_sends(fleet, "restarts", 4)
    log = fleet.run_browser_worker(
        extra_env={"FLEET_BROWSER_RESTART_EVERY": "2", "FLEET_CONTEXTS_RECYCLE_EVERY": "1"}
    )
    assert all(fleet.get(f"/v1/sends/{i}")["status"] == "delivered" for i in ids)
    assert log.count("chromium launched") == 2, log[-3000:]


def test_worker_over_its_memory_watermark_stops_taking_jobs(fleet: Fleet) -> None:
    ids = _queue_sends(fleet, "watermark", 3)
    log = fleet.run_browser_worker(extra_env={"FLEET_MEMORY_WATERMARK_MB": "1"})
    assert "memory watermark reached; taking no more jobs" in log
    states = [fleet.get(f"/v1/sends/{i}")["status"] for i in ids]
    assert states.count("delivered") == 1, states
    assert states.count("queued") == 2, states
