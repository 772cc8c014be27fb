"""What a drafter knows about the fan: spend tier, spend, tags, notes and recency."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class SpendTier(StrEnum):
    """A fan's value band, from their total spend on the account."""

    none = "none"
    low = "low"
    mid = "mid"
    top = "top"


# Lower bounds of each tier in cents of total spend. Any purchase at all makes a fan `low`;
# $50 is roughly a handful of PPVs (`mid`); $500 marks the few fans an account lives on.
TIER_LOW_CENTS = 1
TIER_MID_CENTS = 5_000
TIER_TOP_CENTS = 50_000


def spend_tier(total_spend_cents: int) -> SpendTier:
    """The tier of a fan who has spent `total_spend_cents` in all."""
    if total_spend_cents >= TIER_TOP_CENTS:
        return SpendTier.top
    if total_spend_cents >= TIER_MID_CENTS:
        return SpendTier.mid
    if total_spend_cents >= TIER_LOW_CENTS:
        return SpendTier.low
    return SpendTier.none


@dataclass(frozen=True)
class FanSnapshot:
    """The fan as the prompt describes them. `since_previous_message` is the gap between
    the message being answered and the fan's message before it (None for a first message);
    `silent_for`, for a nudge, how long the fan has not written (None otherwise)."""

    tier: SpendTier = SpendTier.none
    total_spend_cents: int = 0
    tips: int = 0
    paid_ppvs: int = 0
    tags: tuple[str, ...] = ()
    notes: str = ""
    since_previous_message: timedelta | None = None
    silent_for: timedelta | None = None
