"""Ingest is idempotent and queues one draft per conversation; the offline drafter writes
pending drafts; operators approve them into sends or reject them with a reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis
from rq.job import Job

from core.clock import utcnow
from core.db import Database
from core.fleet.queues import QueueName, draft_job_id, send_job_id
from core.fleet.rq_repairs import job_exists
from core.models import AuditEvent, Draft, Message
from core.review.jobs import draft_for_message
from tests.api.conftest import conv, ingest, msg, queued_job_ids


def message_id(db: Database, platform_id: str) -> int:
    with db.session() as session:
        return session.query(Message.id).filter_by(platform_message_id=platform_id).scalar()


def two_conversations() -> list[dict[str, Any]]:
    return [
        conv(
            "c-a",
            [
                msg("a1", "inbound", 0, "hey there"),
                msg("a2", "outbound", 1, "hi!"),
                msg("a3", "inbound", 2, "you look amazing"),
                msg("a4", "inbound", 3, "what are you up to tonight?"),
            ],
            fan="fan-a",
            name="Sam Jones",
        ),
        conv(
            "c-b",
            [msg("b1", "inbound", 0, "hello"), msg("b2", "outbound", 5, "hey you")],
            fan="fan-b",
            name="Alex",
        ),
    ]


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
    assert queued_job_ids(redis, QueueName.ai) == [draft_job_id(message_id(db, "a4"))]

    again = ingest(client, worker, account["id"], two_conversations())
    assert again == {"inserted": 0, "duplicates": 6, "drafts_queued": 0}
    assert len(queued_job_ids(redis, QueueName.ai)) == 1

    page = client.get(f"/v1/conversations?account_id={account['id']}", headers=admin).json()
    assert page["total"] == 2
    by_id = {c["platform_conversation_id"]: c for c in page["items"]}
    assert by_id["c-a"]["last_message_at"] == "2026-03-01T12:03:00Z"
    assert by_id["c-a"]["fan"]["name"] == "Sam Jones"
    messages = client.get(f"/v1/conversations/{by_id['c-a']['id']}/messages", headers=admin)
    assert [m["platform_message_id"] for m in messages.json()["items"]] == ["a4", "a3", "a2", "a1"]

    # The fan answers in c-b: now that conversation needs a reply too.
    later = ingest(client, worker, account["id"], [conv("c-b", [msg("b3", "inbound", 9)], "fan-b")])
    assert later == {"inserted": 1, "duplicates": 0, "drafts_queued": 1}
    assert draft_job_id(message_id(db, "b3")) in queued_job_ids(redis, QueueName.ai)


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


def test_draft_job_writes_an_offline_draft(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    db: Database,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    ingest(client, worker, account["id"], two_conversations())
    assert run_draft_jobs() == 1
    job = Job.fetch(draft_job_id(message_id(db, "a4")), connection=redis)
    assert job.get_status() == "finished"

    drafts = client.get("/v1/drafts", headers=operator).json()
    assert drafts["total"] == 1
    draft = drafts["items"][0]
    assert job.return_value() == draft["id"]
    assert draft["status"] == "pending"
    assert draft["provider"] == "offline"
    assert draft["model"] is None
    assert draft["message_id"] == message_id(db, "a4")
    assert draft["kind"] == "reply"
    assert "Sam" in draft["text"]
    with db.session() as session:
        event = session.query(AuditEvent).filter_by(action="draft.created").one()
    assert event.subject_id == draft["id"]
    assert event.detail["provider"] == "offline"
    assert event.actor == "drafter:offline"

    # Running the job again (a redelivery) finds the same draft.
    assert draft_for_message(message_id(db, "a4")) == draft["id"]
    # A message that is no longer the newest gets no draft.
    assert draft_for_message(message_id(db, "a3")) is None
    assert client.get("/v1/drafts", headers=operator).json()["total"] == 1


def test_tip_is_thanked(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    ingest(client, worker, account["id"], [conv("c", [msg("t", "inbound", 0, "", tip_cents=900)])])
    run_draft_jobs()
    draft = client.get("/v1/drafts", headers=operator).json()["items"][0]
    assert draft["kind"] == "tip_thanks"
    assert "thank" in draft["text"].lower()


def pending_draft(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    account_id: int,
    run_draft_jobs: Callable[[], int],
) -> dict[str, Any]:
    ingest(client, worker, account_id, [conv("c-1", [msg("m1", "inbound", 0, "hi gorgeous")])])
    run_draft_jobs()
    return client.get("/v1/drafts", headers=operator).json()["items"][0]


def test_approve_queues_a_reply_send(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    db: Database,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    draft = pending_draft(client, worker, operator, account["id"], run_draft_jobs)
    response = client.post(
        f"/v1/drafts/{draft['id']}/approve", headers=operator, json={"text": "Hey Sam, thanks!"}
    )
    assert response.status_code == 200, response.text
    approved, send = response.json()["draft"], response.json()["send"]
    assert approved["status"] == "approved"
    assert approved["decided_by"] == "operator"
    assert approved["text"] == "Hey Sam, thanks!"
    assert send["status"] == "queued"
    assert send["priority"] == "reply"
    assert send["attempt"] == 1
    assert send["draft_id"] == draft["id"]
    assert send["text"] == "Hey Sam, thanks!"
    assert send["created_by"] == "operator"
    assert queued_job_ids(redis, QueueName.send) == [send_job_id(send["id"], 1)]
    assert job_exists(redis, send_job_id(send["id"], 1))

    conflict = client.post(f"/v1/drafts/{draft['id']}/approve", headers=operator, json={})
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == (
        f"draft {draft['id']} is approved; only pending drafts can be decided"
    )
    reject = client.post(f"/v1/drafts/{draft['id']}/reject", headers=operator, json={"reason": "x"})
    assert reject.status_code == 409
    with db.session() as session:
        actions = [
            (e.action, e.actor, e.detail.get("edited"))
            for e in session.query(AuditEvent).filter_by(subject_type="draft").order_by("id")
        ]
    assert actions[-1] == ("draft.approved", "operator", True)
    assert client.get("/v1/drafts", headers=operator).json()["total"] == 0
    listed = client.get("/v1/drafts?status=approved", headers=operator).json()
    assert listed["total"] == 1


def test_reject_keeps_the_reason(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    draft = pending_draft(client, worker, operator, account["id"], run_draft_jobs)
    missing = client.post(f"/v1/drafts/{draft['id']}/reject", headers=operator, json={})
    assert missing.status_code == 422
    response = client.post(
        f"/v1/drafts/{draft['id']}/reject", headers=operator, json={"reason": "too forward"}
    )
    assert response.status_code == 200
    rejected = response.json()
    assert (rejected["status"], rejected["reason"], rejected["decided_by"]) == (
        "rejected",
        "too forward",
        "operator",
    )
    assert queued_job_ids(redis, QueueName.send) == []
    again = client.post(f"/v1/drafts/{draft['id']}/approve", headers=operator, json={})
    assert again.status_code == 409


def test_drafts_filter_by_account(
    client: TestClient,
    admin: dict[str, str],
    worker: dict[str, str],
    operator: dict[str, str],
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    other = client.post(
        "/v1/accounts", headers=admin, json={"name": "B", "username": "b", "password": "p"}
    ).json()
    for account_id in (account["id"], other["id"]):
        ingest(client, worker, account_id, [conv("c", [msg("m", "inbound", 0)])])
    assert run_draft_jobs() == 2
    assert client.get("/v1/drafts", headers=operator).json()["total"] == 2
    mine = client.get(f"/v1/drafts?account_id={other['id']}", headers=operator).json()
    assert mine["total"] == 1
    conversation_id = mine["items"][0]["conversation_id"]
    owner = client.get(f"/v1/conversations/{conversation_id}", headers=operator).json()
    assert owner["account_id"] == other["id"]


def test_auto_send_account_approves_by_policy(
    client: TestClient,
    admin: dict[str, str],
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    db: Database,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    client.patch(f"/v1/accounts/{account['id']}", headers=admin, json={"auto_send": True})
    ingest(client, worker, account["id"], [conv("c", [msg("m", "inbound", 0, "hello?")])])
    run_draft_jobs()
    draft = client.get("/v1/drafts?status=approved", headers=operator).json()["items"][0]
    assert draft["decided_by"] == "policy:auto_send"
    sends = client.get("/v1/sends", headers=operator).json()["items"]
    assert [(s["draft_id"], s["status"], s["created_by"]) for s in sends] == [
        (draft["id"], "queued", "policy:auto_send")
    ]
    assert job_exists(redis, send_job_id(sends[0]["id"], 1))
    with db.session() as session:
        assert session.get(Draft, draft["id"]).status == "approved"
