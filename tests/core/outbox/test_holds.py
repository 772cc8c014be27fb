"""Rejected credentials: the account needs a login, the worker's job is held (queued, its
attempt not counted), nothing of the account is claimed or started, and new credentials
let it run again."""

from __future__ import annotations

from fastapi.testclient import TestClient

from core.db import Database
from tests.helpers.api import claim, make_account, make_conversation, make_send
from tests.helpers.rows import Reconcile, audit_actions, send_row


def _reject(client: TestClient, worker: dict, account_id: int, **job: int) -> int:
    return client.post(
        f"/v1/worker/accounts/{account_id}/login-rejected",
        headers=worker,
        json={"worker_id": "w1", "artifacts": {"screenshot": "/tmp/s.png"}, **job},
    ).status_code


def test_rejected_login_holds_the_send_and_new_credentials_release_it(
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
    assert claim(client, worker, send["id"], "w1").status_code == 200
    assert _reject(client, worker, account["id"], send_id=send["id"]) == 204

    row = send_row(db, send["id"])
    assert (row.status.value, row.attempt, row.max_attempts, row.failed_attempts) == (
        "queued",
        2,
        3,
        0,
    )
    assert row.artifacts == {"screenshot": "/tmp/s.png"}
    assert ("account.needs_login", "w1") in audit_actions(db, "account", account["id"])
    assert client.get(f"/v1/accounts/{account['id']}", headers=operator).json()["status"] == (
        "needs_login"
    )
    held = claim(client, worker, send["id"], "w2")
    assert held.status_code == 409 and "needs_login; its sends are held" in held.json()["detail"]
    sweep = client.post("/v1/sweeps", headers=operator, json={"account_id": account["id"]})
    started = client.post(
        f"/v1/worker/sweeps/{sweep.json()[0]['id']}/start",
        headers=worker,
        json={"worker_id": "w2"},
    )
    assert started.status_code == 409
    report = run_pass()
    assert send["id"] not in report.sends_enqueued

    fixed = client.patch(
        f"/v1/accounts/{account['id']}",
        headers=admin,
        json={"credentials": {"username": "mia", "password": "the-right-one"}},
    )
    assert fixed.json()["status"] == "active"
    assert send["id"] in run_pass().sends_enqueued
    assert claim(client, worker, send["id"], "w2").status_code == 200


def test_only_the_worker_holding_a_job_can_hold_it(
    client: TestClient, admin: dict, operator: dict, worker: dict
) -> None:
    account = make_account(client, admin)
    conversation = make_conversation(client, worker, admin, account["id"], "c-1")
    send = make_send(client, operator, conversation["id"])
    assert _reject(client, worker, account["id"], send_id=send["id"]) == 409
    other = make_account(client, admin, "Zoe")
    assert claim(client, worker, send["id"], "w1").status_code == 200
    assert _reject(client, worker, other["id"], send_id=send["id"]) == 409
    assert _reject(client, worker, 999) == 404
