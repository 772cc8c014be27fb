"""The fan-wellbeing guard: signs that selling to this fan would hurt them.

Four signals, from the fan's own recent messages and spend:

- `distress`: distress or self-harm ("I want to die", "no reason to live").
- `financial_strain`: "can't afford", "rent money", "maxed out my card" and similar.
- `minor`: signs the fan is under 18 (the content filter's `minor` rule).
- `spend_spike`: spend in the last `SPEND_SPIKE_WINDOW` (24 h) above
  `SPEND_SPIKE_FACTOR` (3) times the fan's own daily average over the
  `SPEND_BASELINE_DAYS` (30) days before that window, and at least `SPEND_SPIKE_MIN_CENTS`
  ($100) so a first small purchase (an average of zero) is not a spike.

A conversation flagged once stays flagged (`standing_flag`) until a human clears it: a fan
who said they are 16 is not an adult three messages later.

What the guard changes: a flagged fan gets no sales offer (`core.review.writing` drafts a
`ppv_offer` as a plain `reply`, with the prompt forbidding any sales talk), the draft is
held for a human like a filter hit, the conversation is flagged and audited, and no send
reaches the fan without an admin's override (`core.outbox.gate`).
A plain reply is still drafted rather than none: an operator answering someone in distress
should start from a kind message, not from nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from core.enums import DraftKind
from core.guardrails import content_filter

DISTRESS = "distress"
FINANCIAL_STRAIN = "financial_strain"
MINOR = "minor"
SPEND_SPIKE = "spend_spike"
STANDING_FLAG = "standing_flag"

SPEND_SPIKE_WINDOW = timedelta(hours=24)
SPEND_BASELINE_DAYS = 30
# How far back `spend_window` counts: spend before then changes no verdict.
SPEND_LOOKBACK = SPEND_SPIKE_WINDOW + timedelta(days=SPEND_BASELINE_DAYS)
SPEND_SPIKE_FACTOR = 3
SPEND_SPIKE_MIN_CENTS = 10_000

# Kinds that sell; a flagged fan's draft of one of these becomes `SAFE_KIND`.
SALES_KINDS = frozenset({DraftKind.ppv_offer})
SAFE_KIND = DraftKind.reply

# The text signals as data: name -> patterns, matched case-insensitively.
TEXT_SIGNALS: dict[str, tuple[str, ...]] = {
    DISTRESS: (
        r"\b(?:kill|hurt|harm|cut)\s+myself\b",
        r"\bsuicid(?:e|al)\b",
        r"\bself[\s-]?harm(?:ing)?\b",
        r"\b(?:want|wanna|going|ready)\s+(?:to\s+)?die\b",
        r"\bend\s+(?:it\s+all|my\s+life)\b",
        r"\bno\s+(?:reason|point)\s+(?:to|in)\s+(?:live|living|going\s+on|being\s+here)\b",
        r"\bnothing\s+(?:left\s+)?to\s+live\s+for\b",
        r"\bnobody\s+(?:would|will)\s+(?:miss\s+me|care\s+if\s+i)\b",
        r"\bcan'?t\s+(?:go\s+on|take\s+(?:it|this)\s+anymore|do\s+this\s+anymore)\b",
        r"\b(?:i\s+feel|i'?m|im|i\s+am|feeling)\s+(?:so\s+|really\s+|completely\s+)?"
        r"(?:hopeless|worthless)\b",
        r"\bbetter\s+off\s+(?:dead|without\s+me)\b",
        r"\boverdose\b",
    ),
    FINANCIAL_STRAIN: (
        r"\b(?:can'?t|cannot|couldn'?t|can’t)\s+(?:really\s+|even\s+)?afford\b",
        r"\b(?:rent|grocery|groceries|food|bill|bills|gas)\s+money\b",
        r"\blast\s+(?:\$\s?\d+|few\s+(?:dollars|bucks)|of\s+my\s+(?:money|savings|paycheck|check))",
        r"\b(?:behind|late)\s+on\s+(?:my\s+)?(?:rent|bills|payments|mortgage)\b",
        r"\bmaxed\s+out\s+(?:my\s+|all\s+my\s+)?(?:credit\s+)?cards?\b",
        r"\b(?:i'?m|im|i\s+am)\s+(?:so\s+|totally\s+|completely\s+|flat\s+|dead\s+)?broke\b",
        r"\b(?:in|drowning\s+in|deep\s+in)\s+debt\b",
        r"\b(?:overdrawn|overdraft)\b",
        r"\bborrow(?:ed|ing)?\s+money\b",
        r"\b(?:spent|spend|spending)\s+(?:all\s+(?:of\s+)?)?my\s+(?:whole\s+)?"
        r"(?:paycheck|savings|rent)\b",
        r"\bcan'?t\s+pay\s+(?:my\s+)?(?:rent|bills?)\b",
    ),
}
# A signal's patterns as one: the guard reads each of a conversation's recent messages at
# every send and every draft, thousands at a time for a mass message.
_COMPILED = {
    name: content_filter.any_of(patterns, re.IGNORECASE) for name, patterns in TEXT_SIGNALS.items()
}
_MINOR_PATTERNS = next(rule.patterns for rule in content_filter.RULES if rule.name == MINOR)
# Every pattern of every text signal, written in lower case (a test holds them to it).
SIGNAL_PATTERNS = (*(p for patterns in TEXT_SIGNALS.values() for p in patterns), *_MINOR_PATTERNS)
# Whether a message shows any text signal at all, in one search: most show none. Python's
# `re` ignores case five times slower than it matches an ASCII text put in lower case (47
# against 10 µs for a 70-character sentence), so such a text is searched that way; any
# other keeps the case-blind search, whose folding of other scripts `lower` does not match.
_ANY_SIGNAL = content_filter.any_of(SIGNAL_PATTERNS, re.IGNORECASE)
_ANY_SIGNAL_LOWER = content_filter.any_of(SIGNAL_PATTERNS, re.NOFLAG)


class GuardSignal(BaseModel):
    """One reason the guard fired: the signal name and a detail free of message text."""

    model_config = ConfigDict(frozen=True)

    signal: str
    detail: str


@dataclass(frozen=True)
class GuardResult:
    """Every signal the guard found; any signal flags the fan."""

    signals: tuple[GuardSignal, ...]

    @property
    def flagged(self) -> bool:
        """Whether the fan must not be sold to and needs a human."""
        return bool(self.signals)

    def names(self) -> list[str]:
        """The signal names, each once, in order."""
        return list(dict.fromkeys(signal.signal for signal in self.signals))


@dataclass(frozen=True)
class SpendEvent:
    """Money a fan spent at a time: a tip, or a paid PPV (dated by its message)."""

    at: datetime
    cents: int


@dataclass(frozen=True)
class SpendWindow:
    """A fan's spend in the spike window and in the baseline before it."""

    recent_cents: int
    baseline_cents: int

    @property
    def baseline_daily_cents(self) -> float:
        """The fan's average daily spend over the baseline days."""
        return self.baseline_cents / SPEND_BASELINE_DAYS


