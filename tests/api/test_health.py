"""`/health`: database, Redis, queue depths and live RQ workers, 503 when degraded."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue, Worker

from api.app import create_app
from core.settings import Settings
from tests.helpers.scraped import conv, ingest, msg
from tests.helpers.stores import free_port


def test_health_reports_components_queues_and_workers(
    client: TestClient, worker: dict[str, str], redis: Redis, account: dict[str, Any]
) -> None:
    ingest(client, worker, account["id"], [conv("c", [msg("m", "inbound", 0)])])
    rq_worker = Worker([Queue("send", connection=redis)], connection=redis, name="browser-1")
    rq_worker.register_birth()
    try:
        response = client.get("/health")
    finally:
        rq_worker.register_death()
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": {"ok": True, "error": None},
        "redis": {"ok": True, "error": None},
        "queues": {"scrape": 0, "send": 0, "ai": 1},
        "workers": {"count": 1, "names": ["browser-1"]},
        "held_accounts": [],
        "invalid_accounts": [],
        "ai_budget": {
            "llm_configured": False,
            "offline_fallback": False,
            "tokens_today": 0,
            "daily_token_cap": 5_000_000,
            "caps_reached": [],
        },
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_health_is_degraded_without_redis(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as client:
        response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["ok"] is True
    assert body["redis"] == {"ok": False, "error": "ConnectionError"}
    assert body["queues"] == {}
    assert body["workers"] == {"count": 0, "names": []}
