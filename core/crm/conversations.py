"""Reading the CRM: conversations and their messages."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import Page, paginate
from core.enums import Direction
from core.errors import get_or_raise
from core.models import Conversation, Message


def list_conversations(
    session: Session, *, account_id: int | None, limit: int, offset: int
) -> Page[Conversation]:
    """Conversations, most recently active first."""
    stmt = select(Conversation).order_by(
        Conversation.last_message_at.desc().nulls_last(), Conversation.id.desc()
    )
    if account_id is not None:
        stmt = stmt.where(Conversation.account_id == account_id)
    return paginate(session, stmt, limit, offset)


def get_conversation(session: Session, conversation_id: int) -> Conversation:
    """One conversation, or `NotFound`."""
    return get_or_raise(session, Conversation, conversation_id)


def list_messages(
    session: Session, conversation_id: int, *, limit: int, offset: int
) -> Page[Message]:
    """A conversation's messages, newest first, so the first page is the latest exchange."""
    get_or_raise(session, Conversation, conversation_id)
    stmt = (
        select(Message)
        .where(Message.conversation_id == conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
    )
    return paginate(session, stmt, limit, offset)


def newest_message(
    session: Session, conversation_id: int, direction: Direction | None = None
) -> Message | None:
    """The conversation's newest message, or its newest in `direction`."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if direction is not None:
        stmt = stmt.where(Message.direction == direction)
    stmt = stmt.order_by(Message.sent_at.desc(), Message.id.desc()).limit(1)
    return session.scalars(stmt).first()
