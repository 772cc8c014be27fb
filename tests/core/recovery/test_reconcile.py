"""The reconciler restores what Redis lost, exactly once, and recovers work of dead workers
without touching work a live worker holds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.rate_limit import RateLimitRegistry
from rq.registry import ScheduledJobRegistry

from core.clock import utcnow
from core.db import Database
from core.enums import Direction, DraftStatus
from core.fleet.lease import lease_ttl_s
from core.fleet.queues import QueueName, draft_job_id, send_job_id, sweep_job_id
from core.fleet.rq_repairs import job_status
from core.models import Draft, Message, Sweep
from core.priority import stamp
from core.recovery.reconcile import ReconcileReport
from core.settings import Settings
from tests.helpers.api import claim, make_account, make_conversation, make_send, progress, result
from tests.helpers.rows import Reconcile, audit_actions, hold_lease, send_row
from tests.helpers.scraped import msg

LATER = timedelta(seconds=30)


def waiting(redis: Redis, queue: QueueName) -> list[str]:
    """Ids of the jobs waiting on `queue`: on the queue itself, or held back by their
    account's rate limit (one job per account at a time), with repeats kept."""
    held = [
        job_id
        for registry in RateLimitRegistry.all(redis)
        for job_id in registry.get_rate_limited_job_ids()
        if Job.fetch(job_id, connection=redis).origin == queue.value
    ]
    return sorted(Queue(queue.value, connection=redis).job_ids + held)


def inbound_message_id(db: Database, platform_message_id: str) -> int:
    with db.session() as session:
        return session.query(Message.id).filter_by(platform_message_id=platform_message_id).one()[0]


