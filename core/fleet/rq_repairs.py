"""Reading and repairing jobs RQ already holds, where the fleet must reach past RQ's
public API: a job's status, promoting a scheduled retry through its account's rate limit,
discarding a dead job so its id can be used again, and abandoning a job whose worker died
without RQ noticing (RQ would hold the account's one slot until the job timed out).

Each reach into RQ's internals (registries, the rate limit's waiting set, the execution
records) lives here, so an RQ upgrade has one module to check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loguru import logger
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus
from rq.job_lifecycle import record_job_failure
from rq.rate_limit import release_slot
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.results import Result

from core.clock import as_utc
from core.fleet.queues import LinePlace, QueueName, take_place

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


def job_exists(redis: Redis, job_id: str) -> bool:
    """Whether Redis still holds a job with this id."""
    return Job.exists(job_id, connection=redis)


def job_status(redis: Redis, job_id: str) -> JobStatus | None:
    """The RQ status of a job, or None when Redis does not hold it."""
    raw = redis.hget(Job.key_for(job_id), "status")
    if raw is None:
        return None
    return JobStatus(raw.decode() if isinstance(raw, bytes) else raw)


@dataclass(frozen=True)
class JobFailure:
    """A job that raised in a live worker: which worker, and the exception's last line."""

    worker_name: str
    error: str


def failure_in_worker(redis: Redis, job_id: str) -> JobFailure | None:
    """How a failed job failed, when it raised in a worker; None when it did not fail, or
    was failed for its worker (RQ's cleanup of a dead worker's job, `abandon_started`),
    which records no worker name."""
    if job_status(redis, job_id) != JobStatus.FAILED:
        return None
    result = Job.fetch(job_id, connection=redis).latest_result()
    if result is None or result.type != Result.Type.FAILED or not result.worker_name:
        return None
    lines = [line for line in (result.exc_string or "").splitlines() if line.strip()]
    return JobFailure(result.worker_name, (lines[-1] if lines else "failed")[:500])


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
    take_place(redis, job_id, account_id, place)
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
