"""The order of the approval queue. Pure: the caller supplies the clock's reading.

A pending draft's priority adds up points for:

- the fan's spend tier (`TIER_POINTS`) and, within it, their total spend
  (`VALUE_POINTS_PER_CENTS` a point, at most `VALUE_POINTS_MAX`);
- the draft kind (`KIND_POINTS`): a sales opportunity or a fan who just tipped first;
- the fan's wait, up to `WAIT_POINTS` as it nears the account's response target.

A fan who has waited longer than the response target is `overdue` and jumps the queue:
overdue drafts come before every other, by priority among themselves. Ties go to the
longer wait, then to the older draft. A nudge (`follow_up`, `re_engage`) answers nobody:
it is never overdue, and its wait is the draft's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.drafting.fan import SpendTier
from core.enums import NUDGE_KINDS, DraftKind

TIER_POINTS: dict[SpendTier, float] = {
    SpendTier.none: 0,
    SpendTier.low: 10,
    SpendTier.mid: 20,
    SpendTier.top: 40,
}
KIND_POINTS: dict[str, float] = {
    DraftKind.ppv_offer: 20,
    DraftKind.tip_thanks: 15,
    DraftKind.reply: 10,
    DraftKind.follow_up: 5,
    DraftKind.re_engage: 0,
}
VALUE_POINTS_PER_CENTS = 10_000
VALUE_POINTS_MAX = 10
WAIT_POINTS = 30


@dataclass(frozen=True)
class Standing:
    """Where a draft stands in the queue: its priority, how long the fan has waited
    (seconds) and whether that is past the account's response target."""

    priority: float
    waiting_s: float
    overdue: bool


def waited(since: datetime, until: datetime) -> float:
    """Seconds from the fan's message to `until`; never negative (platform clocks drift)."""
    return max((until - since).total_seconds(), 0.0)


def standing(
    *,
    tier: SpendTier,
    total_spend_cents: int,
    kind: str,
    waiting_s: float,
    target_s: float,
    pending: bool = True,
) -> Standing:
    """The standing of one draft; only a pending draft that answers a fan can be overdue."""
    value = min(total_spend_cents / VALUE_POINTS_PER_CENTS, VALUE_POINTS_MAX)
    wait = WAIT_POINTS * min(waiting_s / target_s, 1.0)
    priority = TIER_POINTS[tier] + value + KIND_POINTS.get(kind, 0) + wait
    return Standing(
        priority=round(priority, 2),
        waiting_s=round(waiting_s, 3),
        overdue=pending and kind not in NUDGE_KINDS and waiting_s > target_s,
    )


def sort_key(item: Standing, draft_id: int) -> tuple[bool, float, float, int]:
    """Sorts a queue: overdue first, then higher priority, longer wait, older draft."""
    return (not item.overdue, -item.priority, -item.waiting_s, draft_id)
