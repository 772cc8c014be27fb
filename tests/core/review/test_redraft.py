"""POST /v1/drafts/{id}/redraft: fresh variants for a pending draft through the shared
drafting path, within the review claim, and offline past the operator's hourly LLM
requests or a token cap."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from api.app import create_app
from core.clock import utcnow
from core.db import Database
from core.drafting.providers import get_drafter
from core.enums import Role
from core.models import AiUsage, AuditEvent, Draft
from core.review.writing import create_draft_for_message
from core.settings import Settings
from tests.helpers.api import ApiKeys, MintKey
from tests.helpers.llm_stub import STUB_MODEL, LLMStub, StubReply
from tests.helpers.seeding import DraftFor, Line, seed

FRESH = StubReply.variants(
    ("fresh one, how was your day?", 88, "asks back"),
    ("fresh two, missed you", 75, "warm"),
    ("fresh three", 60, "short"),
)


@pytest.fixture
def llm_client(llm_settings: Settings) -> Iterator[TestClient]:
    """The API drafting through the stub, three redrafts per operator per hour."""
    settings = llm_settings.model_copy(update={"ai_operator_requests_per_hour": 3})
    with TestClient(create_app(settings)) as client:
        yield client


def _redraft(
    client: TestClient, headers: dict[str, str], draft_id: int, body: dict[str, Any] | None = None
) -> Any:
    return client.post(f"/v1/drafts/{draft_id}/redraft", headers=headers, json=body)


def _pending_draft(db: Database, draft_for: DraftFor) -> int:
    seeded = seed(db, [Line("inbound", "hey, how are you?")])
    draft_id = draft_for(seeded.last)
    assert draft_id is not None
    return draft_id


def _usage(db: Database) -> list[AiUsage]:
    with db.session() as session:
        return list(session.query(AiUsage).order_by(AiUsage.id))


def test_redraft_replaces_the_variants_with_the_llms(
    db: Database,
    draft_for: DraftFor,
    llm_stub: LLMStub,
    llm_client: TestClient,
    api_keys: ApiKeys,
) -> None:
    draft_id = _pending_draft(db, draft_for)
    llm_stub.will(FRESH)

    response = _redraft(llm_client, api_keys.headers("operator"), draft_id, {"variants": 2})

    assert response.status_code == 200, response.text
    draft = response.json()
    assert draft["id"] == draft_id
    assert draft["status"] == "pending"
    assert [v["text"] for v in draft["variants"]] == [
        "fresh one, how was your day?",
        "fresh two, missed you",
    ]
    assert (draft["text"], draft["confidence"]) == ("fresh one, how was your day?", 88)
    assert (draft["provider"], draft["model"], draft["fallback_reason"]) == (
        "openai",
        STUB_MODEL,
        None,
    )
    assert draft["redrafts"] == 1
    # The draft's tokens add up both calls.
    assert (draft["prompt_tokens"], draft["completion_tokens"]) == (642, 34)
    assert "Write 2 clearly different versions" in llm_stub.requests[-1].system
    usage = _usage(db)
    assert [(u.actor, u.llm_called) for u in usage] == [(None, True), ("operator", True)]
    with db.session() as session:
        event = session.query(AuditEvent).filter_by(action="draft.redrafted").one()
    assert (event.actor, event.subject_id) == ("operator", draft_id)
    assert (event.detail["provider"], event.detail["variants"], event.detail["redrafts"]) == (
        "openai",
        2,
        1,
    )


@pytest.fixture
def held_by_other(
    db: Database, draft_for: DraftFor, llm_client: TestClient, mint_key: MintKey
) -> tuple[int, dict[str, str]]:
    """A pending draft claimed by another operator, `other`, and their key's headers."""
    draft_id = _pending_draft(db, draft_for)
    other = {"Authorization": f"Bearer {mint_key(Role.operator, 'other')}"}
    assert llm_client.post(f"/v1/drafts/{draft_id}/claim", headers=other).status_code == 200
    return draft_id, other


def test_another_operators_claim_refuses_the_redraft(
    held_by_other: tuple[int, dict[str, str]],
    llm_stub: LLMStub,
    llm_client: TestClient,
    api_keys: ApiKeys,
) -> None:
    draft_id, other = held_by_other
    operator = api_keys.headers("operator")
    asked = len(llm_stub.requests)

    refused = _redraft(llm_client, operator, draft_id)
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith(f"draft {draft_id} is claimed by other")
    assert len(llm_stub.requests) == asked
    # The claim's holder may redraft, and keeps the claim.
    held = _redraft(llm_client, other, draft_id)
    assert held.status_code == 200, held.text
    assert held.json()["claimed_by"] == "other"


def test_a_redraft_does_not_show_a_claim_that_ran_out(
    held_by_other: tuple[int, dict[str, str]],
    db: Database,
    llm_client: TestClient,
    api_keys: ApiKeys,
) -> None:
    draft_id, _ = held_by_other
    with db.session() as session:
        session.get_one(Draft, draft_id).claim_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()

    redrafted = _redraft(llm_client, api_keys.headers("operator"), draft_id)
    assert redrafted.status_code == 200, redrafted.text
    assert (redrafted.json()["claimed_by"], redrafted.json()["claim_expires_at"]) == (None, None)


def test_only_pending_drafts_are_redrafted(
    db: Database, draft_for: DraftFor, llm_client: TestClient, api_keys: ApiKeys
) -> None:
    draft_id = _pending_draft(db, draft_for)
    operator = api_keys.headers("operator")
    rejected = llm_client.post(
        f"/v1/drafts/{draft_id}/reject", headers=operator, json={"reason": "off"}
    )
    assert rejected.status_code == 200
    response = _redraft(llm_client, operator, draft_id)
    assert response.status_code == 409
    assert "is rejected" in response.json()["detail"]
    assert _redraft(llm_client, api_keys.headers("worker"), draft_id).status_code == 403


