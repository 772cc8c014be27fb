"""The drafting job RQ runs on the `ai` queue (`core.queues.DRAFT_JOB`)."""

from __future__ import annotations

from redis import Redis
from rq import get_current_job

from core.db import Database
from core.drafting.providers import get_drafter
from core.drafts import create_draft_for_message
from core.settings import get_settings


def draft_for_message(message_id: int) -> int | None:
    """Draft a reply to inbound message `message_id`; return the pending draft's id, or None
    when the message no longer needs one. Safe to run twice for one message."""
    settings = get_settings()
    job = get_current_job()
    # The job's own connection is the Redis that queued it; outside RQ, use the settings'.
    if job is not None:
        redis = job.connection
    elif settings.redis_url:
        redis = Redis.from_url(settings.redis_url)
    else:
        raise RuntimeError("draft_for_message outside RQ needs FLEET_REDIS_URL")
    # One engine per run: RQ forks a process per job, so a cached engine would not survive.
    database = Database(settings.database_url)
    try:
        with database.session() as session:
            return create_draft_for_message(
                session, redis, settings, get_drafter(settings), message_id
            )
    finally:
        database.dispose()
