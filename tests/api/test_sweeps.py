"""Sweeps from trigger to result, and the browser sessions workers save."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from httpx import Response
from redis import Redis
from rq.job import JobStatus

from core.clock import utcnow
from core.db import Database
from core.fleet.queues import sweep_job_id
from core.fleet.rq_repairs import job_exists, job_status
from core.settings import Settings
from tests.helpers.api import PASSWORD, start_sweep, sweep_result
from tests.helpers.rows import Reconcile, audit_details, hold_lease
from tests.helpers.scraped import conv, ingest, msg
from tests.helpers.seeding import T0


def _trigger(client: TestClient, operator: dict[str, str], account_id: int) -> Response:
    return client.post("/v1/sweeps", headers=operator, json={"account_id": account_id})


@pytest.fixture
def sweep(client: TestClient, operator: dict[str, str], account: dict[str, Any]) -> dict[str, Any]:
    """A sweep of `account`, queued by the operator."""
    response = _trigger(client, operator, account["id"])
    assert response.status_code == 202, response.text
    [queued] = response.json()
    return queued


@pytest.fixture
def finished(client: TestClient, worker: dict[str, str], sweep: dict[str, Any]) -> dict[str, Any]:
    """`sweep`, run by worker w1 and reported done."""
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    response = sweep_result(client, worker, sweep["id"], status="done")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_trigger_queues_a_sweep_and_its_job(
    client: TestClient, operator: dict[str, str], redis: Redis, account: dict[str, Any]
) -> None:
    response = _trigger(client, operator, account["id"])
    assert response.status_code == 202, response.text
    [sweep] = response.json()
    assert (sweep["status"], sweep["requested_by"], sweep["account_id"]) == (
        "queued",
        "operator",
        account["id"],
    )
    assert job_exists(redis, sweep_job_id(sweep["id"]))


def test_a_trigger_while_the_sweep_waits_returns_the_same_sweep(
    client: TestClient, operator: dict[str, str], account: dict[str, Any], sweep: dict[str, Any]
) -> None:
    again = _trigger(client, operator, account["id"])
    assert [s["id"] for s in again.json()] == [sweep["id"]]


def test_the_plan_carries_the_login_and_the_newest_message_of_each_known_conversation(
    client: TestClient, worker: dict[str, str], account: dict[str, Any], sweep: dict[str, Any]
) -> None:
    ingest(
        client,
        worker,
        account["id"],
        [
            conv("c-1", [msg("m1", "inbound", 0), msg("m2", "outbound", 4)]),
            conv("c-2", [msg("x", "inbound", 7)], fan="f2"),
        ],
    )
    started = start_sweep(client, worker, sweep["id"], "w1")
    assert started.status_code == 200, started.text
    plan = started.json()
    assert plan["sweep_id"] == sweep["id"]
    assert plan["account"]["account_id"] == sweep["account_id"]
    assert plan["known_last_message_at"] == {
        "c-1": "2026-03-01T12:04:00Z",
        "c-2": "2026-03-01T12:07:00Z",
    }


def test_the_plan_names_the_threads_holding_a_recent_unpaid_offer(
    client: TestClient, worker: dict[str, str], account: dict[str, Any], sweep: dict[str, Any]
) -> None:
    # Minutes after T0 that are an hour ago, and ten days ago (the window is 7 days).
    hour_ago = (utcnow() - T0).total_seconds() / 60 - 60
    ten_days_ago = hour_ago - 10 * 24 * 60

    def offer(paid: bool, minute: float) -> dict[str, Any]:
        return msg(f"o-{paid}-{minute}", "outbound", minute, ppv_price_cents=900, ppv_paid=paid)

    ingest(
        client,
        worker,
        account["id"],
        [
            conv("unpaid", [offer(False, hour_ago)], fan="f1"),
            conv("paid", [offer(True, hour_ago)], fan="f2"),
            conv("old", [offer(False, ten_days_ago)], fan="f3"),
            conv("plain", [msg("p", "outbound", hour_ago)], fan="f4"),
        ],
    )
    plan = start_sweep(client, worker, sweep["id"], "w1").json()
    # The sandbox profile looks both ways: the thread again, and the purchases page.
    assert plan["recheck"] == ["unpaid"]
    assert plan["unpaid"] == {f"o-False-{hour_ago}": "unpaid"}


def test_a_started_sweep_is_running_on_its_worker(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], sweep: dict[str, Any]
) -> None:
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    running = client.get(f"/v1/sweeps/{sweep['id']}", headers=operator).json()
    assert (running["status"], running["worker_id"]) == ("running", "w1")


def test_a_running_sweep_whose_worker_died_is_started_again_by_another(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], sweep: dict[str, Any]
) -> None:
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    restarted = start_sweep(client, worker, sweep["id"], "w2")
    assert restarted.status_code == 200, restarted.text
    running = client.get(f"/v1/sweeps/{sweep['id']}", headers=operator).json()
    assert (running["status"], running["worker_id"]) == ("running", "w2")


def test_a_sweep_counts_the_messages_its_runs_stored_not_what_the_last_one_reported(
    client: TestClient, worker: dict[str, str], account: dict[str, Any], sweep: dict[str, Any]
) -> None:
    ingest(client, worker, account["id"], [conv("c-1", [msg("m2", "outbound", 4)])])
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    # The first run stores one new message (and one the control plane already has) ...
    first = [conv("c-1", [msg("m2", "outbound", 4), msg("m3", "inbound", 9)])]
    assert ingest(client, worker, account["id"], first, sweep_id=sweep["id"])["inserted"] == 1
    # ... then dies; the worker that starts it again reads the same page, and finds one more.
    assert start_sweep(client, worker, sweep["id"], "w2").status_code == 200
    second = [
        conv("c-1", [msg("m2", "outbound", 4), msg("m3", "inbound", 9)]),
        conv("c-3", [msg("y", "inbound", 11)]),
    ]
    assert ingest(client, worker, account["id"], second, sweep_id=sweep["id"])["inserted"] == 1

    # The last run read 3 messages in 2 conversations: the sweep keeps the 2 its runs
    # stored, and the conversations its last run read.
    finished = sweep_result(
        client, worker, sweep["id"], status="done", messages_found=3, conversations_read=2
    )
    assert finished.status_code == 200, finished.text
    done = finished.json()
    assert (done["status"], done["messages_found"], done["conversations_read"]) == ("done", 2, 2)


def test_a_finished_sweep_stamps_the_accounts_last_sweep_time(
    client: TestClient, admin: dict[str, str], account: dict[str, Any], finished: dict[str, Any]
) -> None:
    assert finished["finished_at"] is not None
    last_sweep = client.get(f"/v1/accounts/{account['id']}", headers=admin).json()["last_sweep_at"]
    assert last_sweep == finished["finished_at"]


def test_a_finished_sweep_refuses_a_second_result(
    client: TestClient, worker: dict[str, str], finished: dict[str, Any]
) -> None:
    twice = sweep_result(client, worker, finished["id"], status="failed")
    assert twice.status_code == 409
    assert twice.json()["detail"] == f"sweep {finished['id']} is done, not running"


def test_a_finished_sweep_cannot_be_started_again(
    client: TestClient, worker: dict[str, str], finished: dict[str, Any]
) -> None:
    assert start_sweep(client, worker, finished["id"], "w3").status_code == 409


def test_a_trigger_after_the_sweep_finished_queues_a_new_one(
    client: TestClient, operator: dict[str, str], account: dict[str, Any], finished: dict[str, Any]
) -> None:
    [fresh] = _trigger(client, operator, account["id"]).json()
    assert fresh["status"] == "queued"
    assert fresh["id"] != finished["id"]


def test_failed_sweep_keeps_the_error(
    client: TestClient, operator: dict[str, str], worker: dict[str, str], account: dict[str, Any]
) -> None:
    [sweep] = client.post("/v1/sweeps", headers=operator, json={"account_id": account["id"]}).json()
    client.post(f"/v1/worker/sweeps/{sweep['id']}/start", headers=worker, json={"worker_id": "w"})
    failed = client.post(
        f"/v1/worker/sweeps/{sweep['id']}/result",
        headers=worker,
        json={"status": "failed", "error": "login refused", "artifacts": {"png": "a.png"}},
    ).json()
    assert (failed["status"], failed["error"], failed["artifacts"]) == (
        "failed",
        "login refused",
        {"png": "a.png"},
    )
    account_now = client.get(f"/v1/accounts/{account['id']}", headers=operator).json()
    assert account_now["last_sweep_at"] is None
    queued = client.post(
        f"/v1/worker/sweeps/{sweep['id']}/result", headers=worker, json={"status": "queued"}
    )
    assert queued.status_code == 409
    assert "done or failed" in queued.json()["detail"]


def test_sweep_all_takes_active_accounts_only(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    account: dict[str, Any],
) -> None:
    paused = client.post(
        "/v1/accounts", headers=admin, json={"name": "P", "username": "p", "password": "p"}
    ).json()
    client.patch(f"/v1/accounts/{paused['id']}", headers=admin, json={"status": "paused"})
    response = client.post("/v1/sweeps", headers=operator, json={"all": True})
    assert response.status_code == 202
    assert [s["account_id"] for s in response.json()] == [account["id"]]
    refused = client.post("/v1/sweeps", headers=operator, json={"account_id": paused["id"]})
    assert refused.status_code == 409
    assert refused.json()["detail"] == f"account {paused['id']} is paused; resume it to sweep"
    listing = client.get(f"/v1/sweeps?account_id={account['id']}", headers=operator).json()
    assert len(listing["items"]) == 1
    assert len(client.get("/v1/sweeps?status=done", headers=operator).json()["items"]) == 0


def _secrets(client: TestClient, worker: dict[str, str], account_id: int, who: str) -> Response:
    body = {"worker_id": who}
    return client.post(f"/v1/worker/accounts/{account_id}/secrets", headers=worker, json=body)


def test_session_state_round_trip(
    client: TestClient,
    admin: dict[str, str],
    worker: dict[str, str],
    account: dict[str, Any],
    redis: Redis,
    settings: Settings,
) -> None:
    hold_lease(redis, settings, account["id"], "w")
    assert _secrets(client, worker, account["id"], "w").json()["storage_state"] is None
    client.patch(f"/v1/accounts/{account['id']}", headers=admin, json={"status": "needs_login"})

    state = {"cookies": [{"name": "sid", "value": "abc", "domain": "127.0.0.1"}], "origins": []}
    url = f"/v1/worker/accounts/{account['id']}/session"
    stored = client.put(url, headers=worker, json={"storage_state": state})
    assert stored.status_code == 204
    assert _secrets(client, worker, account["id"], "w").json()["storage_state"] == state

    public = client.get(f"/v1/accounts/{account['id']}", headers=admin)
    assert public.json()["has_session"] is True
    assert public.json()["status"] == "active"
    assert "abc" not in public.text and "storage_state" not in public.text


def test_a_sweep_plan_carries_no_secrets(
    client: TestClient, admin: dict[str, str], worker: dict[str, str], account: dict[str, Any]
) -> None:
    [sweep] = client.post("/v1/sweeps", headers=admin, json={"account_id": account["id"]}).json()
    plan = start_sweep(client, worker, sweep["id"], "w")
    assert plan.status_code == 200
    assert set(plan.json()["account"]) == {"account_id", "profile", "base_url", "pacing"}
    assert PASSWORD not in plan.text


def test_secrets_go_only_to_the_worker_holding_the_lease(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    account: dict[str, Any],
    redis: Redis,
    settings: Settings,
    db: Database,
) -> None:
    nobody = _secrets(client, worker, account["id"], "w1")
    assert nobody.status_code == 409
    assert "holding its lease" in nobody.json()["detail"]
    hold_lease(redis, settings, account["id"], "w1")
    assert _secrets(client, worker, account["id"], "w2").status_code == 409
    assert _secrets(client, admin, account["id"], "w1").status_code == 403
    held = _secrets(client, worker, account["id"], "w1")
    assert held.status_code == 200
    assert (held.json()["username"], held.json()["password"]) == ("mia", PASSWORD)
    [issued] = audit_details(db, "account.secrets_issued")
    assert issued["worker_id"] == "w1"
    assert PASSWORD not in str(issued)


@pytest.mark.parametrize("held", [True, False], ids=["lease-held", "lease-gone"])
def test_a_sweeps_result_records_whether_its_worker_still_held_the_lease(
    client: TestClient,
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    sweep: dict[str, Any],
    held: bool,
) -> None:
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    if held:
        hold_lease(redis, settings, sweep["account_id"], "w1")
    assert sweep_result(client, worker, sweep["id"], status="done").status_code == 200
    [done] = [e for e in audit_details(db, "sweep.done") if e["subject_id"] == sweep["id"]]
    assert done["lease_held"] is held


def _throttled(
    client: TestClient, worker: dict[str, str], sweep_id: int, signals: int = 1
) -> Response:
    body = {"worker_id": "w1", "signal": "429", "backoff_s": 60.0, "signals_in_window": signals}
    return client.post(f"/v1/worker/sweeps/{sweep_id}/throttled", headers=worker, json=body)


def test_a_throttled_sweep_runs_again_once_its_backoff_is_over(
    client: TestClient,
    worker: dict[str, str],
    redis: Redis,
    run_pass: Reconcile,
    sweep: dict[str, Any],
) -> None:
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    response = _throttled(client, worker, sweep["id"])
    assert response.status_code == 200, response.text
    deferred = response.json()
    assert (deferred["status"], deferred["attempt"], deferred["worker_id"]) == ("queued", 2, None)
    next_run = sweep_job_id(sweep["id"], 2)
    assert job_status(redis, next_run) == JobStatus.SCHEDULED
    due = utcnow() + timedelta(seconds=60)
    assert run_pass(due - timedelta(seconds=5)).sweeps_promoted == []
    assert run_pass(due + timedelta(seconds=1)).sweeps_promoted == [sweep["id"]]
    assert job_status(redis, next_run) in (JobStatus.QUEUED, JobStatus.RATE_LIMITED)


def test_a_throttled_sweep_is_audited_with_its_signal_and_backoff(
    client: TestClient, worker: dict[str, str], db: Database, sweep: dict[str, Any]
) -> None:
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    assert _throttled(client, worker, sweep["id"]).status_code == 200
    [throttled] = audit_details(db, "sweep.throttled")
    assert (throttled["actor"], throttled["signal"], throttled["backoff_s"]) == ("w1", "429", 60.0)


def test_repeated_throttling_pauses_the_account_and_holds_its_sweep(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    redis: Redis,
    sweep: dict[str, Any],
) -> None:
    assert start_sweep(client, worker, sweep["id"], "w1").status_code == 200
    assert _throttled(client, worker, sweep["id"], signals=3).status_code == 200
    account = client.get(f"/v1/accounts/{sweep['account_id']}", headers=admin).json()
    assert account["status"] == "paused"
    assert job_status(redis, sweep_job_id(sweep["id"], 2)) is None


def test_only_the_worker_running_a_sweep_may_report_it_throttled(
    client: TestClient, worker: dict[str, str], sweep: dict[str, Any]
) -> None:
    refused = _throttled(client, worker, sweep["id"])
    assert refused.status_code == 409
    assert "is not run by worker 'w1'" in refused.json()["detail"]


def test_a_sweep_of_an_account_whose_profile_is_gone_fails_with_the_reason(
    client: TestClient,
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    sweep: dict[str, Any],
    account: dict[str, Any],
) -> None:
    # The profile was removed from the fleet after the account was made with it.
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE accounts SET profile = 'retired' WHERE id = :id"), {"id": account["id"]}
        )

    refused = start_sweep(client, worker, sweep["id"], "w1")

    reason = (
        f"account {account['id']}: no profile 'retired' (or it is invalid); give it one with PATCH"
    )
    assert (refused.status_code, refused.json()["detail"]) == (409, reason)
    row = client.get(f"/v1/sweeps/{sweep['id']}", headers=operator).json()
    assert (row["status"], row["error"]) == ("failed", reason)
