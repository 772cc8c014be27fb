"""AI budgets: daily token caps, fleet-wide and per account, send drafting offline with
the cap as the reason, without calling the LLM; each cap is audited once a day, and
/health says which caps hold drafting offline, with the figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from api.app import create_app
from core.clock import utcnow
from core.db import Database
from core.drafting.offline import OfflineDrafter
from core.drafting.providers import FallbackDrafter, get_drafter
from core.enums import Direction
from core.models import AiUsage, AuditEvent, Draft, Message
from core.review import budgets as ai_budget
from core.review.writing import create_draft_for_message
from core.settings import Settings
from tests.helpers.llm_stub import STUB_MODEL, LLMStub
from tests.helpers.seeding import T0, Line, seed

# What the stub reports for each answer: 321 prompt and 17 completion tokens.
STUB_TOKENS = 338


def _spend(db: Database, account_id: int, tokens: int, *, ago: timedelta = timedelta()) -> None:
    """Record `tokens` of LLM spend by the account, `ago` before now."""
    with db.session() as session:
        session.add(
            AiUsage(
                at=utcnow() - ago,
                account_id=account_id,
                actor=None,
                llm_called=True,
                provider="openai",
                model=STUB_MODEL,
                prompt_tokens=tokens - tokens // 4,
                completion_tokens=tokens // 4,
            )
        )
        session.commit()


def _inbound(db: Database, conversation_id: int, minute: int, text: str = "hi again") -> int:
    """A new inbound message, the conversation's newest."""
    with db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            platform_message_id=f"later-{minute}",
            direction=Direction.inbound,
            text=text,
            sent_at=T0 + timedelta(minutes=minute),
        )
        session.add(message)
        session.commit()
        return message.id


def _draft(db: Database, redis: Redis, settings: Settings, message_id: int) -> Draft:
    with db.session() as session:
        draft_id = create_draft_for_message(
            session, redis, settings, get_drafter(settings), message_id
        )
        assert draft_id is not None
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def _cap_events(db: Database) -> list[AuditEvent]:
    with db.session() as session:
        return list(session.query(AuditEvent).filter_by(action=ai_budget.CAP_REACHED))


def _usage(db: Database) -> list[AiUsage]:
    with db.session() as session:
        return list(session.query(AiUsage).order_by(AiUsage.id))


def test_under_budget_drafts_with_the_llm_and_meters_the_call(
    db: Database, redis: Redis, llm_settings: Settings, llm_stub: LLMStub
) -> None:
    seeded = seed(db, [Line("inbound", "hey you")])
    draft = _draft(db, redis, llm_settings, seeded.last)
    assert (draft.provider, draft.fallback_reason) == ("openai", None)
    assert len(llm_stub.requests) == 1
    [usage] = _usage(db)
    assert (usage.account_id, usage.actor, usage.llm_called) == (seeded.account_id, None, True)
    assert (usage.provider, usage.model) == ("openai", STUB_MODEL)
    assert (usage.prompt_tokens, usage.completion_tokens) == (321, 17)


def test_fleet_cap_drafts_offline_without_calling_the_llm(
    db: Database, redis: Redis, llm_settings: Settings, llm_stub: LLMStub
) -> None:
    settings = llm_settings.model_copy(update={"ai_daily_token_cap": 1_000})
    other = seed(db, [Line("inbound", "hello")])
    seeded = seed(db, [Line("inbound", "hey you")])
    # Another account's spend counts against the fleet's cap; yesterday's does not.
    _spend(db, other.account_id, 1_000)
    _spend(db, seeded.account_id, 50_000, ago=timedelta(days=1))

    draft = _draft(db, redis, settings, seeded.last)

    assert llm_stub.requests == []
    assert (draft.provider, draft.model) == ("offline", None)
    assert draft.fallback_reason == "fleet daily token cap reached (1000/1000 tokens today, UTC)"
    assert "Sam" in draft.text
    assert (draft.prompt_tokens, draft.completion_tokens) == (0, 0)
    offline = _usage(db)[-1]
    assert (offline.llm_called, offline.provider) == (False, "offline")
    assert offline.fallback_reason == draft.fallback_reason
    [event] = _cap_events(db)
    assert (event.actor, event.subject_type, event.subject_id) == (
        "policy:ai_budget",
        "ai_budget",
        0,
    )
    assert event.detail == {
        "scope": "fleet",
        "used": 1_000,
        "cap": 1_000,
        "day": utcnow().date().isoformat(),
    }


