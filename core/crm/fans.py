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

Each is read for one fan or conversation, or for many at once (`committed_many`,
`guards`) in the same few queries whatever their number: a mass message to a thousand
fans is a handful of queries, not thousands. The one-fan reads are the many-fan ones for
a single fan.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Subquery, func, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from core.db import one_of
from core.enums import ON_ITS_WAY, Direction
from core.guardrails import offers, wellbeing
from core.guardrails.wellbeing import GuardResult, SpendEvent
from core.models import (
    MESSAGE_IS_PURCHASE,
    MESSAGE_IS_TIP,
    MESSAGE_IS_UNPAID_OFFER,
    MESSAGE_PAID_AT,
    Conversation,
    Fan,
    Message,
    Send,
)


class ConversationColumns(Protocol):
    """What the wellbeing guard and the send gate read of a conversation
    (`CONVERSATION_COLUMNS`): a `Conversation`, or a row of those columns, which a mass
    message reads for thousands of conversations without an ORM object for each."""

    @property
    def id(self) -> int: ...

    @property
    def account_id(self) -> int: ...

    @property
    def fan_id(self) -> int: ...

    @property
    def flagged_for_review(self) -> bool: ...

    @property
    def flag_reason(self) -> str | None: ...


# The columns a `ConversationColumns` row is selected with.
CONVERSATION_COLUMNS = (
    Conversation.id,
    Conversation.account_id,
    Conversation.fan_id,
    Conversation.flagged_for_review,
    Conversation.flag_reason,
)

CAP_WINDOW = timedelta(hours=24)
# The conversation's last messages the guard reads, and a draft's prompt shows.
RECENT_MESSAGES = 10


def _sums(
    session: Session,
    column: QueryableAttribute[Any],
    of_fans: ColumnElement[bool],
    *where: ColumnElement[bool],
) -> dict[int, int]:
    """The sum of `column` over the messages matching `where` of each fan `of_fans`
    selects (a condition on `Conversation.fan_id`), by fan (absent: 0)."""
    rows = session.execute(
        select(Conversation.fan_id, func.coalesce(func.sum(column), 0))
        .select_from(Message)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(of_fans, *where)
        .group_by(Conversation.fan_id)
    )
    return {fan_id: int(total or 0) for fan_id, total in rows}


def erased_among(session: Session, fan_ids: Collection[int]) -> set[int]:
    """The fans of `fan_ids` erased at their request, in one query whatever their number."""
    if not fan_ids:
        return set()
    return set(
        session.scalars(
            select(Fan.id).where(one_of(session, Fan.id, fan_ids), Fan.erased_at.is_not(None))
        )
    )


def committed_many(
    session: Session, fan_ids: Collection[int], now: datetime
) -> dict[int, offers.Committed]:
    """What each fan spent and was offered without paying in the `CAP_WINDOW` up to `now`
    (the module docstring says what counts), in four queries whatever the number of fans."""
    if not fan_ids:
        return {}
    since = now - CAP_WINDOW
    # The fans' ids written out once for the four queries.
    of_fans = one_of(session, Conversation.fan_id, fan_ids)
    # Each sum says which money it counts as the messages' partial indexes do (tips,
    # purchases, offers), so PostgreSQL reads that index over the window rather than every
    # message of the fans, or of the table: for a campaign's thousands of fans, the tips
    # took a scan of all the messages.
    tips = _sums(
        session,
        Message.tip_cents,
        of_fans,
        MESSAGE_IS_TIP,
        Message.sent_at > since,
        Message.sent_at <= now,
    )
    # A paid PPV stored without its payment time counts from its offer, not never.
    paid_at = MESSAGE_PAID_AT
    paid = _sums(
        session,
        Message.ppv_price_cents,
        of_fans,
        MESSAGE_IS_PURCHASE,
        paid_at > since,
        paid_at <= now,
    )
    sent_open = _sums(
        session,
        Message.ppv_price_cents,
        of_fans,
        MESSAGE_IS_UNPAID_OFFER,
        Message.sent_at > since,
        Message.sent_at <= now,
    )
    sending = {
        fan_id: int(total or 0)
        for fan_id, total in session.execute(
            select(Conversation.fan_id, func.coalesce(func.sum(Send.ppv_price_cents), 0))
            .join(Conversation, Send.conversation_id == Conversation.id)
            .where(
                of_fans,
                Send.status.in_(ON_ITS_WAY),
                Send.ppv_price_cents.is_not(None),
            )
            .group_by(Conversation.fan_id)
        )
    }
    # Most of a mass message's fans have none: they share one (immutable) nothing.
    nothing = offers.Committed()
    with_money = tips.keys() | paid.keys() | sent_open.keys() | sending.keys()
    return {
        fan_id: offers.Committed(
            spent_cents=tips.get(fan_id, 0) + paid.get(fan_id, 0),
            open_offers_cents=sent_open.get(fan_id, 0) + sending.get(fan_id, 0),
        )
        if fan_id in with_money
        else nothing
        for fan_id in fan_ids
    }


def committed(session: Session, fan_id: int, now: datetime) -> offers.Committed:
    """What the fan spent and was offered without paying in the `CAP_WINDOW` up to `now`."""
    return committed_many(session, [fan_id], now)[fan_id]