def test_a_flush_mid_run_is_restored_exactly_once(
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
    other = make_account(client, admin, "Ava")
    aid = account["id"]
    # Conversations: one waiting for a reply (needs a draft job), one answered by our own
    # message, one already drafted, one an operator answered directly; and one per send.
    make_conversation(client, worker, admin, aid, "wants-draft")
    make_conversation(
        client,
        worker,
        admin,
        aid,
        "we-replied",
        [msg("r-in", "inbound", 0), msg("r-out", "outbound", 5)],
    )
    make_conversation(client, worker, admin, aid, "drafted")
    answered = make_conversation(client, worker, admin, aid, "answered")
    direct = make_send(client, operator, answered["id"])
    with db.session() as session:
        drafted = session.get_one(Message, inbound_message_id(db, "drafted-m1"))
        draft = Draft(
            conversation_id=drafted.conversation_id,
            message_id=drafted.id,
            text="draft",
            provider="offline",
            status=DraftStatus.pending,
        )
        stamp(draft, drafted)
        session.add(draft)
        session.commit()

    queued = make_send(client, operator, make_conversation(client, worker, admin, aid, "s1")["id"])
    retrying = make_send(
        client, operator, make_conversation(client, worker, admin, aid, "s2")["id"]
    )
    claim(client, worker, retrying["id"], "w-retry")
    result(client, worker, retrying["id"], worker_id="w-retry", status="failed", retryable=True)
    delivered = make_send(
        client, operator, make_conversation(client, worker, admin, aid, "s3")["id"]
    )
    claim(client, worker, delivered["id"], "w-done")
    result(
        client,
        worker,
        delivered["id"],
        worker_id="w-done",
        status="delivered",
        platform_message_id="pm-1",
    )
    typing = make_send(
        client, operator, make_conversation(client, worker, admin, other["id"], "s4")["id"]
    )
    claim(client, worker, typing["id"], "w-alive")
    hold_lease(redis, settings, other["id"], "w-alive")
    progress(client, worker, typing["id"], "w-alive", "typing")
    sweep = client.post("/v1/sweeps", headers=operator, json={"account_id": aid}).json()[0]

    redis.flushdb()
    # The pass runs while the retry still waits out its backoff (a few ms at this scale).
    retry_at = send_row(db, retrying["id"]).next_attempt_at
    assert retry_at is not None
    now = retry_at - timedelta(milliseconds=1)
    report = run_pass(now)

    wants_draft = inbound_message_id(db, "wants-draft-m1")
    assert report.sends_enqueued == sorted([direct["id"], queued["id"], retrying["id"]])
    assert report.sweeps_enqueued == [sweep["id"]]
    # Only the conversation still waiting for an answer gets a draft job; the s1..s4
    # conversations have sends written since their message came in.
    assert report.drafts_enqueued == [wants_draft]
    assert report.sends_recovered == report.sweeps_recovered == []

    # The retry still waits out its backoff: scheduled, not on the queue.
    expected_send_jobs = sorted([send_job_id(direct["id"], 1), send_job_id(queued["id"], 1)])
    assert waiting(redis, QueueName.send) == expected_send_jobs
    scheduled = ScheduledJobRegistry(QueueName.send.value, connection=redis).get_job_ids()
    assert scheduled == [send_job_id(retrying["id"], 2)]
    assert waiting(redis, QueueName.scrape) == [sweep_job_id(sweep["id"])]
    assert waiting(redis, QueueName.ai) == [draft_job_id(wants_draft)]
    # The live worker's send is left alone: its lease went with the flush, but Redis was
    # only just seen, so the worker still has time to notice and stop.
    assert send_row(db, typing["id"]).status == "typing"
    assert job_status(redis, send_job_id(delivered["id"], 1)) is None

    again = run_pass(now)
    assert again.counts() == dict.fromkeys(again.counts(), 0)
    assert waiting(redis, QueueName.send) == expected_send_jobs
    assert waiting(redis, QueueName.scrape) == [sweep_job_id(sweep["id"])]
    assert waiting(redis, QueueName.ai) == [draft_job_id(wants_draft)]
    assert ScheduledJobRegistry(QueueName.send.value, connection=redis).get_job_ids() == [
        send_job_id(retrying["id"], 2)
    ]


@dataclass(frozen=True)
class InFlight:
    """Sends in flight on three accounts, by what became of their worker."""

    # w-dead typed half the message and was killed: its lease expired (it is not there).
    dead: int
    # When w-dead started typing.
    typing_at: datetime
    # w-live holds its claimed send and the account's lease.
    live: int
    # w-fresh claimed and is still waiting to take the account's lease.
    fresh: int


@pytest.fixture
def in_flight(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
) -> InFlight:
    """The sends of `InFlight`, as their workers left them."""

    def send_on(account: dict[str, Any], platform_id: str) -> int:
        conversation = make_conversation(client, worker, admin, account["id"], platform_id)
        return make_send(client, operator, conversation["id"])["id"]

    dead_account, live_account, waiting_account = (
        make_account(client, admin, name) for name in ("Dead", "Live", "Slow")
    )
    dead = send_on(dead_account, "c-dead")
    live = send_on(live_account, "c-live")
    fresh = send_on(waiting_account, "c-fresh")
    claim(client, worker, dead, "w-dead")
    progress(client, worker, dead, "w-dead", "typing")
    typing_at = send_row(db, dead).typing_at
    assert typing_at is not None
    claim(client, worker, live, "w-live")
    hold_lease(redis, settings, live_account["id"], "w-live")
    claim(client, worker, fresh, "w-fresh")
    return InFlight(dead=dead, typing_at=typing_at, live=live, fresh=fresh)


@pytest.fixture
def recovery(in_flight: InFlight, settings: Settings, run_pass: Reconcile) -> ReconcileReport:
    """The report of the pass one lease TTL after a reconciler first saw this Redis."""
    start = utcnow()
    run_pass(start)
    return run_pass(start + timedelta(seconds=lease_ttl_s(settings) + 1))


def test_nothing_is_judged_dead_on_the_pass_that_first_sees_redis(
    in_flight: InFlight, run_pass: Reconcile
) -> None:
    assert run_pass(utcnow()).sends_recovered == []


def test_sends_whose_worker_has_held_no_lease_for_a_lease_ttl_are_recovered(
    in_flight: InFlight, recovery: ReconcileReport
) -> None:
    assert recovery.sends_recovered == [in_flight.dead, in_flight.fresh]


def test_the_recovery_enqueues_the_new_attempts_job_itself(
    redis: Redis, in_flight: InFlight, recovery: ReconcileReport
) -> None:
    # So the restore step of the same pass finds nothing missing.
    assert recovery.sends_enqueued == []
    # Waiting behind the account's old job, which only a real dead worker would have
    # left "started" (and the recovery then fails it, freeing the account's slot).
    assert send_job_id(in_flight.dead, 2) in waiting(redis, QueueName.send)


@pytest.mark.usefixtures("recovery")
def test_a_live_workers_send_is_left_alone(db: Database, in_flight: InFlight) -> None:
    live_row = send_row(db, in_flight.live)
    assert (live_row.status, live_row.worker_id, live_row.attempt) == ("claimed", "w-live", 1)


@pytest.mark.usefixtures("recovery")
def test_a_recovered_send_goes_back_to_the_queue_with_an_attempt_that_does_not_count(
    db: Database, in_flight: InFlight
) -> None:
    row = send_row(db, in_flight.dead)
    assert (row.status, row.attempt, row.failed_attempts, row.worker_id) == ("queued", 2, 0, None)
    assert row.max_attempts == 3, "a recovery must not grow the budget"


@pytest.mark.usefixtures("recovery")
def test_a_recovery_is_audited_as_the_reconcilers(db: Database, in_flight: InFlight) -> None:
    assert audit_actions(db, "send", in_flight.dead)[-1] == ("send.recovered", "reconciler")


@pytest.mark.usefixtures("recovery")
def test_a_dead_worker_coming_back_too_late_is_refused(
    client: TestClient, worker: dict[str, str], in_flight: InFlight
) -> None:
    assert progress(client, worker, in_flight.dead, "w-dead", "submitted").status_code == 409


@pytest.mark.usefixtures("recovery")
def test_the_next_claim_of_a_send_recovered_while_typing_reads_the_thread_first(
    client: TestClient, worker: dict[str, str], in_flight: InFlight
) -> None:
    ticket = claim(client, worker, in_flight.dead, "w-next").json()
    assert ticket["verify"] is True
    assert ticket["attempt"] == 2
    assert datetime.fromisoformat(ticket["typing_started_at"]) == in_flight.typing_at


@pytest.mark.usefixtures("recovery")
def test_the_next_claim_of_a_send_recovered_from_claimed_reads_the_thread_first_too(
    client: TestClient, worker: dict[str, str], in_flight: InFlight
) -> None:
    # Recovered from `claimed`: nothing was typed, but the claim still verifies, from the
    # dead attempt's claim time.
    ticket = claim(client, worker, in_flight.fresh, "w-other").json()
    assert ticket["verify"] is True


def test_a_claimed_send_within_the_lease_ttl_is_left_alone(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    send = make_send(
        client, operator, make_conversation(client, worker, admin, account["id"], "c")["id"]
    )
    start = utcnow() - LATER
    run_pass(start)
    claim(client, worker, send["id"], "w1")
    # Redis is known for long enough, but the worker claimed a moment ago and may still be
    # waiting for the lease.
    assert run_pass(utcnow()).sends_recovered == []
    assert send_row(db, send["id"]).status == "claimed"


def test_a_dead_workers_sweep_is_queued_again_under_a_new_job_id(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    dead_account, live_account = make_account(client, admin), make_account(client, admin, "Bo")
    dead = client.post("/v1/sweeps", headers=operator, json={"account_id": dead_account["id"]})
    live = client.post("/v1/sweeps", headers=operator, json={"account_id": live_account["id"]})
    dead_id, live_id = dead.json()[0]["id"], live.json()[0]["id"]
    for sweep_id, worker_id in ((dead_id, "w-dead"), (live_id, "w-live")):
        started = client.post(
            f"/v1/worker/sweeps/{sweep_id}/start", headers=worker, json={"worker_id": worker_id}
        )
        assert started.status_code == 200, started.text
    hold_lease(redis, settings, live_account["id"], "w-live")
    start = utcnow()
    run_pass(start)
    report = run_pass(start + timedelta(seconds=lease_ttl_s(settings) + 1))
    assert report.sweeps_recovered == [dead_id]
    with db.session() as session:
        dead_row, live_row = session.get(Sweep, dead_id), session.get(Sweep, live_id)
        assert (dead_row.status, dead_row.attempt, dead_row.worker_id) == ("queued", 2, None)
        assert (live_row.status, live_row.worker_id) == ("running", "w-live")
    assert sweep_job_id(dead_id, 2) in waiting(redis, QueueName.scrape)
    assert audit_actions(db, "sweep", dead_id)[-1] == ("sweep.recovered", "reconciler")
    # The dead run reporting late is refused; a new worker starts the sweep again.
    late = client.post(
        f"/v1/worker/sweeps/{dead_id}/result", headers=worker, json={"status": "done"}
    )
    assert late.status_code == 409


def test_one_pass_at_a_time(redis: Redis, settings: Settings, run_pass: Reconcile) -> None:
    lock = redis.lock(f"{settings.redis_key_prefix}reconciler:lock", timeout=5)
    assert lock.acquire(blocking=False)
    assert run_pass().skipped
    lock.release()
    assert not run_pass().skipped


def test_outbound_newest_messages_get_no_draft_job(
    client: TestClient,
    admin: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    make_conversation(
        client,
        worker,
        admin,
        account["id"],
        "c",
        [msg("in", "inbound", 0), msg("out", "outbound", 1)],
    )
    redis.flushdb()
    assert run_pass().drafts_enqueued == []
    with db.session() as session:
        directions = {m.direction for m in session.query(Message)}
    assert directions == {Direction.inbound, Direction.outbound}


def test_a_dead_job_of_a_queued_send_is_replaced(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    redis: Redis,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    send = make_send(
        client, operator, make_conversation(client, worker, admin, account["id"], "c")["id"]
    )
    job_id = send_job_id(send["id"], 1)
    # The job died before it could claim (the control plane was down, say): RQ holds it
    # as failed for days while the row still waits.
    redis.hset(f"rq:job:{job_id}", "status", JobStatus.FAILED.value)
    assert run_pass().sends_enqueued == [send["id"]]
    assert job_status(redis, job_id) == JobStatus.QUEUED
    assert waiting(redis, QueueName.send) == [job_id]
    assert run_pass().sends_enqueued == []
