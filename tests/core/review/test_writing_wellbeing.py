"""Drafting for a fan the wellbeing guard flags: no sales talk, a draft held for a human (and
later ones while the flag stands), and a flagged, audited conversation; a clean fan is left
alone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.db import Database
from core.drafting.prompt import NO_SALES_INSTRUCTION
from core.enums import Direction, DraftKind
from core.guardrails.wellbeing import (
    GuardSignal,
)
from core.models import Conversation, Draft, Message
from tests.helpers.drafts import drafted
from tests.helpers.llm_stub import LLMStub
from tests.helpers.rows import audit_events
from tests.helpers.seeding import T0, DraftFor, Line, Seeded, seed


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


def _draft(db: Database, draft_id: int) -> Draft:
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        return draft


@pytest.fixture
def strained(db: Database) -> Seeded:
    """A fan whose last message says they would pay for a set with their rent money."""
    return seed(
        db,
        [
            Line("inbound", "hey you", 0),
            Line("outbound", "hi babe", 1),
            Line("inbound", "I want the new set but it's my rent money", 2),
        ],
    )


@pytest.fixture
def first_draft(strained: Seeded, draft_for: DraftFor) -> int:
    """The id of the draft for the strained fan's message, the one that raises the flag."""
    return drafted(draft_for, strained.last)


def test_a_strained_fan_gets_no_sales_talk(
    db: Database, llm_stub: LLMStub, first_draft: int
) -> None:
    # The fan asks for a set, but the draft is a plain reply and the LLM is told not to sell.
    assert _draft(db, first_draft).kind == DraftKind.reply
    assert NO_SALES_INSTRUCTION in llm_stub.requests[0].system


def test_a_strained_fans_draft_is_held_for_a_human(
    db: Database, strained: Seeded, first_draft: int
) -> None:
    draft = _draft(db, first_draft)
    assert draft.blocked
    assert draft.filter_hits == []
    assert draft.guard_signals == [
        GuardSignal(signal="financial_strain", detail=f"message {strained.last}")
    ]
    assert draft.block_reasons == ["guard:financial_strain"]


def test_a_strained_fans_conversation_is_flagged(
    db: Database, strained: Seeded, first_draft: int
) -> None:
    conversation = _conversation(db, strained.conversation_id)
    assert conversation.flagged_for_review
    assert conversation.flag_reason == "financial_strain"
    assert conversation.flagged_at is not None


def test_the_flag_is_audited(db: Database, strained: Seeded, first_draft: int) -> None:
    [flagged] = audit_events(db, "conversation.flagged")
    assert (flagged.actor, flagged.subject_id) == ("policy:wellbeing", strained.conversation_id)
    assert flagged.detail == {
        "signals": ["financial_strain"],
        "draft_id": first_draft,
        "message_id": strained.last,
    }


def _write_about_something_else(db: Database, strained: Seeded, draft_for: DraftFor) -> int:
    """The fan writes again two days later about something else: the earlier message is
    still in the recent history. The id of the draft for it."""
    later = seed_more(db, strained.conversation_id, "anyway how was your day?", minute=60 * 48)
    return drafted(draft_for, later)


def test_a_standing_flag_holds_later_drafts(
    db: Database, strained: Seeded, draft_for: DraftFor, first_draft: int
) -> None:
    draft = _draft(db, _write_about_something_else(db, strained, draft_for))
    assert draft.blocked
    assert draft.block_reasons == ["guard:financial_strain", "guard:standing_flag"]


def test_a_standing_flag_is_not_audited_again(
    db: Database, strained: Seeded, draft_for: DraftFor, first_draft: int
) -> None:
    _write_about_something_else(db, strained, draft_for)
    assert len(audit_events(db, "conversation.flagged")) == 1


@pytest.fixture
def minor_too(db: Database, strained: Seeded, draft_for: DraftFor, first_draft: int) -> None:
    """The flagged fan then writes something that reads as a minor's: a new kind of signal."""
    minor = seed_more(db, strained.conversation_id, "my mom won't let me buy more", minute=60 * 49)
    draft_for(minor)


def test_a_new_kind_of_signal_joins_the_flag(
    db: Database, strained: Seeded, minor_too: None
) -> None:
    assert _conversation(db, strained.conversation_id).flag_reason == "financial_strain, minor"


def test_a_new_kind_of_signal_is_audited(db: Database, minor_too: None) -> None:
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
