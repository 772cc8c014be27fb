"""A worker that dies after RQ handed it a job leaves that job "started", holding its
account's one RQ slot until RQ's own cleanup (the job timeout and a minute). The reconciler
frees the account within a lease TTL instead, and a send that comes back goes before the
account's sends written after it."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimitRegistry

from core.clock import utcnow
from core.db import Database
from core.fleet.lease import lease_ttl_s
from core.fleet.queues import QueueName, account_rate_limit, send_job_id, sweep_job_id
from core.fleet.rq_repairs import abandon_started, job_status
from core.models import Sweep
from core.recovery.abandoned import stall_grace_s
from core.settings import Settings
from tests.helpers.api import claim, make_account, make_conversation, make_send, progress, result
from tests.helpers.rows import Reconcile, audit_actions, beat, send_row


def take_next_job(redis: Redis, queue: QueueName, worker_name: str) -> str:
    """Do what an RQ worker does between dequeuing a job and running its function: the job
    is then "started" by `worker_name`. The worker dying right here is the stall."""
    rq_worker = SimpleWorker([Queue(queue.value, connection=redis)], connection=redis)
    rq_worker.name = worker_name
    taken = rq_worker.dequeue_job_and_maintain_ttl(timeout=1)
    assert taken is not None
    job, _ = taken
    rq_worker.prepare_execution(job)
    rq_worker.prepare_job_execution(job)
    assert job_status(redis, job.id) == JobStatus.STARTED
    return job.id


def line(redis: Redis, account_id: int) -> tuple[list[str], list[str]]:
    """The send queue, first job first, and the account's jobs waiting for its slot, next
    to be let through first."""
    registry = RateLimitRegistry(account_rate_limit(account_id).key, connection=redis)
    return (
        Queue(QueueName.send.value, connection=redis).job_ids,
        registry.get_rate_limited_job_ids(),
    )


def past_grace(settings: Settings, start: datetime) -> datetime:
    return start + timedelta(seconds=stall_grace_s(settings) + 1)


def test_a_job_whose_worker_died_before_claiming_frees_the_account(
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
    first = make_send(client, operator, conversation, "first")
    second = make_send(client, operator, conversation, "second")
    stalled = take_next_job(redis, QueueName.send, "w-dead")
    assert stalled == send_job_id(first["id"], 1)
    assert line(redis, account["id"]) == ([], [send_job_id(second["id"], 1)])

    start = utcnow()
    # Within the grace a worker may still be on its way to the claim.
    assert run_pass(start + timedelta(seconds=lease_ttl_s(settings) + 1)).sends_recovered == []
    report = run_pass(past_grace(settings, start))
    assert report.sends_recovered == [first["id"]]

    row = send_row(db, first["id"])
    # A new attempt that the crash does not charge; nothing was claimed, so nothing to verify.
    assert (row.status, row.attempt, row.failed_attempts, row.verify_since) == (
        "queued",
        2,
        0,
        None,
    )
    assert row.max_attempts == 3
    assert job_status(redis, stalled) == JobStatus.FAILED
    # The freed slot went to the recovered send, not to the one written after it.
    assert line(redis, account["id"]) == (
        [send_job_id(first["id"], 2)],
        [send_job_id(second["id"], 1)],
    )
    assert audit_actions(db, "send", first["id"])[-1] == ("send.recovered", "reconciler")

    again = run_pass(past_grace(settings, start))
    assert (again.sends_recovered, again.sends_enqueued) == ([], [])

    # Were the "dead" worker only slow, its job could no longer claim the send.
    late = client.post(
        f"/v1/worker/sends/{first['id']}/claim",
        headers=worker,
        json={"worker_id": "w-dead", "attempt": 1},
    )
    assert late.status_code == 409
    assert "attempt 1" in late.json()["detail"]
    ticket = client.post(
        f"/v1/worker/sends/{first['id']}/claim",
        headers=worker,
        json={"worker_id": "w-next", "attempt": 2},
    )
    assert ticket.status_code == 200, ticket.text
    assert ticket.json()["verify"] is False


def test_a_job_whose_worker_died_after_delivering_frees_the_account(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    # The worker delivers the send, then dies before RQ hears the job ended: no row is
    # left to recover, and the job would hold the account's slot until it timed out.
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")["id"]
    first = make_send(client, operator, conversation, "first")
    second = make_send(client, operator, conversation, "second")
    stalled = take_next_job(redis, QueueName.send, "w-dead")
    assert claim(client, worker, first["id"], "w-dead").status_code == 200
    for status in ("typing", "submitted"):
        assert progress(client, worker, first["id"], "w-dead", status).status_code == 200
    delivered = result(
        client, worker, first["id"], worker_id="w-dead", status="delivered", platform_message_id="m"
    )
    assert delivered.status_code == 200, delivered.text
    assert line(redis, account["id"]) == ([], [send_job_id(second["id"], 1)])

    start = utcnow()
    assert run_pass(start + timedelta(seconds=lease_ttl_s(settings) + 1)).jobs_released == []
    report = run_pass(past_grace(settings, start))
    assert report.jobs_released == [stalled]
    assert (report.sends_recovered, report.sends_enqueued) == ([], [])
    assert job_status(redis, stalled) == JobStatus.FAILED
    assert line(redis, account["id"]) == ([send_job_id(second["id"], 1)], [])
    row = send_row(db, first["id"])
    assert (row.status, row.attempt) == ("delivered", 1)
    assert run_pass(past_grace(settings, start)).jobs_released == []


def test_a_cancelled_send_or_finished_sweep_frees_the_account_only_from_a_dead_worker(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")["id"]
    send = make_send(client, operator, conversation, "never typed")
    cancelled_job = take_next_job(redis, QueueName.send, "w-dead")
    assert client.post(f"/v1/sends/{send['id']}/cancel", headers=operator).status_code == 200
    created = client.post("/v1/sweeps", headers=operator, json={"account_id": account["id"]})
    sweep_id = created.json()[0]["id"]
    # The sweep's job waits for the account's slot, which the cancelled send's job holds.
    assert job_status(redis, sweep_job_id(sweep_id)) != JobStatus.QUEUED

    start = utcnow()
    report = run_pass(past_grace(settings, start))
    assert report.jobs_released == [cancelled_job]
    assert job_status(redis, sweep_job_id(sweep_id)) == JobStatus.QUEUED

    # A live worker runs the sweep to the end; until its heartbeat lapses, its job is its own.
    sweep_job = take_next_job(redis, QueueName.scrape, "w-live")
    beat(redis, settings, "w-live")
    path = f"/v1/worker/sweeps/{sweep_id}"
    body = {"worker_id": "w-live"}
    assert client.post(f"{path}/start", headers=worker, json=body).status_code == 200
    assert client.post(f"{path}/result", headers=worker, json={"status": "done"}).status_code == 200
    later = past_grace(settings, utcnow())
    assert run_pass(later).jobs_released == []
    assert job_status(redis, sweep_job) == JobStatus.STARTED
    redis.delete(*redis.keys(f"{settings.redis_key_prefix}heartbeat:*"))
    assert run_pass(later).jobs_released == [sweep_job]
    assert job_status(redis, sweep_job) == JobStatus.FAILED


def test_a_live_workers_unclaimed_job_is_left_alone(
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
    send = make_send(client, operator, conversation)
    stalled = take_next_job(redis, QueueName.send, "w-slow")
    # Slow to claim (the control plane was briefly away, say), but its heartbeat is current.
    beat(redis, settings, "w-slow")
    report = run_pass(past_grace(settings, utcnow()))
    assert report.sends_recovered == []
    assert send_row(db, send["id"]).attempt == 1
    assert job_status(redis, stalled) == JobStatus.STARTED


def test_a_recovered_send_goes_before_the_accounts_later_sends(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")["id"]
    sends = [make_send(client, operator, conversation, text) for text in ("one", "two", "three")]
    first = sends[0]["id"]
    take_next_job(redis, QueueName.send, "w-dead")
    assert claim(client, worker, first, "w-dead").status_code == 200
    assert progress(client, worker, first, "w-dead", "typing").status_code == 200

    start = utcnow()
    run_pass(start)
    report = run_pass(start + timedelta(seconds=lease_ttl_s(settings) + 1))
    assert report.sends_recovered == [first]
    queued, held = line(redis, account["id"])
    assert queued == [send_job_id(first, 2)]
    assert held == [send_job_id(send["id"], 1) for send in sends[1:]]
    assert Job.fetch(send_job_id(first, 2), connection=redis).args == (first, account["id"], 2)


def test_a_sweep_whose_worker_died_before_starting_it_is_queued_again(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    created = client.post("/v1/sweeps", headers=operator, json={"account_id": account["id"]})
    sweep_id = created.json()[0]["id"]
    stalled = take_next_job(redis, QueueName.scrape, "w-dead")
    assert stalled == sweep_job_id(sweep_id, 1)
    report = run_pass(past_grace(settings, utcnow()))
    assert report.sweeps_recovered == [sweep_id]
    with db.session() as session:
        row = session.get(Sweep, sweep_id)
        assert row is not None
        assert (row.status, row.attempt) == ("queued", 2)
    assert job_status(redis, sweep_job_id(sweep_id, 2)) == JobStatus.QUEUED
    assert job_status(redis, stalled) == JobStatus.FAILED


def test_a_job_that_ends_while_it_is_abandoned_is_left_to_its_worker(redis: Redis) -> None:
    # The worker finishes the job between the reconciler reading "started" and abandoning
    # it: RQ no longer holds the job's execution. Nothing is failed, nothing raises.
    Queue(QueueName.scrape.value, connection=redis).enqueue_call(
        "workers.jobs.scrape_job", args=(1, 1), job_id="sweep-1"
    )
    job_id = take_next_job(redis, QueueName.scrape, "w-live")
    executions = list(redis.scan_iter(match="rq:execution:*"))
    assert executions
    redis.delete(*executions)
    assert abandon_started(redis, job_id, "judged dead") is False
    assert job_status(redis, job_id) == JobStatus.STARTED
