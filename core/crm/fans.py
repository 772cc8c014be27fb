"""What the fleet knows of a fan at a moment, as the guardrails read it: their recent
messages, what they spent, the money the daily spend cap counts, and the wellbeing guard's
and the offers check's verdicts on them.

Every send passes the gate (`core.outbox.gate`) with what the database says at that
moment, and every draft is written with it (`core.review.writing`). A draft can wait in
the queue for hours; the fan's words and spend since then decide, not those it was
drafted with.

The daily spend cap counts, over the 24 hours up to the moment:

- tips, by when they were sent;
- paid PPVs, by when they were paid (`Message.paid_at`), not when they were offered;
- open offers: priced PPVs we sent the fan in that window and they have not paid, and
  priced sends still on their way (queued to submitted). A fan can unlock each with one
  click, so the cap bars a new offer when spent + open + its price is above the cap, and
  several offers each under the cap cannot together take the fan past it. An offer left
  unpaid for 24 hours stops counting, or one ignored PPV would bar the fan for good; paid
  later, it counts as spent from its payment.

The guard is the wellbeing guard over the conversation's recent messages, the fan's spend
spike in the 24 hours up to the moment (purchases dated by their message, as when
drafting), and the conversation's standing flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from core.enums import ON_ITS_WAY, Direction
from core.guardrails import offers, wellbeing
from core.guardrails.wellbeing import GuardResult, SpendEvent
from core.models import Conversation, Message, Send

CAP_WINDOW = timedelta(hours=24)
# The conversation's last messages the guard reads, and a draft's prompt shows.
RECENT_MESSAGES = 10


def _sum(session: Session, column: QueryableAttribute[Any], *where: ColumnElement[bool]) -> int:
    """The sum of `column` over the fan's messages matching `where`, 0 when none."""
    total = session.scalar(
        select(func.coalesce(func.sum(column), 0))
        .select_from(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(*where)
    )
    return int(total or 0)


def committed(session: Session, fan_id: int, now: datetime) -> offers.Committed:
    """What the fan spent and was offered without paying in the `CAP_WINDOW` up to `now`
    (the module docstring says what counts)."""
    since = now - CAP_WINDOW
    fan = Conversation.fan_id == fan_id
    tips = _sum(session, Message.tip_cents, fan, Message.sent_at > since, Message.sent_at <= now)
    # A paid PPV stored without its payment time counts from its offer, not never.
    paid_at = func.coalesce(Message.paid_at, Message.sent_at)
    paid = _sum(
        session,
        Message.ppv_price_cents,
        fan,
        Message.ppv_paid.is_(True),
        paid_at > since,
        paid_at <= now,
    )
    sent_open = _sum(
        session,
        Message.ppv_price_cents,
        fan,
        Message.direction == Direction.outbound,
        Message.ppv_price_cents.is_not(None),
        or_(Message.ppv_paid.is_(False), Message.ppv_paid.is_(None)),
        Message.sent_at > since,
        Message.sent_at <= now,
    )
    sending = session.scalar(
        select(func.coalesce(func.sum(Send.ppv_price_cents), 0))
        .join(Conversation, Send.conversation_id == Conversation.id)
        .where(fan, Send.status.in_(ON_ITS_WAY), Send.ppv_price_cents.is_not(None))
    )
    return offers.Committed(
        spent_cents=tips + paid, open_offers_cents=sent_open + int(sending or 0)
    )


def recent_messages(session: Session, conversation_id: int) -> list[Message]:
    """The conversation's last `RECENT_MESSAGES` messages, oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(RECENT_MESSAGES)
    ).all()
    return list(reversed(rows))


@dataclass(frozen=True)
class FanSpend:
    """One time a fan spent: a tip, a paid PPV, or both on one message."""

    at: datetime
    tip_cents: int
    ppv_cents: int

    @property
    def event(self) -> SpendEvent:
        """The spend as the wellbeing guard reads it."""
        return SpendEvent(at=self.at, cents=self.tip_cents + self.ppv_cents)


def fan_spends(session: Session, fan_id: int) -> list[FanSpend]:
    """Every tip and paid PPV of the fan, over all their conversations."""
    rows = session.execute(
        select(Message.sent_at, Message.tip_cents, Message.ppv_price_cents, Message.ppv_paid)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(
            Conversation.fan_id == fan_id,
            or_(Message.tip_cents > 0, Message.ppv_paid.is_(True)),
        )
    ).all()
    return [
        FanSpend(at=sent_at, tip_cents=tip, ppv_cents=(price or 0) if paid else 0)
        for sent_at, tip, price, paid in rows
    ]


def assess(
    conversation: Conversation,
    recent: Sequence[Message],
    spends: Sequence[FanSpend],
    at: datetime,
) -> GuardResult:
    """The wellbeing guard over the fan's `recent` messages, their spend window up to
    `at`, and the conversation's standing flag."""
    return wellbeing.assess(
        [(m.id, m.text) for m in recent if m.direction == Direction.inbound],
        wellbeing.spend_window([spend.event for spend in spends], at),
        standing_flag=conversation.flag_reason if conversation.flagged_for_review else None,
    )


def guard(session: Session, conversation: Conversation, now: datetime) -> GuardResult:
    """The wellbeing guard over the conversation as it stands at `now`."""
    return assess(
        conversation,
        recent_messages(session, conversation.id),
        fan_spends(session, conversation.fan_id),
        now,
    )
