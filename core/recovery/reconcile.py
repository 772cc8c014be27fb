"""The reconciler: a periodic pass outside the browser workers that makes Redis agree with
the database again.

Rule 1 says Redis may lose everything at any moment. Each pass:

- takes back what dead workers left (`core.recovery.abandoned`): sends in flight and
  sweeps running without their lease, queued rows whose job a dead worker started, and
  the account slots of started jobs whose rows moved on;
- fails what live workers let go of without a report, or whose job raised before taking
  its row: the send's attempt counts, the sweep ends, the error is kept;
- re-creates every job a row still wants but Redis does not hold (queued sends, queued
  sweeps, draft jobs of unanswered inbound messages) under its stable job id, so a second
  pass adds nothing;
- promotes send retries and throttled sweeps whose backoff is over: no RQ scheduler runs
  in the fleet, the row's `next_attempt_at` decides.

One pass runs at a time fleet-wide (a Redis lock), since two passes racing between "does
the job exist" and "enqueue it" could queue a job twice.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from loguru import logger
from redis import Redis
from redis.exceptions import LockError, RedisError
from rq.job import JobStatus
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from core.clock import utcnow
from core.db import Database, end_read
from core.enums import AccountStatus, Direction, SendPriority, SendStatus, SweepStatus
from core.fleet import queues, rq_repairs
from core.fleet.dispatch import (
    QueuedRow,
    dispatch_draft,
    dispatch_send,
    dispatch_sweep,
    line_place,
)
from core.models import Account, Conversation, Draft, Fan, Message, Send, Sweep
from core.outbox import bulk
from core.recovery.abandoned import (
    alive_workers,
    fail_unclaimed_send,
    fail_unreported_send,
    fail_unreported_sweep,
    fail_unstarted_sweep,
    find_abandoned,
    recover_send,
    recover_sweep,
    release_moved_on,
    stalled_by,
)
from core.recovery.marks import mark_pass, reconciler_key
from core.settings import Settings

# A pass that takes longer than this lets a second reconciler in; passes take well under.
PASS_LOCK_S = 30


def interval_s(settings: Settings) -> float:
    """Real seconds between two reconciler passes."""
    return settings.scaled(settings.reconcile_interval_s)


def unanswered_messages(session: Session) -> list[int]:
    """Inbound messages that should have a draft job: the newest in their conversation,
    with no draft yet and no send written to that conversation since they arrived."""
    newer = aliased(Message)
    later_message = exists().where(
        newer.conversation_id == Message.conversation_id,
        or_(
            newer.sent_at > Message.sent_at,
            and_(newer.sent_at == Message.sent_at, newer.id > Message.id),
        ),
    )
    drafted = exists().where(Draft.message_id == Message.id)
    answered = exists().where(
        Send.conversation_id == Message.conversation_id, Send.created_at >= Message.created_at
    )
    erased = exists().where(
        Conversation.id == Message.conversation_id,
        Fan.id == Conversation.fan_id,
        Fan.erased_at.is_not(None),
    )
    return list(
        session.scalars(
            select(Message.id)
            .where(
                Message.direction == Direction.inbound,
                ~later_message,
                ~drafted,
                ~answered,
                ~erased,
            )
            .order_by(Message.id)
        )
    )


@dataclass
class ReconcileReport:
    """What one pass did; `skipped` when another reconciler held the pass lock."""

    skipped: bool = False
    sends_recovered: list[int] = field(default_factory=list)
    sweeps_recovered: list[int] = field(default_factory=list)
    # Let go of by a live worker without a report, or failed before their claim: an
    # attempt used, or the sweep failed.
    sends_failed: list[int] = field(default_factory=list)
    sweeps_failed: list[int] = field(default_factory=list)
    sends_enqueued: list[int] = field(default_factory=list)
    sends_promoted: list[int] = field(default_factory=list)
    sweeps_enqueued: list[int] = field(default_factory=list)
    sweeps_promoted: list[int] = field(default_factory=list)
    drafts_enqueued: list[int] = field(default_factory=list)
    bulk_released: list[int] = field(default_factory=list)
    jobs_released: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each, for logs and the CLI."""
        return {name: len(value) for name, value in vars(self).items() if isinstance(value, list)}


