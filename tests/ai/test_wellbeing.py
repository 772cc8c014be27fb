"""The fan-wellbeing guard: its text and spend decision tables, and what a flag does to
drafting (no sales kind, no sales talk, a held draft, a flagged and audited conversation)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import Database
from core.drafting.prompt import NO_SALES_INSTRUCTION
from core.enums import Direction, DraftKind
from core.guardrails.wellbeing import (
    SPEND_SPIKE,
    STANDING_FLAG,
    GuardResult,
    GuardSignal,
    SpendEvent,
    SpendWindow,
    assess,
    safe_kind,
    spend_spike,
    spend_window,
    text_signals,
)
from core.models import AuditEvent, Conversation, Draft, Message
from tests.ai.conftest import T0, DraftFor, Line, seed
from tests.ai.llm_stub import LLMStub

# (fan's message, the signals it must raise; empty when it must raise none)
TEXT_CASES: list[tuple[str, set[str]]] = [
    ("I just want to die", {"distress"}),
    ("sometimes I think about killing myself... I mean kill myself", {"distress"}),
    ("I've been feeling suicidal", {"distress"}),
    ("I started self-harming again", {"distress"}),
    ("there's no reason to live anymore", {"distress"}),
    ("nobody would miss me", {"distress"}),
    ("I can't go on like this", {"distress"}),
    ("I feel so hopeless", {"distress"}),
    ("everyone is better off without me", {"distress"}),
    ("I want to end it all", {"distress"}),
    ("this set is to die for", set()),
    ("I'm dying to see it", set()),
    ("you're killing me lol", set()),
    ("no reason, just saying hi", set()),
    ("I can't afford it but I want it", {"financial_strain"}),
    ("this is my rent money lol", {"financial_strain"}),
    ("that was my last $20", {"financial_strain"}),
    ("I'm behind on rent but whatever", {"financial_strain"}),
    ("I maxed out my credit card on you", {"financial_strain"}),
    ("I'm so broke", {"financial_strain"}),
    ("I'm drowning in debt", {"financial_strain"}),
    ("I borrowed money to tip you", {"financial_strain"}),
    ("I spent my whole paycheck here", {"financial_strain"}),
    ("I can't pay my bills this month", {"financial_strain"}),
    ("just got paid, treat time", set()),
    ("I can afford it, don't worry", set()),
    ("I broke my phone screen", set()),
    ("I want to rent a car for the trip", set()),
    ("money well spent", set()),
    ("I'm 16", {"minor"}),
    ("my mom won't let me", {"minor"}),
    ("I'm in high school", {"minor"}),
    ("I'm 34", set()),
    ("I'm 15 and I can't afford this", {"minor", "financial_strain"}),
    ("hey gorgeous, what's new?", set()),
]


@pytest.mark.parametrize(("text", "signals"), TEXT_CASES, ids=[t for t, _ in TEXT_CASES])
def test_text_signals(text: str, signals: set[str]) -> None:
    assert set(text_signals(text)) == signals


# (cents in the last 24 h, cents in the 30 days before, whether it is a spike)
SPEND_CASES: list[tuple[int, int, bool]] = [
    (0, 0, False),
    (5_000, 0, False),  # under the $100 floor: a first purchase is not a spike
    (9_999, 0, False),
    (10_000, 0, True),  # $100 in a day from a fan who spent nothing before
    (30_000, 300_000, False),  # $300 today, $100/day average: exactly 3x is not above
    (30_001, 300_000, True),
    (20_000, 30_000, True),  # $200 today vs $10/day
    (50_000, 600_000, False),  # a fan who always spends $200/day
]


@pytest.mark.parametrize(("recent", "baseline", "spike"), SPEND_CASES)
def test_spend_spike(recent: int, baseline: int, spike: bool) -> None:
    signal = spend_spike(SpendWindow(recent_cents=recent, baseline_cents=baseline))
    assert (signal is not None) == spike
    if signal is not None:
        assert signal.signal == SPEND_SPIKE


def test_spend_window_edges() -> None:
    now = T0
    events = [
        SpendEvent(now, 100),  # in the window (inclusive end)
        SpendEvent(now - timedelta(hours=23), 200),
        SpendEvent(now - timedelta(hours=24), 400),  # the window's start: baseline
        SpendEvent(now - timedelta(days=31) + timedelta(seconds=1), 800),  # baseline's first
        SpendEvent(now - timedelta(days=31), 1_600),  # 30 days before the window: too old
        SpendEvent(now + timedelta(minutes=1), 3_200),  # after the message: ignored
    ]
    assert spend_window(events, now) == SpendWindow(recent_cents=300, baseline_cents=1_200)


def test_sales_kinds_become_a_plain_reply_only_when_flagged() -> None:
    flagged = GuardResult((GuardSignal(signal="distress", detail="message 1"),))
    clean = GuardResult(())
    assert safe_kind(DraftKind.ppv_offer, flagged) == DraftKind.reply
    assert safe_kind(DraftKind.ppv_offer, clean) == DraftKind.ppv_offer
    assert safe_kind(DraftKind.tip_thanks, flagged) == DraftKind.tip_thanks
    assert safe_kind(DraftKind.reply, flagged) == DraftKind.reply


def test_assess_names_messages_not_text_and_keeps_a_standing_flag() -> None:
    window = SpendWindow(0, 0)
    result = assess([(7, "hi"), (8, "this is my rent money")], window, standing_flag="minor")
    assert [s.model_dump() for s in result.signals] == [
        {"signal": "financial_strain", "detail": "message 8"},
        {"signal": STANDING_FLAG, "detail": "conversation flagged: minor"},
    ]
    assert result.names() == ["financial_strain", STANDING_FLAG]
    assert not assess([(1, "hello")], window).flagged


def _conversation(db: Database, conversation_id: int) -> Conversation:
    with db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.session() as session:
        return session.query(AuditEvent).filter_by(action=action).order_by(AuditEvent.id).all()


def seed_more(db: Database, conversation_id: int, text: str, *, minute: float) -> int:
    """One more inbound message in an existing conversation; its id."""
    with db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            platform_message_id=f"more-{minute}",
            direction=Direction.inbound,
            text=text,
            sent_at=T0 + timedelta(minutes=minute),
        )
        session.add(message)
        session.commit()
        return message.id


def test_a_flagged_fan_gets_no_sales_talk_a_held_draft_and_a_flag(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    seeded = seed(
        db,
        [
            Line("inbound", "hey you", 0),
            Line("outbound", "hi babe", 1),
            Line("inbound", "I want the new set but it's my rent money", 2),
        ],
    )
    draft_id = draft_for(seeded.last)
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
    assert draft.kind == DraftKind.reply
    assert draft.blocked
    assert draft.filter_hits == []
    assert draft.guard_signals == [
        GuardSignal(signal="financial_strain", detail=f"message {seeded.last}")
    ]
    assert draft.block_reasons == ["guard:financial_strain"]
    assert NO_SALES_INSTRUCTION in llm_stub.requests[0].system

    conversation = _conversation(db, seeded.conversation_id)
    assert conversation.flagged_for_review
    assert conversation.flag_reason == "financial_strain"
    assert conversation.flagged_at is not None
    [flagged] = _events(db, "conversation.flagged")
    assert (flagged.actor, flagged.subject_id) == ("policy:wellbeing", seeded.conversation_id)
    assert flagged.detail == {
        "signals": ["financial_strain"],
        "draft_id": draft_id,
        "message_id": seeded.last,
    }

    # The fan writes again about something else: the earlier message is still in the
    # recent history and the flag stands; nothing new to flag or audit.
    later = seed_more(db, seeded.conversation_id, "anyway how was your day?", minute=60 * 48)
    second = draft_for(later)
    with db.session() as session:
        draft = session.get(Draft, second)
        assert draft is not None
    assert draft.blocked
    assert draft.block_reasons == ["guard:financial_strain", "guard:standing_flag"]
    assert len(_events(db, "conversation.flagged")) == 1

    # A new kind of signal is added to the flag and audited.
    minor = seed_more(db, seeded.conversation_id, "my mom won't let me buy more", minute=60 * 49)
    draft_for(minor)
    assert _conversation(db, seeded.conversation_id).flag_reason == "financial_strain, minor"
    assert [e.detail["signals"] for e in _events(db, "conversation.flagged")] == [
        ["financial_strain"],
        ["minor"],
    ]


def test_a_spend_spike_flags_the_fan(db: Database, draft_for: DraftFor) -> None:
    seeded = seed(
        db,
        [
            Line("inbound", "for you", 0, tip_cents=5_000),
            Line("outbound", "new set", 1, ppv_price_cents=9_000, ppv_paid=True),
            Line("inbound", "loved it!!", 2),
        ],
        spend_cents=14_000,
    )
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert draft.blocked
    [signal] = draft.guard_signals
    assert signal.signal == "spend_spike"
    assert signal.detail.startswith("14000 cents in 24h")
    assert _conversation(db, seeded.conversation_id).flag_reason == "spend_spike"


def test_a_clean_fan_is_not_flagged(db: Database, draft_for: DraftFor, llm_stub: LLMStub) -> None:
    seeded = seed(db, [Line("inbound", "you look amazing", 0, tip_cents=500)], spend_cents=500)
    with db.session() as session:
        draft = session.get(Draft, draft_for(seeded.last))
        assert draft is not None
    assert not draft.blocked
    assert draft.kind == DraftKind.tip_thanks
    assert draft.guard_signals == []
    assert NO_SALES_INSTRUCTION not in llm_stub.requests[0].system
    assert not _conversation(db, seeded.conversation_id).flagged_for_review
    assert _events(db, "conversation.flagged") == []
