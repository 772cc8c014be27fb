"""Sweeps: one scrape of an account's inbox, queued by an operator or cron."""

from __future__ import annotations

from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.crm.accounts import account_access, account_profile, pause_if_throttled_too_often
from core.enums import AccountStatus, Direction, SweepStatus
from core.errors import InvalidState, get_or_raise
from core.fleet.dispatch import dispatch_sweep
from core.fleet.lease import held_by
from core.fleet.protocol import SweepPlan, SweepResult, SweepStart, ThrottleReport
from core.models import Account, Conversation, Message, Sweep
from core.paging import Page, SortKey, paginate
from core.settings import Settings


def _queue_sweep(session: Session, account: Account, actor: str) -> Sweep:
    """The account's queued sweep, or a new one: a sweep still waiting covers the request."""
    waiting = session.scalar(
        select(Sweep)
        .where(Sweep.account_id == account.id, Sweep.status == SweepStatus.queued)
        .order_by(Sweep.id)
        .limit(1)
    )
    if waiting is not None:
        return waiting
    sweep = Sweep(
        account_id=account.id, status=SweepStatus.queued, requested_by=actor, artifacts={}
    )
    session.add(sweep)
    session.flush()
    audit.record(session, actor, "sweep.queued", "sweep", sweep.id, account_id=account.id)
    return sweep


def trigger_sweeps(
    session: Session, redis: Redis, settings: Settings, *, account_id: int | None, actor: str
) -> list[Sweep]:
    """Queue a sweep of one account, or of every active account when `account_id` is None,
    and enqueue their jobs after commit. A paused account is refused."""
    if account_id is not None:
        account = get_or_raise(session, Account, account_id)
        if account.status == AccountStatus.paused:
            raise InvalidState(f"account {account_id} is paused; resume it to sweep")
        accounts = [account]
    else:
        accounts = list(
            session.scalars(
                select(Account).where(Account.status == AccountStatus.active).order_by(Account.id)
            )
        )
    sweeps = [_queue_sweep(session, account, actor) for account in accounts]
    session.commit()
    # Re-enqueueing a waiting sweep is a no-op while Redis holds its job, and restores a
    # job that Redis lost.
    for sweep in sweeps:
        dispatch_sweep(redis, settings, sweep)
    return sweeps


def list_sweeps(
    session: Session,
    *,
    account_id: int | None,
    status: SweepStatus | None,
    limit: int,
    cursor: str | None,
) -> Page[Sweep]:
    """Sweeps, newest first."""
    stmt = select(Sweep)
    if account_id is not None:
        stmt = stmt.where(Sweep.account_id == account_id)
    if status is not None:
        stmt = stmt.where(Sweep.status == status)
    return paginate(session, stmt, [SortKey(Sweep.id, descending=True)], limit=limit, cursor=cursor)


def get_sweep(session: Session, sweep_id: int) -> Sweep:
    """One sweep, or `NotFound`."""
    return get_or_raise(session, Sweep, sweep_id)


def start_sweep(
    session: Session, settings: Settings, sweep_id: int, start: SweepStart, *, key_name: str
) -> SweepPlan:
    """Mark a sweep running for a worker and return its plan: the newest message known per
    conversation, and the conversations to read again for unpaid offers (`unpaid_offers`).
    A running sweep may be started again (its first worker died); scraping twice is
    harmless because ingest dedupes."""
    sweep = get_or_raise(session, Sweep, sweep_id, for_update=True)
    if sweep.status not in (SweepStatus.queued, SweepStatus.running):
        raise InvalidState(f"sweep {sweep_id} is {sweep.status.value}; it cannot be started")
    if sweep.account.status != AccountStatus.active:
        # Held, not failed: the row stays queued and runs once the account is active again.
        raise InvalidState(
            f"account {sweep.account_id} is {sweep.account.status.value}; its sweeps are held"
        )
    try:
        revenue = account_profile(sweep.account, settings.profiles_dir).revenue
    except InvalidState as exc:
        # No run could go better until an operator fixes the account: fail this one now,
        # with the reason, rather than let each worker in turn take it.
        fail_sweep(session, sweep, error=str(exc), actor=start.worker_id, key=key_name)
        session.commit()
        raise
    previous = sweep.status
    sweep.status = SweepStatus.running
    sweep.worker_id = start.worker_id
    sweep.started_at = utcnow()
    audit.record(
        session,
        start.worker_id,
        "sweep.started",
        "sweep",
        sweep.id,
        key=key_name,
        previous_status=previous.value,
    )
    session.commit()
    known = session.execute(
        select(Conversation.platform_conversation_id, func.max(Message.sent_at))
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.account_id == sweep.account_id)
        .group_by(Conversation.platform_conversation_id)
    ).all()
    offers = unpaid_offers(
        session, sweep.account_id, timedelta(days=revenue.recheck_unpaid_days), utcnow()
    )
    return SweepPlan(
        sweep_id=sweep.id,
        account=account_access(sweep.account),
        known_last_message_at={conversation_id: at for conversation_id, at in known},
        recheck=sorted(set(offers.values())) if revenue.source != "purchases" else [],
        unpaid=offers if revenue.source != "recheck" else {},
    )


