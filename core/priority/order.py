"""The order of the approval queue. Pure: the caller supplies the clock's reading.

A pending draft's priority adds up points for:

- the fan's spend tier (`TIER_POINTS`) and, within it, their total spend
  (`VALUE_POINTS_PER_CENTS` a point, at most `VALUE_POINTS_MAX`);
- the draft kind (`KIND_POINTS`): a sales opportunity or a fan who just tipped first;
- the fan's wait, up to `WAIT_POINTS` as it nears the account's response target.

The first two are the draft's `points`, stored on its row in hundredths (`POINT_SCALE`)
so keys compare exactly; the wait is added as the queue is read.

A fan who has waited as long as the response target is `overdue` and jumps the queue:
overdue drafts come before every other, by priority among themselves. Ties go to the
longer wait, then to the older draft. A nudge (`follow_up`, `re_engage`) answers nobody:
it is never overdue, and its wait is the draft's own.

Times are whole epoch milliseconds, as stored (`core.priority.keys`).
"""

from __future__ import annotations

from dataclasses import dataclass

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
POINT_SCALE = 100


@dataclass(frozen=True)
class Standing:
    """Where a draft stands in the queue: its priority, how long the fan has waited
    (seconds), whether that is past the account's response target, and in how many seconds
    it will be (0 once it is; None when it never can be: a nudge, or a decided draft), so a
    page can turn it red when it happens."""

    priority: float
    waiting_s: float
    overdue: bool
    overdue_in_s: float | None


def points(tier: SpendTier, total_spend_cents: int, kind: str) -> int:
    """A draft's points before its wait, in hundredths: its fan's tier and spend, its kind."""
    value = min(total_spend_cents / VALUE_POINTS_PER_CENTS, VALUE_POINTS_MAX)
    return round((TIER_POINTS[tier] + value + KIND_POINTS.get(kind, 0)) * POINT_SCALE)


def waited_ms(since_ms: int, until_ms: int) -> int:
    """Milliseconds from `since_ms` to `until_ms`; never negative (platform clocks drift)."""
    return max(until_ms - since_ms, 0)


def priority(points: int, waited: int, target_ms: float) -> float:
    """The priority of a draft with `points` whose fan has waited `waited` ms of a
    `target_ms` response target (already time-scaled)."""
    return points / POINT_SCALE + WAIT_POINTS * min(waited / target_ms, 1.0)


def is_overdue(kind: str, waited: int, target_ms: float) -> bool:
    """Whether a pending draft of `kind` whose fan waited `waited` ms reached the target."""
    return kind not in NUDGE_KINDS and waited >= target_ms


def standing(
    *, points: int, kind: str, waited: int, target_ms: float, pending: bool = True
) -> Standing:
    """The standing of one draft; only a pending draft that answers a fan can be overdue."""
    can_be_overdue = pending and kind not in NUDGE_KINDS
    return Standing(
        priority=round(priority(points, waited, target_ms), 2),
        waiting_s=round(waited / 1000, 3),
        overdue=pending and is_overdue(kind, waited, target_ms),
        overdue_in_s=round(max(target_ms - waited, 0) / 1000, 3) if can_be_overdue else None,
    )
