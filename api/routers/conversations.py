"""`/v1/conversations`: the CRM's threads and their messages."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AccountFilter, CursorQuery, IdPath, LimitQuery, SessionDep, StaffDep
from api.schemas.common import PageOut, page_out
from api.schemas.conversations import ConversationOut, MessageOut
from core.crm import conversations

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])


@router.get("", response_model=PageOut[ConversationOut])
def list_conversations(
    session: SessionDep,
    _principal: StaffDep,
    account_id: AccountFilter = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[ConversationOut]:
    """Conversations, most recently active first."""
    page = conversations.list_conversations(
        session, account_id=account_id, limit=limit, cursor=cursor
    )
    return page_out(page, ConversationOut.model_validate)


@router.get("/{conversation_id:int}", response_model=ConversationOut)
def get_conversation(
    conversation_id: IdPath, session: SessionDep, _principal: StaffDep
) -> ConversationOut:
    """One conversation with its fan."""
    return ConversationOut.model_validate(conversations.get_conversation(session, conversation_id))


@router.get("/{conversation_id:int}/messages", response_model=PageOut[MessageOut])
def list_messages(
    conversation_id: IdPath,
    session: SessionDep,
    _principal: StaffDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[MessageOut]:
    """A conversation's messages, newest first."""
    page = conversations.list_messages(session, conversation_id, limit=limit, cursor=cursor)
    return page_out(page, MessageOut.model_validate)
