"""Writing a draft: variants stored best sendable first and screened against the persona, and
auto-send by the account's policy, never for a held draft."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
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

# The stub's answer: four variants, one more than asked for and one of them sendable only
# once its phone number is edited out.
VARIANTS = StubReply.variants(
    ("Hey Sam! 😘", 70, "keeps it light"),
    (CONTACT, 95, "gives the fan a way to reach her"),
    ("Hey you, missed you", 88, "warm and personal\nsecond line dropped"),
    ("one too many", 99, "beyond the three asked for"),
)
# The blocked variant, its phone number edited out.
FIXED = "Hi Sam, let's keep chatting here"


@pytest.fixture
def variants_draft(db: Database, draft_for: DraftFor, llm_stub: LLMStub) -> int:
    """A pending draft written from `VARIANTS`."""
    llm_stub.default = VARIANTS
    return drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)


def _draft(client: TestClient, api_keys: ApiKeys, draft_id: int) -> dict[str, Any]:
    return client.get(f"/v1/drafts/{draft_id}", headers=api_keys.headers("operator")).json()


def _approve(client: TestClient, api_keys: ApiKeys, draft_id: int, **body: Any) -> Any:
    url = f"/v1/drafts/{draft_id}/approve"
    return client.post(url, headers=api_keys.headers("operator"), json=body)


@pytest.fixture
def fixed_approval(client: TestClient, api_keys: ApiKeys, variants_draft: int) -> dict[str, Any]:
    """The answer to approving the blocked variant (2) with `FIXED` as its text."""
    approved = _approve(client, api_keys, variants_draft, variant=2, text=FIXED)
    assert approved.status_code == 200, approved.text
    return approved.json()


def test_the_llm_is_asked_for_three_versions(llm_stub: LLMStub, variants_draft: int) -> None:
    assert "Write 3 clearly different versions" in llm_stub.requests[0].system


def test_variants_are_stored_best_sendable_first(
    client: TestClient, api_keys: ApiKeys, variants_draft: int
) -> None:
    # Three, as asked; each reason's first line only.
    draft = _draft(client, api_keys, variants_draft)
    assert [(v["text"], v["confidence"], v["reason"]) for v in draft["variants"]] == [
        ("Hey you, missed you", 88, "warm and personal"),
        ("Hey Sam! 😘", 70, "keeps it light"),
        (CONTACT, 95, "gives the fan a way to reach her"),
    ]


def test_each_variant_carries_its_own_filter_hits(
    client: TestClient, api_keys: ApiKeys, variants_draft: int
) -> None:
    draft = _draft(client, api_keys, variants_draft)
    assert [v["filter_hits"] != [] for v in draft["variants"]] == [False, False, True]


def test_the_draft_is_its_best_sendable_variant(
    client: TestClient, api_keys: ApiKeys, variants_draft: int
) -> None:
    draft = _draft(client, api_keys, variants_draft)
    assert (draft["text"], draft["confidence"], draft["blocked"]) == (
        "Hey you, missed you",
        88,
        False,
    )


def test_hits_on_any_variant_are_audited(db: Database, variants_draft: int) -> None:
    [hits] = audit_details(db, "draft.filter_hits")
    assert hits == {
        "actor": "policy:content_filter",
        "subject_id": variants_draft,
        "phone_number": 1,
    }


def test_approving_a_variant_the_draft_lacks_is_refused(
    client: TestClient, api_keys: ApiKeys, variants_draft: int
) -> None:
    missing = _approve(client, api_keys, variants_draft, variant=3)
    assert missing.status_code == 409
    assert missing.json()["detail"] == (
        f"draft {variants_draft} has 3 variants; there is no variant 3"
    )


def test_a_blocked_variant_is_refused_as_written(
    client: TestClient, api_keys: ApiKeys, variants_draft: int
) -> None:
    blocked = _approve(client, api_keys, variants_draft, variant=2)
    assert blocked.status_code == 409
    assert "filter:phone_number" in blocked.json()["detail"]


def test_a_blocked_variant_edited_clean_is_approved_and_sent(
    fixed_approval: dict[str, Any],
) -> None:
    draft, send = fixed_approval["draft"], fixed_approval["send"]
    assert (draft["variant"], draft["text"], send["text"]) == (2, FIXED, FIXED)
    # The draft takes the chosen variant's confidence.
    assert draft["confidence"] == 95


def test_the_feedback_compares_the_edit_with_the_chosen_variant(
    db: Database, variants_draft: int, fixed_approval: dict[str, Any]
) -> None:
    row = feedback_of(db, variants_draft)
    assert (row.variant, row.original_text, row.final_text, row.actor) == (
        2,
        CONTACT,
        FIXED,
        "operator",
    )
    assert row.edit_distance == edit_distance(CONTACT, FIXED) > 0


def test_the_approval_audits_the_variant_and_its_edit(
    db: Database, variants_draft: int, fixed_approval: dict[str, Any]
) -> None:
    [event] = audit_details(db, "draft.approved")
    assert (event["variant"], event["edited"], event["edit_distance"]) == (
        2,
        True,
        feedback_of(db, variants_draft).edit_distance,
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
