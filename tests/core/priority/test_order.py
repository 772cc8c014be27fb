"""Queue order: tier and spend, kind and wait add up; overdue fans jump the queue."""

from __future__ import annotations

from core.drafting.fan import SpendTier
from core.enums import DraftKind
from core.priority.order import (
    KIND_POINTS,
    POINT_SCALE,
    TIER_POINTS,
    VALUE_POINTS_MAX,
    WAIT_POINTS,
    Standing,
    points,
    standing,
    waited_ms,
)

TARGET_MS = 300_000.0


def _standing(
    tier: SpendTier = SpendTier.none,
    total_spend_cents: int = 0,
    kind: str = DraftKind.reply,
    waited: int = 0,
    pending: bool = True,
) -> Standing:
    return standing(
        points=points(tier, total_spend_cents, kind),
        kind=kind,
        waited=waited,
        target_ms=TARGET_MS,
        pending=pending,
    )


def test_points_add_up_tier_spend_and_kind_in_hundredths() -> None:
    assert points(SpendTier.none, 0, DraftKind.reply) == KIND_POINTS[DraftKind.reply] * POINT_SCALE
    top = points(SpendTier.top, 60_000, DraftKind.ppv_offer)
    assert top == (TIER_POINTS[SpendTier.top] + 6 + KIND_POINTS[DraftKind.ppv_offer]) * 100
    # Spend points stop at the cap.
    whale = points(SpendTier.top, 10_000_000, DraftKind.reply)
    assert whale == (TIER_POINTS[SpendTier.top] + VALUE_POINTS_MAX + 10) * 100


def test_wait_points_grow_to_the_target_and_stop() -> None:
    assert _standing().priority == KIND_POINTS[DraftKind.reply]
    assert _standing(waited=150_000).priority == 10 + WAIT_POINTS / 2
    assert _standing(waited=3_000_000).priority == 10 + WAIT_POINTS


def test_overdue_from_the_target_on_and_only_while_pending() -> None:
    assert not _standing(waited=int(TARGET_MS) - 1).overdue
    assert _standing(waited=int(TARGET_MS)).overdue
    assert not _standing(waited=int(TARGET_MS) * 10, pending=False).overdue


def test_overdue_in_counts_down_to_the_target_and_stays_at_zero() -> None:
    assert _standing(waited=100_000).overdue_in_s == 200
    assert _standing(waited=int(TARGET_MS) * 2).overdue_in_s == 0


def test_a_decided_draft_is_never_due_to_be_overdue() -> None:
    assert _standing(waited=100_000, pending=False).overdue_in_s is None


def test_a_nudge_is_never_overdue() -> None:
    nudge = _standing(kind=DraftKind.follow_up, waited=int(TARGET_MS) * 10)
    assert not nudge.overdue
    assert nudge.overdue_in_s is None
    assert nudge.priority == KIND_POINTS[DraftKind.follow_up] + WAIT_POINTS


def test_wait_is_never_negative() -> None:
    assert waited_ms(1_000, 91_000) == 90_000
    assert waited_ms(96_000, 91_000) == 0
    assert _standing(waited=0).waiting_s == 0
