"""The scheduler's rule: an active account is due a sweep once its interval has passed
since its last sweep was queued, whatever became of that sweep, and never while one is
queued or running."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.crm.schedule import due_accounts, queue_scheduled_sweeps
from core.db import Database
from core.enums import SweepStatus
from core.fleet.queues import sweep_job_id
from core.fleet.rq_repairs import job_exists
from core.models import Sweep
from core.settings import Settings
from tests.helpers.api import make_account


def _queue(db: Database, redis: Redis, settings: Settings, now: datetime) -> list[tuple[int, int]]:
    with db.session() as session:
        return [
            (sweep.id, sweep.account_id)
            for sweep in queue_scheduled_sweeps(session, redis, settings, now=now)
        ]


def _end(db: Database, sweep_id: int, status: SweepStatus) -> None:
    with db.session() as session:
        session.get_one(Sweep, sweep_id).status = status
        session.commit()


def _every(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.scaled(settings.sweep_every_s))


def test_an_account_never_swept_is_due_and_its_sweep_is_queued_once(
    client: TestClient, admin: dict[str, str], db: Database, redis: Redis, settings: Settings
) -> None:
    account = make_account(client, admin)["id"]
    now = utcnow()
    [(sweep_id, for_account)] = _queue(db, redis, settings, now)
    assert for_account == account
    assert job_exists(redis, sweep_job_id(sweep_id))
    # Queued, then running: never a second at once, however late it gets.
    assert _queue(db, redis, settings, now + 10 * _every(settings)) == []
    _end(db, sweep_id, SweepStatus.running)
    assert _queue(db, redis, settings, now + 10 * _every(settings)) == []


def test_the_next_sweep_waits_out_the_interval_after_success_or_failure(
    client: TestClient, admin: dict[str, str], db: Database, redis: Redis, settings: Settings
) -> None:
    make_account(client, admin)
    now = utcnow()
    for ending in (SweepStatus.done, SweepStatus.failed):
        [(sweep_id, _)] = _queue(db, redis, settings, now)
        _end(db, sweep_id, ending)
        with db.session() as session:
            queued_at = session.get_one(Sweep, sweep_id).created_at
        assert _queue(db, redis, settings, queued_at + _every(settings) / 2) == []
        now = queued_at + _every(settings)


def test_an_accounts_own_interval_and_status_decide(
    client: TestClient, admin: dict[str, str], db: Database, settings: Settings
) -> None:
    hourly = make_account(client, admin, "Hourly")["id"]
    client.patch(
        f"/v1/accounts/{hourly}", headers=admin, json={"policy": {"sweep_every_s": 3600}}
    ).raise_for_status()
    paused = make_account(client, admin, "Paused")["id"]
    client.patch(
        f"/v1/accounts/{paused}", headers=admin, json={"status": "paused"}
    ).raise_for_status()
    with db.session() as session:
        session.add(Sweep(account_id=hourly, status=SweepStatus.done, requested_by="t"))
        session.commit()
        last = session.query(Sweep).one().created_at
        # The fleet's default (15 minutes) has passed, the account's own hour has not.
        assert settings.sweep_every_s < 3600
        assert due_accounts(session, settings, last + _every(settings)) == []
        assert due_accounts(session, settings, last + timedelta(seconds=settings.scaled(3600))) == [
            hourly
        ]
