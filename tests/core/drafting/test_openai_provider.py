"""The OpenAI-compatible provider against a real local server: what it sends, what it
records, and the offline fallback on 429s, 5xx, timeouts and answers that are not JSON."""

from __future__ import annotations

from typing import Any

import pytest
from redis import Redis

from core.db import Database
from core.drafting.base import DraftContext, DraftResult
from core.drafting.offline import OfflineDrafter
from core.drafting.openai_provider import MAX_COMPLETION_TOKENS_PER_VARIANT, OpenAIDrafter
from core.drafting.persona import Persona
from core.drafting.providers import FallbackDrafter, get_drafter
from core.models import AuditEvent, Draft
from core.review.writing import create_draft_for_message
from core.settings import Settings
from tests.helpers.llm_stub import STUB_KEY, STUB_MODEL, LLMStub, StubReply
from tests.helpers.seeding import DraftFor, Line, seed
from tests.helpers.stores import free_port

DAY = 24 * 60


def _draft(db: Database, draft_id: int | None) -> Draft:
    assert draft_id is not None
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def _created_event(db: Database, draft_id: int) -> AuditEvent:
    with db.session() as session:
        return (
            session.query(AuditEvent).filter_by(action="draft.created", subject_id=draft_id).one()
        )


def test_get_drafter_follows_the_settings() -> None:
    base = Settings(_env_file=None).model_copy(
        update={"openai_api_key": None, "openai_base_url": None}
    )
    assert isinstance(get_drafter(base), OfflineDrafter)
    keyed = get_drafter(base.model_copy(update={"openai_api_key": "sk-x"}))
    assert isinstance(keyed, FallbackDrafter)
    assert keyed.provider == "openai"
    assert isinstance(keyed.primary, OpenAIDrafter)
    assert isinstance(keyed.fallback, OfflineDrafter)
    # A keyless local server (Ollama, vLLM) is configured by its base URL alone.
    local = get_drafter(base.model_copy(update={"openai_base_url": "http://127.0.0.1:1/v1"}))
    assert isinstance(local, FallbackDrafter)


def test_a_held_fallback_drafter_never_calls_its_primary() -> None:
    class Unreachable:
        provider = "openai"

        def draft(self, context: DraftContext) -> DraftResult:
            raise AssertionError("the held primary was called")

    context = DraftContext(persona=Persona(), fan_name="Sam", inbound_text="hey")
    drafter = FallbackDrafter(Unreachable(), OfflineDrafter())
    held = drafter.holding("a budget is spent")
    result = held.draft(context)
    assert (result.provider, result.fallback_reason) == ("offline", "a budget is spent")
    assert (result.prompt_tokens, result.completion_tokens) == (0, 0)
    # Holding makes a new drafter: the configured one still calls its primary.
    assert drafter.held is None


