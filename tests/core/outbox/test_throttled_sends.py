"""A throttled send waits out its backoff without using an attempt; repeated throttling
pauses the account until an operator resumes it, and its sends are held meanwhile."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from tests.helpers.api import claim, make_account, make_conversation, make_send, progress
from tests.helpers.rows import Reconcile, audit_actions, send_row


def _throttle(client: TestClient, worker: dict, send_id: int, signals: int) -> dict:
    response = client.post(
        f"/v1/worker/sends/{send_id}/throttled",
        headers=worker,
        json={
            "worker_id": "w1",
            "signal": "slow down",
            "backoff_s": 0.5,
            "signals_in_window": signals,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


def _claimed_typing(client: TestClient, worker: dict, send_id: int) -> None:
    assert claim(client, worker, send_id, "w1").status_code == 200
    assert progress(client, worker, send_id, "w1", "typing").status_code == 200


def test_a_throttled_send_waits_its_backoff_without_using_an_attempt(
    client: TestClient,
    admin: dict,
    operator: dict,
    worker: dict,
    db: Database,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c-1")
    send = make_send(client, operator, conversation["id"])
    _claimed_typing(client, worker, send["id"])

    deferred = _throttle(client, worker, send["id"], signals=1)
    assert deferred["status"] == "queued"
    row = send_row(db, send["id"])
    assert (row.attempt, row.max_attempts, row.failed_attempts) == (2, 3, 0), (
        "a throttle must not use up an attempt"
    )
    assert row.next_attempt_at is not None and row.next_attempt_at > utcnow()
    assert ("send.throttled", "w1") in audit_actions(db, "send", send["id"])

    assert run_pass(now=utcnow()).sends_promoted == [], "promoted before the backoff ended"
    assert run_pass(now=utcnow() + timedelta(seconds=5)).sends_promoted == [send["id"]]
    again = claim(client, worker, send["id"], "w2")
    assert again.status_code == 200
    assert again.json()["verify"] is True


def test_three_signals_pause_the_account_and_hold_its_sends_until_resumed(
    client: TestClient,
    admin: dict,
    operator: dict,
    worker: dict,
    db: Database,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c-1")
    send = make_send(client, operator, conversation["id"])
    for signals in (1, 2, 3):
        _claimed_typing(client, worker, send["id"])
        _throttle(client, worker, send["id"], signals=signals)
        if signals < 3:
            run_pass(now=utcnow() + timedelta(seconds=5))

    assert client.get(f"/v1/accounts/{account['id']}", headers=operator).json()["status"] == (
        "paused"
    )
    assert ("account.paused", "policy:throttle") in audit_actions(db, "account", account["id"])
    health = client.get("/health").json()
    assert health["held_accounts"] == [{"id": account["id"], "name": "Mia", "status": "paused"}]
    held = claim(client, worker, send["id"], "w1")
    assert held.status_code == 409
    assert "paused; its sends are held" in held.json()["detail"]
    report = run_pass(now=utcnow() + timedelta(seconds=5))
    assert send["id"] not in report.sends_enqueued + report.sends_promoted
    assert send_row(db, send["id"]).status.value == "queued"

    resumed = client.patch(
        f"/v1/accounts/{account['id']}", headers=admin, json={"status": "active"}
    )
    assert resumed.status_code == 200
    run_pass(now=utcnow() + timedelta(seconds=5))
    assert claim(client, worker, send["id"], "w1").status_code == 200
