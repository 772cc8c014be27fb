"""Whether the fleet is healthy, and why not.

Two readings: `service_health`, what `GET /health` answers load balancers and ops (can the
control plane reach its database and Redis, what waits, which accounts are held, which AI
budgets are spent); and `fleet_status`, the fuller picture of `GET /v1/fleet`, judged from
Redis (workers' heartbeats, leases, queues, the reconciler's last pass) and the database
(sends by status, work stuck with a dead worker, accounts needing a login, campaigns
that failed to launch or are past their time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq import Worker as RQWorker
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.crm.accounts import account_problems
from core.db import Database, StoredProblem
from core.enums import AccountStatus, SendStatus
from core.fleet.heartbeats import WorkerSeen, live_workers
from core.fleet.lease import MIN_WINDOW_S, held_accounts
from core.fleet.pacing import Pacer
from core.fleet.queue_stats import QueueStats, queue_depths, queue_stats
from core.fleet.queues import QueueName
from core.models import Account, Send
from core.outbox.campaigns import CampaignTrouble, campaign_trouble
from core.recovery.abandoned import find_abandoned
from core.recovery.failures import FailingWork, failing_work
from core.recovery.marks import last_pass
from core.recovery.reconcile import interval_s
from core.review.budgets import BudgetStatus
from core.review.budgets import status as budget_status
from core.settings import Settings

BROWSER_QUEUES = (QueueName.send.value, QueueName.scrape.value)
_MAX_LISTED = 10


@dataclass(frozen=True)
class HeldAccount:
    """An account whose jobs are held until an operator acts (paused, needs a login)."""

    id: int
    name: str
    status: AccountStatus


@dataclass(frozen=True)
class ThrottledAccount:
    """An active account a platform throttled: every job for it waits out the backoff
    (`core.fleet.throttle`), the platform's pace rather than a fault."""

    id: int
    name: str
    backoff_s: float


@dataclass(frozen=True)
class ServiceHealth:
    """What the control plane can reach, and what its stores say. An unreachable store
    is named by its error's type (never its message, which may hold a URL or a
    password) and leaves its readings empty."""

    database_error: str | None
    redis_error: str | None
    queues: dict[str, int]
    rq_workers: list[str]
    held_accounts: list[HeldAccount]
    ai_budget: BudgetStatus | None
    # Accounts whose stored settings no longer hold (`core.crm.accounts.account_problems`):
    # reported, not unhealthy, since every read still answers (with defaults).
    invalid_accounts: dict[int, list[StoredProblem]]

    @property
    def healthy(self) -> bool:
        """Whether both the database and Redis answer."""
        return self.database_error is None and self.redis_error is None


def service_health(database: Database, redis: Redis, settings: Settings) -> ServiceHealth:
    """Database and Redis reachability, queue depths, live RQ workers, the accounts whose
    jobs are held for an operator, the AI budgets (`core.review.budgets.status`), and the
    accounts whose stored settings no longer hold."""
    held: list[HeldAccount] = []
    invalid: dict[int, list[StoredProblem]] = {}
    budget: BudgetStatus | None = None
    database_error = redis_error = None
    try:
        with database.session() as session:
            session.execute(text("SELECT 1"))
            held = [
                HeldAccount(id=account.id, name=account.name, status=account.status)
                for account in session.scalars(
                    select(Account).where(Account.status != AccountStatus.active)
                )
            ]
            budget = budget_status(session, settings)
            invalid = account_problems(session, settings)
    except SQLAlchemyError as exc:
        database_error = type(exc).__name__
    depths: dict[str, int] = {}
    names: list[str] = []
    try:
        redis.ping()
        depths = queue_depths(redis)
        names = sorted(worker.name for worker in RQWorker.all(connection=redis))
    except RedisError as exc:
        redis_error = type(exc).__name__
    health = ServiceHealth(database_error, redis_error, depths, names, held, budget, invalid)
    if not health.healthy:
        logger.bind(database=database_error, redis=redis_error).warning("degraded")
    return health


@dataclass(frozen=True)
class FleetStatus:
    """Everything needed to tell whether the fleet is healthy, and why not."""

    checked_at: datetime
    healthy: bool
    reasons: list[str]
    workers: list[WorkerSeen]
    leases: dict[int, str]
    queues: dict[str, QueueStats]
    sends: dict[str, int]
    stuck_sends: list[int]
    stuck_sweeps: list[int]
    failing: FailingWork
    last_reconciled_at: datetime | None
    campaigns: CampaignTrouble
    throttled: list[ThrottledAccount]


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