def spend_window(events: Iterable[SpendEvent], now: datetime) -> SpendWindow:
    """Sum `events` into the 24 h up to `now` and the 30 days before those 24 h."""
    recent_start = now - SPEND_SPIKE_WINDOW
    baseline_start = recent_start - timedelta(days=SPEND_BASELINE_DAYS)
    recent = baseline = 0
    for event in events:
        if recent_start < event.at <= now:
            recent += event.cents
        elif baseline_start < event.at <= recent_start:
            baseline += event.cents
    return SpendWindow(recent_cents=recent, baseline_cents=baseline)


def spend_spike(window: SpendWindow) -> GuardSignal | None:
    """The `spend_spike` signal when the recent spend is far above the fan's own history."""
    if window.recent_cents < SPEND_SPIKE_MIN_CENTS:
        return None
    if window.recent_cents <= SPEND_SPIKE_FACTOR * window.baseline_daily_cents:
        return None
    return GuardSignal(
        signal=SPEND_SPIKE,
        detail=f"{window.recent_cents} cents in 24h vs a daily average of "
        f"{window.baseline_daily_cents:.0f} cents over {SPEND_BASELINE_DAYS} days",
    )


def text_signals(text: str) -> list[str]:
    """The names of the text signals (distress, financial strain, minor) in one message."""
    if text.isascii():
        if _ANY_SIGNAL_LOWER.search(text.lower()) is None:
            return []
    elif _ANY_SIGNAL.search(text) is None:
        return []
    names = [name for name, pattern in _COMPILED.items() if pattern.search(text)]
    if content_filter.mentions(content_filter.Category.minor.value, text):
        names.append(MINOR)
    return names


def assess(
    fan_messages: Iterable[tuple[int, str]],
    window: SpendWindow,
    *,
    standing_flag: str | None = None,
) -> GuardResult:
    """Assess a fan from their recent messages (`(message id, text)` pairs), their spend
    window, and the conversation's standing flag (its reason, or None when not flagged)."""
    signals: list[GuardSignal] = []
    for message_id, text in fan_messages:
        for name in text_signals(text):
            signals.append(GuardSignal(signal=name, detail=f"message {message_id}"))
    spike = spend_spike(window)
    if spike is not None:
        signals.append(spike)
    if standing_flag is not None:
        signals.append(
            GuardSignal(signal=STANDING_FLAG, detail=f"conversation flagged: {standing_flag}")
        )
    return GuardResult(signals=tuple(signals))


def safe_kind(kind: str, result: GuardResult) -> str:
    """The kind to draft: a sales kind becomes a plain reply for a flagged fan."""
    if result.flagged and kind in SALES_KINDS:
        return SAFE_KIND
    return kind
