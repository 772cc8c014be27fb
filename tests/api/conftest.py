"""Helpers for the API tests: headers per role, an account, scraped batches, the ai queue."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue

from core.fleet.queues import QueueName
from tests.fixtures.control_plane import ApiKeys

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PASSWORD = "hunter2-very-secret"


@pytest.fixture
def admin(api_keys: ApiKeys) -> dict[str, str]:
    return api_keys.headers("admin")


@pytest.fixture
def operator(api_keys: ApiKeys) -> dict[str, str]:
    return api_keys.headers("operator")


@pytest.fixture
def worker(api_keys: ApiKeys) -> dict[str, str]:
    return api_keys.headers("worker")


@pytest.fixture
def account(client: TestClient, admin: dict[str, str]) -> dict[str, Any]:
    """An active sandbox account with a persona, created through the API."""
    response = client.post(
        "/v1/accounts",
        headers=admin,
        json={
            "name": "Mia",
            "username": "mia",
            "password": PASSWORD,
            "base_url": "http://127.0.0.1:8710",
            "persona": {"name": "Mia", "tone": "playful", "phrases": ["xoxo"]},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def concrete(path: str) -> str:
    """A route's path with every `{param}` set to 1."""
    return re.sub(r"\{[^}]+\}", "1", path)


def msg(
    platform_id: str, direction: str, minute: int, text: str = "hello", **extra: Any
) -> dict[str, Any]:
    """A scraped message sent `minute` minutes after T0."""
    sent_at = (T0 + timedelta(minutes=minute)).isoformat()
    return {
        "platform_message_id": platform_id,
        "direction": direction,
        "text": text,
        "sent_at": sent_at,
        **extra,
    }


def conv(
    platform_id: str, messages: list[dict[str, Any]], fan: str = "fan-1", name: str = "Sam Jones"
) -> dict[str, Any]:
    """A scraped conversation."""
    return {
        "platform_conversation_id": platform_id,
        "platform_fan_id": fan,
        "fan_name": name,
        "messages": messages,
    }


def ingest(
    client: TestClient,
    headers: dict[str, str],
    account_id: int,
    conversations: list[dict[str, Any]],
    sweep_id: int | None = None,
) -> dict[str, Any]:
    """POST a batch and return the `IngestResult`."""
    body = {"account_id": account_id, "sweep_id": sweep_id, "conversations": conversations}
    response = client.post("/v1/worker/ingest", headers=headers, json=body)
    assert response.status_code == 200, response.text
    return response.json()


def queued_job_ids(redis: Redis, queue: QueueName) -> list[str]:
    """Ids of the jobs waiting on `queue`, in order."""
    return Queue(queue.value, connection=redis).job_ids