def _throttled(session: Session, redis: Redis, settings: Settings) -> list[ThrottledAccount]:
    active = session.execute(
        select(Account.id, Account.name)
        .where(Account.status == AccountStatus.active)
        .order_by(Account.id)
    ).all()
    backoffs = Pacer.for_settings(redis, settings).backoffs([row.id for row in active])
    return [
        ThrottledAccount(row.id, row.name, round(backoffs[row.id], 1))
        for row in active
        if row.id in backoffs
    ]


def fleet_status(
    session: Session, redis: Redis, settings: Settings, *, now: datetime | None = None
) -> FleetStatus:
    """The fleet as Redis and the database see it, with the accounts in a throttle
    backoff (reported: throttling is the platform's pace), and `healthy` false and a reason
    for each problem: sends or sweeps stuck with a dead worker, jobs failing (by error class),
    accounts whose every recent job failed, a job waiting too long, jobs waiting with
    nobody to run them, accounts that need a login, a reconciler not running.
    """
    now = now or utcnow()
    workers = live_workers(redis, settings)
    leases = held_accounts(redis, settings.redis_key_prefix)
    stats = queue_stats(redis)
    counts = {
        status: count
        for status, count in session.execute(
            select(Send.status, func.count()).group_by(Send.status)
        )
    }
    sends = {status.value: counts.get(status, 0) for status in SendStatus}
    abandoned = find_abandoned(session, redis, settings, now)
    stuck_sends = [send.id for send in abandoned.sends]
    stuck_sweeps = [sweep.id for sweep in abandoned.sweeps]
    needs_login = list(
        session.scalars(
            select(Account.id)
            .where(Account.status == AccountStatus.needs_login)
            .order_by(Account.id)
        )
    )
    failing = failing_work(session, settings, now)
    campaigns = campaign_trouble(session, settings, now)
    throttled = _throttled(session, redis, settings)
    session.rollback()
    last_ran = last_pass(redis, settings)

    reasons = []
    if stuck_sends:
        reasons.append(f"sends stuck in flight with a dead worker: {_ids(stuck_sends)}")
    if stuck_sweeps:
        reasons.append(f"sweeps stuck running with a dead worker: {_ids(stuck_sweeps)}")
    if failing.by_class:
        window = settings.scaled(settings.failure_window_s)
        classes = ", ".join(
            f"{name} ×{count}"
            for name, count in sorted(failing.by_class.items(), key=lambda item: -item[1])
        )
        reasons.append(
            f"jobs failing in the last {window:.0f}s: {classes} "
            f"(sends: {_ids(failing.sends) or 'none'}; sweeps: {_ids(failing.sweeps) or 'none'})"
        )
    for account_id, count in failing.accounts.items():
        reasons.append(f"account {account_id}: all of its {count} recent job(s) failed")
    max_wait = settings.scaled(settings.max_job_wait_s)
    for name, queue in stats.items():
        if queue.oldest_waiting_at is not None:
            age = (now - queue.oldest_waiting_at).total_seconds()
            if age > max_wait:
                reasons.append(
                    f"queue {name}: oldest waiting job is {age:.0f}s old (limit {max_wait:.0f}s)"
                )
    browser_waiting = sum(stats[name].waiting for name in BROWSER_QUEUES)
    if browser_waiting and not workers:
        reasons.append(
            f"{browser_waiting} job(s) wait on {', '.join(BROWSER_QUEUES)} but no browser "
            "worker sends heartbeats"
        )
    ai = QueueName.ai.value
    if stats[ai].waiting and not RQWorker.all(queue=Queue(ai, connection=redis)):
        reasons.append(f"{stats[ai].waiting} job(s) wait on {ai} but no worker listens on it")
    if needs_login:
        reasons.append(f"accounts need a login: {_ids(needs_login)}")
    if campaigns.failed:
        reasons.append(f"campaigns failed to launch: {_ids(campaigns.failed)} (each says why)")
    if campaigns.overdue:
        reasons.append(
            f"campaigns past their time, not launched: {_ids(campaigns.overdue)} "
            "(is `fleet scheduler` running, and a worker on the ai queue?)"
        )
    stale_after = max(3 * interval_s(settings), MIN_WINDOW_S)
    if last_ran is None:
        reasons.append("the reconciler has never run against this Redis")
    elif (now - last_ran).total_seconds() > stale_after:
        age = (now - last_ran).total_seconds()
        reasons.append(f"the reconciler last ran {age:.0f}s ago")
    return FleetStatus(
        checked_at=now,
        healthy=not reasons,
        reasons=reasons,
        workers=workers,
        leases=leases,
        queues=stats,
        sends=sends,
        stuck_sends=stuck_sends,
        stuck_sweeps=stuck_sweeps,
        failing=failing,
        last_reconciled_at=last_ran,
        campaigns=campaigns,
        throttled=throttled,
    )
