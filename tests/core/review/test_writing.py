"""Writing a draft: variants stored best sendable first and screened against the persona, and
auto-send by the account's policy, never for a held draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from redis import Redis

from core.db import Database
from core.fleet.queues import QueueName, send_job_id
from core.fleet.rq_repairs import job_exists
from core.models import Draft, Send
from core.review.feedback import edit_distance
from tests.helpers.api import ApiKeys
from tests.helpers.drafts import CONTACT, CONTACT_DRAFT, drafted
from tests.helpers.llm_stub import LLMStub, StubReply
from tests.helpers.rows import audit_details, feedback_of, queued_job_ids
from tests.helpers.scraped import conv, ingest, msg
from tests.helpers.seeding import DraftFor, Line, seed


def test_variants_are_stored_best_sendable_first(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.variants(
        ("Hey Sam! 😘", 70, "keeps it light"),
        (CONTACT, 95, "gives the fan a way to reach her"),
        ("Hey you, missed you", 88, "warm and personal\nsecond line dropped"),
        ("one too many", 99, "beyond the three asked for"),
    )
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    assert "Write 3 clearly different versions" in llm_stub.requests[0].system
    operator = api_keys.headers("operator")
    draft = client.get(f"/v1/drafts/{draft_id}", headers=operator).json()

    assert [(v["text"], v["confidence"], v["reason"]) for v in draft["variants"]] == [
        ("Hey you, missed you", 88, "warm and personal"),
        ("Hey Sam! 😘", 70, "keeps it light"),
        (CONTACT, 95, "gives the fan a way to reach her"),
    ]
    assert [v["filter_hits"] != [] for v in draft["variants"]] == [False, False, True]
    assert (draft["text"], draft["confidence"], draft["blocked"]) == (
        "Hey you, missed you",
        88,
        False,
    )
    # Hits on any variant are counted.
    [hits] = audit_details(db, "draft.filter_hits")
    assert hits == {"actor": "policy:content_filter", "subject_id": draft_id, "phone_number": 1}

    url = f"/v1/drafts/{draft_id}/approve"
    missing = client.post(url, headers=operator, json={"variant": 3})
    assert missing.status_code == 409
    assert missing.json()["detail"] == f"draft {draft_id} has 3 variants; there is no variant 3"
    blocked = client.post(url, headers=operator, json={"variant": 2})
    assert blocked.status_code == 409
    assert "filter:phone_number" in blocked.json()["detail"]

    fixed = "Hi Sam, let's keep chatting here"
    approved = client.post(url, headers=operator, json={"variant": 2, "text": fixed})
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert (body["draft"]["variant"], body["draft"]["text"], body["send"]["text"]) == (
        2,
        fixed,
        fixed,
    )
    assert body["draft"]["confidence"] == 95
    row = feedback_of(db, draft_id)
    assert (row.variant, row.original_text, row.final_text, row.actor) == (
        2,
        CONTACT,
        fixed,
        "operator",
    )
    assert row.edit_distance == edit_distance(CONTACT, fixed) > 0
    [event] = audit_details(db, "draft.approved")
    assert (event["variant"], event["edited"], event["edit_distance"]) == (
        2,
        True,
        row.edit_distance,
    )


def test_auto_send_follows_the_account_policy(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    # A clean, confident draft for a top-tier fan waits for a human.
    top = drafted(
        draft_for, seed(db, [Line("inbound", "hi")], auto_send=True, spend_cents=50_000).last
    )
    llm_stub.default = StubReply.draft("Hey you, thanks!", confidence=60)
    unsure = drafted(draft_for, seed(db, [Line("inbound", "hi")], auto_send=True).last)
    lenient = drafted(
        draft_for,
        seed(db, [Line("inbound", "hi")], auto_send=True, policy={"confidence_threshold": 60}).last,
    )
    held = {e["subject_id"]: e["reasons"] for e in audit_details(db, "draft.auto_send_held")}
    assert held == {top: ["top_tier_fan"], unsure: ["confidence_below_threshold"]}
    with db.session() as session:
        statuses = {i: session.get_one(Draft, i).status for i in (top, unsure, lenient)}
        assert [s.draft_id for s in session.query(Send)] == [lenient]
    assert statuses == {top: "pending", unsure: "pending", lenient: "approved"}
    row = feedback_of(db, lenient)
    assert (row.actor, row.edit_distance, row.variant) == ("policy:auto_send", 0, 0)


def test_the_drafted_text_is_filtered_against_the_persona(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.draft("anything for you, daddy")
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hey")]).last)
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
    assert draft.blocked
    assert draft.block_reasons == ["filter:forbidden_word"]


def test_auto_send_never_sends_a_blocked_draft(
    client: TestClient,
    api_keys: ApiKeys,
    db: Database,
    redis: Redis,
    draft_for: DraftFor,
    llm_stub: LLMStub,
) -> None:
    llm_stub.default = StubReply.draft(CONTACT_DRAFT)
    held = drafted(draft_for, seed(db, [Line("inbound", "hey")], auto_send=True).last)
    with db.session() as session:
        draft = session.get(Draft, held)
        assert draft is not None
        assert (draft.status, draft.blocked) == ("pending", True)
        assert session.query(Send).count() == 0
    assert queued_job_ids(redis, QueueName.send) == []
    [event] = audit_details(db, "draft.auto_send_held")
    assert event == {
        "actor": "policy:auto_send",
        "subject_id": held,
        "reasons": ["filter:phone_number", "filter:platform_handle"],
    }
    # Blocked by the guard alone (a clean text) is held just the same.
    llm_stub.default = StubReply.draft("Hey, thanks for the message!")
    guarded = drafted(draft_for, seed(db, [Line("inbound", "I want to die")], auto_send=True).last)
    # A clean draft on an auto-send account goes out by policy.
    sent = drafted(draft_for, seed(db, [Line("inbound", "hi")], auto_send=True).last)
    with db.session() as session:
        assert session.get(Draft, guarded).status == "pending"  # type: ignore[union-attr]
        assert session.get(Draft, sent).status == "approved"  # type: ignore[union-attr]
        assert [s.draft_id for s in session.query(Send)] == [sent]
    assert len(queued_job_ids(redis, QueueName.send)) == 1
    listed = client.get("/v1/drafts", headers=api_keys.headers("operator")).json()
    assert {d["id"] for d in listed["items"]} == {held, guarded}


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
