"""RQ queues and the jobs the control plane puts on them.

The database row is the truth; a job is transport. Job ids are stable (derived from the
row and its attempt), so re-enqueueing a row that Redis still holds is a no-op.
"""

from __future__ import annotations

from enum import StrEnum

from loguru import logger
from redis import Redis
from rq import Queue
from rq.exceptions import DuplicateJobError
from rq.job import Job
from rq.rate_limit import RateLimit


class QueueName(StrEnum):
    scrape = "scrape"
    send = "send"
    ai = "ai"


SCRAPE_JOB = "workers.jobs.scrape_job"
SEND_JOB = "workers.jobs.send_job"
DRAFT_JOB = "core.drafting.jobs.draft_for_message"


def account_rate_limit(account_id: int) -> RateLimit:
    """At most one browser job per platform account, fleet-wide (a lease guards it too)."""
    return RateLimit(key=f"account:{account_id}", concurrency=1)


def sweep_job_id(sweep_id: int) -> str:
    return f"sweep-{sweep_id}"


def send_job_id(send_id: int, attempt: int) -> str:
    return f"send-{send_id}-a{attempt}"


def draft_job_id(message_id: int) -> str:
    return f"draft-{message_id}"


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


def enqueue_sweep(redis: Redis, sweep_id: int, account_id: int, timeout: int) -> bool:
    """Queue the scrape job of a sweep row."""
    return _enqueue(
        redis,
        QueueName.scrape,
        SCRAPE_JOB,
        (sweep_id, account_id),
        sweep_job_id(sweep_id),
        timeout,
        account_rate_limit(account_id),
    )


def enqueue_send(redis: Redis, send_id: int, account_id: int, attempt: int, timeout: int) -> bool:
    """Queue the send job of a send row's current attempt."""
    return _enqueue(
        redis,
        QueueName.send,
        SEND_JOB,
        (send_id, account_id),
        send_job_id(send_id, attempt),
        timeout,
        account_rate_limit(account_id),
    )


def enqueue_draft(redis: Redis, message_id: int) -> bool:
    """Queue drafting a reply to an inbound message row."""
    return _enqueue(redis, QueueName.ai, DRAFT_JOB, (message_id,), draft_job_id(message_id), 120)


def queue_depths(redis: Redis) -> dict[str, int]:
    """Jobs waiting per queue."""
    return {q.value: Queue(q.value, connection=redis).count for q in QueueName}


def job_exists(redis: Redis, job_id: str) -> bool:
    """Whether Redis still holds a job with this id."""
    return Job.exists(job_id, connection=redis)
