"""The reconciler: a periodic pass outside the browser workers that makes Redis agree with
the database again, and the fleet state it (and `GET /v1/fleet`) judges health from.

Rule 1 says Redis may lose everything at any moment. Each pass:

- recovers work whose worker died: a send in flight or a sweep running whose account lease
  is no longer held by its worker, for at least one lease TTL, goes back to `queued` under
  a new job id (a recovered send is claimed with `verify`), ahead of its account's other
  waiting sends; so does a queued row whose job a dead worker had started but not claimed,
  which would otherwise hold its account's RQ slot until the job timed out;
- frees the account slot of a job a dead worker left started after its row moved on (the
  send delivered, say, before the worker died), which would stall the account as long;
- re-creates every job a row still wants but Redis does not hold (queued sends, queued
  sweeps, draft jobs of unanswered inbound messages) under its stable job id, so a second
  pass adds nothing;
- promotes retries whose backoff is over: no RQ scheduler runs in the fleet, the row's
  `next_attempt_at` decides.

One pass runs at a time fleet-wide (a Redis lock), since two passes racing between "does
the job exist" and "enqueue it" could queue a job twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from loguru import logger
from redis import Redis
from redis.exceptions import LockError, RedisError
from rq import Queue
from rq import Worker as RQWorker
from rq.job import JobStatus
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, aliased

from core import bulk, queues
from core.db import Database, utcnow
from core.lease import held_accounts
from core.models import Account, AccountStatus, Draft, Message, Send, SendPriority, Sweep
from core.outbox import dispatch_draft, dispatch_send, dispatch_sweep, line_place
from core.sends import RECONCILER_ACTOR, recover_send
from core.settings import Settings
from core.sweeps import recover_sweep
from core.worker_protocol import IN_FLIGHT, Direction, SendStatus, SweepStatus, WorkerHeartbeat

# The shortest window trusted to real clocks and Redis round trips, however small the time
# scale; workers floor their lease TTL at the same value.
MIN_WINDOW_S = 2.0
# A pass that takes longer than this lets a second reconciler in; passes take well under.
PASS_LOCK_S = 30
BROWSER_QUEUES = (queues.QueueName.send.value, queues.QueueName.scrape.value)
_MAX_LISTED = 10


def lease_ttl_s(settings: Settings) -> float:
    """The account lease TTL workers use, in real seconds."""
    return max(settings.scaled(settings.lease_ttl_s), MIN_WINDOW_S)


def interval_s(settings: Settings) -> float:
    """Real seconds between two reconciler passes."""
    return settings.scaled(settings.reconcile_interval_s)


def _key(settings: Settings, name: str) -> str:
    return f"{settings.redis_key_prefix}reconciler:{name}"


def _redis_known_since(redis: Redis, settings: Settings, now: datetime, *, mark: bool) -> datetime:
    """Since when this Redis has held the fleet's state, as first seen by a reconciler.

    A missing lease proves a dead worker only if Redis did not just lose it: after a flush
    or an empty restart every lease is gone while its worker still types. Recovery waits
    one lease TTL after Redis is first seen, long enough for a live worker's renewal to
    find its lease lost and stop. `mark` records `now` when nothing is recorded yet.
    """
    key = _key(settings, "redis_since")
    if mark:
        redis.set(key, now.isoformat(), nx=True)
    raw = redis.get(key)
    if raw is None:
        return now
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)


def _last_touched(send: Send) -> datetime:
    stamps = [at for at in (send.claimed_at, send.typing_at, send.submitted_at) if at]
    return max(stamps) if stamps else send.updated_at


@dataclass(frozen=True)
class Abandoned:
    """Sends and sweeps whose worker no longer holds their account's lease."""

    sends: list[Send]
    sweeps: list[Sweep]


def find_abandoned(
    session: Session, redis: Redis, settings: Settings, now: datetime, *, mark: bool = False
) -> Abandoned:
    """In-flight sends and running sweeps whose worker has not held the account's lease for
    at least a lease TTL since their last move. The wait matters: a worker claims first and
    takes the lease after, waiting up to a TTL for it, and a live worker whose lease Redis
    lost needs up to a third of a TTL to notice. With a dead worker the lease expires at
    most a TTL after its last renewal, so recovery still comes within a TTL of expiry."""
    grace = timedelta(seconds=lease_ttl_s(settings))
    if now - _redis_known_since(redis, settings, now, mark=mark) < grace:
        return Abandoned(sends=[], sweeps=[])
    held = held_accounts(redis, settings.redis_key_prefix)
    sends = [
        send
        for send in session.scalars(
            select(Send).where(Send.status.in_(IN_FLIGHT)).order_by(Send.id)
        )
        if held.get(send.account_id) != send.worker_id and now - _last_touched(send) >= grace
    ]
    sweeps = [
        sweep
        for sweep in session.scalars(
            select(Sweep).where(Sweep.status == SweepStatus.running).order_by(Sweep.id)
        )
        if held.get(sweep.account_id) != sweep.worker_id
        and now - (sweep.started_at or sweep.created_at) >= grace
    ]
    return Abandoned(sends=sends, sweeps=sweeps)


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
    return list(
        session.scalars(
            select(Message.id)
            .where(Message.direction == Direction.inbound, ~later_message, ~drafted, ~answered)
            .order_by(Message.id)
        )
    )


