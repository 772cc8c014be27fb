"""RQ queues and the jobs the control plane puts on them.

The database row is the truth; a job is transport. Job ids are stable (derived from the
row and its attempt), so re-enqueueing a row that Redis still holds is a no-op.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Literal

from loguru import logger
from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job, JobStatus
from rq.job_lifecycle import record_job_failure
from rq.rate_limit import RateLimit, RateLimitRegistry, release_slot
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from core.db import as_utc


class QueueName(StrEnum):
    scrape = "scrape"
    send = "send"
    ai = "ai"


SCRAPE_JOB = "workers.jobs.scrape_job"
SEND_JOB = "workers.jobs.send_job"
DRAFT_JOB = "core.drafting.jobs.draft_for_message"
NUDGE_JOB = "core.drafting.jobs.nudge_account"
# Seconds one draft may take, its LLM call's retries included; a nudge pass gets this
# much per draft it may write.
DRAFT_TIMEOUT_S = 120


def account_rate_limit(account_id: int) -> RateLimit:
    """At most one browser job per platform account, fleet-wide (a lease guards it too)."""
    return RateLimit(key=f"account:{account_id}", concurrency=1)


def sweep_job_id(sweep_id: int, attempt: int = 1) -> str:
    # The first run keeps the plain id; a recovered run needs a new one, since the dead
    # run's job may linger in RQ under the old id.
    return f"sweep-{sweep_id}" if attempt == 1 else f"sweep-{sweep_id}-a{attempt}"


def send_job_id(send_id: int, attempt: int) -> str:
    return f"send-{send_id}-a{attempt}"


_BROWSER_JOB_ID = re.compile(r"^(send|sweep)-(\d+)(?:-a(\d+))?$")


@dataclass(frozen=True)
class BrowserJobRef:
    """What a send or sweep job id names: the row and the attempt the job was queued for."""

    kind: Literal["send", "sweep"]
    row_id: int
    attempt: int


def parse_browser_job_id(job_id: str) -> BrowserJobRef | None:
    """The row and attempt behind a `send_job_id` or `sweep_job_id`; None for any other."""
    match = _BROWSER_JOB_ID.match(job_id)
    if match is None:
        return None
    kind = "send" if match[1] == "send" else "sweep"
    return BrowserJobRef(kind, int(match[2]), int(match[3] or 1))


def draft_job_id(message_id: int) -> str:
    return f"draft-{message_id}"


def nudge_job_id(account_id: int) -> str:
    # One per account, not per request: a second ask while a pass waits or runs finds it.
    return f"nudges-{account_id}"


def _enqueue(
    redis: Redis,
    queue: QueueName,
    func: str,
    args: tuple,
    job_id: str,
    timeout: int,
    rate_limit: RateLimit | None = None,
    at_front: bool = False,
) -> bool:
    """Enqueue once per job id; return False when a job with that id already exists.

    RQ refuses `unique=True` for rate-limited jobs, so those are checked with `Job.exists`
    first. Only the control plane enqueues, one row at a time, so the gap between the
    check and the enqueue is not raced in practice; the send state machine still makes a
    duplicate job harmless (its claim is refused).
    """
    unique = rate_limit is None
    if not unique and Job.exists(job_id, connection=redis):
        logger.bind(job_id=job_id).debug("job already enqueued")
        return False
    try:
        Queue(queue.value, connection=redis).enqueue_call(
            func,
            args=args,
            job_id=job_id,
            timeout=timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
            unique=unique,
            rate_limit=rate_limit,
            at_front=at_front,
        )
    except DuplicateJobError:
        logger.bind(job_id=job_id).debug("job already enqueued")
        return False
    logger.bind(queue=queue.value, job_id=job_id).info("job enqueued")
    return True


def enqueue_sweep(
    redis: Redis, sweep_id: int, account_id: int, timeout: int, attempt: int = 1
) -> bool:
    """Queue the scrape job of a sweep row's current run."""
    return _enqueue(
        redis,
        QueueName.scrape,
        SCRAPE_JOB,
        (sweep_id, account_id),
        sweep_job_id(sweep_id, attempt),
        timeout,
        account_rate_limit(account_id),
    )


class LinePlace(IntEnum):
    """Where a send job waits in its account's line: before every job of a lower place,
    first come first served within a place."""

    # Direct and bulk sends (core.bulk keeps bulk ones behind the others by itself).
    back = 0
    # A reply to a fan goes before waiting direct sends.
    reply = 1
    # A send coming back (a retry, a dead worker's) was written before all of them.
    front = 2


# RQ lets waiting jobs through lowest score first, scoring each by when it was enqueued;
# a place lowers the score by this many seconds per step, far more than any job waits.
_PLACE_STEP_S = 1e9