def _providers(client: TestClient, headers: dict[str, str], draft_id: int) -> list[str]:
    """Redraft three times, an hour's worth of LLM requests; the provider of each."""
    return [_redraft(client, headers, draft_id).json()["provider"] for _ in range(3)]


@pytest.fixture
def hour_spent(db: Database, draft_for: DraftFor, llm_client: TestClient, api_keys: ApiKeys) -> int:
    """A pending draft `operator` has just redrafted as often as an hour allows; its id."""
    draft_id = _pending_draft(db, draft_for)
    _providers(llm_client, api_keys.headers("operator"), draft_id)
    return draft_id


def test_requests_over_an_hour_old_or_offline_leave_the_hour_free(
    db: Database, draft_for: DraftFor, llm_client: TestClient, api_keys: ApiKeys
) -> None:
    draft_id = _pending_draft(db, draft_for)
    seeded = seed(db, [Line("inbound", "hi")])
    with db.session() as session:
        # An hour and a minute ago: out of the window. Offline calls never count.
        session.add(
            AiUsage(
                at=utcnow() - timedelta(minutes=61),
                account_id=seeded.account_id,
                actor="operator",
                llm_called=True,
                provider="openai",
            )
        )
        session.add(
            AiUsage(account_id=seeded.account_id, actor="operator", llm_called=False, provider="x")
        )
        session.commit()
    providers = _providers(llm_client, api_keys.headers("operator"), draft_id)
    assert providers == ["openai", "openai", "openai"]


def test_past_the_hourly_limit_the_redraft_is_offline(
    llm_stub: LLMStub, llm_client: TestClient, api_keys: ApiKeys, hour_spent: int
) -> None:
    asked = len(llm_stub.requests)

    fourth = _redraft(llm_client, api_keys.headers("operator"), hour_spent)

    # Not a 429: the operator still gets variants, written offline, and told why.
    assert fourth.status_code == 200, fourth.text
    draft = fourth.json()
    assert len(llm_stub.requests) == asked
    assert (draft["provider"], draft["redrafts"]) == ("offline", 4)
    assert draft["fallback_reason"] == (
        "operator operator hourly LLM request limit reached (3/3 in the last hour)"
    )
    assert len(draft["variants"]) == 3
    assert "Sam" in draft["text"]


def test_another_operators_hour_is_their_own(
    llm_stub: LLMStub, llm_client: TestClient, mint_key: MintKey, hour_spent: int
) -> None:
    asked = len(llm_stub.requests)
    other = {"Authorization": f"Bearer {mint_key(Role.operator, 'other')}"}
    assert _redraft(llm_client, other, hour_spent).json()["provider"] == "openai"
    assert len(llm_stub.requests) == asked + 1


def test_a_token_cap_holds_redrafts_offline_too(
    db: Database,
    redis: Redis,
    llm_settings: Settings,
    llm_stub: LLMStub,
    api_keys: ApiKeys,
) -> None:
    seeded = seed(db, [Line("inbound", "hey")], policy={"daily_token_cap": 300})
    with db.session() as session:
        draft_id = create_draft_for_message(
            session, redis, llm_settings, get_drafter(llm_settings), seeded.last
        )
    assert draft_id is not None
    with TestClient(create_app(llm_settings)) as client:
        response = _redraft(client, api_keys.headers("operator"), draft_id)
    draft = response.json()
    assert len(llm_stub.requests) == 1
    assert draft["provider"] == "offline"
    assert draft["fallback_reason"] == (
        f"account {seeded.account_id} daily token cap reached (338/300 tokens today, UTC)"
    )
    # Held offline by the account's cap, the call is no LLM request of the operator's.
    assert [(u.actor, u.llm_called) for u in _usage(db)][-1] == ("operator", False)


def test_offline_redrafts_are_fresh(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    seeded = seed(db, [Line("inbound", "you look amazing today")])
    with db.session() as session:
        draft_id = create_draft_for_message(
            session, redis, settings, get_drafter(settings), seeded.last
        )
    assert draft_id is not None
    operator = api_keys.headers("operator")
    first = client.get(f"/v1/drafts/{draft_id}", headers=operator).json()
    seen = [[v["text"] for v in first["variants"]]]
    for _ in range(3):
        redrafted = _redraft(client, operator, draft_id, {"variants": 3}).json()
        assert (redrafted["provider"], redrafted["fallback_reason"]) == ("offline", None)
        seen.append([v["text"] for v in redrafted["variants"]])
    assert len({tuple(texts) for texts in seen}) > 1


def test_analytics_count_a_redrafted_drafts_filter_hits_once(
    db: Database,
    draft_for: DraftFor,
    llm_stub: LLMStub,
    llm_client: TestClient,
    api_keys: ApiKeys,
) -> None:
    """Each redraft audits its fresh variants' hits; the report reads a draft's latest."""
    phone, email = "text me on 555-123-4567", "mail me at mia.rose@gmail.com"
    llm_stub.will(StubReply.draft(phone), StubReply.draft(phone), StubReply.draft(email))
    draft_id = _pending_draft(db, draft_for)
    operator = api_keys.headers("operator")
    for _ in range(2):
        assert _redraft(llm_client, operator, draft_id).status_code == 200
    with db.session() as session:
        audited = session.query(AuditEvent).filter_by(action="draft.filter_hits").count()
    assert audited == 3

    report = llm_client.get("/v1/analytics/ai", headers=operator, params={"days": 1}).json()
    # The latest hits only: the address (an email, and its domain a link), not the phone.
    assert report["filter_hits"] == {"by_rule": {"email": 1, "link": 1}, "drafts": 1}
