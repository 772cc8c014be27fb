"""What the fans paid over a window: revenue per account per UTC day, and how PPV offers
convert by price band and by the fan's spend tier.

- a tip counts on the day it was sent;
- a PPV counts on the day it was paid (`Message.paid_at`; a purchase stored before
  payment times were kept counts on its offer's day), whenever it was offered;
- conversion reads the PPV offers *sent* in the window: how many, how many were bought
  (by now), and what they brought. The tier is the fan's tier now, not when offered.

Every figure is one grouped query, read through the message indexes for money
(`core.models.Message`), whatever the number of fans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from core.analytics.window import Window, as_date, utc_day
from core.drafting.fan import TIER_LOW_CENTS, TIER_MID_CENTS, TIER_TOP_CENTS, SpendTier
from core.models import (
    MESSAGE_IS_OFFER,
    MESSAGE_IS_PURCHASE,
    MESSAGE_IS_TIP,
    MESSAGE_PAID_AT,
    Conversation,
    Fan,
    Message,
)

# Lower bounds of the price bands, in cents: under $5, $5-10, $10-20, $20-50, $50 and up.
PRICE_BANDS = (0, 500, 1000, 2000, 5000)


@dataclass(frozen=True)
class DayRevenue:
    """One account's takings on one UTC day."""

    day: date
    account_id: int
    tips: int
    tips_cents: int
    ppv_sold: int
    ppv_cents: int

    @property
    def total_cents(self) -> int:
        return self.tips_cents + self.ppv_cents


@dataclass(frozen=True)
class Conversion:
    """PPV offers sent in the window for one band or tier, and what came of them."""

    key: str
    offered: int
    bought: int
    revenue_cents: int

    @property
    def rate(self) -> float | None:
        return self.bought / self.offered if self.offered else None


@dataclass(frozen=True)
class RevenueReport:
    window: Window
    days: list[DayRevenue]
    by_price_band: list[Conversion]
    by_tier: list[Conversion]

    @property
    def tips_cents(self) -> int:
        return sum(day.tips_cents for day in self.days)

    @property
    def ppv_cents(self) -> int:
        return sum(day.ppv_cents for day in self.days)


def _narrowed(stmt: Select[Any], window: Window) -> Select[Any]:
    if window.account_id is None:
        return stmt
    return stmt.where(Conversation.account_id == window.account_id)


def revenue_by_day(session: Session, window: Window) -> list[DayRevenue]:
    """Tips and PPV sales per account per UTC day with any, oldest first."""
    figures: dict[tuple[date, int], list[int]] = {}
    for money, when, condition in (
        (Message.tip_cents, Message.sent_at, MESSAGE_IS_TIP),
        (Message.ppv_price_cents, MESSAGE_PAID_AT, MESSAGE_IS_PURCHASE),
    ):
        day = utc_day(session, when).label("day")
        stmt = (
            select(day, Conversation.account_id, func.count(), func.sum(money))
            .join(Conversation, Message.conversation_id == Conversation.id)
            .where(condition, window.holds(when))
            .group_by(day, Conversation.account_id)
        )
        slot = 0 if money is Message.tip_cents else 2
        for value, account_id, count, cents in session.execute(_narrowed(stmt, window)):
            row = figures.setdefault((as_date(value), account_id), [0, 0, 0, 0])
            row[slot], row[slot + 1] = int(count), int(cents or 0)
    return [DayRevenue(day, account_id, *row) for (day, account_id), row in sorted(figures.items())]


def _band_label(low: int, high: int | None) -> str:
    return f"{low}-{high - 1}" if high is not None else f"{low}+"


def _conversion(session: Session, window: Window, key: Any, labels: list[str]) -> list[Conversion]:
    """Offers sent in the window grouped by `key` (a CASE giving an index into `labels`)."""
    bought = MESSAGE_IS_PURCHASE
    stmt = (
        select(
            key.label("key"),
            func.count(),
            func.coalesce(func.sum(case((bought, 1), else_=0)), 0),
            func.coalesce(func.sum(case((bought, Message.ppv_price_cents), else_=0)), 0),
        )
        .join(Conversation, Message.conversation_id == Conversation.id)
        .join(Fan, Conversation.fan_id == Fan.id)
        .where(MESSAGE_IS_OFFER, window.holds(Message.sent_at))
        .group_by(key)
    )
    found = {
        int(k): (int(n), int(b), int(c)) for k, n, b, c in session.execute(_narrowed(stmt, window))
    }
    return [Conversion(label, *found.get(index, (0, 0, 0))) for index, label in enumerate(labels)]


def _index_of(column: Any, bounds: tuple[int, ...]) -> Any:
    """A CASE giving the index of the highest bound `column` reaches."""
    return case(
        *((column >= low, index) for index, low in reversed(list(enumerate(bounds)))),
        else_=0,
    )


def report(session: Session, window: Window) -> RevenueReport:
    """The window's revenue by day, and its PPV conversion by price band and by tier."""
    bands = [
        _band_label(low, high)
        for low, high in zip(PRICE_BANDS, (*PRICE_BANDS[1:], None), strict=True)
    ]
    tiers = (0, TIER_LOW_CENTS, TIER_MID_CENTS, TIER_TOP_CENTS)
    return RevenueReport(
        window=window,
        days=revenue_by_day(session, window),
        by_price_band=_conversion(
            session, window, _index_of(Message.ppv_price_cents, PRICE_BANDS), bands
        ),
        by_tier=_conversion(
            session,
            window,
            _index_of(Fan.total_spend_cents, tiers),
            [tier.value for tier in SpendTier],
        ),
    )
