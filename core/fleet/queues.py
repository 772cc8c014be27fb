"""RQ queues and the jobs the control plane puts on them: names, job ids, and enqueueing
in each account's line.

The database row is the truth; a job is transport. Job ids are stable (derived from the
row and its attempt), so re-enqueueing a row that Redis still holds is a no-op. Reading
and repairing jobs already in RQ is `core.fleet.rq_repairs`; counting them,
`core.fleet.queue_stats`.
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
from rq.job import Job
from rq.rate_limit import RateLimit, RateLimitRegistry


class QueueName(StrEnum):
    scrape = "scrape"
    send = "send"
    ai = "ai"


SCRAPE_JOB = "workers.jobs.scrape_job"
SEND_JOB = "workers.jobs.send_job"
DRAFT_JOB = "core.review.jobs.draft_for_message"
NUDGE_JOB = "core.review.jobs.nudge_account"
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


def take_place(redis: Redis, job_id: str, account_id: int, place: LinePlace) -> None:
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
        take_place(redis, job_id, account_id, place)
    return added


def enqueue_draft(redis: Redis, message_id: int) -> bool:
    """Queue drafting a reply to an inbound message row."""
    return _enqueue(
        redis, QueueName.ai, DRAFT_JOB, (message_id,), draft_job_id(message_id), DRAFT_TIMEOUT_S
    )


def enqueue_nudges(redis: Redis, account_id: int, operator: str, limit: int) -> bool:
    """Queue an operator's nudge pass over one account: at most `limit` drafts, whose LLM
    calls count against `operator`'s hourly requests. False when a pass over the account
    is already waiting or running. A finished pass's job must be discarded first
    (`core.fleet.rq_repairs.discard_job`), or its id blocks the new one."""
    job_id = nudge_job_id(account_id)
    return _enqueue(
        redis,
        QueueName.ai,
        NUDGE_JOB,
        (account_id, operator, limit),
        job_id,
        DRAFT_TIMEOUT_S * limit,
    )


def _schedule(
    redis: Redis,
    queue: QueueName,
    func: str,
    args: tuple,
    job_id: str,
    account_id: int,
    timeout: int,
    at: datetime,
) -> bool:
    """Hold a browser job in RQ's scheduled registry until `at`; False when a job with that
    id already exists. No RQ scheduler runs in the fleet: the reconciler promotes it once
    its row says it is due (`core.fleet.rq_repairs.promote_scheduled`)."""
    if Job.exists(job_id, connection=redis):
        logger.bind(job_id=job_id).debug("job already enqueued")
        return False
    Queue(queue.value, connection=redis).enqueue_at(
        at,
        func,
        args=args,
        job_id=job_id,
        job_timeout=timeout,
        result_ttl=3600,
        failure_ttl=7 * 24 * 3600,
        rate_limit=account_rate_limit(account_id),
    )
    logger.bind(queue=queue.value, job_id=job_id, at=at.isoformat()).info("job scheduled")
    return True


def schedule_send(
    redis: Redis, send_id: int, account_id: int, attempt: int, timeout: int, at: datetime
) -> bool:
    """Hold the job of a send's next attempt until `at` (its retry's backoff)."""
    return _schedule(
        redis,
        QueueName.send,
        SEND_JOB,
        (send_id, account_id, attempt),
        send_job_id(send_id, attempt),
        account_id,
        timeout,
        at,
    )


def schedule_sweep(
    redis: Redis, sweep_id: int, account_id: int, attempt: int, timeout: int, at: datetime
) -> bool:
    """Hold the scrape job of a sweep's next run until `at` (the platform's backoff)."""
    return _schedule(
        redis,
        QueueName.scrape,
        SCRAPE_JOB,
        (sweep_id, account_id),
        sweep_job_id(sweep_id, attempt),
        account_id,
        timeout,
        at,
    )