def test_account_cap_counts_that_accounts_llm_spend_and_audits_once_a_day(
    db: Database, redis: Redis, llm_settings: Settings, llm_stub: LLMStub
) -> None:
    seeded = seed(db, [Line("inbound", "hey you")], policy={"daily_token_cap": STUB_TOKENS})
    other = seed(db, [Line("inbound", "hello")], policy={"daily_token_cap": STUB_TOKENS})

    # Under its cap, the first draft goes to the LLM and spends the whole cap.
    assert _draft(db, redis, llm_settings, seeded.last).provider == "openai"
    second = _draft(db, redis, llm_settings, _inbound(db, seeded.conversation_id, 5))
    third = _draft(db, redis, llm_settings, _inbound(db, seeded.conversation_id, 6, "u there?"))
    # Another account's budget is its own.
    elsewhere = _draft(db, redis, llm_settings, other.last)

    assert len(llm_stub.requests) == 2
    reason = (
        f"account {seeded.account_id} daily token cap reached "
        f"({STUB_TOKENS}/{STUB_TOKENS} tokens today, UTC)"
    )
    for draft in (second, third):
        assert (draft.provider, draft.fallback_reason) == ("offline", reason)
    assert (elsewhere.provider, elsewhere.fallback_reason) == ("openai", None)
    [event] = _cap_events(db)
    assert (event.subject_type, event.subject_id) == ("account", seeded.account_id)
    assert (event.detail["scope"], event.detail["used"], event.detail["cap"]) == (
        "account",
        STUB_TOKENS,
        STUB_TOKENS,
    )


def test_past_a_cap_the_configured_fallback_drafts(
    db: Database, redis: Redis, llm_settings: Settings, llm_stub: LLMStub
) -> None:
    """Over budget goes through the one fallback seam: whatever `FallbackDrafter` falls
    back to writes the draft, with the cap as its reason."""

    class Backup(OfflineDrafter):
        provider = "backup"

    settings = llm_settings.model_copy(update={"ai_daily_token_cap": 0})
    configured = get_drafter(settings)
    assert isinstance(configured, FallbackDrafter)
    seeded = seed(db, [Line("inbound", "hey you")])
    with db.session() as session:
        draft_id = create_draft_for_message(
            session, redis, settings, FallbackDrafter(configured.primary, Backup()), seeded.last
        )
        draft = session.get_one(Draft, draft_id)
        assert (draft.provider, draft.fallback_reason) == (
            "backup",
            "fleet daily token cap reached (0/0 tokens today, UTC)",
        )
    assert llm_stub.requests == []


def test_the_fleet_default_account_cap_applies_without_a_policy(
    db: Database, redis: Redis, llm_settings: Settings, llm_stub: LLMStub
) -> None:
    settings = llm_settings.model_copy(update={"ai_account_daily_token_cap": 0})
    seeded = seed(db, [Line("inbound", "hey you")])
    generous = seed(db, [Line("inbound", "hello")], policy={"daily_token_cap": 10_000})
    assert _draft(db, redis, settings, seeded.last).fallback_reason == (
        f"account {seeded.account_id} daily token cap reached (0/0 tokens today, UTC)"
    )
    assert _draft(db, redis, settings, generous.last).provider == "openai"
    assert len(llm_stub.requests) == 1


