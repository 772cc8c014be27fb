"""Conversation, fan and message bodies."""

from __future__ import annotations

from datetime import datetime

from api.schemas.common import ResponseBody
from core.enums import Direction


class FanOut(ResponseBody):
    id: int
    platform_fan_id: str
    name: str
    total_spend_cents: int
    tags: list[str]
    notes: str


class ConversationOut(ResponseBody):
    id: int
    account_id: int
    platform_conversation_id: str
    last_message_at: datetime | None
    fan: FanOut


class MessageOut(ResponseBody):
    id: int
    conversation_id: int
    platform_message_id: str
    direction: Direction
    text: str
    sent_at: datetime
    tip_cents: int
    ppv_price_cents: int | None
    ppv_paid: bool | None
    created_at: datetime