# Lowers a waiting job's score by ARGV[2] (a job already let through is left alone).
# KEYS: the rate limit's waiting set. ARGV: job id, seconds to move it forward.
_MOVE_UP = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score then
    redis.call('ZADD', KEYS[1], tonumber(score) - tonumber(ARGV[2]), ARGV[1])
end
return score and 1 or 0
"""


def _take_place(redis: Redis, job_id: str, account_id: int, place: LinePlace) -> None:
    """Move a job waiting for its account's slot to its place in that account's line."""
    if place == LinePlace.back:
        return
    registry = RateLimitRegistry(account_rate_limit(account_id).key, connection=redis)
    redis.eval(_MOVE_UP, 1, registry.rate_limited_key, job_id, place * _PLACE_STEP_S)


def enqueue_send(
    redis: Redis,
    send_id: int,
    account_id: int,
    attempt: int,
    timeout: int,
    *,
    place: LinePlace = LinePlace.back,
) -> bool:
    """Queue the send job of a send row's current attempt, at `place` in its account's
    line (one job per account runs at a time, so the line is the order the account's
    sends go out in)."""
    job_id = send_job_id(send_id, attempt)
    added = _enqueue(
        redis,
        QueueName.send,
        SEND_JOB,
        (send_id, account_id, attempt),
        job_id,
        timeout,
        account_rate_limit(account_id),
        at_front=place == LinePlace.front,
    )
    if added:
        _take_place(redis, job_id, account_id, place)
    return added


def enqueue_draft(redis: Redis, message_id: int) -> bool:
    """Queue drafting a reply to an inbound message row."""
    return _enqueue(
        redis, QueueName.ai, DRAFT_JOB, (message_id,), draft_job_id(message_id), DRAFT_TIMEOUT_S
    )


def enqueue_nudges(redis: Redis, account_id: int, operator: str, limit: int) -> bool:
    """Queue an operator's nudge pass over one account: at most `limit` drafts, whose LLM
    calls count against `operator`'s hourly requests. False when a pass over the account
    is already waiting or running; a finished one's job is replaced."""
    job_id = nudge_job_id(account_id)
    discard_job(redis, job_id)
    return _enqueue(
        redis,
        QueueName.ai,
        NUDGE_JOB,
        (account_id, operator, limit),
        job_id,
        DRAFT_TIMEOUT_S * limit,
    )


def queue_depths(redis: Redis) -> dict[str, int]:
    """Jobs waiting per queue."""
    return {q.value: Queue(q.value, connection=redis).count for q in QueueName}


def job_exists(redis: Redis, job_id: str) -> bool:
    """Whether Redis still holds a job with this id."""
    return Job.exists(job_id, connection=redis)


# RQ states in which a job will still run (or is running): its row needs no new job.
LIVE_JOB_STATES = frozenset(
    {
        JobStatus.CREATED,
        JobStatus.QUEUED,
        JobStatus.RATE_LIMITED,
        JobStatus.SCHEDULED,
        JobStatus.DEFERRED,
        JobStatus.READY_TO_ENQUEUE,
        JobStatus.STARTED,
    }
)


def schedule_send(
    redis: Redis, send_id: int, account_id: int, attempt: int, timeout: int, at: datetime
) -> bool:
    """Hold the job of a send's next attempt in RQ's scheduled registry until `at`; False
    when a job with that id already exists. No RQ scheduler runs in the fleet: the
    reconciler promotes it once the row says it is due (`promote_scheduled`)."""
    job_id = send_job_id(send_id, attempt)
    if Job.exists(job_id, connection=redis):
        logger.bind(job_id=job_id).debug("job already enqueued")
        return False
    Queue(QueueName.send.value, connection=redis).enqueue_at(
        at,
        SEND_JOB,
        args=(send_id, account_id, attempt),
        job_id=job_id,
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        rate_limit=account_rate_limit(account_id),
    )
    logger.bind(queue=QueueName.send.value, job_id=job_id, at=at.isoformat()).info("job scheduled")
    return True


def job_status(redis: Redis, job_id: str) -> JobStatus | None:
    """The RQ status of a job, or None when Redis does not hold it."""
    raw = redis.hget(Job.key_for(job_id), "status")
    if raw is None:
        return None
    return JobStatus(raw.decode() if isinstance(raw, bytes) else raw)


def promote_scheduled(redis: Redis, job_id: str, account_id: int, place: LinePlace) -> bool:
    """Move a scheduled job (a send coming back after a backoff) onto its queue now,
    through its rate limit, at `place` in its account's line. False when the job is not a
    scheduled one."""
    if job_status(redis, job_id) != JobStatus.SCHEDULED:
        return False
    job = Job.fetch(job_id, connection=redis)
    queue = Queue(job.origin, connection=redis)
    # Removed first: a crash in between leaves a scheduled job outside the registry, which
    # the next pass finds by its status and promotes again.
    ScheduledJobRegistry(queue=queue).remove(job)
    queue.enqueue_job(job, at_front=place == LinePlace.front)
    _take_place(redis, job_id, account_id, place)
    logger.bind(queue=job.origin, job_id=job_id).info("scheduled job promoted")
    return True