def unpaid_offers(
    session: Session, account_id: int, window: timedelta, now: datetime
) -> dict[str, str]:
    """The account's PPV messages we offered within `window` before `now` that the fan has
    not paid, by platform message id, with their conversations' platform ids: a purchase
    changes that old message, not the inbox, so only reading the thread again (or the
    platform's purchases page) shows it."""
    if window <= timedelta(0):
        return {}
    rows = session.execute(
        select(Message.platform_message_id, Conversation.platform_conversation_id)
        .select_from(Conversation)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(
            Conversation.account_id == account_id,
            Message.direction == Direction.outbound,
            Message.ppv_price_cents.is_not(None),
            or_(Message.ppv_paid.is_(False), Message.ppv_paid.is_(None)),
            Message.sent_at >= now - window,
        )
        .order_by(Message.platform_message_id)
    )
    return {message_id: conversation_id for message_id, conversation_id in rows}


def defer_throttled_sweep(
    session: Session,
    redis: Redis,
    settings: Settings,
    sweep_id: int,
    report: ThrottleReport,
    *,
    key_name: str,
) -> Sweep:
    """Put a sweep the platform throttled back in the queue until the worker's backoff
    ends, as a new run (a fresh job id): throttling is the platform's pace, not the
    sweep's failure. What the run already pushed is kept (ingest dedupes). After the
    profile's `pause_after` signals in its window the account is paused until an operator
    resumes it, and its sweeps and sends are held."""
    sweep = get_or_raise(session, Sweep, sweep_id, for_update=True)
    if sweep.status != SweepStatus.running or sweep.worker_id != report.worker_id:
        raise InvalidState(f"sweep {sweep_id} is not run by worker {report.worker_id!r}")
    audit.record(
        session,
        report.worker_id,
        "sweep.throttled",
        "sweep",
        sweep.id,
        key=key_name,
        attempt=sweep.attempt,
        signal=report.signal,
        backoff_s=round(report.backoff_s, 3),
        signals_in_window=report.signals_in_window,
    )
    paused = pause_if_throttled_too_often(
        session, settings, sweep.account, report.signals_in_window
    )
    sweep.status = SweepStatus.queued
    sweep.worker_id = None
    sweep.started_at = None
    sweep.attempt += 1
    sweep.next_attempt_at = utcnow() + timedelta(seconds=report.backoff_s)
    session.commit()
    if not paused:
        dispatch_sweep(redis, settings, sweep)
    return sweep


def finish_sweep(
    session: Session,
    redis: Redis,
    settings: Settings,
    sweep_id: int,
    result: SweepResult,
    *,
    key_name: str,
) -> Sweep:
    """Record a running sweep's outcome; a finished one also stamps the account's last
    sweep time. The audit entry says whether the worker still held the account's lease
    (`lease_held`): it should, as a job reports before it lets the account go."""
    if result.status not in (SweepStatus.done, SweepStatus.failed):
        raise InvalidState(f"result status must be done or failed, not {result.status}")
    sweep = get_or_raise(session, Sweep, sweep_id, for_update=True)
    if sweep.status != SweepStatus.running:
        raise InvalidState(f"sweep {sweep_id} is {sweep.status.value}, not running")
    now = utcnow()
    sweep.status = result.status
    sweep.finished_at = now
    sweep.conversations_read = result.conversations_read
    sweep.error = result.error
    sweep.artifacts = {**sweep.artifacts, **result.artifacts}
    if result.status == SweepStatus.done:
        sweep.account.last_sweep_at = now
    audit.record(
        session,
        sweep.worker_id or key_name,
        f"sweep.{result.status.value}",
        "sweep",
        sweep.id,
        key=key_name,
        reported_messages=result.messages_found,
        lease_held=held_by(redis, settings.redis_key_prefix, sweep.account_id, sweep.worker_id),
    )
    session.commit()
    return sweep


def fail_sweep(session: Session, sweep: Sweep, *, error: str, actor: str, **detail: object) -> None:
    """End a sweep as failed with `error`, whatever state it waited in (the caller commits).
    A failed sweep is not retried: the next one, queued by an operator or the scheduler,
    reads what this one missed."""
    sweep.status = SweepStatus.failed
    sweep.finished_at = utcnow()
    sweep.error = error
    audit.record(session, actor, "sweep.failed", "sweep", sweep.id, attempt=sweep.attempt, **detail)
