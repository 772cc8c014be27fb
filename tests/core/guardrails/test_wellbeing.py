"""The fan-wellbeing guard: its text and spend decision tables, a flag turning a sales kind
into a plain reply, and an assessment that names messages, never their text."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core.enums import DraftKind
from core.guardrails.wellbeing import (
    SIGNAL_PATTERNS,
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
from tests.helpers.seeding import T0

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
    ("I JUST WANT TO DIE", {"distress"}),
    ("I'm So Broke", {"financial_strain"}),
    ("I’m 16 😅", {"minor"}),
]


@pytest.mark.parametrize(("text", "signals"), TEXT_CASES, ids=[t for t, _ in TEXT_CASES])
def test_text_signals(text: str, signals: set[str]) -> None:
    assert set(text_signals(text)) == signals


def test_every_signal_pattern_is_written_in_lower_case() -> None:
    # An ASCII message is searched in lower case: a capital letter in a pattern (outside
    # an escape such as \\S) would never match one.
    capitals = [p for p in SIGNAL_PATTERNS if re.search(r"(?<!\\)[A-Z]", p)]
    assert capitals == []


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