def test_an_offline_configuration_spends_no_budget(
    db: Database, redis: Redis, settings: Settings
) -> None:
    capped = settings.model_copy(update={"ai_daily_token_cap": 0})
    seeded = seed(db, [Line("inbound", "hey you")])
    draft = _draft(db, redis, capped, seeded.last)
    # Offline by configuration: no cap is its reason, and nothing is audited.
    assert (draft.provider, draft.fallback_reason) == ("offline", None)
    assert _cap_events(db) == []
    [usage] = _usage(db)
    assert (usage.llm_called, usage.prompt_tokens) == (False, 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_empty_variable_lifts_a_cap_and_0_allows_none(
    db: Database,
    redis: Redis,
    llm_settings: Settings,
    llm_stub: LLMStub,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLEET_AI_DAILY_TOKEN_CAP", "")
    monkeypatch.setenv("FLEET_AI_ACCOUNT_DAILY_TOKEN_CAP", " ")
    from_env = Settings(_env_file=None)
    assert (from_env.ai_daily_token_cap, from_env.ai_account_daily_token_cap) == (None, None)
    monkeypatch.setenv("FLEET_AI_DAILY_TOKEN_CAP", "0")
    assert Settings(_env_file=None).ai_daily_token_cap == 0

    uncapped = llm_settings.model_copy(
        update={"ai_daily_token_cap": None, "ai_account_daily_token_cap": None}
    )
    seeded = seed(db, [Line("inbound", "hey you")])
    # Past both default caps (5,000,000 and 1,000,000 tokens a day).
    _spend(db, seeded.account_id, 6_000_000)
    assert _draft(db, redis, uncapped, seeded.last).provider == "openai"
    assert len(llm_stub.requests) == 1


@pytest.fixture
def llm_client(llm_settings: Settings) -> Iterator[TestClient]:
    """The API on the stub-backed settings, whose caps the tests set per account."""
    with TestClient(create_app(llm_settings)) as client:
        yield client


def test_health_names_the_caps_that_hold_drafting_offline(
    db: Database, llm_settings: Settings, llm_client: TestClient
) -> None:
    capped = seed(db, [Line("inbound", "hey")], policy={"daily_token_cap": 2_000})
    free = seed(db, [Line("inbound", "hey")])
    _spend(db, capped.account_id, 2_500)
    _spend(db, free.account_id, 700)

    budget = llm_client.get("/health").json()["ai_budget"]

    assert budget == {
        "llm_configured": True,
        "offline_fallback": True,
        "tokens_today": 3_200,
        "daily_token_cap": llm_settings.ai_daily_token_cap,
        "caps_reached": [
            {
                "scope": "account",
                "account_id": capped.account_id,
                "account_name": "Mia",
                "used": 2_500,
                "cap": 2_000,
                "reason": f"account {capped.account_id} daily token cap reached "
                "(2500/2000 tokens today, UTC)",
            }
        ],
    }


def test_health_names_the_fleet_cap(db: Database, llm_settings: Settings) -> None:
    seeded = seed(db, [Line("inbound", "hey")])
    _spend(db, seeded.account_id, 900)
    _spend(db, seeded.account_id, 10_000, ago=timedelta(days=1))
    settings = llm_settings.model_copy(update={"ai_daily_token_cap": 900})
    with TestClient(create_app(settings)) as client:
        response = client.get("/health")
    assert response.status_code == 200
    budget = response.json()["ai_budget"]
    assert (budget["offline_fallback"], budget["tokens_today"]) == (True, 900)
    assert budget["caps_reached"] == [
        {
            "scope": "fleet",
            "account_id": None,
            "account_name": None,
            "used": 900,
            "cap": 900,
            "reason": "fleet daily token cap reached (900/900 tokens today, UTC)",
        }
    ]


def test_health_is_quiet_under_budget_and_when_offline_by_design(
    db: Database, client: TestClient, llm_client: TestClient
) -> None:
    seeded = seed(db, [Line("inbound", "hey")], policy={"daily_token_cap": 0})
    _spend(db, seeded.account_id, 10)
    # No LLM configured: drafting is offline by design, whatever the caps.
    offline = client.get("/health").json()["ai_budget"]
    assert (offline["llm_configured"], offline["offline_fallback"]) == (False, False)
    assert offline["caps_reached"] == []
    assert offline["tokens_today"] == 10
    with_llm = llm_client.get("/health").json()["ai_budget"]
    assert with_llm["offline_fallback"] is True
    assert [cap["account_id"] for cap in with_llm["caps_reached"]] == [seeded.account_id]
