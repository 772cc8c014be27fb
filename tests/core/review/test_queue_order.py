"""Queue order: tier and spend, kind and wait add up; overdue fans jump the queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.drafting.fan import SpendTier
from core.enums import DraftKind
from core.review.queue_order import (
    KIND_POINTS,
    TIER_POINTS,
    VALUE_POINTS_MAX,
    WAIT_POINTS,
    Standing,
    sort_key,
    standing,
    waited,
)

TARGET = 300.0


def _standing(
    tier: SpendTier = SpendTier.none,
    total_spend_cents: int = 0,
    kind: str = DraftKind.reply,
    waiting_s: float = 0.0,
    pending: bool = True,
) -> Standing:
    return standing(
        tier=tier,
        total_spend_cents=total_spend_cents,
        kind=kind,
        waiting_s=waiting_s,
        target_s=TARGET,
        pending=pending,
    )


def test_points_add_up() -> None:
    assert _standing().priority == KIND_POINTS[DraftKind.reply]
    top = _standing(tier=SpendTier.top, total_spend_cents=60_000, kind=DraftKind.ppv_offer)
    assert top.priority == TIER_POINTS[SpendTier.top] + 6 + KIND_POINTS[DraftKind.ppv_offer]
    # Spend points stop at the cap; wait points at the target.
    whale = _standing(tier=SpendTier.top, total_spend_cents=10_000_000)
    assert whale.priority == TIER_POINTS[SpendTier.top] + VALUE_POINTS_MAX + 10
    assert _standing(waiting_s=150).priority == 10 + WAIT_POINTS / 2
    assert _standing(waiting_s=3_000).priority == 10 + WAIT_POINTS


def test_overdue_after_the_target_and_only_while_pending() -> None:
    assert not _standing(waiting_s=TARGET).overdue
    assert _standing(waiting_s=TARGET + 0.1).overdue
    assert not _standing(waiting_s=TARGET * 10, pending=False).overdue


def test_overdue_jumps_the_queue() -> None:
    fresh_whale = _standing(tier=SpendTier.top, total_spend_cents=100_000, waiting_s=10)
    late_nobody = _standing(waiting_s=TARGET + 1)
    tip = _standing(kind=DraftKind.tip_thanks, waiting_s=10)
    reply = _standing(waiting_s=10)
    reply_older = _standing(waiting_s=10)
    entries = [(reply, 4), (tip, 3), (fresh_whale, 2), (late_nobody, 5), (reply_older, 1)]
    ordered = sorted(entries, key=lambda e: sort_key(*e))
    assert [draft_id for _, draft_id in ordered] == [5, 2, 3, 1, 4]


def test_wait_is_never_negative() -> None:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert waited(now - timedelta(seconds=90), now) == 90
    assert waited(now + timedelta(seconds=5), now) == 0
