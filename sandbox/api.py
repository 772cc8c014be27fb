"""The JSON endpoints the inbox and chat pages call (session cookie, 401 without one).

- `GET /api/conversations?cursor=...`: a page of the inbox, newest first.
- `GET /api/conversations/{id}/messages`: the thread; marks inbound messages read.
- `GET /api/vault`: the account's media, to attach to a message.
- `POST /api/conversations/{id}/messages` {text, ppv_price_cents, media, cadence}: send;
  201 with the message, 429 when sending too fast (the send gap or the hourly cap).

Every request of a logged-in account also counts against its per-minute action cap; past
it the answer is 429 before anything else happens (see `sandbox.auth`).
"""

from __future__ import annotations

import math
import sqlite3
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from loguru import logger
from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox.accounts import Account
from sandbox.auth import api_account
from sandbox.cadence import CadenceEvent
from sandbox.conversations import Conversation, find_conversation, inbox_page
from sandbox.messages import MAX_TEXT, Message, mark_read, thread
from sandbox.sending import SLOW_DOWN, Refused, send
from sandbox.state import state_of
from sandbox.vault import unknown_media, vault_of

router = APIRouter(prefix="/api")

LoggedIn = Annotated[Account, Depends(api_account)]


class ConversationOut(BaseModel):
    """One inbox row."""

    id: str
    fan_id: str
    fan_name: str
    last_at: str
    preview: str
    unread: int


class InboxOut(BaseModel):
    """A page of the inbox; pass `next_cursor` back for the next (null on the last)."""

    conversations: list[ConversationOut]
    next_cursor: str | None


class MessageOut(BaseModel):
    """One message of a thread."""

    id: str
    direction: str
    text: str
    sent_at: str
    tip_cents: int
    ppv_price_cents: int | None
    ppv_paid: bool | None
    media: list[str]

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        """The public shape of a stored message."""
        return cls(
            id=message.public_id,
            direction=message.direction,
            text=message.text,
            sent_at=message.sent_at,
            tip_cents=message.tip_cents,
            ppv_price_cents=message.ppv_price_cents,
            ppv_paid=message.ppv_paid,
            media=list(message.media),
        )


class ThreadOut(BaseModel):
    """A conversation with all its messages, oldest first."""

    conversation_id: str
    fan_id: str
    fan_name: str
    messages: list[MessageOut]


class SendIn(BaseModel):
    """A message from the composer and the record of how it was typed."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    ppv_price_cents: int | None = Field(default=None, ge=100, le=100_000)
    cadence: list[CadenceEvent] = Field(default_factory=list, max_length=50_000)
    media: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("text")
    @classmethod
    def _not_blank(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("message text is empty")
        return text


@router.get("/conversations")
def conversations(request: Request, account: LoggedIn, cursor: str | None = None) -> InboxOut:
    """A page of the account's conversations, newest message first."""
    state = state_of(request)
    with state.db.transaction() as tx:
        listed = inbox_page(tx, account.id, cursor, state.config.page_size)
    return InboxOut(
        conversations=[
            ConversationOut(
                id=row.conversation_id,
                fan_id=row.fan_id,
                fan_name=row.fan_name,
                last_at=row.last_at,
                preview=row.preview,
                unread=row.unread,
            )
            for row in listed.rows
        ],
        next_cursor=listed.next_cursor,
    )


class MediaOut(BaseModel):
    """One vault item."""

    id: str
    title: str


class VaultOut(BaseModel):
    """The account's vault, oldest first."""

    items: list[MediaOut]


@router.get("/vault")
def vault(request: Request, account: LoggedIn) -> VaultOut:
    """What the account can attach to a message."""
    with state_of(request).db.transaction() as tx:
        items = vault_of(tx, account.id)
    return VaultOut(items=[MediaOut(id=item.public_id, title=item.title) for item in items])


@router.get("/conversations/{conversation_id}/messages")
def read_thread(request: Request, conversation_id: str, account: LoggedIn) -> ThreadOut:
    """The conversation's messages; opening it marks the fan's messages read."""
    with state_of(request).db.transaction() as tx:
        conversation = _require_conversation(tx, account, conversation_id)
        mark_read(tx, conversation.id)
        messages = thread(tx, conversation.id)
    return ThreadOut(
        conversation_id=conversation.public_id,
        fan_id=conversation.public_fan_id,
        fan_name=conversation.fan_name,
        messages=[MessageOut.of(message) for message in messages],
    )


@router.post("/conversations/{conversation_id}/messages", status_code=201, response_model=None)
def send_message(
    request: Request, conversation_id: str, body: SendIn, account: LoggedIn
) -> MessageOut | JSONResponse:
    """Send a creator message: 201 with the message, or 429 if the account sends too fast."""
    state = state_of(request)
    with state.db.transaction() as tx:
        conversation = _require_conversation(tx, account, conversation_id)
        unknown = unknown_media(tx, account.id, body.media)
        if unknown is not None:
            raise HTTPException(status_code=422, detail=f"media: no vault item {unknown!r}")
        outcome = send(
            tx,
            state.guards,
            account,
            conversation,
            body.text,
            body.ppv_price_cents,
            body.cadence,
            tuple(body.media),
        )
    if isinstance(outcome, Refused):
        logger.info(
            "send refused ({}) for {} in {}",
            outcome.reason,
            account.username,
            conversation.public_id,
        )
        return JSONResponse(
            {"detail": SLOW_DOWN, "retry_after_s": outcome.retry_after_s},
            status_code=429,
            headers={"Retry-After": str(math.ceil(outcome.retry_after_s))},
        )
    logger.info(
        "delivered {} from {} in {}{}",
        outcome.message.public_id,
        account.username,
        conversation.public_id,
        f", flagged {[flag.reason for flag in outcome.flags]}" if outcome.flags else "",
    )
    return MessageOut.of(outcome.message)


def _require_conversation(
    tx: sqlite3.Connection, account: Account, conversation_id: str
) -> Conversation:
    conversation = find_conversation(tx, account.id, conversation_id)
    if conversation is None:
        raise HTTPException(status_code=404, detail="Conversation not found")
    return conversation
