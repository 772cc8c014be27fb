"""`/metrics` speaks Prometheus's text format (its own parser reads it) and shows what ops
alert on: queues, sends and deliveries, pending drafts and their oldest wait, workers'
memory, LLM tokens, throttles, and the workers' job and pacer histograms."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from redis import Redis

from core.fleet.metrics import THROTTLE_EVENTS, count, record_job
from core.settings import Settings
from tests.helpers.api import beat, claim, make_account, make_conversation, make_send, result
from tests.helpers.rows import keep_heartbeats


def _scrape(client: TestClient, headers: dict[str, str]) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_need_a_key(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401


def test_metrics_parse_and_show_the_fleet(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    redis: Redis,
    settings: Settings,
    run_draft_jobs: Any,
) -> None:
    account = make_account(client, admin)["id"]
    conversation = make_conversation(client, worker, admin, account, "c1")["id"]
    delivered = make_send(client, operator, conversation)["id"]
    claim(client, worker, delivered, "w1")
    result(client, worker, delivered, worker_id="w1", status="delivered", platform_message_id="p")
    make_send(client, operator, conversation, "another")
    make_conversation(client, worker, admin, account, "c2")
    run_draft_jobs()
    beat(client, worker)
    keep_heartbeats(redis, settings)
    prefix = settings.redis_key_prefix
    record_job(redis, prefix, "send", 3.0, pacer_wait_s=0.2)
    record_job(redis, prefix, "send", 45.0, pacer_wait_s=12.0)
    count(redis, prefix, THROTTLE_EVENTS)

    samples = _scrape(client, operator)

    assert samples[("fleet_sends", (("status", "delivered"),))] == 1
    assert samples[("fleet_sends", (("status", "queued"),))] == 1
    assert samples[("fleet_deliveries_total", ())] == 1
    # Both sends' jobs wait: no worker took the delivered one's (the test reported it).
    assert samples[("fleet_queue_depth", (("queue", "send"),))] == 2
    assert samples[("fleet_queue_oldest_job_age_seconds", (("queue", "send"),))] >= 0
    assert samples[("fleet_drafts_pending", ())] >= 1
    assert samples[("fleet_draft_oldest_wait_seconds", ())] > 0
    assert samples[("fleet_workers", ())] == 1
    assert samples[("fleet_worker_rss_bytes", (("worker", "host-a:4242:abc123"),))] > 0
    assert samples[("fleet_llm_tokens_total", (("kind", "prompt"),))] >= 0
    assert samples[("fleet_throttle_events_total", ())] == 1
    send_jobs = (("kind", "send"),)
    assert samples[("fleet_job_duration_seconds_count", send_jobs)] == 2
    assert samples[("fleet_job_duration_seconds_sum", send_jobs)] == 48.0
    assert samples[("fleet_job_duration_seconds_bucket", (("kind", "send"), ("le", "5.0")))] == 1
    assert samples[("fleet_job_duration_seconds_bucket", (("kind", "send"), ("le", "+Inf")))] == 2
    assert samples[("fleet_pacer_wait_seconds_bucket", (("le", "0.5"),))] == 1
    assert samples[("fleet_pacer_wait_seconds_count", ())] == 2
