"""Heartbeats reach the control plane; `/v1/fleet` alone tells whether the fleet is
healthy, and `/v1/workers` who drives which account."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.fleet.heartbeats import heartbeat_ttl_s
from core.fleet.lease import MIN_WINDOW_S, lease_ttl_s
from core.recovery.health import fleet_status
from core.settings import Settings
from tests.helpers.api import (
    BEAT,
    beat,
    claim,
    make_account,
    make_conversation,
    make_send,
    progress,
)
from tests.helpers.rows import Reconcile, hold_lease


def test_heartbeats_and_leases_show_in_workers(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    settings: Settings,
) -> None:
    beat(client, worker)
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
    hold_lease(redis, settings, 1, BEAT["worker_id"])
    hold_lease(redis, settings, 2, "host-c:9:gone00")
    key = f"{settings.redis_key_prefix}heartbeat:worker:{BEAT['worker_id']}"
    # Kept in Redis for a short while only: a dead worker's heartbeat disappears by itself.
    assert 0 < redis.pttl(key) <= heartbeat_ttl_s(settings) * 1000

    body = client.get("/v1/workers", headers=operator).json()
    first, second = body["workers"]
    seen_at = datetime.fromisoformat(first.pop("last_seen_at"))
    assert abs(utcnow() - seen_at) < timedelta(seconds=5)
    assert first == {**BEAT, "leased_accounts": [1]}
    assert (second["worker_id"], second["leased_accounts"]) == ("host-b:7:def456", [])
    assert body["leases"] == [
        {"account_id": 1, "holder": BEAT["worker_id"], "holder_alive": True},
        {"account_id": 2, "holder": "host-c:9:gone00", "holder_alive": False},
    ]


def test_fleet_reports_everything_and_is_healthy_when_quiet(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c")
    send_id = make_send(client, operator, conversation["id"])["id"]
    claim(client, worker, send_id, "w1")
    fleet = client.get("/v1/fleet", headers=operator).json()
    assert set(fleet) == {
        "healthy",
        "reasons",
        "checked_at",
        "workers",
        "leases",
        "queues",
        "sends",
        "stuck_sends",
        "stuck_sweeps",
        "last_reconciled_at",
    }
    assert fleet["sends"] == {
        "queued": 0,
        "claimed": 1,
        "typing": 0,
        "submitted": 0,
        "delivered": 0,
        "failed": 0,
        "cancelled": 0,
    }
    send_queue = fleet["queues"]["send"]
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
    assert fleet["queues"]["ai"]["waiting"] == 1
    assert fleet["healthy"] is False
    assert (
        "1 job(s) wait on send, scrape but no browser worker sends heartbeats" in fleet["reasons"]
    )
    assert "1 job(s) wait on ai but no worker listens on it" in fleet["reasons"]
    assert "the reconciler has never run against this Redis" in fleet["reasons"]


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


def test_stuck_sends_and_old_jobs_make_it_unhealthy(
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
    make_send(client, operator, conversation["id"], "waits")
    claim(client, worker, stuck, "w-dead")
    progress(client, worker, stuck, "w-dead", "typing")
    beat(client, worker)
    start = utcnow()
    run_pass(start)
    later = start + timedelta(seconds=settings.scaled(settings.max_job_wait_s) + 1)
    later = max(later, start + timedelta(seconds=lease_ttl_s(settings) + 1))
    with db.session() as session:
        status = fleet_status(session, redis, settings, now=later)
    assert status.healthy is False
    assert status.stuck_sends == [stuck]
    assert f"sends stuck in flight with a dead worker: {stuck}" in status.reasons
    assert any(r.startswith("queue send: oldest waiting job is") for r in status.reasons)
    assert any(r.startswith("the reconciler last ran") for r in status.reasons)
