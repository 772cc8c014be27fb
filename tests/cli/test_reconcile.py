"""`fleet reconcile` as ops run it."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis import Redis

from core.db import Database
from core.enums import SweepStatus
from core.fleet.queues import sweep_job_id
from core.models import Account, Sweep
from tests.helpers.cli import fleet, said
from tests.helpers.stores import TEST_KEY_PREFIX


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_reconcile_once_restores_a_lost_job(
    database_url: str, redis_url: str, redis: Redis, db: Database
) -> None:
    with db.session() as session:
        account = Account(name="A", username="a", password="p")
        session.add(account)
        session.flush()
        session.add(Sweep(account_id=account.id, status=SweepStatus.queued, requested_by="cron"))
        session.commit()
    env = {
        "FLEET_DATABASE_URL": database_url,
        "FLEET_REDIS_URL": redis_url,
        "FLEET_REDIS_KEY_PREFIX": TEST_KEY_PREFIX,
    }
    ran = fleet("reconcile", "--once", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "sweeps_enqueued=1" in ran.stdout
    assert redis.exists(f"rq:job:{sweep_job_id(1)}")
    again = fleet("reconcile", "--once", env=env)
    assert "sweeps_enqueued=0" in again.stdout


def test_reconcile_refuses_bad_options(tmp_path: Path, redis_url: str) -> None:
    env = {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}"}
    no_redis = fleet("reconcile", "--once", env={**env, "FLEET_REDIS_URL": ""})
    assert no_redis.returncode == 1
    assert "FLEET_REDIS_URL is not set: `fleet reconcile` works on the fleet's Redis" in said(
        no_redis.stderr
    )
    bad = fleet("reconcile", "--interval", "0", env={**env, "FLEET_REDIS_URL": redis_url})
    assert bad.returncode == 2
    assert "must be positive" in said(bad.stderr)
