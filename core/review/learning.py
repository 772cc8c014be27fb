"""What the drafts learn from: messages of ours that worked, and why operators rejected
drafts.

An example is an approved draft of the account's persona and of the kind being written,
sent unchanged or lightly edited (an edit distance of at most a fifth of what was sent),
delivered, and then answered by the fan or, for a PPV, bought. The best `MAX_EXAMPLES`
are chosen by outcome (a purchase over a reply), then by recency, among the drafts decided
in the last `LOOKBACK`. An avoid note is the reason an operator gave for rejecting one of
the account's drafts lately: the newest `MAX_AVOID`, each once.

Both feed every drafter (`core.drafting`): the LLM's prompt shows them, and the offline
drafter tries first the templates nearest the examples. Fans erased at their request are
never an example.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Exists, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.drafting.base import Example
from core.enums import Direction, SendStatus
from core.models import (
    DRAFT_IS_APPROVED,
    DRAFT_IS_REJECTED,
    MESSAGE_IS_PURCHASE,
    SEND_IS_DRAFTED_PPV,
    Conversation,
    Draft,
    DraftFeedback,
    Fan,
    Message,
    Send,
)

MAX_EXAMPLES = 3
MAX_AVOID = 5
LOOKBACK = timedelta(days=30)
# At most this share of a sent text edited still counts as the drafter's own words.
LIGHT_EDIT = 0.2


def examples(session: Session, account_id: int, kind: str, now: datetime) -> tuple[Example, ...]:
    """The account's best recent messages of `kind` that worked (see the module doc)."""
    since = now - LOOKBACK
    # Two reads, each stopping at its first rows by index: the sold ones, among the few
    # delivered PPVs; then, if they are not enough, the answered ones, newest first. One
    # read ordering every candidate by outcome would judge them all, at every draft.
    sold = _worked(
        session, account_id, kind, since, "bought", MAX_EXAMPLES, SEND_IS_DRAFTED_PPV, _bought()
    )
    if len(sold) == MAX_EXAMPLES:
        return sold
    left = MAX_EXAMPLES - len(sold)
    # Exactly the drafts the first read did not judge sold, so none falls between the two.
    unsold = ~and_(SEND_IS_DRAFTED_PPV, _bought())
    return sold + _worked(session, account_id, kind, since, "replied", left, _replied(), unsold)


def _bought() -> Exists:
    """The send's message was bought."""
    return exists().where(
        Message.conversation_id == Send.conversation_id,
        Message.platform_message_id == Send.platform_message_id,
        MESSAGE_IS_PURCHASE,
    )


def _replied() -> Exists:
    """The fan wrote after the send was delivered."""
    later = aliased(Message)
    return exists().where(
        later.conversation_id == Send.conversation_id,
        later.direction == Direction.inbound,
        later.sent_at > Send.delivered_at,
    )


def _worked(
    session: Session,
    account_id: int,
    kind: str,
    since: datetime,
    outcome: str,
    limit: int,
    *conditions: ColumnElement[bool],
) -> tuple[Example, ...]:
    """The newest `limit` approved drafts of `kind` decided since `since`, delivered as
    written or lightly edited, whose sends meet `conditions`: examples of `outcome`."""
    fan_message = aliased(Message)
    light = or_(
        DraftFeedback.id.is_(None),
        DraftFeedback.edit_distance <= func.length(DraftFeedback.final_text) * LIGHT_EDIT,
    )
    stmt = (
        select(fan_message.text, func.coalesce(DraftFeedback.final_text, Draft.text))
        .select_from(Draft)
        .join(Send, and_(Send.draft_id == Draft.id, Send.status == SendStatus.delivered))
        .join(fan_message, fan_message.id == Draft.message_id)
        .join(Conversation, Conversation.id == Draft.conversation_id)
        .join(Fan, and_(Fan.id == Conversation.fan_id, Fan.erased_at.is_(None)))
        .outerjoin(DraftFeedback, DraftFeedback.draft_id == Draft.id)
        .where(
            Draft.account_id == account_id,
            # Said of the send too, though implied, so that an index on sends can lead.
            Send.account_id == account_id,
            Draft.kind == kind,
            DRAFT_IS_APPROVED,
            Draft.decided_at >= since,
            light,
            *conditions,
        )
        .order_by(Draft.decided_at.desc(), Draft.id.desc())
        .limit(limit)
    )
    return tuple(
        Example(fan_text=fan_text, reply=reply, outcome=outcome)
        for fan_text, reply in session.execute(stmt)
    )


def avoid_notes(session: Session, account_id: int, now: datetime) -> tuple[str, ...]:
    """Why operators rejected the account's drafts lately, newest first, each once."""
    reasons = session.scalars(
        select(Draft.reason)
        .where(
            Draft.account_id == account_id,
            DRAFT_IS_REJECTED,
            Draft.reason.is_not(None),
            Draft.decided_at >= now - LOOKBACK,
        )
        .order_by(Draft.decided_at.desc(), Draft.id.desc())
        .limit(MAX_AVOID * 4)
    )
    notes = dict.fromkeys(reason.strip() for reason in reasons if reason and reason.strip())
    return tuple(list(notes)[:MAX_AVOID])
