"""Retries wait out an exponential backoff with jitter, failed sends can be requeued, and
queued or claimed sends can be cancelled so they are never typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
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
def settings(settings: Settings) -> Settings:
    """The test's settings with a day-long backoff (about 15 minutes at the tests' time
    scale), so a retry still waits when the test looks, however slow the machine; a
    retry comes due when a reconciler pass is told a later time."""
    return settings.model_copy(update={"retry_base_s": 86_400.0})


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


def test_delay_doubles_per_attempt_with_jitter() -> None:
    unscaled = Settings(_env_file=None, retry_base_s=5.0, time_scale=1.0)
    assert [retry_delay_s(unscaled, n, 1.0) for n in (1, 2, 3)] == [5.0, 10.0, 20.0]
    assert retry_delay_s(unscaled, 2, 0.5) == 5.0
    assert retry_delay_s(unscaled, 2, 1.5) == 15.0
    scaled = unscaled.model_copy(update={"time_scale": 0.01})
    assert retry_delay_s(scaled, 1, 1.0) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="starts at 1"):
        retry_delay_s(scaled, 0, 1.0)


@pytest.fixture
def send_id(client: TestClient, operator: dict[str, str], conversation_id: int) -> int:
    return make_send(client, operator, conversation_id)["id"]


def _fail_then_promote(
    client: TestClient,
    worker: dict[str, str],
    db: Database,
    run_pass: Reconcile,
    send_id: int,
    worker_id: str,
) -> None:
    """Fail the send's attempt retryably, then run the reconciler's pass that promotes the
    retry when it comes due, as in a running fleet."""
    fail(client, worker, send_id, worker_id)
    due = send_row(db, send_id).next_attempt_at
    assert due is not None
    run_pass(due)


@dataclass(frozen=True)
class Retry:
    """A send whose attempt `failed_attempt` failed retryably: the result's answer, when it
    was reported, and when the next attempt is due under which job."""

    send_id: int
    failed_attempt: int
    answer: dict[str, Any]
    reported_from: datetime
    reported_by: datetime
    due: datetime
    job_id: str


@pytest.fixture(params=[1, 2], ids=["first-attempt", "second-attempt"])
def retry(
    request: pytest.FixtureRequest,
    client: TestClient,
    worker: dict[str, str],
    db: Database,
    run_pass: Reconcile,
    send_id: int,
) -> Retry:
    """The send's first or second attempt failed retryably (an earlier one failed too and
    its retry ran)."""
    failed_attempt: int = request.param
    for earlier in range(1, failed_attempt):
        _fail_then_promote(client, worker, db, run_pass, send_id, f"w{earlier}")
    before = utcnow()
    answer = fail(client, worker, send_id, f"w{failed_attempt}")
    after = utcnow()
    due = send_row(db, send_id).next_attempt_at
    assert due is not None
    return Retry(
        send_id=send_id,
        failed_attempt=failed_attempt,
        answer=answer,
        reported_from=before,
        reported_by=after,
        due=due,
        job_id=send_job_id(send_id, failed_attempt + 1),
    )


@pytest.fixture
def dead_letter(
    client: TestClient, worker: dict[str, str], db: Database, run_pass: Reconcile, send_id: int
) -> dict[str, Any]:
    """The answer to the send's third and last attempt (the default) failing retryably,
    on w3, after w1's and w2's attempts failed the same way and were retried."""
    for worker_id in ("w1", "w2"):
        _fail_then_promote(client, worker, db, run_pass, send_id, worker_id)
    return fail(client, worker, send_id, "w3")


def test_a_send_gets_the_configured_number_of_attempts(
    db: Database, settings: Settings, send_id: int
) -> None:
    assert send_row(db, send_id).max_attempts == settings.max_attempts == 3


def test_a_retryable_failure_queues_the_next_attempt(retry: Retry) -> None:
    assert (retry.answer["status"], retry.answer["attempt"]) == ("queued", retry.failed_attempt + 1)


def test_the_next_attempt_is_due_after_a_jittered_backoff_that_grows_per_attempt(
    settings: Settings, retry: Retry
) -> None:
    low = timedelta(seconds=retry_delay_s(settings, retry.failed_attempt, 0.5))
    high = timedelta(seconds=retry_delay_s(settings, retry.failed_attempt, 1.5))
    assert retry.reported_from + low <= retry.due <= retry.reported_by + high


def test_a_retry_waits_in_rqs_scheduled_registry_until_it_is_due(
    redis: Redis, run_pass: Reconcile, retry: Retry
) -> None:
    assert job_status(redis, retry.job_id) == JobStatus.SCHEDULED
    assert run_pass(retry.due - timedelta(milliseconds=1)).sends_promoted == []
    assert job_status(redis, retry.job_id) == JobStatus.SCHEDULED


def test_a_waiting_retry_redis_lost_is_scheduled_again_not_run_early(
    redis: Redis, run_pass: Reconcile, retry: Retry
) -> None:
    redis.delete(f"rq:job:{retry.job_id}")
    assert run_pass(retry.due - timedelta(milliseconds=1)).sends_enqueued == [retry.send_id]
    assert job_status(redis, retry.job_id) == JobStatus.SCHEDULED


def test_a_due_retry_is_promoted_onto_the_queue(
    redis: Redis, run_pass: Reconcile, retry: Retry
) -> None:
    assert run_pass(retry.due).sends_promoted == [retry.send_id]
    assert job_status(redis, retry.job_id) in (JobStatus.QUEUED, JobStatus.RATE_LIMITED)


def test_a_promoted_retry_leaves_the_next_pass_nothing_to_do(
    run_pass: Reconcile, retry: Retry
) -> None:
    run_pass(retry.due)
    again = run_pass(retry.due)
    assert again.counts() == dict.fromkeys(again.counts(), 0)


def test_the_last_attempts_failure_is_final(
    redis: Redis, send_id: int, dead_letter: dict[str, Any]
) -> None:
    assert (dead_letter["status"], dead_letter["attempt"]) == ("failed", 3)
    assert job_status(redis, send_job_id(send_id, 4)) is None


def test_a_dead_letter_keeps_the_last_attempts_error_and_artifacts(
    dead_letter: dict[str, Any],
) -> None:
    assert dead_letter["last_error"] == "timeout on w3"
    assert dead_letter["artifacts"] == {"screenshot": "var/artifacts/w3.png"}


@pytest.mark.usefixtures("dead_letter")
def test_dead_letters_are_listed_as_failed_sends(
    client: TestClient, operator: dict[str, str], send_id: int
) -> None:
    dead = client.get("/v1/sends?status=failed", headers=operator).json()
    assert [s["id"] for s in dead["items"]] == [send_id]


@pytest.mark.usefixtures("dead_letter")
def test_each_retry_and_the_final_failure_are_audited(db: Database, send_id: int) -> None:
    actions = [action for action, _ in audit_actions(db, "send", send_id)]
    assert actions.count("send.retry") == 2 and actions[-1] == "send.failed"


@pytest.fixture
def failed_ids(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], conversation_id: int
) -> list[int]:
    """Two sends whose only attempt started typing and failed for good."""
    failed = [make_send(client, operator, conversation_id, f"m{i}")["id"] for i in range(2)]
    for send_id in failed:
        claim(client, worker, send_id, "w1")
        progress(client, worker, send_id, "w1", "typing")
        result(client, worker, send_id, worker_id="w1", status="failed", error="banned")
    return failed


def _requeue(client: TestClient, operator: dict[str, str], ids: list[int]) -> Response:
    return client.post("/v1/sends/requeue", headers=operator, json={"ids": ids})


@pytest.fixture
def requeued(
    client: TestClient, operator: dict[str, str], failed_ids: list[int]
) -> list[dict[str, Any]]:
    """The answer to requeueing `failed_ids`."""
    response = _requeue(client, operator, failed_ids)
    assert response.status_code == 200, response.text
    return response.json()


def test_requeue_refuses_a_send_that_has_not_failed_and_changes_nothing(
    client: TestClient,
    operator: dict[str, str],
    db: Database,
    conversation_id: int,
    failed_ids: list[int],
) -> None:
    queued = make_send(client, operator, conversation_id, "still queued")["id"]
    refused = _requeue(client, operator, [*failed_ids, queued])
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"only failed sends can be requeued; not failed: {queued} (queued)"
    )
    assert all(send_row(db, send_id).status == "failed" for send_id in failed_ids)


def test_requeue_of_an_unknown_send_is_not_found(
    client: TestClient, operator: dict[str, str], failed_ids: list[int]
) -> None:
    missing = _requeue(client, operator, [failed_ids[0], 9999])
    assert missing.status_code == 404
    assert missing.json()["detail"] == "send 9999 not found"


def test_requeue_queues_failed_sends_with_a_fresh_set_of_attempts(
    failed_ids: list[int], requeued: list[dict[str, Any]]
) -> None:
    assert [
        (s["id"], s["status"], s["attempt"], s["max_attempts"], s["failed_attempts"])
        for s in requeued
    ] == [(send_id, "queued", 2, 3, 0) for send_id in failed_ids]


@pytest.mark.usefixtures("requeued")
def test_requeued_sends_are_queued_for_the_workers_at_once(
    redis: Redis, failed_ids: list[int]
) -> None:
    for send_id in failed_ids:
        assert job_status(redis, send_job_id(send_id, 2)) in (
            JobStatus.QUEUED,
            JobStatus.RATE_LIMITED,
        )


@pytest.mark.usefixtures("requeued")
def test_a_requeue_is_audited_as_the_operators(db: Database, failed_ids: list[int]) -> None:
    for send_id in failed_ids:
        assert audit_actions(db, "send", send_id)[-1] == ("send.requeued", "operator")


@pytest.mark.usefixtures("requeued")
def test_a_requeued_send_that_had_typed_reads_the_thread_before_typing_again(
    client: TestClient, worker: dict[str, str], failed_ids: list[int]
) -> None:
    assert claim(client, worker, failed_ids[0], "w2").json()["verify"] is True


@pytest.mark.usefixtures("requeued")
def test_a_requeued_send_cannot_be_requeued_again(
    client: TestClient, operator: dict[str, str], failed_ids: list[int]
) -> None:
    assert _requeue(client, operator, [failed_ids[1]]).status_code == 409


def _send_in(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    conversation_id: int,
    state: str,
) -> int:
    """A new send brought to `state`: queued, claimed, typing, or retrying (its first
    attempt failed and its next one waits out the backoff)."""
    send_id = make_send(client, operator, conversation_id, state)["id"]
    if state == "claimed":
        assert claim(client, worker, send_id, "w1").status_code == 200
    elif state == "typing":
        assert claim(client, worker, send_id, "w2").status_code == 200
        assert progress(client, worker, send_id, "w2", "typing").status_code == 200
    elif state == "retrying":
        fail(client, worker, send_id, "w3")
    else:
        assert state == "queued", state
    return send_id


def _cancel(client: TestClient, operator: dict[str, str], send_id: int) -> Response:
    return client.post(f"/v1/sends/{send_id}/cancel", headers=operator)


@pytest.mark.parametrize("state", ["queued", "claimed", "retrying"])
def test_a_send_not_yet_typing_can_be_cancelled(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    conversation_id: int,
    state: str,
) -> None:
    send_id = _send_in(client, operator, worker, conversation_id, state)
    response = _cancel(client, operator, send_id)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"


@pytest.mark.parametrize("state", ["queued", "claimed", "retrying"])
def test_a_cancel_is_audited_as_the_operators(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    conversation_id: int,
    state: str,
) -> None:
    send_id = _send_in(client, operator, worker, conversation_id, state)
    assert _cancel(client, operator, send_id).status_code == 200
    assert audit_actions(db, "send", send_id)[-1] == ("send.cancelled", "operator")


def test_cancelling_a_waiting_retry_drops_its_scheduled_job(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    redis: Redis,
    conversation_id: int,
) -> None:
    retrying = _send_in(client, operator, worker, conversation_id, "retrying")
    assert job_status(redis, send_job_id(retrying, 2)) == JobStatus.SCHEDULED
    assert _cancel(client, operator, retrying).status_code == 200
    assert job_status(redis, send_job_id(retrying, 2)) is None


def test_the_job_of_a_cancelled_send_cannot_claim_it(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], conversation_id: int
) -> None:
    queued = _send_in(client, operator, worker, conversation_id, "queued")
    assert _cancel(client, operator, queued).status_code == 200
    assert claim(client, worker, queued, "w9").status_code == 409


def test_the_worker_holding_a_cancelled_send_is_stopped_before_it_types(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], conversation_id: int
) -> None:
    claimed = _send_in(client, operator, worker, conversation_id, "claimed")
    assert _cancel(client, operator, claimed).status_code == 200
    stale = progress(client, worker, claimed, "w1", "typing")
    assert stale.status_code == 409
    assert stale.json()["detail"] == f"send {claimed} is cancelled, not in flight"


def test_the_worker_holding_a_cancelled_send_cannot_report_a_result(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], conversation_id: int
) -> None:
    claimed = _send_in(client, operator, worker, conversation_id, "claimed")
    assert _cancel(client, operator, claimed).status_code == 200
    assert result(client, worker, claimed, worker_id="w1", status="failed").status_code == 409


def test_a_typing_send_cannot_be_cancelled(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], conversation_id: int
) -> None:
    typing = _send_in(client, operator, worker, conversation_id, "typing")
    late = _cancel(client, operator, typing)
    assert late.status_code == 409
    assert late.json()["detail"] == (
        f"send {typing} is typing; only queued or claimed sends can be cancelled"
    )


def test_a_cancelled_send_cannot_be_cancelled_again(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], conversation_id: int
) -> None:
    queued = _send_in(client, operator, worker, conversation_id, "queued")
    assert _cancel(client, operator, queued).status_code == 200
    assert _cancel(client, operator, queued).status_code == 409


def test_cancelling_an_unknown_send_is_not_found(
    client: TestClient, operator: dict[str, str]
) -> None:
    assert _cancel(client, operator, 9999).status_code == 404
