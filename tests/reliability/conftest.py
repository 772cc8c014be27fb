"""Helpers for the reliability tests: role headers, an account with conversations, sends
driven through the worker API, and reconciler passes at a chosen time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.fleet.lease import AccountLease
from core.models import AuditEvent, Send
from core.recovery.reconcile import ReconcileReport, reconcile
from core.settings import Settings
from tests.api.conftest import conv, ingest, msg
from tests.fixtures.control_plane import ApiKeys


@pytest.fixture
def admin(api_keys: ApiKeys) -> dict[str, str]:
    return api_keys.headers("admin")


@pytest.fixture
def operator(api_keys: ApiKeys) -> dict[str, str]:
    return api_keys.headers("operator")


@pytest.fixture
def worker(api_keys: ApiKeys) -> dict[str, str]:
    return api_keys.headers("worker")


def make_account(client: TestClient, admin: dict[str, str], name: str = "Mia") -> dict[str, Any]:
    response = client.post(
        "/v1/accounts",
        headers=admin,
        json={"name": name, "username": name.lower(), "password": "pw"},
    )
    assert response.status_code == 201, response.text
    return response.json()


def make_conversation(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    account_id: int,
    platform_id: str,
    messages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Ingest a conversation (one inbound message unless told) and return its row."""
    batch = [conv(platform_id, messages or [msg(f"{platform_id}-m1", "inbound", 0)])]
    ingest(client, worker, account_id, batch)
    found = client.get(
        f"/v1/conversations?account_id={account_id}&limit=200", headers=admin
    ).json()["items"]
    return next(c for c in found if c["platform_conversation_id"] == platform_id)


def make_send(
    client: TestClient, operator: dict[str, str], conversation_id: int, text: str = "hi there"
) -> dict[str, Any]:
    response = client.post(
        "/v1/sends", headers=operator, json={"conversation_id": conversation_id, "text": text}
    )
    assert response.status_code == 201, response.text
    return response.json()


def claim(client: TestClient, worker: dict[str, str], send_id: int, worker_id: str) -> Any:
    return client.post(
        f"/v1/worker/sends/{send_id}/claim", headers=worker, json={"worker_id": worker_id}
    )


def progress(
    client: TestClient, worker: dict[str, str], send_id: int, worker_id: str, status: str
) -> Any:
    return client.post(
        f"/v1/worker/sends/{send_id}/progress",
        headers=worker,
        json={"worker_id": worker_id, "status": status},
    )


def result(client: TestClient, worker: dict[str, str], send_id: int, **body: Any) -> Any:
    return client.post(f"/v1/worker/sends/{send_id}/result", headers=worker, json=body)


def hold_lease(redis: Redis, settings: Settings, account_id: int, owner: str) -> None:
    """Take an account's lease for `owner`, as a live worker would (60 real seconds: the
    test ends long before it could expire)."""
    lease = AccountLease(redis, settings.redis_key_prefix, account_id, owner, 60)
    assert lease.acquire()


def send_row(db: Database, send_id: int) -> Send:
    with db.session() as session:
        row = session.get(Send, send_id)
        assert row is not None
        return row


def audit_actions(db: Database, subject_type: str, subject_id: int) -> list[tuple[str, str]]:
    with db.session() as session:
        return [
            (event.action, event.actor)
            for event in session.query(AuditEvent)
            .filter_by(subject_type=subject_type, subject_id=subject_id)
            .order_by(AuditEvent.id)
        ]


Reconcile = Callable[..., ReconcileReport]


@pytest.fixture
def run_pass(db: Database, redis: Redis, settings: Settings) -> Reconcile:
    """`run_pass(now=None) -> ReconcileReport`: one reconciler pass at a chosen time."""

    def run(now: datetime | None = None) -> ReconcileReport:
        with db.session() as session:
            return reconcile(session, redis, settings, now=now or utcnow())

    return run