@dataclass
class ReconcileReport:
    """What one pass did; `skipped` when another reconciler held the pass lock."""

    skipped: bool = False
    sends_recovered: list[int] = field(default_factory=list)
    sweeps_recovered: list[int] = field(default_factory=list)
    sends_enqueued: list[int] = field(default_factory=list)
    sends_promoted: list[int] = field(default_factory=list)
    sweeps_enqueued: list[int] = field(default_factory=list)
    drafts_enqueued: list[int] = field(default_factory=list)
    bulk_released: list[int] = field(default_factory=list)
    jobs_released: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """How many of each, for logs and the CLI."""
        return {name: len(value) for name, value in vars(self).items() if isinstance(value, list)}


def _end_read(session: Session) -> None:
    """End the read transaction, keeping the rows read readable: on SQLite every
    transaction holds the write lock, which must not be held across a pass's Redis calls."""
    session.expunge_all()
    session.rollback()


def _still_queued(
    session: Session, model: type[Send] | type[Sweep], row_id: int, attempt: int
) -> bool:
    """Re-read a row before replacing its dead job (finished, failed, stopped): the row may
    have moved on since the pass read it, and then the job is not wanted again."""
    row = session.get(model, row_id)
    _end_read(session)
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
    if status in queues.LIVE_JOB_STATES or not _still_queued(session, model, row.id, row.attempt):
        return False
    queues.discard_job(redis, job_id)
    return True


# However small the time scale, a worker gets this many real seconds from taking a job to
# claiming its row before it is judged dead: a loaded control plane can take seconds to
# answer the claim and the heartbeat both.
STALL_FLOOR_S = 10.0


def stall_grace_s(settings: Settings) -> float:
    """Real seconds a worker without a heartbeat or a lease may hold a started job whose
    row it has not claimed, or whose row has moved on, before the job is taken back."""
    return max(lease_ttl_s(settings), heartbeat_ttl_s(settings), STALL_FLOOR_S)


def _stalled_by(
    redis: Redis,
    settings: Settings,
    job_id: str,
    now: datetime,
    alive: set[str],
    since: datetime | None = None,
) -> str | None:
    """The dead worker of a job RQ still marks started: its worker died between taking the
    job and claiming the row, or after the row moved on but before RQ heard the job end.
    Such a job would hold its account's one slot until RQ's own cleanup, the job timeout
    and a minute later. A worker counts as dead once it has neither a heartbeat nor a lease
    and `stall_grace_s` has passed since the job started and since `since` (when the row
    moved on: a live worker reports the result, then tells RQ). Judging a slow worker dead
    costs a new attempt at most, never a second send: the old attempt's claim is
    refused."""
    started = queues.started_job(redis, job_id)
    if started is None or started.worker_name in alive:
        return None
    grace = timedelta(seconds=stall_grace_s(settings))
    if now - max(started.started_at, since or started.started_at) < grace:
        return None
    return started.worker_name


def _alive(redis: Redis, settings: Settings) -> set[str]:
    """Workers that show they are alive: a current heartbeat or a held lease."""
    beating = {seen.heartbeat.worker_id for seen in live_workers(redis, settings)}
    return beating | set(held_accounts(redis, settings.redis_key_prefix).values())


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
    _end_read(session)
    for send in rows:
        job_id = queues.send_job_id(send.id, send.attempt)
        status = queues.job_status(redis, job_id)
        if status == JobStatus.SCHEDULED:
            due = send.next_attempt_at is None or send.next_attempt_at <= now
            if due and queues.promote_scheduled(redis, job_id, send.account_id, line_place(send)):
                report.sends_promoted.append(send.id)
            continue
        if status == JobStatus.STARTED:
            dead = _stalled_by(redis, settings, job_id, now, alive)
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
        # dispatch_send schedules a job still in its backoff and enqueues a due one.
        if _replaceable(session, redis, Send, send, job_id, status) and dispatch_send(
            redis, settings, send, now
        ):
            report.sends_enqueued.append(send.id)


# Where a send or sweep row stands once its job has nothing left to do.
_DONE = {
    "send": {SendStatus.delivered, SendStatus.failed, SendStatus.cancelled},
    "sweep": {SweepStatus.done, SweepStatus.failed},
}


