"""One fan as the CRM shows them: their conversations, latest messages, purchases, tips,
and spend by day.

Bounded whatever the fan's history: the latest `RECENT` messages, purchases and tips (the
full thread pages through `core.crm.conversations`), and spend over a window of days.
Days are UTC days. A PPV counts on the day it was paid (`Message.paid_at`), a tip on the
day it was sent, as the daily spend cap counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.errors import get_or_raise
from core.models import (
    MESSAGE_IS_PURCHASE,
    MESSAGE_IS_TIP,
    MESSAGE_PAID_AT,
    Conversation,
    Fan,
    Message,
)

RECENT = 50
MAX_DAYS = 366


@dataclass(frozen=True)
class Purchase:
    """A PPV the fan bought."""

    message_id: int
    conversation_id: int
    price_cents: int
    offered_at: datetime
    paid_at: datetime


@dataclass(frozen=True)
class Tip:
    """A tip the fan sent."""

    message_id: int
    conversation_id: int
    cents: int
    at: datetime


@dataclass(frozen=True)
class DaySpend:
    """What the fan spent on one UTC day."""

    day: date
    tips_cents: int
    ppv_cents: int


@dataclass(frozen=True)
class FanDetail:
    fan: Fan
    conversations: list[Conversation]
    recent_messages: list[Message]
    purchases: list[Purchase]
    tips: list[Tip]
    spend_by_day: list[DaySpend]


def _of_fan(fan_id: int) -> list[ColumnElement[bool]]:
    return [Message.conversation_id == Conversation.id, Conversation.fan_id == fan_id]


def fan_detail(
    session: Session, fan_id: int, *, days: int = 30, now: datetime | None = None
) -> FanDetail:
    """The fan `fan_id` (`NotFound` if none) with their history, and their spend on each of
    the `days` UTC days up to `now`, oldest first, days without any included."""
    fan = get_or_raise(session, Fan, fan_id)
    now = now or utcnow()
    conversations = list(
        session.scalars(
            select(Conversation)
            .where(Conversation.fan_id == fan_id)
            .order_by(Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc())
        )
    )
    recent = list(
        session.scalars(
            select(Message)
            .where(*_of_fan(fan_id))
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(RECENT)
        )
    )
    paid_at = MESSAGE_PAID_AT
    purchases = [
        Purchase(row.id, row.conversation_id, row.ppv_price_cents or 0, row.sent_at, paid)
        for row, paid in session.execute(
            select(Message, paid_at)
            .where(*_of_fan(fan_id), MESSAGE_IS_PURCHASE)
            .order_by(paid_at.desc(), Message.id.desc())
            .limit(RECENT)
        )
    ]
    tips = [
        Tip(row.id, row.conversation_id, row.tip_cents, row.sent_at)
        for row in session.scalars(
            select(Message)
            .where(*_of_fan(fan_id), MESSAGE_IS_TIP)
            .order_by(Message.sent_at.desc(), Message.id.desc())
            .limit(RECENT)
        )
    ]
    return FanDetail(
        fan=fan,
        conversations=conversations,
        recent_messages=recent,
        purchases=purchases,
        tips=tips,
        spend_by_day=_spend_by_day(session, fan_id, days, now),
    )


def _spend_by_day(session: Session, fan_id: int, days: int, now: datetime) -> list[DaySpend]:
    last = now.date()
    first = last - timedelta(days=days - 1)
    start = datetime.combine(first, datetime.min.time(), tzinfo=now.tzinfo)
    paid_at = MESSAGE_PAID_AT
    rows = session.execute(
        select(Message.sent_at, paid_at, Message.tip_cents, Message.ppv_price_cents)
        .add_columns(Message.ppv_paid)
        .where(
            *_of_fan(fan_id),
            or_(
                and_(MESSAGE_IS_TIP, Message.sent_at >= start),
                and_(MESSAGE_IS_PURCHASE, paid_at >= start),
            ),
        )
    )
    tips = {first + timedelta(days=n): 0 for n in range(days)}
    ppv = dict(tips)
    for sent_at, paid, tip, price, was_paid in rows:
        if tip and sent_at.date() in tips:
            tips[sent_at.date()] += tip
        if was_paid and price and paid.date() in ppv:
            ppv[paid.date()] += price
    return [DaySpend(day, tips[day], ppv[day]) for day in tips]
