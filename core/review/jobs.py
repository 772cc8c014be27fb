"""The jobs RQ runs on the `ai` queue, beside the database: a reply to one message
(`core.fleet.queues.DRAFT_JOB`), an operator's nudge pass over one account
(`core.fleet.queues.NUDGE_JOB`), and the scheduler's ticks (`fleet scheduler`): the
sweeps that are due, and the nudge pass over every account."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from loguru import logger
from redis import Redis
from rq import get_current_job
from sqlalchemy.orm import Session

from core.crm.schedule import SCHEDULER_ACTOR, queue_scheduled_sweeps
from core.db import Database
from core.drafting.providers import get_drafter
from core.errors import InvalidState, NotFound
from core.outbox.campaigns import launch_due_campaigns
from core.review.nudges import run_nudges
from core.review.writing import create_draft_for_message
from core.settings import Settings, get_settings


@contextmanager
def _job_stores() -> Iterator[tuple[Settings, Redis, Session]]:
    """The process settings, the Redis that queued the running job (outside RQ, the
    settings'), and a database session, closed with the job."""
    settings = get_settings()
    job = get_current_job()
    if job is not None:
        redis = job.connection
    elif settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
    else:
        raise RuntimeError("a drafting job outside RQ needs FLEET_REDIS_URL")
    # One engine per run: RQ forks a process per job, so a cached engine would not survive.
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            yield settings, redis, session
    finally:
        database.dispose()


def draft_for_message(message_id: int) -> int | None:
    """Draft a reply to inbound message `message_id`; return the pending draft's id, or None
    when the message no longer needs one. Safe to run twice for one message."""
    with _job_stores() as (settings, redis, session):
        return create_draft_for_message(session, redis, settings, get_drafter(settings), message_id)


def nudge_account(account_id: int, operator: str, limit: int) -> list[int]:
    """Run the nudge pass `operator` asked for over account `account_id` (at most `limit`
    drafts, each LLM call counted against `operator`'s hourly requests); return the ids of
    the drafts written. An account removed, paused or switched off nudges since it was
    queued gets no pass. Safe to run twice: a silence is nudged once."""
    with _job_stores() as (settings, redis, session):
        try:
            drafts = run_nudges(
                session,
                redis,
                settings,
                get_drafter(settings),
                account_id=account_id,
                actor=operator,
                limit=limit,
                operator=operator,
            )
        except (InvalidState, NotFound) as exc:
            logger.bind(account_id=account_id, reason=str(exc)).warning("nudge pass skipped")
            return []
        return [draft.id for draft in drafts]


def scheduled_sweeps() -> list[int]:
    """The scheduler's tick: queue a sweep of every account due one; return their ids."""
    with _job_stores() as (settings, redis, session):
        return [sweep.id for sweep in queue_scheduled_sweeps(session, redis, settings)]


def scheduled_campaigns() -> int:
    """The scheduler's tick: launch every campaign whose time has come; how many."""
    with _job_stores() as (settings, redis, session):
        return launch_due_campaigns(session, redis, settings, actor=SCHEDULER_ACTOR)


def scheduled_nudges() -> list[int]:
    """The scheduler's nudge pass over every active account with nudges on; return the
    ids of the drafts written."""
    with _job_stores() as (settings, redis, session):
        drafts = run_nudges(
            session, redis, settings, get_drafter(settings), account_id=None, actor=SCHEDULER_ACTOR
        )
        return [draft.id for draft in drafts]
