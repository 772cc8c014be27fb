"""Ingest through the worker API: idempotent, one draft job per conversation whose newest
message is a new inbound one, and a fan's spend counted once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.fleet.queues import QueueName, draft_job_id
from core.models import Message
from tests.helpers.rows import message_id_of, queued_job_ids
from tests.helpers.scraped import conv, ingest, msg, two_conversations


def test_ingest_is_idempotent_and_queues_one_draft_per_conversation(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    redis: Redis,
    db: Database,
    account: dict[str, Any],
) -> None:
    first = ingest(client, worker, account["id"], two_conversations())
    assert first == {"inserted": 6, "duplicates": 0, "drafts_queued": 1}
    # Only the newest inbound line of c-a; c-b ends with our own reply.
    assert queued_job_ids(redis, QueueName.ai) == [draft_job_id(message_id_of(db, "a4"))]

    again = ingest(client, worker, account["id"], two_conversations())
    assert again == {"inserted": 0, "duplicates": 6, "drafts_queued": 0}
    assert len(queued_job_ids(redis, QueueName.ai)) == 1

    page = client.get(f"/v1/conversations?account_id={account['id']}", headers=admin).json()
    assert len(page["items"]) == 2
    by_id = {c["platform_conversation_id"]: c for c in page["items"]}
    assert by_id["c-a"]["last_message_at"] == "2026-03-01T12:03:00Z"
    assert by_id["c-a"]["fan"]["name"] == "Sam Jones"
    messages = client.get(f"/v1/conversations/{by_id['c-a']['id']}/messages", headers=admin)
    assert [m["platform_message_id"] for m in messages.json()["items"]] == ["a4", "a3", "a2", "a1"]

    # The fan answers in c-b: now that conversation needs a reply too.
    later = ingest(client, worker, account["id"], [conv("c-b", [msg("b3", "inbound", 9)], "fan-b")])
    assert later == {"inserted": 1, "duplicates": 0, "drafts_queued": 1}
    assert draft_job_id(message_id_of(db, "b3")) in queued_job_ids(redis, QueueName.ai)


def test_older_inbound_messages_queue_nothing(
    client: TestClient, worker: dict[str, str], redis: Redis, account: dict[str, Any]
) -> None:
    ingest(client, worker, account["id"], [conv("c", [msg("m2", "outbound", 10)])])
    # A backfilled inbound message older than our reply needs no draft.
    result = ingest(client, worker, account["id"], [conv("c", [msg("m1", "inbound", 1)])])
    assert result == {"inserted": 1, "duplicates": 0, "drafts_queued": 0}
    assert queued_job_ids(redis, QueueName.ai) == []


def test_fan_spend_counts_tips_and_paid_ppv_once(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    account: dict[str, Any],
    db: Database,
) -> None:
    batch = [
        conv(
            "c",
            [
                msg("t1", "inbound", 0, "for you", tip_cents=500),
                msg("p1", "outbound", 1, "new set", ppv_price_cents=1500, ppv_paid=False),
                msg("p2", "outbound", 2, "bonus", ppv_price_cents=700, ppv_paid=True),
            ],
        )
    ]
    first_seen = utcnow()
    ingest(client, worker, account["id"], batch)
    ingest(client, worker, account["id"], batch)

    def paid_at() -> dict[str, datetime | None]:
        with db.session() as session:
            return dict(session.query(Message.platform_message_id, Message.paid_at).all())

    # No platform says when a PPV was paid: the scrape that first sees it paid dates it,
    # and a later scrape seeing it paid again does not move it.
    seen = paid_at()
    assert seen["t1"] is None and seen["p1"] is None
    assert seen["p2"] is not None and first_seen <= seen["p2"] <= utcnow()

    def spend() -> int:
        conversations = client.get("/v1/conversations", headers=admin).json()["items"]
        return conversations[0]["fan"]["total_spend_cents"]

    assert spend() == 500 + 700
    # The fan unlocks p1 later: the next scrape sees it paid.
    paid = msg("p1", "outbound", 1, "new set", ppv_price_cents=1500, ppv_paid=True)
    unlocked = utcnow()
    assert ingest(client, worker, account["id"], [conv("c", [paid])])["duplicates"] == 1
    assert spend() == 500 + 700 + 1500
    now_paid = paid_at()
    assert now_paid["p1"] is not None and unlocked <= now_paid["p1"] <= utcnow()
    assert now_paid["p2"] == seen["p2"]
    ingest(client, worker, account["id"], [conv("c", [paid])])
    assert paid_at()["p1"] == now_paid["p1"]


def test_a_fan_is_active_when_they_last_wrote_and_keeps_the_handle_shown(
    client: TestClient, worker: dict[str, str], operator: dict[str, str], account: dict[str, Any]
) -> None:
    scraped = conv("c", [msg("m1", "inbound", 5), msg("m2", "outbound", 9)], "fan-h")
    ingest(client, worker, account["id"], [{**scraped, "fan_handle": "sammy"}])
    # An older message backfilled later does not make the fan less recently active.
    ingest(client, worker, account["id"], [conv("c", [msg("m0", "inbound", 1)], "fan-h")])

    [fan] = client.get("/v1/fans", headers=operator).json()["items"]
    assert (fan["handle"], fan["last_active_at"]) == ("sammy", "2026-03-01T12:05:00Z")
