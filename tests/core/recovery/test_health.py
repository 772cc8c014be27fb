"""Heartbeats reach the control plane; `/v1/fleet` alone tells whether the fleet is
healthy, and `/v1/workers` who drives which account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.enums import AccountStatus
from core.fleet.heartbeats import heartbeat_ttl_s
from core.fleet.lease import MIN_WINDOW_S, lease_ttl_s
from core.fleet.pacing import Pacer
from core.models import Account
from core.recovery.health import FleetStatus, fleet_status
from core.settings import Settings
from tests.helpers.api import (
    BEAT,
    beat,
    claim,
    make_account,
    make_conversation,
    make_send,
    progress,
    queue_sweep,
    result,
    start_sweep,
    sweep_result,
)
from tests.helpers.rows import Reconcile, hold_lease, keep_heartbeats
from tests.helpers.seeding import Line, seed


def test_heartbeats_and_leases_show_in_workers(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    settings: Settings,
) -> None:
    before = utcnow()
    beat(client, worker)
    key = f"{settings.redis_key_prefix}heartbeat:worker:{BEAT['worker_id']}"
    # Kept in Redis for a short while only: a dead worker's heartbeat disappears by itself.
    assert 0 < redis.pttl(key) <= heartbeat_ttl_s(settings) * 1000
    beat(
        client,
        worker,
        worker_id="host-b:7:def456",
        host="host-b",
        pid=7,
        current_job=None,
        account_id=None,
        jobs_done=0,
    )
    keep_heartbeats(redis, settings)
    hold_lease(redis, settings, 1, BEAT["worker_id"])
    hold_lease(redis, settings, 2, "host-c:9:gone00")

    body = client.get("/v1/workers", headers=operator).json()
    first, second = body["workers"]
    assert before <= datetime.fromisoformat(first.pop("last_seen_at")) <= utcnow()
    assert first == {**BEAT, "leased_accounts": [1]}
    assert (second["worker_id"], second["leased_accounts"]) == ("host-b:7:def456", [])
    assert body["leases"] == [
        {"account_id": 1, "holder": BEAT["worker_id"], "holder_alive": True},
        {"account_id": 2, "holder": "host-c:9:gone00", "holder_alive": False},
    ]


@pytest.fixture
def busy_fleet(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
) -> dict[str, Any]:
    """`GET /v1/fleet` with a fan's message in (its draft job waits on `ai`) and a send to
    the fan claimed (its job still waits on `send`), no worker of either kind running and
    no reconciler pass yet."""
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")
    send_id = make_send(client, operator, conversation["id"])["id"]
    assert claim(client, worker, send_id, "w1").status_code == 200
    return client.get("/v1/fleet", headers=operator).json()


def test_fleet_reports_workers_leases_queues_sends_and_stuck_work(
    busy_fleet: dict[str, Any],
) -> None:
    assert set(busy_fleet) == {
        "healthy",
        "reasons",
        "checked_at",
        "workers",
        "leases",
        "queues",
        "sends",
        "stuck_sends",
        "stuck_sweeps",
        "failing_sends",
        "failing_sweeps",
        "failures_by_class",
        "failing_accounts",
        "failed_campaigns",
        "overdue_campaigns",
        "throttled",
        "last_reconciled_at",
    }


def test_fleet_counts_sends_by_status(busy_fleet: dict[str, Any]) -> None:
    assert busy_fleet["sends"] == {
        "queued": 0,
        "claimed": 1,
        "typing": 0,
        "submitted": 0,
        "delivered": 0,
        "failed": 0,
        "cancelled": 0,
    }


def test_fleet_reports_the_jobs_waiting_on_each_queue_and_the_oldest_ones_age(
    busy_fleet: dict[str, Any],
) -> None:
    send_queue = busy_fleet["queues"]["send"]
    assert set(send_queue) == {
        "queued",
        "rate_limited",
        "waiting",
        "scheduled",
        "started",
        "oldest_waiting_age_s",
    }
    assert (send_queue["queued"], send_queue["waiting"]) == (1, 1)
    assert send_queue["oldest_waiting_age_s"] >= 0
    assert busy_fleet["queues"]["ai"]["waiting"] == 1


def test_browser_jobs_waiting_with_no_browser_worker_make_it_unhealthy(
    busy_fleet: dict[str, Any],
) -> None:
    assert busy_fleet["healthy"] is False
    assert (
        "1 job(s) wait on send, scrape but no browser worker sends heartbeats"
        in busy_fleet["reasons"]
    )


def test_ai_jobs_waiting_with_no_worker_on_the_queue_make_it_unhealthy(
    busy_fleet: dict[str, Any],
) -> None:
    assert busy_fleet["healthy"] is False
    assert "1 job(s) wait on ai but no worker listens on it" in busy_fleet["reasons"]


def test_a_reconciler_that_never_ran_makes_an_idle_fleet_unhealthy(
    client: TestClient, operator: dict[str, str]
) -> None:
    fleet = client.get("/v1/fleet", headers=operator).json()
    assert (fleet["healthy"], fleet["reasons"]) == (
        False,
        ["the reconciler has never run against this Redis"],
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_idle_fleet_with_a_recent_pass_is_healthy(
    client: TestClient, operator: dict[str, str], run_pass: Reconcile
) -> None:
    # Stamped one stale window ahead: at the tests' time scale a pass is stale after 2 real
    # seconds, which a loaded machine can spend between the pass and the request.
    run_pass(utcnow() + timedelta(seconds=MIN_WINDOW_S))
    fleet = client.get("/v1/fleet", headers=operator).json()
    assert (fleet["healthy"], fleet["reasons"]) == (True, [])
    assert fleet["last_reconciled_at"] is not None
    assert all(q["waiting"] == 0 for q in fleet["queues"].values())


def _status_at(db: Database, redis: Redis, settings: Settings, now: datetime) -> FleetStatus:
    """`fleet_status` as of `now`."""
    with db.session() as session:
        return fleet_status(session, redis, settings, now=now)


def test_a_send_stuck_with_a_dead_worker_makes_it_unhealthy(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")
    stuck = make_send(client, operator, conversation["id"])["id"]
    claim(client, worker, stuck, "w-dead")
    progress(client, worker, stuck, "w-dead", "typing")
    # Another worker is alive: the send is judged by its own worker's lease, not by
    # whether the fleet has a live worker.
    beat(client, worker)
    # A send is judged stuck only a lease TTL after a reconciler first saw this Redis.
    start = utcnow()
    run_pass(start)
    status = _status_at(db, redis, settings, start + timedelta(seconds=lease_ttl_s(settings) + 1))
    assert status.healthy is False
    assert status.stuck_sends == [stuck]
    assert f"sends stuck in flight with a dead worker: {stuck}" in status.reasons


def test_a_job_waiting_past_the_limit_makes_it_unhealthy(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")
    make_send(client, operator, conversation["id"], "waits")
    later = utcnow() + timedelta(seconds=settings.scaled(settings.max_job_wait_s) + 1)
    status = _status_at(db, redis, settings, later)
    assert status.healthy is False
    assert any(r.startswith("queue send: oldest waiting job is") for r in status.reasons)


def test_a_reconciler_that_stopped_running_makes_an_idle_fleet_unhealthy(
    db: Database, redis: Redis, settings: Settings, run_pass: Reconcile
) -> None:
    start = utcnow()
    run_pass(start)
    # An hour on is past any staleness limit (three pass intervals, 30 s at most).
    later = start + timedelta(hours=1)
    status = _status_at(db, redis, settings, later)
    age = (later - start).total_seconds()
    assert (status.healthy, status.reasons) == (False, [f"the reconciler last ran {age:.0f}s ago"])


def _sweep(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], account_id: int
) -> int:
    sweep_id = queue_sweep(client, operator, account_id)
    assert start_sweep(client, worker, sweep_id, "w1").status_code == 200
    return sweep_id


def _finish_sweep(
    client: TestClient, worker: dict[str, str], sweep_id: int, status: str, error: str | None
) -> None:
    finished = sweep_result(client, worker, sweep_id, status=status, error=error)
    assert finished.status_code == 200, finished.text


def _failed_send(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    conversation_id: int,
    error: str,
) -> int:
    send_id = int(make_send(client, operator, conversation_id)["id"])
    claim(client, worker, send_id, "w1")
    reported = result(
        client, worker, send_id, worker_id="w1", status="failed", error=error, retryable=True
    )
    assert reported.status_code == 200, reported.text
    return send_id


def test_failing_jobs_make_it_unhealthy_named_by_error_class_and_account(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
) -> None:
    account = make_account(client, admin)["id"]
    conversation = make_conversation(client, worker, admin, account, "c")["id"]
    sends = [
        _failed_send(client, operator, worker, conversation, f"TimeoutError: page {n}")
        for n in range(2)
    ]
    sweep = _sweep(client, operator, worker, account)
    _finish_sweep(client, worker, sweep, "failed", "ProfileError: no such profile")

    status = _status_at(db, redis, settings, utcnow())

    assert status.healthy is False
    assert status.failing.by_class == {"TimeoutError": 2, "ProfileError": 1}
    assert (status.failing.sends, status.failing.sweeps) == (sends, [sweep])
    window = settings.scaled(settings.failure_window_s)
    assert (
        f"jobs failing in the last {window:.0f}s: TimeoutError ×2, ProfileError ×1 "
        f"(sends: {sends[0]}, {sends[1]}; sweeps: {sweep})"
    ) in status.reasons
    assert f"account {account}: all of its 3 recent job(s) failed" in status.reasons


def test_an_account_with_a_success_is_not_failing_though_its_failures_count(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
) -> None:
    account = make_account(client, admin)["id"]
    conversation = make_conversation(client, worker, admin, account, "c")["id"]
    failed = _failed_send(client, operator, worker, conversation, "PlatformError: no composer")
    _finish_sweep(client, worker, _sweep(client, operator, worker, account), "done", None)

    status = _status_at(db, redis, settings, utcnow())

    assert status.failing.by_class == {"PlatformError": 1}
    assert status.failing.sends == [failed]
    assert status.failing.accounts == {}


def test_a_failed_sweep_followed_by_a_good_one_is_not_failing(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
) -> None:
    account = make_account(client, admin)["id"]
    _finish_sweep(client, worker, _sweep(client, operator, worker, account), "failed", "X: y")
    _finish_sweep(client, worker, _sweep(client, operator, worker, account), "done", None)

    status = _status_at(db, redis, settings, utcnow())

    assert (status.failing.sweeps, status.failing.by_class, status.failing.accounts) == (
        [],
        {},
        {},
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_active_account_in_a_throttle_backoff_is_listed_not_unhealthy(
    db: Database, redis: Redis, settings: Settings
) -> None:
    throttled = seed(db, [Line("inbound", "hi")]).account_id
    calm = seed(db, [Line("inbound", "hi")]).account_id
    Pacer.for_settings(redis, settings).pause(throttled, 60)
    status = _status_at(db, redis, settings, utcnow())
    assert [(t.id, t.name) for t in status.throttled] == [(throttled, "Mia")]
    assert 0 < status.throttled[0].backoff_s <= 60
    assert calm not in {t.id for t in status.throttled}
    assert not any("throttl" in reason for reason in status.reasons)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_paused_account_is_held_not_listed_as_throttled(
    db: Database, redis: Redis, settings: Settings
) -> None:
    account_id = seed(db, [Line("inbound", "hi")]).account_id
    with db.session() as session:
        session.get_one(Account, account_id).status = AccountStatus.paused
        session.commit()
    Pacer.for_settings(redis, settings).pause(account_id, 60)
    assert _status_at(db, redis, settings, utcnow()).throttled == []
