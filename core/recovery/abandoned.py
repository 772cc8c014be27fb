"""Work a worker left behind, and taking it back: without cost when the worker died, as a
failure when a live worker let go of it.

A worker can die anywhere: SIGKILL, a lost host, an out-of-memory kill. What it held then
looks alive to RQ for minutes, so the control plane judges death itself, from the account
lease the worker must keep renewing and from its heartbeat:

- a send in flight or a sweep running whose account lease is no longer held by its worker,
  for at least one lease TTL, goes back to `queued` under a new attempt (`recover_send`,
  `recover_sweep`). A recovered send goes ahead of its account's other waiting sends, and
  its next claim reads the thread before typing (`verify`), so it is never typed twice;
- a queued row whose job a dead worker had started but not claimed is recovered the same
  way, or its job would hold the account's RQ slot until the job timed out;
- a started job whose worker died after the row moved on (delivered, say) is marked failed
  so RQ frees the account's slot (`release_moved_on`);
- work a live worker let go of without reporting (`fail_unreported_send`,
  `fail_unreported_sweep`), or whose job raised before it took the row
  (`fail_unclaimed_send`, `fail_unstarted_sweep`), fails: a send uses up an attempt and a
  sweep ends, with the error recorded, so a fault that is not a crash is bounded and shows.

The reconciler (`core.recovery.reconcile`) runs these checks every pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.crm.sweeps import fail_sweep
from core.db import end_read
from core.enums import FINISHED, IN_FLIGHT, SendStatus, SweepStatus
from core.errors import get_or_raise
from core.fleet import queues, rq_repairs
from core.fleet.dispatch import dispatch_send, dispatch_sweep
from core.fleet.heartbeats import heartbeat_ttl_s, live_workers
from core.fleet.lease import held_accounts, lease_ttl_s
from core.models import Send, Sweep
from core.outbox.sends import back_to_queue, fail_attempt
from core.recovery.marks import redis_known_since
from core.settings import Settings

RECONCILER_ACTOR = "reconciler"


def _last_touched(send: Send) -> datetime:
    stamps = [at for at in (send.claimed_at, send.typing_at, send.submitted_at) if at]
    return max(stamps) if stamps else send.updated_at


@dataclass(frozen=True)
class Abandoned:
    """Sends and sweeps whose worker no longer holds their account's lease: those of a dead
    worker (`sends`, `sweeps`), taken back without cost, and those a live worker let go of
    without reporting (`unreported_sends`, `unreported_sweeps`), which failed."""

    sends: list[Send]
    sweeps: list[Sweep]
    unreported_sends: list[Send] = field(default_factory=list)
    unreported_sweeps: list[Sweep] = field(default_factory=list)


def find_abandoned(
    session: Session, redis: Redis, settings: Settings, now: datetime, *, mark: bool = False
) -> Abandoned:
    """In-flight sends and running sweeps whose worker has not held the account's lease for
    at least a lease TTL since their last move. The wait matters: a worker claims first and
    takes the lease after, waiting up to a TTL for it, and a live worker whose lease Redis
    lost needs up to a third of a TTL to notice. With a dead worker the lease expires at
    most a TTL after its last renewal, so recovery still comes within a TTL of expiry.

    Only a worker with neither a lease (on any account) nor a current heartbeat is dead. A
    worker whose heartbeat still names the row's job is left to it (it may be waiting for
    the lease); one that beats while doing something else ended the job without a
    report."""
    grace = timedelta(seconds=lease_ttl_s(settings))
    if now - redis_known_since(redis, settings, now, mark=mark) < grace:
        return Abandoned(sends=[], sweeps=[])
    held = held_accounts(redis, settings.redis_key_prefix)
    doing = {
        seen.heartbeat.worker_id: seen.heartbeat.current_job
        for seen in live_workers(redis, settings)
    }
    # Alive by a lease on another account but with no heartbeat to say what it does: its
    # work is left alone until one or the other tells.
    alive = set(doing) | set(held.values())
    found = Abandoned(sends=[], sweeps=[])
    sends = session.scalars(select(Send).where(Send.status.in_(IN_FLIGHT)).order_by(Send.id))
    for send in sends:
        if held.get(send.account_id) == send.worker_id or now - _last_touched(send) < grace:
            continue
        job_id = queues.send_job_id(send.id, send.attempt)
        if send.worker_id not in alive:
            found.sends.append(send)
        elif send.worker_id in doing and doing[send.worker_id] != job_id:
            found.unreported_sends.append(send)
    sweeps = session.scalars(
        select(Sweep).where(Sweep.status == SweepStatus.running).order_by(Sweep.id)
    )
    for sweep in sweeps:
        if (
            held.get(sweep.account_id) == sweep.worker_id
            or now - (sweep.started_at or sweep.created_at) < grace
        ):
            continue
        job_id = queues.sweep_job_id(sweep.id, sweep.attempt)
        if sweep.worker_id not in alive:
            found.sweeps.append(sweep)
        elif sweep.worker_id in doing and doing[sweep.worker_id] != job_id:
            found.unreported_sweeps.append(sweep)
    return found


# However small the time scale, a worker gets this many real seconds from taking a job to
# claiming its row before it is judged dead: a loaded control plane can take seconds to
# answer the claim and the heartbeat both.
STALL_FLOOR_S = 10.0


def stall_grace_s(settings: Settings) -> float:
    """Real seconds a worker without a heartbeat or a lease may hold a started job whose
    row it has not claimed, or whose row has moved on, before the job is taken back."""
    return max(lease_ttl_s(settings), heartbeat_ttl_s(settings), STALL_FLOOR_S)


def stalled_by(
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
    started = rq_repairs.started_job(redis, job_id)
    if started is None or started.worker_name in alive:
        return None
    grace = timedelta(seconds=stall_grace_s(settings))
    if now - max(started.started_at, since or started.started_at) < grace:
        return None
    return started.worker_name


def alive_workers(redis: Redis, settings: Settings) -> set[str]:
    """Workers that show they are alive: a current heartbeat or a held lease."""
    beating = {seen.heartbeat.worker_id for seen in live_workers(redis, settings)}
    return beating | set(held_accounts(redis, settings.redis_key_prefix).values())


# Where a send or sweep row stands once its job has nothing left to do.
_FINISHED = {
    "send": set(FINISHED),
    "sweep": {SweepStatus.done, SweepStatus.failed},
}


def _last_change(row: Send | Sweep) -> datetime:
    """When the row last moved, as far as its columns tell."""
    if isinstance(row, Send):
        return row.updated_at
    return row.finished_at or row.started_at or row.created_at


def release_moved_on(
    session: Session, redis: Redis, settings: Settings, now: datetime, alive: set[str]
) -> list[str]:
    """Free the account slot of a started job whose worker died after the job's row moved
    on: the send delivered, failed or cancelled, the sweep finished, or either taken back
    as a later attempt. No row is left to recover, so no other path frees the slot, and RQ
    holds it until the job's execution runs out (its timeout plus a minute), stalling the
    account's every job. A row still queued or in flight at the job's attempt is left to
    the paths that recover it. Returns the ids of the jobs freed."""
    released: list[str] = []
    for queue in (queues.QueueName.send, queues.QueueName.scrape):
        for job_id in rq_repairs.started_job_ids(redis, queue):
            ref = queues.parse_browser_job_id(job_id)
            if ref is None:
                continue
            row = session.get(Send if ref.kind == "send" else Sweep, ref.row_id)
            moved_on = (
                row is None or row.attempt != ref.attempt or row.status in _FINISHED[ref.kind]
            )
            since = None if row is None else _last_change(row)
            end_read(session)
            if not moved_on:
                continue
            dead = stalled_by(redis, settings, job_id, now, alive, since)
            reason = f"worker {dead} died after its {ref.kind} moved on"
            if dead is not None and rq_repairs.abandon_started(redis, job_id, reason):
                released.append(job_id)
    return released


def recover_send(
    session: Session,
    redis: Redis,
    settings: Settings,
    send_id: int,
    *,
    dead_worker: str,
    reason: str,
    now: datetime | None = None,
    stalled_attempt: int | None = None,
) -> Send | None:
    """Put a send whose worker died back in the queue for a new attempt, ahead of the
    account's other waiting sends. A send the dead worker had claimed is claimed with
    `verify` next. `stalled_attempt` recovers instead a send still queued at that attempt
    whose job the dead worker had started but not yet claimed. Returns None, changing
    nothing, when the send moved on meanwhile. The dead worker's attempt does not spend the
    send's retry budget: a crash is not the send's failure."""
    send = get_or_raise(session, Send, send_id, for_update=True)
    if stalled_attempt is None:
        owned = send.status in IN_FLIGHT and send.worker_id == dead_worker
    else:
        owned = send.status == SendStatus.queued and send.attempt == stalled_attempt
    if not owned:
        session.rollback()
        return None
    previous = send.status
    dead_job = queues.send_job_id(send.id, send.attempt)
    if stalled_attempt is None:
        send.verify_since = send.typing_at or send.verify_since or send.claimed_at
    back_to_queue(send)
    audit.record(
        session,
        RECONCILER_ACTOR,
        "send.recovered",
        "send",
        send.id,
        previous_status=previous.value,
        dead_worker=dead_worker,
        attempt=send.attempt,
        reason=reason,
    )
    session.commit()
    # The new job is queued first, while the dead job still holds the account's slot, so
    # that freeing the slot hands it to this send rather than to a later one.
    dispatch_send(redis, settings, send, now)
    try:
        rq_repairs.abandon_started(redis, dead_job, f"worker {dead_worker} died: {reason}")
    except RedisError as exc:
        logger.bind(send_id=send.id, error=type(exc).__name__).warning(
            "could not release the dead attempt's job"
        )
    return send


def recover_sweep(
    session: Session,
    redis: Redis,
    settings: Settings,
    sweep_id: int,
    *,
    dead_worker: str,
    stalled_attempt: int | None = None,
) -> Sweep | None:
    """Queue again a sweep whose worker died while it ran, under a new job id.
    `stalled_attempt` recovers instead a sweep still queued at that attempt whose job the
    dead worker had started but not yet marked running. Returns None, changing nothing,
    when the sweep moved on meanwhile. Ingest dedupes, so what the dead run already pushed
    is not stored twice."""
    sweep = get_or_raise(session, Sweep, sweep_id, for_update=True)
    if stalled_attempt is None:
        owned = sweep.status == SweepStatus.running and sweep.worker_id == dead_worker
    else:
        owned = sweep.status == SweepStatus.queued and sweep.attempt == stalled_attempt
    if not owned:
        session.rollback()
        return None
    dead_job = queues.sweep_job_id(sweep.id, sweep.attempt)
    sweep.attempt += 1
    sweep.status = SweepStatus.queued
    sweep.worker_id = None
    sweep.started_at = None
    audit.record(
        session,
        RECONCILER_ACTOR,
        "sweep.recovered",
        "sweep",
        sweep.id,
        dead_worker=dead_worker,
        attempt=sweep.attempt,
    )
    session.commit()
    try:
        rq_repairs.abandon_started(redis, dead_job, f"worker {dead_worker} died")
    except RedisError as exc:
        logger.bind(sweep_id=sweep.id, error=type(exc).__name__).warning(
            "could not release the dead run's job"
        )
    dispatch_sweep(redis, settings, sweep)
    return sweep


def _fail_send(
    session: Session,
    redis: Redis,
    settings: Settings,
    send_id: int,
    *,
    still: Callable[[Send], bool],
    error: Callable[[Send], str],
    worker: str,
) -> Send | None:
    """Count the send's attempt as failed, with the `error` it gets, if it is `still` as
    it was seen; None, changing nothing, when it moved on meanwhile."""
    send = get_or_raise(session, Send, send_id, for_update=True)
    if not still(send):
        session.rollback()
        return None
    fail_attempt(
        session,
        redis,
        settings,
        send,
        error=error(send),
        retryable=True,
        actor=RECONCILER_ACTOR,
        worker=worker,
    )
    return send


def fail_unreported_send(
    session: Session, redis: Redis, settings: Settings, send_id: int, *, worker: str
) -> Send | None:
    """Count as failed the attempt of a send that live `worker` claimed and then let go of
    without a report (a bug, or a failure before its job could say so), so that such a
    send uses up its attempts and ends among the dead letters rather than coming back
    forever. The next attempt verifies first when this one may have typed. Returns None,
    changing nothing, when the send moved on meanwhile."""
    return _fail_send(
        session,
        redis,
        settings,
        send_id,
        still=lambda send: send.status in IN_FLIGHT and send.worker_id == worker,
        error=lambda send: f"worker {worker} ended attempt {send.attempt} without reporting",
        worker=worker,
    )


def _fail_sweep(
    session: Session, sweep_id: int, *, still: Callable[[Sweep], bool], error: str, worker: str
) -> Sweep | None:
    """End the sweep as failed with `error` if it is `still` as it was seen; None, changing
    nothing, when it moved on meanwhile."""
    sweep = get_or_raise(session, Sweep, sweep_id, for_update=True)
    if not still(sweep):
        session.rollback()
        return None
    fail_sweep(session, sweep, error=error, actor=RECONCILER_ACTOR, worker=worker)
    session.commit()
    return sweep


def fail_unreported_sweep(session: Session, sweep_id: int, *, worker: str) -> Sweep | None:
    """End as failed a sweep that live `worker` started and then let go of without a
    report. Returns None, changing nothing, when the sweep moved on meanwhile."""
    return _fail_sweep(
        session,
        sweep_id,
        still=lambda sweep: sweep.status == SweepStatus.running and sweep.worker_id == worker,
        error=f"worker {worker} ended the run without reporting",
        worker=worker,
    )


def fail_unclaimed_send(
    session: Session,
    redis: Redis,
    settings: Settings,
    send_id: int,
    *,
    attempt: int,
    failure: rq_repairs.JobFailure,
) -> Send | None:
    """Count as failed an attempt whose job raised in a live worker before it could claim
    the send (the control plane refused or failed the claim, say): the job is over, and
    queuing it again as if nothing happened would retry it forever. Returns None, changing
    nothing, when the send moved on meanwhile."""
    return _fail_send(
        session,
        redis,
        settings,
        send_id,
        still=lambda send: send.status == SendStatus.queued and send.attempt == attempt,
        error=lambda _send: f"job failed in worker {failure.worker_name}: {failure.error}",
        worker=failure.worker_name,
    )


def fail_unstarted_sweep(
    session: Session, sweep_id: int, *, attempt: int, failure: rq_repairs.JobFailure
) -> Sweep | None:
    """End as failed a sweep whose job raised in a live worker before the sweep started.
    Returns None, changing nothing, when the sweep moved on meanwhile."""
    return _fail_sweep(
        session,
        sweep_id,
        still=lambda sweep: sweep.status == SweepStatus.queued and sweep.attempt == attempt,
        error=f"job failed in worker {failure.worker_name}: {failure.error}",
        worker=failure.worker_name,
    )
