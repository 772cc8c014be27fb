"""What a sales opportunity becomes as a draft, offline and with the LLM: a priced PPV offer,
or a plain reply and why when the wellbeing guard or the daily spend cap bars one."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.drafting.persona import PriceList
from core.drafting.prompt import NO_SALES_INSTRUCTION, SPEND_CAP_INSTRUCTION
from core.guardrails.policy import PRICEY_PPV
from core.models import Draft
from core.settings import Settings
from tests.helpers.api import ApiKeys
from tests.helpers.drafts import offline_draft
from tests.helpers.llm_stub import LLMStub, StubReply
from tests.helpers.rows import audit_events
from tests.helpers.seeding import ASK, DAY, PERSONA, DraftFor, Line, seed


def test_a_top_fan_asking_what_you_have_gets_a_priced_ppv_offer(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    seeded = seed(db, [Line("inbound", ASK)], spend_cents=60_000)
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.detected_kind, draft.kind_confidence) == (
        "ppv_offer",
        "ppv_offer",
        95,
    )
    assert (draft.kind_source, draft.kind_withheld) == ("heuristic", None)
    assert draft.ppv_price_cents == PriceList().top
    assert "teases the PPV" in draft.variants[0].reason
    assert not draft.blocked
    [created] = audit_events(db, "draft.created")
    assert created.detail["detected_kind"] == "ppv_offer"
    assert created.detail["ppv_price_cents"] == 4_000
    assert audit_events(db, "draft.offer_withheld") == []

    shown = client.get(f"/v1/drafts/{draft.id}", headers=api_keys.headers("operator")).json()
    assert {k: shown[k] for k in ("kind", "detected_kind", "kind_confidence", "kind_source")} == {
        "kind": "ppv_offer",
        "detected_kind": "ppv_offer",
        "kind_confidence": 95,
        "kind_source": "heuristic",
    }
    assert (shown["ppv_price_cents"], shown["kind_withheld"]) == (4_000, None)


def test_a_fan_over_the_daily_cap_gets_a_plain_reply_and_why(
    db: Database, redis: Redis, settings: Settings
) -> None:
    # $45 of PPVs bought in the last 24 hours, a $40 offer, a $60 cap: no offer.
    seeded = seed(
        db,
        [
            Line("outbound", "new set", 0, ppv_price_cents=4_500, ppv_paid=True),
            Line("inbound", ASK, 60),
        ],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(hours=2),
    )
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.detected_kind, draft.ppv_price_cents) == ("reply", "ppv_offer", None)
    assert draft.kind_withheld == (
        "daily_spend_cap: 4500 cents spent and 0 cents offered unpaid in 24h + a 4000 cent "
        "offer is above the cap of 6000"
    )
    # The cap withholds an offer; it does not hold the draft or flag the fan.
    assert not draft.blocked
    [withheld] = audit_events(db, "draft.offer_withheld")
    assert withheld.actor == "policy:spend_cap"
    assert withheld.detail["reason"] == draft.kind_withheld
    assert withheld.detail["detected_kind"] == "ppv_offer"
    assert audit_events(db, "conversation.flagged") == []


def test_a_flagged_fan_asking_gets_no_offer_and_the_guard_says_why(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", f"it's my rent money but {ASK}")], spend_cents=60_000)
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.detected_kind, draft.ppv_price_cents) == ("reply", "ppv_offer", None)
    assert draft.kind_withheld == "wellbeing_guard: financial_strain"
    assert draft.blocked
    [withheld] = audit_events(db, "draft.offer_withheld")
    assert withheld.actor == "policy:wellbeing"


def test_a_tip_is_thanked_whatever_the_text_says(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", ASK, tip_cents=1_000)], spend_cents=1_000)
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.kind_confidence, draft.kind_source) == ("tip_thanks", 100, "rule")
    assert draft.ppv_price_cents is None


def test_the_offer_price_reaches_the_approval_policy(
    db: Database, redis: Redis, settings: Settings
) -> None:
    persona: dict[str, Any] = {**PERSONA, "ppv_prices": {"mid": 6_000, "top": 9_000}}
    seeded = seed(
        db,
        [Line("inbound", ASK)],
        persona=persona,
        spend_cents=10_000,
        auto_send=True,
        policy={"confidence_threshold": 50},
    )
    draft = offline_draft(db, redis, settings, seeded.last)
    assert (draft.kind, draft.ppv_price_cents, draft.status) == ("ppv_offer", 6_000, "pending")
    [held] = audit_events(db, "draft.auto_send_held")
    assert held.detail["reasons"] == [PRICEY_PPV]


def test_the_llm_classification_wins_and_is_priced(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.will(StubReply.classified("I made something just for you 😘", "ppv_offer", 88))
    # The heuristic reads a plain reply; the model reads a sales opportunity.
    seeded = seed(db, [Line("inbound", "i could use some cheering up")], spend_cents=10_000)
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert (draft.kind, draft.detected_kind, draft.kind_confidence) == (
        "ppv_offer",
        "ppv_offer",
        88,
    )
    assert (draft.kind_source, draft.ppv_price_cents) == ("llm", PriceList().mid)
    system = llm_stub.requests[0].system
    assert "A ppv_offer goes out as a locked message priced $25.00" in system
    assert '"kind": "<one of reply, ppv_offer, tip_thanks>"' in system


def test_the_llm_reading_a_reply_overrules_the_heuristic(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.will(StubReply.classified("Haha, nothing yet babe", "reply", 70))
    seeded = seed(db, [Line("inbound", ASK)], spend_cents=60_000)
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert (draft.kind, draft.kind_source, draft.ppv_price_cents) == ("reply", "llm", None)
    assert draft.kind_withheld is None


def test_an_unknown_llm_kind_falls_back_to_the_heuristic(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.will(StubReply.classified("hey", "upsell", 90))
    seeded = seed(db, [Line("inbound", ASK)], spend_cents=60_000)
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert draft.provider == "offline"
    assert draft.fallback_reason == "openai failed: bad_response: unknown kind"
    assert (draft.kind, draft.kind_source, draft.ppv_price_cents) == (
        "ppv_offer",
        "heuristic",
        4_000,
    )


def test_a_capped_fan_is_classified_but_not_sold_to(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.will(StubReply.classified("Aww, tell me about your day", "ppv_offer", 91))
    seeded = seed(
        db,
        [
            Line("inbound", "for you", 0, tip_cents=2_000),
            Line("inbound", "so what else have you got?", 2 * DAY),
        ],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 100},
    )
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert (draft.kind, draft.detected_kind, draft.kind_source) == ("reply", "ppv_offer", "llm")
    assert draft.ppv_price_cents is None
    assert draft.kind_withheld is not None and draft.kind_withheld.startswith("daily_spend_cap")
    system = llm_stub.requests[0].system
    assert SPEND_CAP_INSTRUCTION in system
    assert NO_SALES_INSTRUCTION not in system
    assert "priced" not in system
    assert "PPV prices" not in system
    assert "write a plain reply with nothing for sale" in system


@pytest.mark.parametrize(
    "bad", [{"kind": "reply"}, {"kind": "reply", "kind_confidence": 101}, {"kind": ["reply"]}]
)
def test_a_malformed_classification_falls_back(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub, bad: dict[str, Any]
) -> None:
    content = json.dumps({**bad, "variants": [{"text": "hi", "confidence": 80, "reason": "r"}]})
    llm_stub.will(StubReply(content=content))
    seeded = seed(db, [Line("inbound", "hey")])
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert draft.provider == "offline"
    assert (draft.fallback_reason or "").startswith("openai failed: bad_response:")
    assert (draft.kind, draft.kind_source) == ("reply", "heuristic")


def test_a_tip_message_is_not_classified_by_the_llm(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    seeded = seed(db, [Line("inbound", ASK, tip_cents=500)], spend_cents=500)
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    system = llm_stub.requests[0].system
    assert "Draft kind: tip_thanks." in system
    assert '"kind":' not in system
    assert (draft.kind, draft.kind_source) == ("tip_thanks", "rule")
