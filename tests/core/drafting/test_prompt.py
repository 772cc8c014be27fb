"""Spend tiers and the prompt: what goes in, and trimming to the token budget."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.drafting.base import ConversationTurn, DraftContext
from core.drafting.fan import (
    TIER_LOW_CENTS,
    TIER_MID_CENTS,
    TIER_TOP_CENTS,
    FanSnapshot,
    SpendTier,
    spend_tier,
)
from core.drafting.persona import Persona
from core.drafting.prompt import (
    KIND_INSTRUCTIONS,
    NEWEST_MIN_CHARS,
    NO_SALES_INSTRUCTION,
    build_prompt,
    estimate_tokens,
)
from core.enums import DraftKind


@pytest.mark.parametrize(
    ("cents", "tier"),
    [
        (0, SpendTier.none),
        (TIER_LOW_CENTS, SpendTier.low),
        (TIER_MID_CENTS - 1, SpendTier.low),
        (TIER_MID_CENTS, SpendTier.mid),
        (TIER_TOP_CENTS - 1, SpendTier.mid),
        (TIER_TOP_CENTS, SpendTier.top),
        (10_000_000, SpendTier.top),
    ],
)
def test_spend_tier(cents: int, tier: SpendTier) -> None:
    assert spend_tier(cents) == tier


def test_estimate_is_chars_over_four_rounded_up() -> None:
    assert [estimate_tokens("x" * n) for n in (0, 1, 4, 5, 400)] == [0, 1, 1, 2, 100]


def _context(turns: list[ConversationTurn]) -> DraftContext:
    return DraftContext(
        persona=Persona(name="Mia", tone="warm", phrases=["xoxo"]),
        fan_name="Sam",
        inbound_text=turns[-1].text,
        history=turns,
        fan=FanSnapshot(tier=SpendTier.mid, total_spend_cents=12_345),
    )


def test_trims_oldest_turns_to_the_budget() -> None:
    turns = [
        ConversationTurn("inbound" if i % 2 else "outbound", f"turn {i:02d} " + "x" * 392)
        for i in range(40)
    ]
    prompt = build_prompt(_context(turns), token_budget=1_000)
    assert prompt.estimated_tokens <= 1_000
    assert prompt.turns_dropped > 0
    assert prompt.turns_used + prompt.turns_dropped == 40
    kept = [str(m["content"])[:7] for m in prompt.messages[1:]]
    # The newest turns, in order, the fan's last message at the end.
    assert kept == [f"turn {i:02d}" for i in range(40 - prompt.turns_used, 40)]
    assert prompt.messages[-1]["role"] == "user"
    assert prompt.messages[-2]["role"] == "assistant"


def test_the_message_being_answered_always_goes_in() -> None:
    turns = [ConversationTurn("outbound", "hi"), ConversationTurn("inbound", "y" * 20_000)]
    prompt = build_prompt(_context(turns), token_budget=300)
    assert prompt.turns_used == 1
    newest = prompt.messages[-1]["content"]
    assert isinstance(newest, str)
    assert NEWEST_MIN_CHARS <= len(newest) < 20_000


def test_system_message_has_persona_fan_kind_and_rules() -> None:
    turns = [ConversationTurn("inbound", "hello")]
    context = replace(_context(turns), kind=DraftKind.ppv_offer)
    system = build_prompt(context, 2_000).messages[0]["content"]
    assert isinstance(system, str)
    assert "tone: warm" in system
    assert '"xoxo"' in system
    assert "spend tier: mid (total spent $123.45" in system
    assert KIND_INSTRUCTIONS[DraftKind.ppv_offer] in system
    assert "Never share or ask for phone numbers" in system
    assert NO_SALES_INSTRUCTION not in system
    assert "time since their previous message" not in system

    flagged = replace(
        _context(turns),
        wellbeing_flagged=True,
        fan=FanSnapshot(since_previous_message=timedelta(minutes=90)),
    )
    system = build_prompt(flagged, 2_000).messages[0]["content"]
    assert isinstance(system, str)
    assert NO_SALES_INSTRUCTION in system
    assert "time since their previous message: 90 minutes" in system