def _last_change(row: Send | Sweep) -> datetime:
    """When the row last moved, as far as its columns tell."""
    if isinstance(row, Send):
        return row.updated_at
    return row.finished_at or row.started_at or row.created_at


def _release_moved_on(
    session: Session,
    redis: Redis,
    settings: Settings,
    now: datetime,
    alive: set[str],
    report: ReconcileReport,
) -> None:
    """Free the account slot of a started job whose worker died after the job's row moved
    on: the send delivered, failed or cancelled, the sweep finished, or either taken back
    as a later attempt. No row is left to recover, so no other path frees the slot, and RQ
    holds it until the job's execution runs out (its timeout plus a minute), stalling the
    account's every job. A row still queued or in flight at the job's attempt is left to
    the paths that recover it."""
    for queue in (queues.QueueName.send, queues.QueueName.scrape):
        for job_id in queues.started_job_ids(redis, queue):
            ref = queues.parse_browser_job_id(job_id)
            if ref is None:
                continue
            row = session.get(Send if ref.kind == "send" else Sweep, ref.row_id)
            moved_on = row is None or row.attempt != ref.attempt or row.status in _DONE[ref.kind]
            since = None if row is None else _last_change(row)
            _end_read(session)
            if not moved_on:
                continue
            dead = _stalled_by(redis, settings, job_id, now, alive, since)
            reason = f"worker {dead} died after its {ref.kind} moved on"
            if dead is not None and queues.abandon_started(redis, job_id, reason):
                report.jobs_released.append(job_id)


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
    _end_read(session)
    for sweep in rows:
        job_id = queues.sweep_job_id(sweep.id, sweep.attempt)
        status = queues.job_status(redis, job_id)
        if status == JobStatus.STARTED:
            dead = _stalled_by(redis, settings, job_id, now, alive)
            if dead is not None and recover_sweep(
                session,
                redis,
                settings,
                sweep.id,
                dead_worker=dead,
                actor=RECONCILER_ACTOR,
                stalled_attempt=sweep.attempt,
            ):
                report.sweeps_recovered.append(sweep.id)
            continue
        if _replaceable(session, redis, Sweep, sweep, job_id, status) and dispatch_sweep(
            redis, settings, sweep
        ):
            report.sweeps_enqueued.append(sweep.id)


def _restore_drafts(session: Session, redis: Redis, report: ReconcileReport) -> None:
    message_ids = unanswered_messages(session)
    session.rollback()
    for message_id in message_ids:
        # Only a missing job is replaced: a failed drafting job (the LLM was down) stays in
        # RQ's failed registry for an operator, rather than being retried every pass.
        if queues.job_exists(redis, queues.draft_job_id(message_id)):
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
    lock = redis.lock(_key(settings, "lock"), timeout=PASS_LOCK_S, blocking=False)
    if not lock.acquire():
        report.skipped = True
        return report
    try:
        abandoned = find_abandoned(session, redis, settings, now, mark=True)
        _end_read(session)
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
            if recover_sweep(
                session,
                redis,
                settings,
                sweep.id,
                dead_worker=sweep.worker_id or "",
                actor=RECONCILER_ACTOR,
            ):
                report.sweeps_recovered.append(sweep.id)
        alive = _alive(redis, settings)
        _release_moved_on(session, redis, settings, now, alive, report)
        _restore_sends(session, redis, settings, now, alive, report)
        for account_id in bulk.accounts_with_unreleased_bulk(session):
            released = bulk.release_next_bulk(session, redis, settings, account_id)
            if released is not None:
                report.bulk_released.append(released.id)
        _restore_sweeps(session, redis, settings, now, alive, report)
        _restore_drafts(session, redis, report)
        redis.set(_key(settings, "last_pass"), now.isoformat())
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


# --- worker heartbeats -------------------------------------------------------------------

_HEARTBEAT_INFIX = "heartbeat:worker:"


def heartbeat_ttl_s(settings: Settings) -> float:
    """How long a heartbeat counts, in real seconds; workers should beat three times as
    often."""
    return max(settings.scaled(settings.heartbeat_ttl_s), MIN_WINDOW_S)


@dataclass(frozen=True)
class WorkerSeen:
    """A worker's latest heartbeat and when the control plane received it."""

    heartbeat: WorkerHeartbeat
    seen_at: datetime


def store_heartbeat(
    redis: Redis, settings: Settings, beat: WorkerHeartbeat, now: datetime | None = None
) -> None:
    """Keep a worker's heartbeat in Redis until it goes stale (never in the database: it
    is transient, and a dead worker's disappears by itself)."""
    payload = {"heartbeat": beat.model_dump(mode="json"), "seen_at": (now or utcnow()).isoformat()}
    redis.set(
        f"{settings.redis_key_prefix}{_HEARTBEAT_INFIX}{beat.worker_id}",
        json.dumps(payload),
        px=round(heartbeat_ttl_s(settings) * 1000),
    )


