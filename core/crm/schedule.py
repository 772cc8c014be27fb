"""Which accounts a scheduled sweep is due for, and queuing those sweeps: what the
scheduler (`fleet scheduler`, on RQ's cron) runs every tick.

An active account is due once its interval (its policy's `sweep_every_s`, or the fleet's)
has passed since its last sweep was queued, whatever became of it: a sweep that fails
waits out the interval like one that succeeded, rather than being retried every tick. An
account with a sweep queued or running is never given a second.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.enums import AccountStatus, SweepStatus
from core.fleet.dispatch import dispatch_sweep
from core.models import Account, Sweep
from core.settings import Settings

SCHEDULER_ACTOR = "scheduler"


def due_accounts(
    session: Session, settings: Settings, now: datetime, only: int | None = None
) -> list[int]:
    """Active accounts (or account `only`) due a sweep at `now`, by id; two queries
    whatever their number."""
    last = (
        select(Sweep.account_id, func.max(Sweep.created_at).label("last"))
        .group_by(Sweep.account_id)
        .subquery()
    )
    busy_stmt = select(Sweep.account_id).where(
        Sweep.status.in_((SweepStatus.queued, SweepStatus.running))
    )
    accounts = (
        select(Account, last.c.last)
        .outerjoin(last, last.c.account_id == Account.id)
        .where(Account.status == AccountStatus.active)
        .order_by(Account.id)
    )
    if only is not None:
        busy_stmt = busy_stmt.where(Sweep.account_id == only)
        accounts = accounts.where(Account.id == only)
    busy = set(session.scalars(busy_stmt))
    due = []
    for account, last_at in session.execute(accounts):
        if account.id in busy:
            continue
        every = account.policy.sweep_every_s or settings.sweep_every_s
        if last_at is None or now - last_at >= timedelta(seconds=settings.scaled(every)):
            due.append(account.id)
    return due


def queue_scheduled_sweeps(
    session: Session, redis: Redis, settings: Settings, *, now: datetime | None = None
) -> list[Sweep]:
    """Queue a sweep of every account due one, and enqueue their jobs. Each account is
    locked and checked again first, so two schedulers running at once queue one sweep."""
    now = now or utcnow()
    queued = []
    for account_id in due_accounts(session, settings, now):
        session.rollback()
        # Locked, then judged again: another scheduler may have queued it meanwhile.
        session.get(Account, account_id, with_for_update=True, populate_existing=True)
        if not due_accounts(session, settings, now, only=account_id):
            session.rollback()
            continue
        sweep = Sweep(
            account_id=account_id,
            status=SweepStatus.queued,
            requested_by=SCHEDULER_ACTOR,
            artifacts={},
        )
        session.add(sweep)
        session.flush()
        audit.record(
            session, SCHEDULER_ACTOR, "sweep.queued", "sweep", sweep.id, account_id=account_id
        )
        session.commit()
        dispatch_sweep(redis, settings, sweep)
        queued.append(sweep)
    session.rollback()
    return queued
