"""The ai queue's draft job: an offline draft for the newest inbound message, and a tip thanked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis
from rq.job import Job

from core.db import Database
from core.fleet.queues import draft_job_id
from core.models import AuditEvent
from core.review.jobs import draft_for_message
from tests.helpers.rows import message_id_of
from tests.helpers.scraped import conv, ingest, msg, two_conversations


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
    job = Job.fetch(draft_job_id(message_id_of(db, "a4")), connection=redis)
    assert job.get_status() == "finished"

    drafts = client.get("/v1/drafts", headers=operator).json()
    assert len(drafts["items"]) == 1
    draft = drafts["items"][0]
    assert job.return_value() == draft["id"]
    assert draft["status"] == "pending"
    assert draft["provider"] == "offline"
    assert draft["model"] is None
    assert draft["message_id"] == message_id_of(db, "a4")
    assert draft["kind"] == "reply"
    assert "Sam" in draft["text"]
    with db.session() as session:
        event = session.query(AuditEvent).filter_by(action="draft.created").one()
    assert event.subject_id == draft["id"]
    assert event.detail["provider"] == "offline"
    assert event.actor == "drafter:offline"

    # Running the job again (a redelivery) finds the same draft.
    assert draft_for_message(message_id_of(db, "a4")) == draft["id"]
    # A message that is no longer the newest gets no draft.
    assert draft_for_message(message_id_of(db, "a3")) is None
    assert len(client.get("/v1/drafts", headers=operator).json()["items"]) == 1


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