def _still_queued(
    session: Session, model: type[Send] | type[Sweep], row_id: int, attempt: int
) -> bool:
    """Re-read a row before replacing its dead job (finished, failed, stopped): the row may
    have moved on since the pass read it, and then the job is not wanted again."""
    row = session.get(model, row_id)
    end_read(session)
    return row is not None and row.status == "queued" and row.attempt == attempt


def _replaceable(
    session: Session,
    redis: Redis,
    model: type[Send] | type[Sweep],
    row: Send | Sweep,
    job_id: str,
    status: JobStatus | None,
) -> bool:
    """Whether the row's job must be (re)created: it is missing, or dead and the row still
    wants it (the dead job is then discarded so its id can be used again)."""
    if status is None:
        return True
    if status in rq_repairs.LIVE_JOB_STATES or not _still_queued(
        session, model, row.id, row.attempt
    ):
        return False
    rq_repairs.discard_job(redis, job_id)
    return True


def _promote_if_due(
    redis: Redis, job_id: str, row: QueuedRow, place: queues.LinePlace, now: datetime
) -> bool:
    """Move a scheduled job (a send's retry, a throttled sweep's next run) onto its queue
    once its row's backoff is over; whether it was moved."""
    due = row.next_attempt_at is None or row.next_attempt_at <= now
    return due and rq_repairs.promote_scheduled(redis, job_id, row.account_id, place)


def _restore_sends(
    session: Session,
    redis: Redis,
    settings: Settings,
    now: datetime,
    alive: set[str],
    report: ReconcileReport,
) -> None:
    rows = list(
        session.scalars(
            select(Send)
            .join(Account, Account.id == Send.account_id)
            # A paused or logged-out account's sends are held until it is active again, and
            # bulk sends wait for core.bulk to release them one at a time.
            .where(
                Send.status == SendStatus.queued,
                Account.status == AccountStatus.active,
                or_(Send.priority != SendPriority.bulk, Send.released_at.is_not(None)),
            )
            .order_by(Send.id)
        )
    )
    end_read(session)
    for send in rows:
        job_id = queues.send_job_id(send.id, send.attempt)
        status = rq_repairs.job_status(redis, job_id)
        if status == JobStatus.SCHEDULED:
            if _promote_if_due(redis, job_id, send, line_place(send), now):
                report.sends_promoted.append(send.id)
            continue
        if status == JobStatus.STARTED:
            dead = stalled_by(redis, settings, job_id, now, alive)
            if dead is not None and recover_send(
                session,
                redis,
                settings,
                send.id,
                dead_worker=dead,
                reason="worker died before claiming",
                now=now,
                stalled_attempt=send.attempt,
            ):
                report.sends_recovered.append(send.id)
            continue
        failure = rq_repairs.failure_in_worker(redis, job_id)
        if failure is not None:
            if fail_unclaimed_send(
                session, redis, settings, send.id, attempt=send.attempt, failure=failure
            ):
                report.sends_failed.append(send.id)
            continue
        # dispatch_send schedules a job still in its backoff and enqueues a due one.
        if _replaceable(session, redis, Send, send, job_id, status) and dispatch_send(
            redis, settings, send, now
        ):
            report.sends_enqueued.append(send.id)


def _restore_sweeps(
    session: Session,
    redis: Redis,
    settings: Settings,
    now: datetime,
    alive: set[str],
    report: ReconcileReport,
) -> None:
    rows = list(
        session.scalars(
            select(Sweep)
            .join(Account, Account.id == Sweep.account_id)
            .where(Sweep.status == SweepStatus.queued, Account.status == AccountStatus.active)
            .order_by(Sweep.id)
        )
    )
    end_read(session)
    for sweep in rows:
        job_id = queues.sweep_job_id(sweep.id, sweep.attempt)
        status = rq_repairs.job_status(redis, job_id)
        if status == JobStatus.SCHEDULED:
            if _promote_if_due(redis, job_id, sweep, queues.LinePlace.back, now):
                report.sweeps_promoted.append(sweep.id)
            continue
        if status == JobStatus.STARTED:
            dead = stalled_by(redis, settings, job_id, now, alive)
            if dead is not None and recover_sweep(
                session,
                redis,
                settings,
                sweep.id,
                dead_worker=dead,
                stalled_attempt=sweep.attempt,
            ):
                report.sweeps_recovered.append(sweep.id)
            continue
        failure = rq_repairs.failure_in_worker(redis, job_id)
        if failure is not None:
            if fail_unstarted_sweep(session, sweep.id, attempt=sweep.attempt, failure=failure):
                report.sweeps_failed.append(sweep.id)
            continue
        # dispatch_sweep schedules a run still in its backoff and enqueues a due one.
        if _replaceable(session, redis, Sweep, sweep, job_id, status) and dispatch_sweep(
            redis, settings, sweep, now
        ):
            report.sweeps_enqueued.append(sweep.id)


