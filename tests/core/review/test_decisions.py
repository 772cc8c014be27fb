"""A reviewer's decisions through the API: claims and their lock, approving a draft (as
written, as a variant, edited, with the disclosure line), bulk approval, rejection, and
the gate at approval: a blocked draft needs an admin's audited override, and an edit is
filtered like any text."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.fleet.queues import QueueName, send_job_id
from core.fleet.rq_repairs import job_exists
from core.models import AuditEvent, Draft, Send
from tests.helpers.api import ApiKeys, LiveApi, MintKey, pending_draft_over_api
from tests.helpers.drafts import CONTACT, CONTACT_DRAFT, drafted
from tests.helpers.llm_stub import LLMStub, StubReply
from tests.helpers.rows import audit_details, feedback_of, queued_job_ids
from tests.helpers.seeding import DraftFor, Line, seed


def test_a_blocked_draft_needs_an_admin_override(
    client: TestClient,
    api_keys: ApiKeys,
    db: Database,
    redis: Redis,
    draft_for: DraftFor,
    llm_stub: LLMStub,
) -> None:
    llm_stub.default = StubReply.draft(CONTACT_DRAFT)
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "how can I reach you?")]).last)
    operator, admin = api_keys.headers("operator"), api_keys.headers("admin")

    [listed] = client.get("/v1/drafts", headers=operator).json()["items"]
    assert listed["blocked"] is True
    assert listed["block_reasons"] == ["filter:phone_number", "filter:platform_handle"]
    spans = [(h["rule"], CONTACT_DRAFT[h["start"] : h["end"]]) for h in listed["filter_hits"]]
    assert spans == [("phone_number", "555-123-4567"), ("platform_handle", "snapchat")]
    assert listed["guard_signals"] == []
    assert client.get("/v1/drafts?blocked=true", headers=operator).json()["total"] == 1
    assert client.get("/v1/drafts?blocked=false", headers=operator).json()["total"] == 0
    [hits] = audit_details(db, "draft.filter_hits")
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
    assert [e["actor"] for e in audit_details(db, "send.refused")] == ["operator", "admin"]
    assert queued_job_ids(redis, QueueName.send) == []

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
    assert len(queued_job_ids(redis, QueueName.send)) == 1
    [override] = audit_details(db, "send.override")
    assert (override["actor"], override["subject_id"], override["source"]) == (
        "admin",
        draft_id,
        "draft",
    )
    assert override["reasons"] == ["filter:phone_number", "filter:platform_handle"]
    assert override["override_reason"] == "fan's own support line, checked"
    [approved] = audit_details(db, "draft.approved")
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
    clean_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
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
    [refused] = audit_details(db, "send.refused")
    assert refused["reasons"] == ["filter:off_platform_payment"]
    # The persona's forbidden words count in edits too.
    daddy = client.post(approve, headers=operator, json={"text": "thanks daddy"})
    assert daddy.status_code == 409
    assert "filter:forbidden_word" in daddy.json()["detail"]

    # An operator who edits the contact details out of a blocked draft may approve it.
    llm_stub.default = StubReply.draft(CONTACT_DRAFT)
    blocked_id = drafted(draft_for, seed(db, [Line("inbound", "number?")]).last)
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
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "I'm 16, is that ok?")]).last)
    response = client.post(
        f"/v1/drafts/{draft_id}/approve",
        headers=api_keys.headers("operator"),
        json={"text": "Hey, thanks for the message!"},
    )
    assert response.status_code == 409
    assert "guard:minor" in response.json()["detail"]


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_two_operators_claiming_one_draft(
    client: TestClient, api_keys: ApiKeys, mint_key: MintKey, db: Database, draft_for: DraftFor
) -> None:
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    first, admin = api_keys.headers("operator"), api_keys.headers("admin")
    second = _headers(mint_key("operator", "operator-2"))
    url = f"/v1/drafts/{draft_id}"

    won = client.post(f"{url}/claim", headers=first)
    assert won.status_code == 200, won.text
    assert won.json()["claimed_by"] == "operator"
    assert won.json()["claim_expires_at"] is not None
    lost = client.post(f"{url}/claim", headers=second)
    assert lost.status_code == 409
    assert lost.json()["detail"].startswith(f"draft {draft_id} is claimed by operator for another")
    # Renewing your own claim is fine; deciding over someone else's is not.
    assert client.post(f"{url}/claim", headers=first).status_code == 200
    assert client.post(f"{url}/approve", headers=second, json={}).status_code == 409
    rejected = client.post(f"{url}/reject", headers=second, json={"reason": "nope"})
    assert rejected.status_code == 409
    assert "is claimed by operator" in rejected.json()["detail"]
    refused = client.post(f"{url}/release", headers=second)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"draft {draft_id} is claimed by operator; only they can release it"
    )

    released = client.post(f"{url}/release", headers=first)
    assert released.status_code == 200
    assert (released.json()["claimed_by"], released.json()["claim_expires_at"]) == (None, None)
    assert client.post(f"{url}/claim", headers=second).status_code == 200
    # An admin may drop anyone's claim.
    assert client.post(f"{url}/release", headers=admin).status_code == 200
    assert client.post(f"{url}/claim", headers=first).status_code == 200

    # A lapsed claim holds nobody back.
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        draft.claim_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    approved = client.post(f"{url}/approve", headers=second, json={})
    assert approved.status_code == 200, approved.text
    assert approved.json()["draft"]["claimed_by"] is None
    assert approved.json()["draft"]["decided_by"] == "operator-2"
    assert client.post(f"{url}/claim", headers=first).status_code == 409
    claims = [(e["actor"], e["subject_id"]) for e in audit_details(db, "draft.claimed")]
    assert claims == [
        ("operator", draft_id),
        ("operator-2", draft_id),
        ("operator", draft_id),
    ]
    assert [e["actor"] for e in audit_details(db, "draft.claim_renewed")] == ["operator"]
    releases = [(e["actor"], e["holder"]) for e in audit_details(db, "draft.released")]
    assert releases == [("operator", "operator"), ("admin", "operator-2")]


def test_a_claim_lasts_the_scaled_review_lock(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    before = utcnow()
    client.post(f"/v1/drafts/{draft_id}/claim", headers=api_keys.headers("operator"))
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None and draft.claim_expires_at is not None
        # review_lock_s 300 at time scale 0.01: three seconds.
        lock = (draft.claim_expires_at - before).total_seconds()
    assert 2.5 < lock <= 3.5


def _race_claims(url: str, keys: list[str], draft_id: int) -> dict[str, int]:
    """Every key claims `draft_id` at once, from its own thread; the status each got."""
    barrier = threading.Barrier(len(keys))
    statuses: dict[str, int] = {}

    def claim(key: str) -> None:
        with httpx.Client(base_url=url, headers=_headers(key)) as http:
            barrier.wait()
            statuses[key] = http.post(f"/v1/drafts/{draft_id}/claim").status_code

    threads = [threading.Thread(target=claim, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_racing_claims_one_wins(
    live_api: LiveApi, mint_key: MintKey, db: Database, draft_for: DraftFor
) -> None:
    names = {live_api.operator_key: "operator", mint_key("operator", "operator-2"): "operator-2"}
    for round_ in range(4):
        draft_id = drafted(draft_for, seed(db, [Line("inbound", f"hi {round_}")]).last)
        statuses = _race_claims(live_api.url, list(names), draft_id)
        assert sorted(statuses.values()) == [200, 409], statuses
        [winner] = [names[key] for key, status in statuses.items() if status == 200]
        with db.session() as session:
            assert session.get_one(Draft, draft_id).claimed_by == winner


def test_approving_a_variant_as_written(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.variants(("first", 90, "a"), ("second 😘", 80, "b"))
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    response = client.post(
        f"/v1/drafts/{draft_id}/approve", headers=api_keys.headers("operator"), json={"variant": 1}
    )
    assert response.status_code == 200, response.text
    assert response.json()["send"]["text"] == "second 😘"
    row = feedback_of(db, draft_id)
    assert (row.variant, row.original_text, row.final_text, row.edit_distance) == (
        1,
        "second 😘",
        "second 😘",
        0,
    )
    assert audit_details(db, "draft.approved")[0]["edited"] is False


def test_disclosure_goes_on_approved_drafts_only(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    admin, operator = api_keys.headers("admin"), api_keys.headers("operator")
    seeded = seed(db, [Line("inbound", "hi")])
    account_url = f"/v1/accounts/{seeded.account_id}"
    assert client.get(account_url, headers=admin).json()["policy"]["disclosure"] is None
    patched = client.patch(
        account_url,
        headers=admin,
        json={"policy": {"disclosure": "(AI-assisted reply)", "confidence_threshold": 90}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["policy"] == {
        "confidence_threshold": 90,
        "ppv_price_threshold_cents": 5_000,
        "response_target_s": 300.0,
        "disclosure": "(AI-assisted reply)",
        "daily_token_cap": None,
        "daily_spend_cap_cents": None,
        "nudges": False,
        "follow_up_after_h": 24.0,
        "re_engage_after_days": 7.0,
    }

    draft_id = drafted(draft_for, seeded.last)
    approved = client.post(f"/v1/drafts/{draft_id}/approve", headers=operator, json={}).json()
    assert approved["send"]["text"] == "Hey you, thanks!\n(AI-assisted reply)"
    assert approved["draft"]["text"] == "Hey you, thanks!"
    assert feedback_of(db, draft_id).final_text == "Hey you, thanks!"
    assert audit_details(db, "draft.approved")[0]["disclosure"] is True

    direct = client.post(
        "/v1/sends",
        headers=operator,
        json={"conversation_id": seeded.conversation_id, "text": "written by me"},
    )
    assert direct.status_code in (200, 201), direct.text
    assert direct.json()["text"] == "written by me"

    # The disclosure must still fit in a send.
    seeded_long = seed(db, [Line("inbound", "hey")])
    client.patch(
        f"/v1/accounts/{seeded_long.account_id}",
        headers=admin,
        json={"policy": {"disclosure": "x" * 200}},
    )
    long_id = drafted(draft_for, seeded_long.last)
    too_long = client.post(
        f"/v1/drafts/{long_id}/approve", headers=operator, json={"text": "y" * 4_900}
    )
    assert too_long.status_code == 409
    assert "a send holds at most 5000" in too_long.json()["detail"]
    assert client.get(f"/v1/drafts/{long_id}", headers=operator).json()["status"] == "pending"


def test_bulk_approve_skips_and_says_why(
    client: TestClient,
    api_keys: ApiKeys,
    mint_key: MintKey,
    db: Database,
    draft_for: DraftFor,
    llm_stub: LLMStub,
) -> None:
    operator = api_keys.headers("operator")
    clean = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    decided = drafted(draft_for, seed(db, [Line("inbound", "hey")]).last)
    claimed = drafted(draft_for, seed(db, [Line("inbound", "hello")]).last)
    llm_stub.default = StubReply.draft(CONTACT)
    blocked = drafted(draft_for, seed(db, [Line("inbound", "number?")]).last)
    client.post(f"/v1/drafts/{decided}/reject", headers=operator, json={"reason": "no"})
    other = _headers(mint_key("operator", "operator-2"))
    assert client.post(f"/v1/drafts/{claimed}/claim", headers=other).status_code == 200

    response = client.post(
        "/v1/drafts/approve",
        headers=operator,
        json={"ids": [clean, blocked, claimed, decided, 999_999]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["approved"], body["skipped"]) == (1, 4)
    results = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == [clean, blocked, claimed, decided, 999_999]
    assert results[clean]["status"] == "approved"
    assert results[clean]["reason"] is None
    with db.session() as session:
        [send] = session.query(Send).all()
    assert results[clean]["send_id"] == send.id
    assert results[blocked]["reason"].startswith(f"draft {blocked} is blocked (filter:phone")
    assert results[claimed]["reason"].startswith(f"draft {claimed} is claimed by operator-2")
    assert results[decided]["reason"] == (
        f"draft {decided} is rejected; only pending drafts can be decided"
    )
    assert results[999_999]["reason"] == "draft 999999 not found"
    assert all(results[i]["status"] == "skipped" for i in (blocked, claimed, decided, 999_999))
    # The claimed draft is still claimed and pending; its holder can go on.
    held = client.get(f"/v1/drafts/{claimed}", headers=operator).json()
    assert (held["status"], held["claimed_by"]) == ("pending", "operator-2")
    assert client.post(f"/v1/drafts/{claimed}/approve", headers=other, json={}).status_code == 200


def test_approve_queues_a_reply_send(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    db: Database,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    draft = pending_draft_over_api(client, worker, operator, account["id"], run_draft_jobs)
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
    draft = pending_draft_over_api(client, worker, operator, account["id"], run_draft_jobs)
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
