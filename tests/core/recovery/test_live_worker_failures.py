"""A failure that is not a crash is bounded and shows. Only a worker with neither a lease
nor a current heartbeat is dead, and its work comes back at no cost; a live worker that
lets go of its work without a report, or whose job raised before it took its row, has
failed it: a send uses up an attempt, a sweep ends, and the error is kept."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from redis import Redis
from rq import SimpleWorker

from core.clock import utcnow
from core.db import Database
from core.fleet.lease import lease_ttl_s
from core.fleet.queues import QueueName, send_job_id, sweep_job_id
from core.models import Sweep
from core.settings import Settings
from tests.helpers.api import (
    claim,
    make_account,
    make_conversation,
    make_send,
    queue_sweep,
    start_sweep,
)
from tests.helpers.rows import Reconcile, audit_actions, beat, hold_lease, send_row


def past_lease(settings: Settings, run_pass: Reconcile) -> datetime:
    """A time one lease TTL after the first pass saw this Redis: past every grace."""
    start = utcnow()
    run_pass(start)
    return start + timedelta(seconds=lease_ttl_s(settings) + 1)


def _claimed_send(
    client: TestClient, admin: dict, operator: dict, worker: dict, worker_id: str
) -> int:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")["id"]
    send_id = int(make_send(client, operator, conversation)["id"])
    assert claim(client, worker, send_id, worker_id).status_code == 200
    return send_id


def test_a_send_a_live_worker_let_go_of_without_a_report_uses_an_attempt(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    send_id = _claimed_send(client, admin, operator, worker, "w-live")
    later = past_lease(settings, run_pass)
    beat(redis, settings, "w-live", current_job="sweep-99-a1")

    report = run_pass(later)

    assert (report.sends_failed, report.sends_recovered) == ([send_id], [])
    row = send_row(db, send_id)
    assert (row.status, row.attempt, row.failed_attempts, row.max_attempts) == (
        "queued",
        2,
        1,
        3,
    )
    assert row.last_error == "worker w-live ended attempt 1 without reporting"
    assert audit_actions(db, "send", send_id)[-1] == ("send.retry", "reconciler")


def test_a_live_worker_still_on_the_sends_job_is_left_alone(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    send_id = _claimed_send(client, admin, operator, worker, "w-waiting")
    later = past_lease(settings, run_pass)
    # Its heartbeat names the job: it may be waiting for the account's lease.
    beat(redis, settings, "w-waiting", current_job=send_job_id(send_id, 1))

    report = run_pass(later)

    assert (report.sends_failed, report.sends_recovered) == ([], [])
    assert (send_row(db, send_id).status, send_row(db, send_id).worker_id) == (
        "claimed",
        "w-waiting",
    )


def test_a_send_of_a_worker_with_no_heartbeat_and_no_lease_is_recovered_at_no_cost(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    send_id = _claimed_send(client, admin, operator, worker, "w-dead")

    report = run_pass(past_lease(settings, run_pass))

    assert (report.sends_failed, report.sends_recovered) == ([], [send_id])
    row = send_row(db, send_id)
    assert (row.attempt, row.failed_attempts, row.last_error) == (2, 0, None)


def test_a_sweep_a_live_worker_let_go_of_without_a_report_fails_with_the_reason(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    sweep_id = queue_sweep(client, operator, make_account(client, admin)["id"])
    started = start_sweep(client, worker, sweep_id, "w-live")
    assert started.status_code == 200, started.text
    later = past_lease(settings, run_pass)
    beat(redis, settings, "w-live", current_job=None)

    report = run_pass(later)

    assert (report.sweeps_failed, report.sweeps_recovered) == ([sweep_id], [])
    with db.session() as session:
        row = session.get_one(Sweep, sweep_id)
        assert (row.status, row.attempt) == ("failed", 1)
        assert row.error == "worker w-live ended the run without reporting"
    assert audit_actions(db, "sweep", sweep_id)[-1] == ("sweep.failed", "reconciler")


def _run_jobs_in_a_worker_without_a_runtime(redis: Redis, queue: QueueName) -> None:
    """A live RQ worker runs the queue dry; with no browser runtime installed, each job
    raises before it can claim its row (as one whose claim the control plane failed)."""
    SimpleWorker([queue.value], connection=redis).work(burst=True, logging_level="ERROR")


def test_a_send_whose_job_keeps_failing_before_its_claim_ends_among_the_dead_letters(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")["id"]
    send_id = int(make_send(client, operator, conversation)["id"])
    failed: list[int] = []
    for _ in range(settings.max_attempts + 2):
        _run_jobs_in_a_worker_without_a_runtime(redis, QueueName.send)
        # Past any backoff, so the next attempt's job is promoted in the same pass.
        failed += run_pass(utcnow() + timedelta(hours=1)).sends_failed

    row = send_row(db, send_id)
    assert failed == [send_id] * settings.max_attempts
    assert (row.status, row.attempt, row.failed_attempts, row.max_attempts) == (
        "failed",
        settings.max_attempts,
        settings.max_attempts,
        settings.max_attempts,
    )
    assert row.last_error is not None
    assert "no worker runtime installed" in row.last_error


def test_a_sweep_whose_job_failed_before_it_started_fails_with_the_error(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    db: Database,
    redis: Redis,
    run_pass: Reconcile,
) -> None:
    sweep_id = queue_sweep(client, operator, make_account(client, admin)["id"])
    _run_jobs_in_a_worker_without_a_runtime(redis, QueueName.scrape)

    assert run_pass().sweeps_failed == [sweep_id]
    assert run_pass().sweeps_enqueued == [], "a failed sweep must not be queued again"
    with db.session() as session:
        row = session.get_one(Sweep, sweep_id)
        assert row.status == "failed"
        assert row.error is not None and "no worker runtime installed" in row.error
    assert redis.exists(f"rq:job:{sweep_job_id(sweep_id, 1)}")


def test_a_worker_alive_by_a_lease_on_another_account_is_not_judged_dead(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    send_id = _claimed_send(client, admin, operator, worker, "w-busy")
    other = make_account(client, admin, "Other")["id"]
    later = past_lease(settings, run_pass)
    # No heartbeat (its sender may be late), but it drives another account right now.
    hold_lease(redis, settings, other, "w-busy")

    report = run_pass(later)

    assert (report.sends_failed, report.sends_recovered) == ([], [])
    assert send_row(db, send_id).status == "claimed"
