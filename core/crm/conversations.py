"""Reading the CRM: conversations and their messages."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from core.enums import Direction
from core.errors import get_or_raise
from core.models import Conversation, Message
from core.paging import Page, SortKey, paginate

_CONVERSATION_ORDER = [
    SortKey(Conversation.last_message_at, descending=True),
    SortKey(Conversation.id, descending=True),
]
_MESSAGE_ORDER = [SortKey(Message.sent_at, descending=True), SortKey(Message.id, descending=True)]


def list_conversations(
    session: Session, *, account_id: int | None, limit: int, cursor: str | None
) -> Page[Conversation]:
    """Conversations, most recently active first (those with no message yet last)."""
    stmt = select(Conversation)
    if account_id is not None:
        stmt = stmt.where(Conversation.account_id == account_id)
    return paginate(session, stmt, _CONVERSATION_ORDER, limit=limit, cursor=cursor)


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    """One conversation, or `NotFound`."""
    return get_or_raise(session, Conversation, conversation_id)


def list_messages(
    session: Session, conversation_id: int, *, limit: int, cursor: str | None
) -> Page[Message]:
    """A conversation's messages, newest first, so the first page is the latest exchange."""
    get_or_raise(session, Conversation, conversation_id)
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    return paginate(session, stmt, _MESSAGE_ORDER, limit=limit, cursor=cursor)


def newest_messages(session: Session, conversation_ids: Collection[int]) -> dict[int, Message]:
    """The newest message of each conversation in `conversation_ids` that has one, in one
    query: a message with no later one in its conversation."""
    if not conversation_ids:
        return {}
    later = aliased(Message)
    newer_exists = (
        select(later.id)
        .where(
            later.conversation_id == Message.conversation_id,
            or_(
                later.sent_at > Message.sent_at,
                and_(later.sent_at == Message.sent_at, later.id > Message.id),
            ),
        )
        .exists()
    )
    rows = session.scalars(
        select(Message).where(Message.conversation_id.in_(conversation_ids), ~newer_exists)
    )
    return {row.conversation_id: row for row in rows}


def newest_message(
    session: Session, conversation_id: int, direction: Direction | None = None
) -> Message | None:
    """The conversation's newest message, or its newest in `direction`."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if direction is not None:
        stmt = stmt.where(Message.direction == direction)
    stmt = stmt.order_by(Message.sent_at.desc(), Message.id.desc()).limit(1)
    return session.scalars(stmt).first()
