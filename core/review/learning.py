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

from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.drafting.base import Example
from core.enums import Direction, DraftStatus, SendStatus
from core.models import MESSAGE_IS_PURCHASE, Conversation, Draft, DraftFeedback, Fan, Message, Send

MAX_EXAMPLES = 3
MAX_AVOID = 5
LOOKBACK = timedelta(days=30)
# At most this share of a sent text edited still counts as the drafter's own words.
LIGHT_EDIT = 0.2


def examples(session: Session, account_id: int, kind: str, now: datetime) -> tuple[Example, ...]:
    """The account's best recent messages of `kind` that worked (see the module doc)."""
    fan_message = aliased(Message)
    later = aliased(Message)
    bought = exists().where(
        Message.conversation_id == Send.conversation_id,
        Message.platform_message_id == Send.platform_message_id,
        MESSAGE_IS_PURCHASE,
    )
    replied = exists().where(
        later.conversation_id == Send.conversation_id,
        later.direction == Direction.inbound,
        later.sent_at > Send.delivered_at,
    )
    sent_text = func.coalesce(DraftFeedback.final_text, Draft.text)
    light = or_(
        DraftFeedback.id.is_(None),
        DraftFeedback.edit_distance <= func.length(DraftFeedback.final_text) * LIGHT_EDIT,
    )
    stmt = (
        select(fan_message.text, sent_text, case((bought, "bought"), else_="replied"))
        .select_from(Draft)
        .join(Send, and_(Send.draft_id == Draft.id, Send.status == SendStatus.delivered))
        .join(fan_message, fan_message.id == Draft.message_id)
        .join(Conversation, Conversation.id == Draft.conversation_id)
        .join(Fan, and_(Fan.id == Conversation.fan_id, Fan.erased_at.is_(None)))
        .outerjoin(DraftFeedback, DraftFeedback.draft_id == Draft.id)
        .where(
            Draft.account_id == account_id,
            Draft.kind == kind,
            Draft.status == DraftStatus.approved,
            Draft.decided_at >= now - LOOKBACK,
            light,
            or_(bought, replied),
        )
        .order_by(case((bought, 0), else_=1), Draft.decided_at.desc(), Draft.id.desc())
        .limit(MAX_EXAMPLES)
    )
    return tuple(
        Example(fan_text=fan_text, reply=reply, outcome=outcome)
        for fan_text, reply, outcome in session.execute(stmt)
    )


def avoid_notes(session: Session, account_id: int, now: datetime) -> tuple[str, ...]:
    """Why operators rejected the account's drafts lately, newest first, each once."""
    reasons = session.scalars(
        select(Draft.reason)
        .where(
            Draft.account_id == account_id,
            Draft.status == DraftStatus.rejected,
            Draft.reason.is_not(None),
            Draft.decided_at >= now - LOOKBACK,
        )
        .order_by(Draft.decided_at.desc(), Draft.id.desc())
        .limit(MAX_AVOID * 4)
    )
    notes = dict.fromkeys(reason.strip() for reason in reasons if reason and reason.strip())
    return tuple(list(notes)[:MAX_AVOID])