def _ranked(session: Session, conversation_ids: Collection[int], *columns: Any) -> Subquery:
    """`columns` of the conversations' messages, each with its `rank`: 1 for the newest."""
    return (
        select(
            *columns,
            func.row_number()
            .over(
                partition_by=Message.conversation_id,
                order_by=(Message.sent_at.desc(), Message.id.desc()),
            )
            .label("rank"),
        )
        .where(one_of(session, Message.conversation_id, conversation_ids))
        .subquery()
    )


def recent_messages_many(
    session: Session, conversation_ids: Collection[int]
) -> dict[int, list[Message]]:
    """Each conversation's last `RECENT_MESSAGES` messages, oldest first, in one query."""
    if not conversation_ids:
        return {}
    ranked = _ranked(session, conversation_ids, Message.id)
    rows = session.scalars(
        select(Message)
        .join(ranked, ranked.c.id == Message.id)
        .where(ranked.c.rank <= RECENT_MESSAGES)
        .order_by(Message.conversation_id, Message.sent_at, Message.id)
    )
    found: dict[int, list[Message]] = {cid: [] for cid in conversation_ids}
    for message in rows:
        found[message.conversation_id].append(message)
    return found


def fan_lines(messages: Iterable[Message]) -> list[tuple[int, str]]:
    """The fan's own messages among `messages`, as the wellbeing guard reads them: (id,
    text) pairs."""
    return [(m.id, m.text) for m in messages if m.direction == Direction.inbound]


def _fan_lines_many(
    session: Session, conversation_ids: Collection[int]
) -> dict[int, list[tuple[int, str]]]:
    """`fan_lines` of each conversation's last `RECENT_MESSAGES` messages, in one query
    that reads three columns: no message objects for a mass message's thousands of
    conversations."""
    found: dict[int, list[tuple[int, str]]] = {cid: [] for cid in conversation_ids}
    if not conversation_ids:
        return found
    ranked = _ranked(
        session,
        conversation_ids,
        Message.conversation_id,
        Message.id,
        Message.text,
        Message.direction,
    )
    rows = session.execute(
        select(ranked.c.conversation_id, ranked.c.id, ranked.c.text)
        .where(ranked.c.rank <= RECENT_MESSAGES, ranked.c.direction == Direction.inbound)
        .order_by(ranked.c.conversation_id, ranked.c.rank.desc())
    )
    for conversation_id, message_id, text in rows:
        found[conversation_id].append((message_id, text))
    return found


def recent_messages(session: Session, conversation_id: int) -> list[Message]:
    """The conversation's last `RECENT_MESSAGES` messages, oldest first."""
    return recent_messages_many(session, [conversation_id])[conversation_id]


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


def fan_spends_many(
    session: Session, fan_ids: Collection[int], since: datetime | None = None
) -> dict[int, list[FanSpend]]:
    """Every tip and paid PPV of each fan, over all their conversations (those of messages
    sent after `since` only, when given), in one query."""
    found: dict[int, list[FanSpend]] = {fan_id: [] for fan_id in fan_ids}
    if not fan_ids:
        return found
    stmt = (
        select(
            Conversation.fan_id,
            Message.sent_at,
            Message.tip_cents,
            Message.ppv_price_cents,
            Message.ppv_paid,
        )
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(
            one_of(session, Conversation.fan_id, fan_ids),
            or_(MESSAGE_IS_TIP, MESSAGE_IS_PURCHASE),
        )
    )
    if since is not None:
        stmt = stmt.where(Message.sent_at > since)
    rows = session.execute(stmt)
    for fan_id, sent_at, tip, price, paid in rows:
        found[fan_id].append(
            FanSpend(at=sent_at, tip_cents=tip, ppv_cents=(price or 0) if paid else 0)
        )
    return found


def fan_spends(session: Session, fan_id: int) -> list[FanSpend]:
    """Every tip and paid PPV of the fan, over all their conversations."""
    return fan_spends_many(session, [fan_id])[fan_id]


def assess(
    conversation: ConversationColumns,
    lines: Sequence[tuple[int, str]],
    spends: Sequence[FanSpend],
    at: datetime,
) -> GuardResult:
    """The wellbeing guard over the fan's recent `lines` (`fan_lines`), their spend window
    up to `at`, and the conversation's standing flag."""
    return wellbeing.assess(
        lines,
        wellbeing.spend_window([spend.event for spend in spends], at),
        standing_flag=conversation.flag_reason if conversation.flagged_for_review else None,
    )


def guards(
    session: Session, conversations: Sequence[ConversationColumns], now: datetime
) -> dict[int, GuardResult]:
    """The wellbeing guard over each conversation as it stands at `now`, by conversation
    id, in two queries whatever their number. Only the spend the guard's window counts is
    read (`wellbeing.SPEND_LOOKBACK`), not the fans' whole history."""
    lines = _fan_lines_many(session, {c.id for c in conversations})
    spends = fan_spends_many(
        session, {c.fan_id for c in conversations}, since=now - wellbeing.SPEND_LOOKBACK
    )
    return {c.id: assess(c, lines[c.id], spends[c.fan_id], now) for c in conversations}


def guard(session: Session, conversation: ConversationColumns, now: datetime) -> GuardResult:
    """The wellbeing guard over the conversation as it stands at `now`."""
    return guards(session, [conversation], now)[conversation.id]