def test_prompt_carries_persona_history_and_fan(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    seeded = seed(
        db,
        [
            Line("inbound", "hey gorgeous", 0, tip_cents=2_000),
            Line("outbound", "hi babe, missed you", 1),
            Line("inbound", "what are you up to tonight?", 3 * DAY),
        ],
        spend_cents=60_000,
        tags=["whale", "night-owl"],
        notes="Likes cosplay sets.",
    )
    draft = _draft(db, draft_for(seeded.last))

    assert (draft.provider, draft.model, draft.text) == ("openai", STUB_MODEL, "Hey you, thanks!")
    assert (draft.prompt_tokens, draft.completion_tokens) == (321, 17)
    assert draft.fallback_reason is None
    assert not draft.blocked
    [request] = llm_stub.requests
    assert request.headers["authorization"] == f"Bearer {STUB_KEY}"
    assert request.body["model"] == STUB_MODEL
    # Three variants by default, each with its share of the completion budget.
    assert request.body["max_tokens"] == 3 * MAX_COMPLETION_TOKENS_PER_VARIANT
    assert request.body["response_format"] == {"type": "json_object"}
    system = request.system
    for expected in (
        "as Mia",
        "tone: flirty",
        "emoji style: some",
        '"xoxo babe"',
        'never use these words: "daddy"',
        "name: Sam Jones",
        "spend tier: top (total spent $600.00; 1 tips, 0 paid PPVs)",
        "tags: whale, night-owl",
        "notes: Likes cosplay sets.",
        "time since their previous message: 3 days",
        "PPV prices by fan spend tier: none $10.00, low $15.00, mid $25.00, top $40.00",
        "Draft kind: decide which kind the fan's latest message calls for:",
        "- ppv_offer: a sales opportunity",
        "A ppv_offer goes out as a locked message priced $40.00",
        "Write 3 clearly different versions",
        '{"kind": "<one of reply, ppv_offer, tip_thanks>", "kind_confidence": <0-100',
        '"variants": [{"text":',
    ):
        assert expected in system, expected
    assert "vulnerable" not in system
    assert request.turns == [
        ("user", "hey gorgeous"),
        ("assistant", "hi babe, missed you"),
        ("user", "what are you up to tonight?"),
    ]
    event = _created_event(db, draft.id)
    assert event.actor == "drafter:openai"
    assert event.detail["model"] == STUB_MODEL
    assert (event.detail["prompt_tokens"], event.detail["completion_tokens"]) == (321, 17)
    assert event.detail["fallback_reason"] is None


def test_retries_ride_out_a_429_and_a_500(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.will(StubReply(status=429), StubReply(status=500))
    seeded = seed(db, [Line("inbound", "hi")])
    draft = _draft(db, draft_for(seeded.last))
    assert draft.provider == "openai"
    assert draft.fallback_reason is None
    assert len(llm_stub.requests) == 3


FAILURES: list[tuple[str, list[StubReply], dict[str, Any], str, int, tuple[int, int]]] = [
    # id, script, settings, fallback reason, requests the stub saw, tokens recorded
    ("429", [StubReply(status=429)] * 3, {}, "openai failed: rate_limited: HTTP 429", 3, (0, 0)),
    ("500", [StubReply(status=500)] * 3, {}, "openai failed: http_error: HTTP 500", 3, (0, 0)),
    ("503", [StubReply(status=503)] * 3, {}, "openai failed: http_error: HTTP 503", 3, (0, 0)),
    (
        "timeout",
        [StubReply(hang=True)],
        {"openai_max_retries": 0, "openai_timeout_s": 0.2},
        "openai failed: timeout: no answer within 0.2s",
        1,
        (0, 0),
    ),
    (
        "not-json",
        [StubReply(content="Sure! Here is a reply: hey you")],
        {},
        "openai failed: bad_response: not JSON",
        1,
        (321, 17),
    ),
    (
        "old-shape",
        [StubReply(content='{"text": "hey"}')],
        {},
        'openai failed: bad_response: no "variants" list',
        1,
        (321, 17),
    ),
    (
        "no-usable-variant",
        [
            StubReply(
                content='{"variants": [{"text": "hey", "confidence": 120, "reason": "r"}, '
                '{"text": " ", "confidence": 50, "reason": "r"}, '
                '{"text": "hi", "confidence": true, "reason": "r"}, '
                '{"text": "yo", "confidence": 50}, "hello"]}'
            )
        ],
        {},
        "openai failed: bad_response: no usable variant",
        1,
        (321, 17),
    ),
    (
        "empty",
        [StubReply(content=None)],
        {},
        "openai failed: bad_response: empty content",
        1,
        (321, 17),
    ),
    (
        "wrong-key",
        [],
        {"openai_api_key": "sk-wrong"},
        "openai failed: http_error: HTTP 401",
        0,
        (0, 0),
    ),
    (
        "wrong-model",
        [],
        {"openai_model": "gpt-nope"},
        "openai failed: http_error: HTTP 404",
        0,
        (0, 0),
    ),
]


@pytest.mark.parametrize(
    ("script", "overrides", "reason", "requests", "tokens"),
    [pytest.param(*case[1:], id=case[0]) for case in FAILURES],
)
def test_failures_fall_back_to_offline_and_say_why(
    db: Database,
    redis: Redis,
    llm_settings: Settings,
    llm_stub: LLMStub,
    script: list[StubReply],
    overrides: dict[str, Any],
    reason: str,
    requests: int,
    tokens: tuple[int, int],
) -> None:
    llm_stub.will(*script)
    settings = llm_settings.model_copy(update=overrides)
    seeded = seed(db, [Line("inbound", "hey there Mia")])
    with db.session() as session:
        draft_id = create_draft_for_message(
            session, redis, settings, get_drafter(settings), seeded.last
        )
    draft = _draft(db, draft_id)

    assert (draft.provider, draft.model) == ("offline", None)
    assert draft.fallback_reason == reason
    assert "Sam" in draft.text
    assert (draft.prompt_tokens, draft.completion_tokens) == tokens
    assert len(llm_stub.requests) == requests
    event = _created_event(db, draft.id)
    assert event.actor == "drafter:offline"
    assert event.detail["fallback_reason"] == reason


def test_unreachable_server_falls_back(db: Database, redis: Redis, settings: Settings) -> None:
    nowhere = settings.model_copy(
        update={
            "openai_base_url": f"http://127.0.0.1:{free_port()}/v1",
            "openai_api_key": STUB_KEY,
            "openai_max_retries": 0,
        }
    )
    seeded = seed(db, [Line("inbound", "hello?")])
    with db.session() as session:
        draft_id = create_draft_for_message(
            session, redis, nowhere, get_drafter(nowhere), seeded.last
        )
    draft = _draft(db, draft_id)
    assert draft.provider == "offline"
    assert draft.fallback_reason == "openai failed: connection_error: server unreachable"


def test_missing_usage_is_estimated(db: Database, draft_for: DraftFor, llm_stub: LLMStub) -> None:
    reply = StubReply.draft("hey you, good to see you")
    llm_stub.will(StubReply(content=reply.content, usage=False))
    seeded = seed(db, [Line("inbound", "hi")])
    draft = _draft(db, draft_for(seeded.last))
    assert draft.provider == "openai"
    assert draft.prompt_tokens > 50
    # The answer's JSON is 109 characters: 28 tokens.
    assert reply.content is not None and len(reply.content) == 109
    assert draft.completion_tokens == 28
