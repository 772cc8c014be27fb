"""PPV offers: the price list, the offer terms (the wellbeing guard and the daily spend
cap), and what a sales opportunity becomes as a draft, offline and with the LLM."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from redis import Redis

from core.clock import utcnow
from core.crm import fans as offer_check
from core.db import Database
from core.drafting.fan import SpendTier
from core.drafting.offline import OfflineDrafter
from core.drafting.persona import Persona, PriceList
from core.drafting.prompt import NO_SALES_INSTRUCTION, SPEND_CAP_INSTRUCTION
from core.enums import Direction, SendStatus
from core.guardrails.offers import (
    DAILY_SPEND_CAP,
    WELLBEING_GUARD,
    Committed,
    decide_kind,
    offer_terms,
)
from core.guardrails.policy import PRICEY_PPV, ApprovalPolicy
from core.guardrails.wellbeing import GuardResult, GuardSignal
from core.models import AuditEvent, Conversation, Draft, Message, Send
from core.review.writing import create_draft_for_message, redraft_draft
from core.settings import Settings
from tests.ai.conftest import PERSONA, DraftFor, Line, Seeded, seed
from tests.ai.llm_stub import LLMStub, StubReply
from tests.fixtures.control_plane import ApiKeys

ASK = "what do you have for me tonight? 😏"
CLEAN = GuardResult(signals=())
FLAGGED = GuardResult(signals=(GuardSignal(signal="distress", detail="message 1"),))
PERSONA_PRICES = Persona(ppv_prices=PriceList(none=500, low=1_000, mid=2_000, top=3_000))
DAY = 24 * 60
_ADDED = itertools.count()


def test_price_list_defaults_and_validation() -> None:
    assert [PriceList().for_tier(tier) for tier in SpendTier] == [1_000, 1_500, 2_500, 4_000]
    assert Persona.model_validate({}).ppv_prices == PriceList()
    with pytest.raises(ValidationError, match="the top price .3000. is below the mid price"):
        PriceList(mid=5_000, top=3_000)
    for bad in ({"none": 99}, {"top": 100_001}, {"vip": 9_000}, {"low": "cheap"}):
        with pytest.raises(ValidationError):
            PriceList.model_validate(bad)


def spent(cents: int) -> Committed:
    return Committed(spent_cents=cents)


# (detected kind, tier, guard, committed in 24h, cap) -> (kind, price, withheld reason prefix)
TERMS: list[
    tuple[str, SpendTier, GuardResult, Committed, int | None, str, int | None, str | None]
] = [
    ("ppv_offer", SpendTier.top, CLEAN, spent(0), None, "ppv_offer", 3_000, None),
    ("ppv_offer", SpendTier.none, CLEAN, spent(0), None, "ppv_offer", 500, None),
    (
        "ppv_offer",
        SpendTier.mid,
        FLAGGED,
        spent(0),
        None,
        "reply",
        None,
        f"{WELLBEING_GUARD}: distress",
    ),
    # At the cap is still within it; a cent above is not.
    ("ppv_offer", SpendTier.mid, CLEAN, spent(8_000), 10_000, "ppv_offer", 2_000, None),
    ("ppv_offer", SpendTier.mid, CLEAN, spent(8_001), 10_000, "reply", None, DAILY_SPEND_CAP),
    ("ppv_offer", SpendTier.top, CLEAN, spent(0), 2_999, "reply", None, DAILY_SPEND_CAP),
    # Offers sent and not paid count like money spent: offers cannot stack past the cap.
    ("ppv_offer", SpendTier.mid, CLEAN, Committed(0, 8_000), 10_000, "ppv_offer", 2_000, None),
    (
        "ppv_offer",
        SpendTier.mid,
        CLEAN,
        Committed(0, 8_001),
        10_000,
        "reply",
        None,
        DAILY_SPEND_CAP,
    ),
    (
        "ppv_offer",
        SpendTier.mid,
        CLEAN,
        Committed(4_000, 4_001),
        10_000,
        "reply",
        None,
        DAILY_SPEND_CAP,
    ),
    # The guard outranks the cap; kinds that do not sell pass either.
    ("ppv_offer", SpendTier.top, FLAGGED, spent(9_999), 100, "reply", None, WELLBEING_GUARD),
    ("reply", SpendTier.top, CLEAN, spent(9_999), 100, "reply", None, None),
    ("tip_thanks", SpendTier.top, FLAGGED, spent(0), None, "tip_thanks", None, None),
    ("follow_up", SpendTier.low, CLEAN, Committed(9_999, 9_999), 100, "follow_up", None, None),
]


@pytest.mark.parametrize(
    ("detected", "tier", "guard", "committed", "cap", "kind", "price", "withheld"), TERMS
)
def test_offer_terms_decide_the_kind(
    detected: str,
    tier: SpendTier,
    guard: GuardResult,
    committed: Committed,
    cap: int | None,
    kind: str,
    price: int | None,
    withheld: str | None,
) -> None:
    policy = ApprovalPolicy(daily_spend_cap_cents=cap)
    terms = offer_terms(PERSONA_PRICES, policy, tier, guard, committed)
    decided = decide_kind(detected, terms, guard)
    assert (decided.kind, decided.ppv_price_cents) == (kind, price)
    if withheld is None:
        assert decided.withheld is None
    else:
        assert decided.withheld is not None and decided.withheld.startswith(withheld)


def _offline(db: Database, redis: Redis, settings: Settings, message_id: int) -> Draft:
    with db.session() as session:
        draft_id = create_draft_for_message(session, redis, settings, OfflineDrafter(), message_id)
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.session() as session:
        return session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def test_a_top_fan_asking_what_you_have_gets_a_priced_ppv_offer(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    seeded = seed(db, [Line("inbound", ASK)], spend_cents=60_000)
    draft = _offline(db, redis, settings, seeded.last)
    assert (draft.kind, draft.detected_kind, draft.kind_confidence) == (
        "ppv_offer",
        "ppv_offer",
        95,
    )
    assert (draft.kind_source, draft.kind_withheld) == ("heuristic", None)
    assert draft.ppv_price_cents == PriceList().top
    assert "teases the PPV" in draft.variants[0].reason
    assert not draft.blocked
    [created] = _events(db, "draft.created")
    assert created.detail["detected_kind"] == "ppv_offer"
    assert created.detail["ppv_price_cents"] == 4_000
    assert _events(db, "draft.offer_withheld") == []

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
    draft = _offline(db, redis, settings, seeded.last)
    assert (draft.kind, draft.detected_kind, draft.ppv_price_cents) == ("reply", "ppv_offer", None)
    assert draft.kind_withheld == (
        "daily_spend_cap: 4500 cents spent and 0 cents offered unpaid in 24h + a 4000 cent "
        "offer is above the cap of 6000"
    )
    # The cap withholds an offer; it does not hold the draft or flag the fan.
    assert not draft.blocked
    [withheld] = _events(db, "draft.offer_withheld")
    assert withheld.actor == "policy:spend_cap"
    assert withheld.detail["reason"] == draft.kind_withheld
    assert withheld.detail["detected_kind"] == "ppv_offer"
    assert _events(db, "conversation.flagged") == []


def test_a_flagged_fan_asking_gets_no_offer_and_the_guard_says_why(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", f"it's my rent money but {ASK}")], spend_cents=60_000)
    draft = _offline(db, redis, settings, seeded.last)
    assert (draft.kind, draft.detected_kind, draft.ppv_price_cents) == ("reply", "ppv_offer", None)
    assert draft.kind_withheld == "wellbeing_guard: financial_strain"
    assert draft.blocked
    [withheld] = _events(db, "draft.offer_withheld")
    assert withheld.actor == "policy:wellbeing"


def test_a_tip_is_thanked_whatever_the_text_says(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, [Line("inbound", ASK, tip_cents=1_000)], spend_cents=1_000)
    draft = _offline(db, redis, settings, seeded.last)
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
    draft = _offline(db, redis, settings, seeded.last)
    assert (draft.kind, draft.ppv_price_cents, draft.status) == ("ppv_offer", 6_000, "pending")
    [held] = _events(db, "draft.auto_send_held")
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


def test_offer_window_is_the_24_hours_before_now(
    db: Database, redis: Redis, settings: Settings
) -> None:
    # A purchase 25 hours ago is outside the cap's window.
    seeded = seed(
        db,
        [
            Line("outbound", "new set", 0, ppv_price_cents=4_500, ppv_paid=True),
            Line("inbound", ASK, 25 * 60 - 5),
        ],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(hours=25),
    )
    draft = _offline(db, redis, settings, seeded.last)
    assert (draft.kind, draft.ppv_price_cents) == ("ppv_offer", 4_000)


def _add_message(db: Database, conversation_id: int, ago: timedelta, **row: Any) -> int:
    """A message `ago` before now in the conversation (inbound unless told)."""
    with db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            platform_message_id=f"added-{next(_ADDED)}",
            direction=row.pop("direction", Direction.inbound),
            text=row.pop("text", "hey"),
            sent_at=utcnow() - ago,
            **row,
        )
        session.add(message)
        session.commit()
        return message.id


def test_committed_money_counts_payments_when_paid_and_open_offers(db: Database) -> None:
    now = utcnow()
    hour = 60
    seeded = seed(
        db,
        [
            Line("inbound", "for you", 71 * hour, tip_cents=500),
            Line("inbound", "old tip", 46 * hour, tip_cents=700),
            # Offered three days ago, unlocked two hours ago: spent now, not then.
            Line("outbound", "set", 0, ppv_price_cents=1_000, ppv_paid=True, paid_minute=70 * hour),
            Line("outbound", "set", 67 * hour, ppv_price_cents=4_000, ppv_paid=False),
            Line("outbound", "set", 42 * hour, ppv_price_cents=8_000, ppv_paid=False),
            Line("outbound", "set", 71 * hour, ppv_price_cents=2_000, ppv_paid=None),
        ],
        start=now - timedelta(hours=72),
    )
    # A paid PPV stored without a payment time counts from its offer.
    _add_message(
        db,
        seeded.conversation_id,
        timedelta(hours=2),
        direction=Direction.outbound,
        ppv_price_cents=16_000,
        ppv_paid=True,
    )
    other = seed(
        db, [Line("inbound", "for you", 71 * hour, tip_cents=1)], start=now - timedelta(hours=72)
    )
    with db.session() as session:
        for status, price in (
            (SendStatus.queued, 32),
            (SendStatus.claimed, 256),
            (SendStatus.delivered, 64),
            (SendStatus.failed, 128),
            (SendStatus.queued, None),
        ):
            session.add(
                Send(
                    account_id=seeded.account_id,
                    conversation_id=seeded.conversation_id,
                    text="set",
                    ppv_price_cents=price,
                    status=status,
                    priority="direct",
                    artifacts={},
                    created_by="operator",
                )
            )
        session.commit()
        assert offer_check.committed(session, seeded.fan_id, utcnow()) == Committed(
            spent_cents=500 + 1_000 + 16_000, open_offers_cents=4_000 + 2_000 + 32 + 256
        )
        assert offer_check.committed(session, other.fan_id, utcnow()) == Committed(1, 0)


def test_a_ppv_paid_days_after_its_offer_counts_when_paid(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(
        db,
        [
            Line(
                "outbound",
                "new set",
                0,
                ppv_price_cents=4_500,
                ppv_paid=True,
                paid_minute=3 * DAY - 60,
            ),
            Line("inbound", ASK, 3 * DAY - 5),
        ],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(days=3),
    )
    draft = _offline(db, redis, settings, seeded.last)
    assert (draft.kind, draft.ppv_price_cents) == ("reply", None)
    assert (draft.kind_withheld or "").startswith("daily_spend_cap: 4500 cents spent and 0 cents")


def test_a_ppv_drafted_before_the_fan_was_flagged_needs_an_admin(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    operator, admin = api_keys.headers("operator"), api_keys.headers("admin")
    seeded = seed(
        db, [Line("inbound", ASK)], spend_cents=60_000, start=utcnow() - timedelta(minutes=10)
    )
    offer = _offline(db, redis, settings, seeded.last)
    assert (offer.kind, offer.ppv_price_cents, offer.blocked) == ("ppv_offer", 4_000, False)
    # The fan writes again; the draft for that flags the conversation.
    later = _add_message(
        db, seeded.conversation_id, timedelta(minutes=1), text="i can't afford rent"
    )
    assert _offline(db, redis, settings, later).blocked
    with db.session() as session:
        assert session.get_one(Conversation, seeded.conversation_id).flagged_for_review

    refused = client.post(f"/v1/drafts/{offer.id}/approve", headers=operator, json={})
    assert refused.status_code == 409
    reasons = [
        "guard:financial_strain",
        "guard:standing_flag",
        "offer:wellbeing_guard: financial_strain, standing_flag",
    ]
    assert refused.json()["reasons"] == reasons
    assert refused.json()["detail"] == (
        f"draft {offer.id} is blocked ({', '.join(reasons)}); only an admin can approve it, "
        "with override and an override_reason"
    )
    bulk = client.post("/v1/drafts/approve", headers=operator, json={"ids": [offer.id]}).json()
    assert bulk["skipped"] == 1 and reasons[-1] in bulk["results"][0]["reason"]
    assert [e.detail["reasons"] for e in _events(db, "send.refused")] == [reasons] * 2
    with db.session() as session:
        assert session.query(Send).count() == 0

    overridden = client.post(
        f"/v1/drafts/{offer.id}/approve",
        headers=admin,
        json={"override": True, "override_reason": "the fan asked again after we checked in"},
    )
    assert overridden.status_code == 200, overridden.text
    assert overridden.json()["send"]["ppv_price_cents"] == 4_000
    [override] = _events(db, "send.override")
    assert override.detail["reasons"] == reasons


def test_the_cap_counts_to_now_at_approval_and_redraft(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    # The fan asked 30 hours ago; the draft waited. They tipped $30 an hour ago.
    seeded = seed(
        db,
        [Line("inbound", ASK)],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(hours=30),
    )
    offer = _offline(db, redis, settings, seeded.last)
    assert (offer.kind, offer.ppv_price_cents) == ("ppv_offer", 4_000)
    _add_message(db, seeded.conversation_id, timedelta(hours=1), text="for you", tip_cents=3_000)

    refused = client.post(
        f"/v1/drafts/{offer.id}/approve", headers=api_keys.headers("operator"), json={}
    )
    assert refused.status_code == 409
    assert (
        "offer:daily_spend_cap: 3000 cents spent and 0 cents offered unpaid in 24h + a 4000 "
        "cent offer is above the cap of 6000" in refused.json()["detail"]
    )
    with db.session() as session:
        redrafted = redraft_draft(session, settings, OfflineDrafter(), offer.id, actor="op")
        assert (redrafted.kind, redrafted.ppv_price_cents) == ("reply", None)
        assert (redrafted.kind_withheld or "").startswith("daily_spend_cap: 3000 cents spent")


def test_offers_sent_and_unpaid_count_so_offers_cannot_stack(
    db: Database, redis: Redis, settings: Settings, client: TestClient, api_keys: ApiKeys
) -> None:
    operator = api_keys.headers("operator")
    # Two $40 offers drafted before either went out, under a $60 cap.
    seeded = seed(
        db,
        [Line("inbound", ASK)],
        spend_cents=60_000,
        policy={"daily_spend_cap_cents": 6_000},
        start=utcnow() - timedelta(minutes=10),
    )
    first = _offline(db, redis, settings, seeded.last)
    again = _add_message(db, seeded.conversation_id, timedelta(minutes=5), text=ASK)
    second = _offline(db, redis, settings, again)
    assert [first.ppv_price_cents, second.ppv_price_cents] == [4_000, 4_000]

    approved = client.post(f"/v1/drafts/{first.id}/approve", headers=operator, json={})
    assert approved.status_code == 200, approved.text
    refused = client.post(f"/v1/drafts/{second.id}/approve", headers=operator, json={})
    assert refused.status_code == 409
    assert (
        "daily_spend_cap: 0 cents spent and 4000 cents offered unpaid" in refused.json()["detail"]
    )
    # Once typed, the offer is a message the fan has not paid: it still counts.
    with db.session() as session:
        send = session.get_one(Send, approved.json()["send"]["id"])
        send.status = SendStatus.delivered
        session.commit()
    _add_message(
        db,
        seeded.conversation_id,
        timedelta(0),
        direction=Direction.outbound,
        ppv_price_cents=4_000,
        ppv_paid=False,
    )
    with db.session() as session:
        assert offer_check.committed(session, seeded.fan_id, utcnow()) == Committed(0, 4_000)


def test_direct_and_bulk_ppvs_pass_the_same_check(
    db: Database, client: TestClient, api_keys: ApiKeys
) -> None:
    operator = api_keys.headers("operator")
    cap = {"daily_spend_cap_cents": 6_000}
    recent = utcnow() - timedelta(hours=2)
    flagged = seed(db, [Line("inbound", "hey")], start=recent)
    capped = seed(db, [Line("inbound", "for you", tip_cents=5_000)], policy=cap, start=recent)
    clean = seed(db, [Line("inbound", "hey")], policy=cap, start=recent)
    with db.session() as session:
        conversation = session.get_one(Conversation, flagged.conversation_id)
        conversation.flagged_for_review = True
        conversation.flag_reason = "financial_strain"
        session.commit()

    def direct(seeded: Seeded, **body: Any) -> Any:
        return client.post(
            "/v1/sends",
            headers=operator,
            json={"conversation_id": seeded.conversation_id, "text": "new set 🔥", **body},
        )

    to_flagged = direct(flagged, ppv_price_cents=2_000)
    assert to_flagged.status_code == 409
    assert to_flagged.json()["reasons"] == [
        "guard:standing_flag",
        "offer:wellbeing_guard: standing_flag",
    ]
    to_capped = direct(capped, ppv_price_cents=2_000)
    assert to_capped.status_code == 409
    capped_reason = (
        "daily_spend_cap: 5000 cents spent and 0 cents offered unpaid in 24h + a 2000 cent "
        "offer is above the cap of 6000"
    )
    assert to_capped.json()["reasons"] == [f"offer:{capped_reason}"]

    ids = [flagged.conversation_id, capped.conversation_id, clean.conversation_id]
    response = client.post(
        "/v1/sends/bulk",
        headers=operator,
        json={"conversation_ids": ids, "text": "new set 🔥", "ppv_price_cents": 2_000},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert [s["conversation_id"] for s in body["sends"]] == [clean.conversation_id]
    assert [(s["conversation_id"], s["reasons"]) for s in body["skipped"]] == [
        (flagged.conversation_id, ["guard:standing_flag", "offer:wellbeing_guard: standing_flag"]),
        (capped.conversation_id, [f"offer:{capped_reason}"]),
    ]
    # The bulk send is committed money too: a direct offer on top would pass the cap.
    on_top = direct(clean, ppv_price_cents=4_500)
    assert on_top.status_code == 409
    assert "0 cents spent and 2000 cents offered unpaid" in on_top.json()["detail"]

    refusals = _events(db, "send.refused")
    assert [(e.subject_id, e.detail["source"]) for e in refusals] == [
        (flagged.conversation_id, "direct"),
        (capped.conversation_id, "direct"),
        (flagged.conversation_id, "bulk"),
        (capped.conversation_id, "bulk"),
        (clean.conversation_id, "direct"),
    ]
    with db.session() as session:
        priced = session.query(Send).filter(Send.ppv_price_cents.is_not(None)).all()
        assert [s.conversation_id for s in priced] == [clean.conversation_id]
