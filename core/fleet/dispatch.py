"""Turning committed rows into RQ jobs.

Rows are committed first and enqueued second (rule 1: the database is the truth, Redis is
transport). When Redis refuses, the row stays as it is and the failure is logged: the
reconciler re-creates the job from the row, so the caller's request still succeeded.

What is dispatched is described by what the job needs of its row (`QueuedRow`,
`QueuedSend`), not by the tables: the fleet package is transport and never loads the
database layer, which browser workers must not import.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError

from core.clock import utcnow
from core.enums import SendPriority
from core.fleet import queues
from core.settings import Settings


class QueuedRow(Protocol):
    """What any browser job is made from: a row at its attempt, of one account, and the end
    of the backoff it waits out (None: none). A sweep row (`core.models.Sweep`) is no more
    than this."""

    @property
    def id(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def attempt(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...


class QueuedSend(QueuedRow, Protocol):
    """What a send job is made from: a send row (`core.models.Send`) waiting for a worker,
    with its place in the line."""

    @property
    def priority(self) -> SendPriority: ...


def _safely(what: str, row_id: int, enqueue: Callable[[], bool]) -> bool:
    try:
        return enqueue()
    except RedisError as exc:
        logger.bind(subject=f"{what}:{row_id}", error=type(exc).__name__).warning(
            "enqueue failed; the row stays for the reconciler"
        )
        return False


def line_place(send: QueuedSend) -> queues.LinePlace:
    """Where a send waits in its account's line. A later attempt of a reply or direct send
    goes first: its text was written before the others, and a fan must not get a later
    message first. A reply goes before direct sends. Bulk sends wait at the back whatever
    their attempt: `core.outbox.bulk` lets one out only when nothing else waits."""
    if send.priority == SendPriority.bulk:
        return queues.LinePlace.back
    if send.attempt > 1:
        return queues.LinePlace.front
    if send.priority == SendPriority.reply:
        return queues.LinePlace.reply
    return queues.LinePlace.back


def dispatch_send(
    redis: Redis, settings: Settings, send: QueuedSend, now: datetime | None = None
) -> bool:
    """Enqueue the job of a queued send's current attempt, or schedule it when the attempt
    waits out a backoff (`next_attempt_at` after `now`); False if no job was added."""
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
            place=line_place(send),
        ),
    )


def dispatch_sweep(
    redis: Redis, settings: Settings, sweep: QueuedRow, now: datetime | None = None
) -> bool:
    """Enqueue the scrape job of a queued sweep, or schedule it when the run waits out a
    backoff (`next_attempt_at` after `now`); False if no job was added."""
    at = sweep.next_attempt_at
    if at is not None and at > (now or utcnow()):
        return _safely(
            "sweep",
            sweep.id,
            lambda: queues.schedule_sweep(
                redis, sweep.id, sweep.account_id, sweep.attempt, settings.job_timeout_s, at
            ),
        )
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