def discard_job(redis: Redis, job_id: str) -> None:
    """Delete a job that will never run again (finished, failed, stopped, cancelled), so
    its id can be enqueued afresh. A live job is left alone."""
    status = job_status(redis, job_id)
    if status is None or status in LIVE_JOB_STATES:
        return
    Job.fetch(job_id, connection=redis).delete()
    logger.bind(job_id=job_id, status=status.value).info("dead job discarded")


def abandon_started(redis: Redis, job_id: str, reason: str) -> bool:
    """Mark a started job whose worker is known dead as failed, and free its account's rate
    limit slot. RQ would do the same only once the job's execution heartbeat runs out
    (its timeout plus a minute for a non-forking worker), holding the account that long."""
    if job_status(redis, job_id) != JobStatus.STARTED:
        return False
    job = Job.fetch(job_id, connection=redis)
    try:
        with redis.pipeline() as pipe:
            StartedJobRegistry(job.origin, connection=redis).remove_executions(job, pipeline=pipe)
            record_job_failure(job, reason, pipe)
            pipe.execute()
    except ValueError:
        # RQ lost the job's execution between the status read and here: its worker ended
        # the job meanwhile, so it was not dead, and the slot is already its to free.
        logger.bind(job_id=job_id).info("job ended before it could be abandoned")
        return False
    release_slot(job)
    logger.bind(job_id=job_id).warning("abandoned job marked failed")
    return True


@dataclass(frozen=True)
class StartedJob:
    """Which worker started a job, and when."""

    worker_name: str
    started_at: datetime


def started_job(redis: Redis, job_id: str) -> StartedJob | None:
    """The worker running a job RQ marks started, or None when the job is not started."""
    if job_status(redis, job_id) != JobStatus.STARTED:
        return None
    job = Job.fetch(job_id, connection=redis)
    if not job.worker_name or job.started_at is None:
        return None
    return StartedJob(worker_name=job.worker_name, started_at=as_utc(job.started_at))


def started_job_ids(redis: Redis, queue: QueueName) -> list[str]:
    """Ids of the jobs RQ marks started on `queue`, running or left by a dead worker."""
    return StartedJobRegistry(queue.value, connection=redis).get_job_ids(cleanup=False)


def drop_scheduled(redis: Redis, job_id: str) -> bool:
    """Delete a job still waiting in the scheduled registry (its row no longer wants it)."""
    if job_status(redis, job_id) != JobStatus.SCHEDULED:
        return False
    Job.fetch(job_id, connection=redis).delete()
    return True


@dataclass(frozen=True)
class QueueStats:
    """What one queue holds. `queued` jobs wait for a worker, `rate_limited` ones for their
    account's slot, `scheduled` ones (retries) for their time; `started` ones run."""

    queued: int
    rate_limited: int
    scheduled: int
    started: int
    oldest_waiting_at: datetime | None

    @property
    def waiting(self) -> int:
        """Jobs that could run now but have not started: queued or rate-limited."""
        return self.queued + self.rate_limited


def queue_stats(redis: Redis) -> dict[str, QueueStats]:
    """Per queue: jobs by state and when the oldest waiting job was created."""
    queues = {q.value: Queue(q.value, connection=redis) for q in QueueName}
    waiting_ids = {name: queue.job_ids for name, queue in queues.items()}
    held: list[str] = []
    for registry in RateLimitRegistry.all(redis):
        held.extend(registry.get_rate_limited_job_ids())
    rate_limited = dict.fromkeys(queues, 0)
    oldest: dict[str, datetime] = {}
    all_ids = [job_id for ids in waiting_ids.values() for job_id in ids] + held
    held_ids = set(held)
    # One round trip per job would make this O(n) requests; fetch_many pipelines them.
    for job in Job.fetch_many(all_ids, connection=redis):
        if job is None or job.origin not in queues:
            continue
        if job.id in held_ids:
            rate_limited[job.origin] += 1
        created = as_utc(job.created_at)
        if job.origin not in oldest or created < oldest[job.origin]:
            oldest[job.origin] = created
    return {
        name: QueueStats(
            queued=len(waiting_ids[name]),
            rate_limited=rate_limited[name],
            scheduled=ScheduledJobRegistry(queue=queue).count,
            started=StartedJobRegistry(queue=queue).count,
            oldest_waiting_at=oldest.get(name),
        )
        for name, queue in queues.items()
    }
