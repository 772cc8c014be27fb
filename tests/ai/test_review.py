"""The review workflow through the API: claims, variants and feedback, the disclosure
line, bulk approval, the queue's order and filters, and auto-send by policy."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from core.models import AuditEvent, Draft, DraftFeedback, Send
from core.review.feedback import edit_distance
from tests.ai.conftest import DraftFor, Line, seed
from tests.ai.llm_stub import LLMStub, StubReply
from tests.fixtures.control_plane import ApiKeys, LiveApi, MintKey

CONTACT = "Hi Sam, call me 555-123-4567"


def _draft_id(draft_for: DraftFor, message_id: int) -> int:
    draft_id = draft_for(message_id)
    assert draft_id is not None
    return draft_id


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _events(db: Database, action: str) -> list[dict[str, Any]]:
    with db.session() as session:
        events = session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id)
        return [{"actor": e.actor, "subject_id": e.subject_id, **e.detail} for e in events]


def _feedback(db: Database, draft_id: int) -> DraftFeedback:
    with db.session() as session:
        return session.query(DraftFeedback).filter_by(draft_id=draft_id).one()


def test_two_operators_claiming_one_draft(
    client: TestClient, api_keys: ApiKeys, mint_key: MintKey, db: Database, draft_for: DraftFor
) -> None:
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "hi")]).last)
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
    claims = [(e["actor"], e["subject_id"]) for e in _events(db, "draft.claimed")]
    assert claims == [
        ("operator", draft_id),
        ("operator-2", draft_id),
        ("operator", draft_id),
    ]
    assert [e["actor"] for e in _events(db, "draft.claim_renewed")] == ["operator"]
    releases = [(e["actor"], e["holder"]) for e in _events(db, "draft.released")]
    assert releases == [("operator", "operator"), ("admin", "operator-2")]


def test_a_claim_lasts_the_scaled_review_lock(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "hi")]).last)
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
        draft_id = _draft_id(draft_for, seed(db, [Line("inbound", f"hi {round_}")]).last)
        statuses = _race_claims(live_api.url, list(names), draft_id)
        assert sorted(statuses.values()) == [200, 409], statuses
        [winner] = [names[key] for key, status in statuses.items() if status == 200]
        with db.session() as session:
            assert session.get_one(Draft, draft_id).claimed_by == winner


def test_variants_are_stored_best_sendable_first(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.variants(
        ("Hey Sam! 😘", 70, "keeps it light"),
        (CONTACT, 95, "gives the fan a way to reach her"),
        ("Hey you, missed you", 88, "warm and personal\nsecond line dropped"),
        ("one too many", 99, "beyond the three asked for"),
    )
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "hi")]).last)
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
    [hits] = _events(db, "draft.filter_hits")
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
    row = _feedback(db, draft_id)
    assert (row.variant, row.original_text, row.final_text, row.actor) == (
        2,
        CONTACT,
        fixed,
        "operator",
    )
    assert row.edit_distance == edit_distance(CONTACT, fixed) > 0
    [event] = _events(db, "draft.approved")
    assert (event["variant"], event["edited"], event["edit_distance"]) == (
        2,
        True,
        row.edit_distance,
    )


def test_approving_a_variant_as_written(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.variants(("first", 90, "a"), ("second 😘", 80, "b"))
    draft_id = _draft_id(draft_for, seed(db, [Line("inbound", "hi")]).last)
    response = client.post(
        f"/v1/drafts/{draft_id}/approve", headers=api_keys.headers("operator"), json={"variant": 1}
    )
    assert response.status_code == 200, response.text
    assert response.json()["send"]["text"] == "second 😘"
    row = _feedback(db, draft_id)
    assert (row.variant, row.original_text, row.final_text, row.edit_distance) == (
        1,
        "second 😘",
        "second 😘",
        0,
    )
    assert _events(db, "draft.approved")[0]["edited"] is False


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

    draft_id = _draft_id(draft_for, seeded.last)
    approved = client.post(f"/v1/drafts/{draft_id}/approve", headers=operator, json={}).json()
    assert approved["send"]["text"] == "Hey you, thanks!\n(AI-assisted reply)"
    assert approved["draft"]["text"] == "Hey you, thanks!"
    assert _feedback(db, draft_id).final_text == "Hey you, thanks!"
    assert _events(db, "draft.approved")[0]["disclosure"] is True

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
    long_id = _draft_id(draft_for, seeded_long.last)
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
    clean = _draft_id(draft_for, seed(db, [Line("inbound", "hi")]).last)
    decided = _draft_id(draft_for, seed(db, [Line("inbound", "hey")]).last)
    claimed = _draft_id(draft_for, seed(db, [Line("inbound", "hello")]).last)
    llm_stub.default = StubReply.draft(CONTACT)
    blocked = _draft_id(draft_for, seed(db, [Line("inbound", "number?")]).last)
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


def test_queue_order_wait_and_filters(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    now = utcnow()
    patient = {"response_target_s": 7 * 24 * 3600}  # scaled: 100 minutes
    # Default target (300 s, scaled to 3 s): ten minutes is overdue.
    late = seed(db, [Line("inbound", "hello?")], start=now - timedelta(minutes=10))
    whale = seed(
        db, [Line("inbound", "hi")], spend_cents=60_000, policy=patient, start=now, fan_name="W"
    )
    tipper = seed(
        db, [Line("inbound", "for you", tip_cents=500)], policy=patient, start=now, fan_name="T"
    )
    plain = seed(db, [Line("inbound", "hey")], policy=patient, start=now, fan_name="P")
    ids = {
        name: _draft_id(draft_for, seeded.last)
        for name, seeded in (("plain", plain), ("tipper", tipper), ("whale", whale), ("late", late))
    }
    operator = api_keys.headers("operator")

    queue = client.get("/v1/drafts", headers=operator).json()
    assert queue["total"] == 4
    by_id = {d["id"]: d for d in queue["items"]}
    assert [d["id"] for d in queue["items"]] == [
        ids["late"],
        ids["whale"],
        ids["tipper"],
        ids["plain"],
    ]
    first = by_id[ids["late"]]
    assert first["overdue"] is True
    assert 590 < first["waiting_s"] < 900
    assert not any(by_id[ids[n]]["overdue"] for n in ("whale", "tipper", "plain"))
    assert by_id[ids["whale"]]["fan_tier"] == "top"
    assert by_id[ids["tipper"]]["kind"] == "tip_thanks"
    assert by_id[ids["whale"]]["priority"] > by_id[ids["tipper"]]["priority"]
    assert by_id[ids["tipper"]]["priority"] > by_id[ids["plain"]]["priority"]
    single = client.get(f"/v1/drafts/{ids['late']}", headers=operator).json()
    assert single["overdue"] is True

    def listed(query: str) -> list[int]:
        response = client.get(f"/v1/drafts?{query}", headers=operator)
        assert response.status_code == 200, response.text
        return [d["id"] for d in response.json()["items"]]

    assert listed("tier=top") == [ids["whale"]]
    assert listed("tier=none") == [ids["late"], ids["tipper"], ids["plain"]]
    assert listed("tier=mid") == []
    assert listed("kind=tip_thanks") == [ids["tipper"]]
    assert listed(f"account_id={plain.account_id}") == [ids["plain"]]
    assert listed("limit=2&offset=1") == [ids["whale"], ids["tipper"]]
    bad = client.get("/v1/drafts?tier=gold", headers=operator)
    assert bad.status_code == 422
    assert "query.tier: Input should be" in bad.json()["detail"]

    # A decided draft's wait stops at its decision and is never overdue.
    client.post(f"/v1/drafts/{ids['late']}/approve", headers=operator, json={})
    [approved] = client.get("/v1/drafts?status=approved", headers=operator).json()["items"]
    assert approved["overdue"] is False
    assert 590 < approved["waiting_s"] < 900


def test_auto_send_follows_the_account_policy(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    # A clean, confident draft for a top-tier fan waits for a human.
    top = _draft_id(
        draft_for, seed(db, [Line("inbound", "hi")], auto_send=True, spend_cents=50_000).last
    )
    llm_stub.default = StubReply.draft("Hey you, thanks!", confidence=60)
    unsure = _draft_id(draft_for, seed(db, [Line("inbound", "hi")], auto_send=True).last)
    lenient = _draft_id(
        draft_for,
        seed(db, [Line("inbound", "hi")], auto_send=True, policy={"confidence_threshold": 60}).last,
    )
    held = {e["subject_id"]: e["reasons"] for e in _events(db, "draft.auto_send_held")}
    assert held == {top: ["top_tier_fan"], unsure: ["confidence_below_threshold"]}
    with db.session() as session:
        statuses = {i: session.get_one(Draft, i).status for i in (top, unsure, lenient)}
        assert [s.draft_id for s in session.query(Send)] == [lenient]
    assert statuses == {top: "pending", unsure: "pending", lenient: "approved"}
    row = _feedback(db, lenient)
    assert (row.actor, row.edit_distance, row.variant) == ("policy:auto_send", 0, 0)