def _restore_drafts(session: Session, redis: Redis, report: ReconcileReport) -> None:
    message_ids = unanswered_messages(session)
    session.rollback()
    for message_id in message_ids:
        # Only a missing job is replaced: a failed drafting job (the LLM was down) stays in
        # RQ's failed registry for an operator, rather than being retried every pass.
        if rq_repairs.job_exists(redis, queues.draft_job_id(message_id)):
            continue
        if dispatch_draft(redis, message_id):
            report.drafts_enqueued.append(message_id)


def reconcile(
    session: Session, redis: Redis, settings: Settings, *, now: datetime | None = None
) -> ReconcileReport:
    """Run one pass (see the module doc) and report what it did. `now` is for tests; the
    pass lock and lease expiry use Redis's own clock either way."""
    now = now or utcnow()
    report = ReconcileReport()
    lock = redis.lock(reconciler_key(settings, "lock"), timeout=PASS_LOCK_S, blocking=False)
    if not lock.acquire():
        report.skipped = True
        return report
    try:
        abandoned = find_abandoned(session, redis, settings, now, mark=True)
        end_read(session)
        for send in abandoned.sends:
            reason = f"lease of account {send.account_id} not held by its worker"
            if recover_send(
                session,
                redis,
                settings,
                send.id,
                dead_worker=send.worker_id or "",
                reason=reason,
                now=now,
            ):
                report.sends_recovered.append(send.id)
        for sweep in abandoned.sweeps:
            if recover_sweep(session, redis, settings, sweep.id, dead_worker=sweep.worker_id or ""):
                report.sweeps_recovered.append(sweep.id)
        for send in abandoned.unreported_sends:
            if fail_unreported_send(session, redis, settings, send.id, worker=send.worker_id or ""):
                report.sends_failed.append(send.id)
        for sweep in abandoned.unreported_sweeps:
            if fail_unreported_sweep(session, sweep.id, worker=sweep.worker_id or ""):
                report.sweeps_failed.append(sweep.id)
        alive = alive_workers(redis, settings)
        report.jobs_released += release_moved_on(session, redis, settings, now, alive)
        _restore_sends(session, redis, settings, now, alive, report)
        waiting = bulk.accounts_with_unreleased_bulk(session)
        for released in bulk.release_next_bulks(session, redis, settings, waiting):
            report.bulk_released.append(released.id)
        _restore_sweeps(session, redis, settings, now, alive, report)
        _restore_drafts(session, redis, report)
        mark_pass(redis, settings, now)
    finally:
        try:
            lock.release()
        except LockError:
            # The pass outlived the lock's timeout; the lock is already gone.
            logger.warning("reconciler pass outlived its lock")
    log = logger.bind(**report.counts())
    if any(report.counts().values()):
        log.info("reconciled")
    else:
        log.debug("reconciled, nothing to do")
    return report


def run_reconciler(
    database: Database,
    redis: Redis,
    settings: Settings,
    *,
    every_s: float,
    stop: threading.Event,
    on_pass: Callable[[ReconcileReport], None] | None = None,
) -> None:
    """Reconcile every `every_s` real seconds until `stop` is set. A pass that fails on
    the database or Redis being unreachable is logged and retried at the next tick: the
    reconciler is what brings the fleet back after such an outage."""
    while True:
        try:
            with database.session() as session:
                report = reconcile(session, redis, settings)
            if on_pass is not None:
                on_pass(report)
        except (RedisError, SQLAlchemyError) as exc:
            logger.bind(error=type(exc).__name__).warning("reconciler pass failed")
        except Exception:
            # A bug met in one pass must not stop the one process that heals the fleet;
            # the traceback goes to the log and the next pass tries again.
            logger.exception("reconciler pass failed unexpectedly")
        if stop.wait(every_s):
            return
