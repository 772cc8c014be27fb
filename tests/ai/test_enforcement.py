"""Enforcement through the API: blocked drafts are listed with their reasons, cannot be
approved without an admin's audited override, edited text is filtered, and auto-send never
sends a blocked draft."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue

from core.db import Database
from core.fleet.queues import QueueName
from core.models import AuditEvent, Draft, Send
from tests.ai.conftest import DraftFor, Line, seed
from tests.ai.llm_stub import LLMStub, StubReply
from tests.fixtures.control_plane import ApiKeys

CONTACT_DRAFT = "text me at 555-123-4567 or add me on snapchat xoxo"


def _detail(db: Database, action: str) -> list[dict[str, Any]]:
    with db.session() as session:
        events = session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)
        return [{"actor": e.actor, "subject_id": e.subject_id, **e.detail} for e in events]


def _send_jobs(redis: Redis) -> list[str]:
    return Queue(QueueName.send.value, connection=redis).job_ids


def _draft_id(draft_for: DraftFor, message_id: int) -> int:
    draft_id = draft_for(message_id)
    assert draft_id is not None
    return draft_id


def test_a_blocked_draft_needs_an_admin_override(
    client: TestClient,
    api_keys: ApiKeys,
    db: Database,
    redis: Redis,
    draft_for: DraftFor,
    llm_stub: LLMStub,
) -> None:
    llm_stub.default = StubReply.draft(CONTACT_DRAFT)
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "how can I reach you?")]).last)
    operator, admin = api_keys.headers("operator"), api_keys.headers("admin")

    [listed] = client.get("/v1/drafts", headers=operator).json()["items"]
    assert listed["blocked"] is True
    assert listed["block_reasons"] == ["filter:phone_number", "filter:platform_handle"]
    spans = [(h["rule"], CONTACT_DRAFT[h["start"] : h["end"]]) for h in listed["filter_hits"]]
    assert spans == [("phone_number", "555-123-4567"), ("platform_handle", "snapchat")]
    assert listed["guard_signals"] == []
    assert client.get("/v1/drafts?blocked=true", headers=operator).json()["total"] == 1
    assert client.get("/v1/drafts?blocked=false", headers=operator).json()["total"] == 0
    [hits] = _detail(db, "draft.filter_hits")
    assert hits == {
        "actor": "policy:content_filter",
        "subject_id": draft_id,
        "phone_number": 1,
        "platform_handle": 1,
    }

    approve = f"/v1/drafts/{draft_id}/approve"
    refused = client.post(approve, headers=operator, json={})
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"draft {draft_id} is blocked (filter:phone_number, filter:platform_handle); only an "
        "admin can approve it, with override and an override_reason"
    )
    # Operators may not override at all: a role question, answered 403 whatever the draft.
    forbidden = client.post(
        approve, headers=operator, json={"override": True, "override_reason": "fine"}
    )
    assert forbidden.status_code == 403
    assert "only an admin may override" in forbidden.json()["detail"]
    # An admin without an explicit override is refused like anyone else.
    assert client.post(approve, headers=admin, json={}).status_code == 409
    no_reason = client.post(approve, headers=admin, json={"override": True})
    assert no_reason.status_code == 422
    assert "override needs an override_reason" in no_reason.json()["detail"]
    stray = client.post(approve, headers=admin, json={"override_reason": "why"})
    assert stray.status_code == 422
    assert [e["actor"] for e in _detail(db, "send.refused")] == ["operator", "admin"]
    assert _send_jobs(redis) == []

    overridden = client.post(
        approve,
        headers=admin,
        json={"override": True, "override_reason": "fan's own support line, checked"},
    )
    assert overridden.status_code == 200, overridden.text
    body = overridden.json()
    assert body["draft"]["status"] == "approved"
    assert body["draft"]["override_reason"] == "fan's own support line, checked"
    assert body["send"]["text"] == CONTACT_DRAFT
    assert len(_send_jobs(redis)) == 1
    [override] = _detail(db, "send.override")
    assert (override["actor"], override["subject_id"], override["source"]) == (
        "admin",
        draft_id,
        "draft",
    )
    assert override["reasons"] == ["filter:phone_number", "filter:platform_handle"]
    assert override["override_reason"] == "fan's own support line, checked"
    [approved] = _detail(db, "draft.approved")
    assert (approved["actor"], approved["override"], approved["edited"]) == ("admin", True, False)


def test_edited_text_passes_the_filter(
    client: TestClient,
    api_keys: ApiKeys,
    db: Database,
    redis: Redis,
    draft_for: DraftFor,
    llm_stub: LLMStub,
) -> None:
    operator = api_keys.headers("operator")
    clean_id = _draft_id(draft_for, seed(db, [Line("inbound", "hi")]).last)
    approve = f"/v1/drafts/{clean_id}/approve"

    sneaky = client.post(approve, headers=operator, json={"text": "venmo me at @mia_xo"})
    assert sneaky.status_code == 409
    assert "filter:off_platform_payment" in sneaky.json()["detail"]
    # The refused edit left the draft as it was; the refusal is on record.
    draft = client.get(f"/v1/drafts/{clean_id}", headers=operator).json()
    assert (draft["text"], draft["blocked"], draft["filter_hits"]) == (
        "Hey you, thanks!",
        False,
        [],
    )
    [refused] = _detail(db, "send.refused")
    assert refused["reasons"] == ["filter:off_platform_payment"]
    # The persona's forbidden words count in edits too.
    daddy = client.post(approve, headers=operator, json={"text": "thanks daddy"})
    assert daddy.status_code == 409
    assert "filter:forbidden_word" in daddy.json()["detail"]

    # An operator who edits the contact details out of a blocked draft may approve it.
    llm_stub.default = StubReply.draft(CONTACT_DRAFT)
    blocked_id = _draft_id(draft_for, seed(db, [Line("inbound", "number?")]).last)
    fixed = client.post(
        f"/v1/drafts/{blocked_id}/approve",
        headers=operator,
        json={"text": "let's keep chatting here 😘"},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["draft"]["blocked"] is False
    assert fixed.json()["draft"]["filter_hits"] == []
    assert fixed.json()["send"]["text"] == "let's keep chatting here 😘"


def test_an_edit_cannot_clear_a_guard_block(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "I'm 16, is that ok?")]).last)
    response = client.post(
        f"/v1/drafts/{draft_id}/approve",
        headers=api_keys.headers("operator"),
        json={"text": "Hey, thanks for the message!"},
    )
    assert response.status_code == 409
    assert "guard:minor" in response.json()["detail"]


def test_the_drafted_text_is_filtered_against_the_persona(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.draft("anything for you, daddy")
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "hey")]).last)
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
    held = _draft_id(draft_for, seed(db, [Line("inbound", "hey")], auto_send=True).last)
    with db.session() as session:
        draft = session.get(Draft, held)
        assert draft is not None
        assert (draft.status, draft.blocked) == ("pending", True)
        assert session.query(Send).count() == 0
    assert _send_jobs(redis) == []
    [event] = _detail(db, "draft.auto_send_held")
    assert event == {
        "actor": "policy:auto_send",
        "subject_id": held,
        "reasons": ["filter:phone_number", "filter:platform_handle"],
    }
    # Blocked by the guard alone (a clean text) is held just the same.
    llm_stub.default = StubReply.draft("Hey, thanks for the message!")
    guarded = _draft_id(
        draft_for, seed(db, [Line("inbound", "I want to die")], auto_send=True).last
    )
    # A clean draft on an auto-send account goes out by policy.
    sent = _draft_id(draft_for, seed(db, [Line("inbound", "hi")], auto_send=True).last)
    with db.session() as session:
        assert session.get(Draft, guarded).status == "pending"  # type: ignore[union-attr]
        assert session.get(Draft, sent).status == "approved"  # type: ignore[union-attr]
        assert [s.draft_id for s in session.query(Send)] == [sent]
    assert len(_send_jobs(redis)) == 1
    listed = client.get("/v1/drafts", headers=api_keys.headers("operator")).json()
    assert {d["id"] for d in listed["items"]} == {held, guarded}
