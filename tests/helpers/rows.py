"""Reading what the control plane stored, and setting Redis up as a live worker would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis import Redis
from rq import Queue

from core.db import Database
from core.fleet.heartbeats import store_heartbeat
from core.fleet.lease import AccountLease
from core.fleet.protocol import WorkerHeartbeat
from core.fleet.queues import QueueName
from core.models import AuditEvent, DraftFeedback, Message, Send
from core.recovery.reconcile import ReconcileReport
from core.settings import Settings

# `run_pass(now=None) -> ReconcileReport`: one reconciler pass at a chosen time.
Reconcile = Callable[..., ReconcileReport]


def hold_lease(redis: Redis, settings: Settings, account_id: int, owner: str) -> None:
    """Take an account's lease for `owner`, as a live worker would (60 real seconds: the
    test ends long before it could expire)."""
    lease = AccountLease(redis, settings.redis_key_prefix, account_id, owner, 60)
    assert lease.acquire()


def beat(redis: Redis, settings: Settings, worker_id: str, current_job: str | None = None) -> None:
    """A current heartbeat of `worker_id`, doing `current_job`, as a live worker stores it;
    kept a real minute, so that a slow machine cannot let it lapse before a pass reads it."""
    lasting = settings.model_copy(update={"heartbeat_ttl_s": 60 / settings.time_scale})
    store_heartbeat(
        redis,
        lasting,
        WorkerHeartbeat(worker_id=worker_id, host="h", pid=1, current_job=current_job, rss_bytes=1),
    )


def keep_heartbeats(redis: Redis, settings: Settings) -> None:
    """Make every heartbeat stored so far last a real minute, so that a slow machine cannot
    let one lapse before the test reads it."""
    for key in redis.scan_iter(match=f"{settings.redis_key_prefix}heartbeat:*"):
        redis.pexpire(key, 60_000)


def send_row(db: Database, send_id: int) -> Send:
    with db.session() as session:
        row = session.get(Send, send_id)
        assert row is not None
        return row


def audit_actions(db: Database, subject_type: str, subject_id: int) -> list[tuple[str, str]]:
    with db.session() as session:
        return [
            (event.action, event.actor)
            for event in session.query(AuditEvent)
            .filter_by(subject_type=subject_type, subject_id=subject_id)
            .order_by(AuditEvent.id)
        ]


def queued_job_ids(redis: Redis, queue: QueueName) -> list[str]:
    """Ids of the jobs waiting on `queue`, in order."""
    return Queue(queue.value, connection=redis).job_ids


def audit_events(db: Database, action: str) -> list[AuditEvent]:
    """The audit events of `action`, oldest first."""
    with db.session() as session:
        return session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def audit_details(db: Database, action: str) -> list[dict[str, Any]]:
    """The audit events of `action`, oldest first, each as its actor, subject id and
    detail in one dict."""
    return [
        {"actor": e.actor, "subject_id": e.subject_id, **e.detail} for e in audit_events(db, action)
    ]


def feedback_of(db: Database, draft_id: int) -> DraftFeedback:
    """The feedback row an approval of the draft wrote."""
    with db.session() as session:
        return session.query(DraftFeedback).filter_by(draft_id=draft_id).one()


def message_id_of(db: Database, platform_id: str) -> int:
    """The id of the message stored with `platform_id`."""
    with db.session() as session:
        return session.query(Message.id).filter_by(platform_message_id=platform_id).scalar()
