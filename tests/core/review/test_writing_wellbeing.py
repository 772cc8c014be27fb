"""Drafting for a fan the wellbeing guard flags: no sales talk, a draft held for a human, and a
flagged, audited conversation; a clean fan is left alone."""

from __future__ import annotations

from datetime import timedelta

from core.db import Database
from core.drafting.prompt import NO_SALES_INSTRUCTION
from core.enums import Direction, DraftKind
from core.guardrails.wellbeing import (
    GuardSignal,
)
from core.models import Conversation, Draft, Message
from tests.helpers.llm_stub import LLMStub
from tests.helpers.rows import audit_events
from tests.helpers.seeding import T0, DraftFor, Line, seed


def _conversation(db: Database, conversation_id: int) -> Conversation:
    with db.session() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation


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
    [flagged] = audit_events(db, "conversation.flagged")
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
    assert len(audit_events(db, "conversation.flagged")) == 1

    # A new kind of signal is added to the flag and audited.
    minor = seed_more(db, seeded.conversation_id, "my mom won't let me buy more", minute=60 * 49)
    draft_for(minor)
    assert _conversation(db, seeded.conversation_id).flag_reason == "financial_strain, minor"
    assert [e.detail["signals"] for e in audit_events(db, "conversation.flagged")] == [
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
    assert audit_events(db, "conversation.flagged") == []
