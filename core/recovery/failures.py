"""Work that is failing now, for `GET /v1/fleet`: what a crash-free fault looks like from
outside. A fault that is not a crash (a profile the worker lacks, a selector that matches
nothing, a Chromium that will not start) fails attempts rather than killing workers, so it
shows here, counted by error class and by account, or nowhere.

Failing means, within the failure window: a send whose last attempt failed (retrying, or
among the dead letters), and a failed sweep not followed by a successful one. An account
is failing when it has such work and nothing of it succeeded in the window."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.enums import SendStatus, SweepStatus
from core.models import Send, Sweep
from core.settings import Settings

# "TimeoutError: ..." as a worker reports it (`JobFailed` wraps the exception's class).
_CLASS = re.compile(r"(?:job failed in worker \S+: )?((?:[a-z_]\w*\.)*[A-Z]\w*)(?::|$)")
UNREPORTED = "NoReport"


def error_class(error: str | None) -> str:
    """The class of a job's recorded error: the exception it names first, `NoReport` for
    work a live worker let go of without a report, else `other`."""
    if not error:
        return "other"
    if "without reporting" in error:
        return UNREPORTED
    found = _CLASS.match(error)
    return found.group(1).rsplit(".", 1)[-1] if found else "other"


@dataclass(frozen=True)
class FailingWork:
    """Sends and sweeps failing within the window, their error classes, and the accounts
    with failures and no success."""

    sends: list[int] = field(default_factory=list)
    sweeps: list[int] = field(default_factory=list)
    by_class: dict[str, int] = field(default_factory=dict)
    accounts: dict[int, int] = field(default_factory=dict)


def failing_work(session: Session, settings: Settings, now: datetime) -> FailingWork:
    """What fails now (see the module doc), read in four grouped queries."""
    since = now - timedelta(seconds=settings.scaled(settings.failure_window_s))
    sends = session.execute(
        select(Send.id, Send.account_id, Send.last_error)
        .where(
            Send.failed_attempts > 0,
            Send.status.in_((SendStatus.queued, SendStatus.failed)),
            Send.updated_at >= since,
        )
        .order_by(Send.id)
    ).all()
    last_done: dict[int, datetime] = {
        account_id: finished
        for account_id, finished in session.execute(
            select(Sweep.account_id, func.max(Sweep.finished_at))
            .where(Sweep.status == SweepStatus.done, Sweep.finished_at >= since)
            .group_by(Sweep.account_id)
        )
    }
    sweeps = [
        (sweep_id, account_id, error)
        for sweep_id, account_id, error, finished in session.execute(
            select(Sweep.id, Sweep.account_id, Sweep.error, Sweep.finished_at)
            .where(Sweep.status == SweepStatus.failed, Sweep.finished_at >= since)
            .order_by(Sweep.id)
        )
        if account_id not in last_done or finished > last_done[account_id]
    ]
    delivered = set(
        session.scalars(
            select(Send.account_id)
            .where(Send.status == SendStatus.delivered, Send.delivered_at >= since)
            .distinct()
        )
    )
    failures = Counter(account_id for _, account_id, _ in [*sends, *sweeps])
    return FailingWork(
        sends=[send_id for send_id, _, _ in sends],
        sweeps=[sweep_id for sweep_id, _, _ in sweeps],
        by_class=dict(Counter(error_class(error) for _, _, error in [*sends, *sweeps])),
        accounts={
            account_id: count
            for account_id, count in sorted(failures.items())
            if account_id not in delivered and account_id not in last_done
        },
    )
