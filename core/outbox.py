"""Turning committed rows into RQ jobs.

Rows are committed first and enqueued second (rule 1: the database is the truth, Redis is
transport). When Redis refuses, the row stays as it is and the failure is logged: the
reconciler re-creates the job from the row, so the caller's request still succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError

from core import queues
from core.db import utcnow
from core.models import Send, SendPriority, Sweep
from core.settings import Settings


def _safely(what: str, row_id: int, enqueue: Callable[[], bool]) -> bool:
    try:
        return enqueue()
    except RedisError as exc:
        logger.bind(subject=f"{what}:{row_id}", error=type(exc).__name__).warning(
            "enqueue failed; the row stays for the reconciler"
        )
        return False


def dispatch_send(
    redis: Redis, settings: Settings, send: Send, now: datetime | None = None
) -> bool:
    """Enqueue the job of a queued send's current attempt, or schedule it when the attempt
    waits out a backoff (`next_attempt_at` after `now`); False if no job was added. A
    later attempt goes to the front of its account's line: its text was written first."""
    at = send.next_attempt_at
    if at is not None and at > (now or utcnow()):
        return _safely(
            "send",
            send.id,
            lambda: queues.schedule_send(
                redis, send.id, send.account_id, send.attempt, settings.job_timeout_s, at
            ),
        )
    return _safely(
        "send",
        send.id,
        lambda: queues.enqueue_send(
            redis,
            send.id,
            send.account_id,
            send.attempt,
            settings.job_timeout_s,
            # Replies and direct sends go before bulk ones (core.bulk), whatever their age.
            front=send.attempt > 1 and send.priority != SendPriority.bulk,
        ),
    )


def dispatch_sweep(redis: Redis, settings: Settings, sweep: Sweep) -> bool:
    """Enqueue the scrape job of a queued sweep; False if it was not enqueued."""
    return _safely(
        "sweep",
        sweep.id,
        lambda: queues.enqueue_sweep(
            redis, sweep.id, sweep.account_id, settings.job_timeout_s, sweep.attempt
        ),
    )


def dispatch_draft(redis: Redis, message_id: int) -> bool:
    """Enqueue drafting a reply to an inbound message; False if it was not enqueued."""
    return _safely("message", message_id, lambda: queues.enqueue_draft(redis, message_id))
