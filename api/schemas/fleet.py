"""Fleet status, workers, and the dead-letter requeue body."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import RequestBody, RowId, examples
from core.fleet.heartbeats import WorkerSeen
from core.fleet.queue_stats import QueueStats
from core.recovery.health import FleetStatus


class SendRequeue(RequestBody):
    """Failed sends to queue again, each with a fresh set of attempts."""

    model_config = examples({"ids": [7]})

    ids: list[RowId] = Field(
        min_length=1,
        max_length=200,
        description="Ids of failed sends.",
        json_schema_extra={"uniqueItems": True},
    )

    @field_validator("ids")
    @classmethod
    def _unique(cls, ids: list[int]) -> list[int]:
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"ids must not repeat; repeated: {repeated}")
        return ids


class WorkerOut(BaseModel):
    """A browser worker, from its latest heartbeat, and the accounts it leases."""

    worker_id: str
    host: str
    pid: int
    current_job: str | None
    account_id: int | None
    jobs_done: int
    rss_bytes: int
    chromium_rss_bytes: int
    last_seen_at: datetime
    leased_accounts: list[int]


class LeaseOut(BaseModel):
    """An account's lease and who holds it; `holder_alive` is false when the holder sends
    no heartbeat (it may be dying, or not report heartbeats at all)."""

    account_id: int
    holder: str
    holder_alive: bool


class ThrottledOut(BaseModel):
    """An active account a platform throttled: every job for it waits `backoff_s` more
    (real seconds), fleet-wide."""

    account_id: int
    name: str
    backoff_s: float


class WorkersOut(BaseModel):
    workers: list[WorkerOut]
    leases: list[LeaseOut]

    @classmethod
    def of(cls, seen: list[WorkerSeen], leases: dict[int, str]) -> WorkersOut:
        """Workers with the accounts each one leases, and every lease with its holder."""
        alive = {worker.heartbeat.worker_id for worker in seen}
        workers = [
            WorkerOut(
                **worker.heartbeat.model_dump(),
                last_seen_at=worker.seen_at,
                leased_accounts=sorted(
                    account
                    for account, holder in leases.items()
                    if holder == worker.heartbeat.worker_id
                ),
            )
            for worker in seen
        ]
        lease_rows = [
            LeaseOut(account_id=account, holder=holder, holder_alive=holder in alive)
            for account, holder in sorted(leases.items())
        ]
        return cls(workers=workers, leases=lease_rows)


class QueueOut(BaseModel):
    queued: int = Field(description="On the queue, waiting for a worker.")
    rate_limited: int = Field(description="Waiting for their account's one slot.")
    waiting: int = Field(description="queued + rate_limited.")
    scheduled: int = Field(description="Retries waiting out their backoff.")
    started: int
    oldest_waiting_age_s: float | None = Field(
        description="Age of the oldest waiting job, in seconds; null when none waits."
    )

    @classmethod
    def of(cls, stats: QueueStats, checked_at: datetime) -> QueueOut:
        """One queue's figures, its oldest wait measured to `checked_at`."""
        oldest = stats.oldest_waiting_at
        return cls(
            queued=stats.queued,
            rate_limited=stats.rate_limited,
            waiting=stats.waiting,
            scheduled=stats.scheduled,
            started=stats.started,
            oldest_waiting_age_s=(
                None if oldest is None else round((checked_at - oldest).total_seconds(), 3)
            ),
        )


class FleetOut(BaseModel):
    healthy: bool
    reasons: list[str] = Field(description="Why the fleet is not healthy; empty when it is.")
    checked_at: datetime
    workers: list[WorkerOut]
    leases: list[LeaseOut]
    queues: dict[str, QueueOut]
    sends: dict[str, int] = Field(description="Sends per status.")
    stuck_sends: list[int]
    stuck_sweeps: list[int]
    failing_sends: list[int] = Field(
        description="Sends whose last attempt failed within the failure window."
    )
    failing_sweeps: list[int] = Field(
        description="Sweeps that failed within the failure window, not followed by a "
        "successful one."
    )
    failures_by_class: dict[str, int] = Field(
        description="Those failures by error class (the exception named first, NoReport, other)."
    )
    failing_accounts: dict[int, int] = Field(
        description="Accounts whose every job in the window failed, with how many failed."
    )
    failed_campaigns: list[int] = Field(
        description="Campaigns that could not launch within the failure window; each "
        "campaign's `failure` says why."
    )
    overdue_campaigns: list[int] = Field(
        description="Campaigns still scheduled well past their time: no scheduler running?"
    )
    throttled: list[ThrottledOut] = Field(
        description="Active accounts in a throttle backoff, the platform's pace: reported, "
        "not unhealthy (an account throttled too often is paused, and held)."
    )
    last_reconciled_at: datetime | None

    @classmethod
    def of(cls, status: FleetStatus) -> FleetOut:
        """The fleet status as its response body."""
        listing = WorkersOut.of(status.workers, status.leases)
        return cls(
            healthy=status.healthy,
            reasons=status.reasons,
            checked_at=status.checked_at,
            workers=listing.workers,
            leases=listing.leases,
            queues={
                name: QueueOut.of(stats, status.checked_at) for name, stats in status.queues.items()
            },
            sends=status.sends,
            stuck_sends=status.stuck_sends,
            stuck_sweeps=status.stuck_sweeps,
            failing_sends=status.failing.sends,
            failing_sweeps=status.failing.sweeps,
            failures_by_class=status.failing.by_class,
            failing_accounts=status.failing.accounts,
            failed_campaigns=status.campaigns.failed,
            overdue_campaigns=status.campaigns.overdue,
            throttled=[
                ThrottledOut(account_id=t.id, name=t.name, backoff_s=t.backoff_s)
                for t in status.throttled
            ],
            last_reconciled_at=status.last_reconciled_at,
        )