def live_workers(redis: Redis, settings: Settings) -> list[WorkerSeen]:
    """Every worker with a current heartbeat, by worker id."""
    prefix = f"{settings.redis_key_prefix}{_HEARTBEAT_INFIX}"
    escaped = "".join(f"\\{char}" if char in "*?[]\\" else char for char in prefix)
    keys = list(redis.scan_iter(match=escaped + "*", count=500))
    if not keys:
        return []
    seen = []
    # A heartbeat that expired between SCAN and MGET reads None and is skipped.
    for raw in redis.mget(keys):
        if raw is None:
            continue
        payload = json.loads(raw)
        seen.append(
            WorkerSeen(
                heartbeat=WorkerHeartbeat.model_validate(payload["heartbeat"]),
                seen_at=datetime.fromisoformat(payload["seen_at"]),
            )
        )
    return sorted(seen, key=lambda worker: worker.heartbeat.worker_id)


# --- fleet status -----------------------------------------------------------------------


@dataclass(frozen=True)
class FleetStatus:
    """Everything needed to tell whether the fleet is healthy, and why not."""

    checked_at: datetime
    healthy: bool
    reasons: list[str]
    workers: list[WorkerSeen]
    leases: dict[int, str]
    queues: dict[str, queues.QueueStats]
    sends: dict[str, int]
    stuck_sends: list[int]
    stuck_sweeps: list[int]
    last_reconciled_at: datetime | None


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def _last_pass(redis: Redis, settings: Settings) -> datetime | None:
    raw = redis.get(_key(settings, "last_pass"))
    if raw is None:
        return None
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)


def fleet_status(
    session: Session, redis: Redis, settings: Settings, *, now: datetime | None = None
) -> FleetStatus:
    """The fleet as Redis and the database see it, with `healthy` false and a reason for
    each problem: sends or sweeps stuck with a dead worker, a job waiting too long, jobs
    waiting with nobody to run them, accounts that need a login, a reconciler not running.
    """
    now = now or utcnow()
    workers = live_workers(redis, settings)
    leases = held_accounts(redis, settings.redis_key_prefix)
    stats = queues.queue_stats(redis)
    counts = {
        status: count
        for status, count in session.execute(
            select(Send.status, func.count()).group_by(Send.status)
        )
    }
    sends = {status.value: counts.get(status, 0) for status in SendStatus}
    abandoned = find_abandoned(session, redis, settings, now)
    stuck_sends = [send.id for send in abandoned.sends]
    stuck_sweeps = [sweep.id for sweep in abandoned.sweeps]
    needs_login = list(
        session.scalars(
            select(Account.id)
            .where(Account.status == AccountStatus.needs_login)
            .order_by(Account.id)
        )
    )
    session.rollback()
    last_pass = _last_pass(redis, settings)

    reasons = []
    if stuck_sends:
        reasons.append(f"sends stuck in flight with a dead worker: {_ids(stuck_sends)}")
    if stuck_sweeps:
        reasons.append(f"sweeps stuck running with a dead worker: {_ids(stuck_sweeps)}")
    max_wait = settings.scaled(settings.max_job_wait_s)
    for name, queue in stats.items():
        if queue.oldest_waiting_at is not None:
            age = (now - queue.oldest_waiting_at).total_seconds()
            if age > max_wait:
                reasons.append(
                    f"queue {name}: oldest waiting job is {age:.0f}s old (limit {max_wait:.0f}s)"
                )
    browser_waiting = sum(stats[name].waiting for name in BROWSER_QUEUES)
    if browser_waiting and not workers:
        reasons.append(
            f"{browser_waiting} job(s) wait on {', '.join(BROWSER_QUEUES)} but no browser "
            "worker sends heartbeats"
        )
    ai = queues.QueueName.ai.value
    if stats[ai].waiting and not RQWorker.all(queue=Queue(ai, connection=redis)):
        reasons.append(f"{stats[ai].waiting} job(s) wait on {ai} but no worker listens on it")
    if needs_login:
        reasons.append(f"accounts need a login: {_ids(needs_login)}")
    stale_after = max(3 * interval_s(settings), MIN_WINDOW_S)
    if last_pass is None:
        reasons.append("the reconciler has never run against this Redis")
    elif (now - last_pass).total_seconds() > stale_after:
        age = (now - last_pass).total_seconds()
        reasons.append(f"the reconciler last ran {age:.0f}s ago")
    return FleetStatus(
        checked_at=now,
        healthy=not reasons,
        reasons=reasons,
        workers=workers,
        leases=leases,
        queues=stats,
        sends=sends,
        stuck_sends=stuck_sends,
        stuck_sweeps=stuck_sweeps,
        last_reconciled_at=last_pass,
    )
