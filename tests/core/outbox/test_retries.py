"""Retries wait out an exponential backoff with jitter, failed sends can be requeued, and
queued or claimed sends can be cancelled so they are never typed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq.job import JobStatus

from core.clock import utcnow
from core.db import Database
from core.fleet.queues import send_job_id
from core.fleet.rq_repairs import job_status
from core.outbox.sends import retry_delay_s
from core.settings import Settings
from tests.helpers.api import claim, make_account, make_conversation, make_send, progress, result
from tests.helpers.rows import Reconcile, audit_actions, send_row


@pytest.fixture
def conversation_id(client: TestClient, admin: dict[str, str], worker: dict[str, str]) -> int:
    account = make_account(client, admin)
    return make_conversation(client, worker, admin, account["id"], "c-1")["id"]


def fail(client: TestClient, worker: dict[str, str], send_id: int, worker_id: str) -> dict:
    assert claim(client, worker, send_id, worker_id).status_code == 200
    response = result(
        client,
        worker,
        send_id,
        worker_id=worker_id,
        status="failed",
        error=f"timeout on {worker_id}",
        retryable=True,
        artifacts={"screenshot": f"var/artifacts/{worker_id}.png"},
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_delay_doubles_per_attempt_with_jitter(settings: Settings) -> None:
    unscaled = settings.model_copy(update={"time_scale": 1.0})
    assert [retry_delay_s(unscaled, n, 1.0) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert retry_delay_s(unscaled, 2, 0.5) == 5.0
    assert retry_delay_s(unscaled, 2, 1.5) == 15.0
    assert retry_delay_s(settings, 1, 1.0) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="starts at 1"):
        retry_delay_s(settings, 0, 1.0)


def test_backoff_then_dead_letter(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    conversation_id: int,
    run_pass: Reconcile,
) -> None:
    send_id = make_send(client, operator, conversation_id)["id"]
    assert send_row(db, send_id).max_attempts == settings.max_attempts == 3
    for failed_attempt, worker_id in ((1, "w1"), (2, "w2")):
        before = utcnow()
        body = fail(client, worker, send_id, worker_id)
        after = utcnow()
        assert (body["status"], body["attempt"]) == ("queued", failed_attempt + 1)
        due = send_row(db, send_id).next_attempt_at
        assert due is not None
        low = timedelta(seconds=retry_delay_s(settings, failed_attempt, 0.5))
        high = timedelta(seconds=retry_delay_s(settings, failed_attempt, 1.5))
        assert before + low <= due <= after + high
        job_id = send_job_id(send_id, failed_attempt + 1)
        # Held by RQ's scheduled registry, not on the queue, until the reconciler says due.
        assert job_status(redis, job_id) == JobStatus.SCHEDULED
        assert run_pass(due - timedelta(milliseconds=1)).sends_promoted == []
        assert job_status(redis, job_id) == JobStatus.SCHEDULED
        # Redis loses the waiting retry: it is scheduled again, not run early.
        redis.delete(f"rq:job:{job_id}")
        assert run_pass(due - timedelta(milliseconds=1)).sends_enqueued == [send_id]
        assert job_status(redis, job_id) == JobStatus.SCHEDULED
        assert run_pass(due).sends_promoted == [send_id]
        assert job_status(redis, job_id) in (JobStatus.QUEUED, JobStatus.RATE_LIMITED)
        assert run_pass(due).counts() == dict.fromkeys(run_pass(due).counts(), 0)

    final = fail(client, worker, send_id, "w3")
    assert (final["status"], final["attempt"], final["last_error"]) == (
        "failed",
        3,
        "timeout on w3",
    )
    assert final["artifacts"] == {"screenshot": "var/artifacts/w3.png"}
    assert job_status(redis, send_job_id(send_id, 4)) is None
    dead = client.get("/v1/sends?status=failed", headers=operator).json()
    assert [s["id"] for s in dead["items"]] == [send_id]
    actions = [action for action, _ in audit_actions(db, "send", send_id)]
    assert actions.count("send.retry") == 2 and actions[-1] == "send.failed"


def test_requeue_gives_failed_sends_fresh_attempts(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    conversation_id: int,
) -> None:
    failed = [make_send(client, operator, conversation_id, f"m{i}")["id"] for i in range(2)]
    for send_id in failed:
        claim(client, worker, send_id, "w1")
        progress(client, worker, send_id, "w1", "typing")
        result(client, worker, send_id, worker_id="w1", status="failed", error="banned")
    queued = make_send(client, operator, conversation_id, "still queued")["id"]

    refused = client.post("/v1/sends/requeue", headers=operator, json={"ids": [*failed, queued]})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"only failed sends can be requeued; not failed: {queued} (queued)"
    )
    assert all(send_row(db, send_id).status == "failed" for send_id in failed)
    missing = client.post("/v1/sends/requeue", headers=operator, json={"ids": [failed[0], 9999]})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "send 9999 not found"

    response = client.post("/v1/sends/requeue", headers=operator, json={"ids": failed})
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(s["id"], s["status"], s["attempt"], s["max_attempts"]) for s in body] == [
        (send_id, "queued", 2, 4) for send_id in failed
    ]
    for send_id in failed:
        assert job_status(redis, send_job_id(send_id, 2)) in (
            JobStatus.QUEUED,
            JobStatus.RATE_LIMITED,
        )
        assert audit_actions(db, "send", send_id)[-1] == ("send.requeued", "operator")
    # The failed attempt had started typing: the requeued one reads the thread first.
    assert claim(client, worker, failed[0], "w2").json()["verify"] is True
    again = client.post("/v1/sends/requeue", headers=operator, json={"ids": [failed[1]]})
    assert again.status_code == 409


def test_cancel_queued_and_claimed_sends_and_refuse_typing_ones(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    conversation_id: int,
) -> None:
    queued, claimed, typing, retrying = (
        make_send(client, operator, conversation_id, f"m{i}")["id"] for i in range(4)
    )
    claim(client, worker, claimed, "w1")
    claim(client, worker, typing, "w2")
    progress(client, worker, typing, "w2", "typing")
    fail(client, worker, retrying, "w3")
    assert job_status(redis, send_job_id(retrying, 2)) == JobStatus.SCHEDULED

    for send_id in (queued, claimed, retrying):
        response = client.post(f"/v1/sends/{send_id}/cancel", headers=operator)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "cancelled"
        assert audit_actions(db, "send", send_id)[-1] == ("send.cancelled", "operator")
    # The waiting retry's job is dropped; the others' claims and progress are refused.
    assert job_status(redis, send_job_id(retrying, 2)) is None
    assert claim(client, worker, queued, "w9").status_code == 409
    stale = progress(client, worker, claimed, "w1", "typing")
    assert stale.status_code == 409
    assert stale.json()["detail"] == f"send {claimed} is cancelled, not in flight"
    assert result(client, worker, claimed, worker_id="w1", status="failed").status_code == 409

    late = client.post(f"/v1/sends/{typing}/cancel", headers=operator)
    assert late.status_code == 409
    assert late.json()["detail"] == (
        f"send {typing} is typing; only queued or claimed sends can be cancelled"
    )
    twice = client.post(f"/v1/sends/{queued}/cancel", headers=operator)
    assert twice.status_code == 409
    assert client.post("/v1/sends/9999/cancel", headers=operator).status_code == 404
