"""Conversation, fan and message bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from api.schemas.common import ResponseBody
from core.drafting.fan import SpendTier
from core.enums import Direction
from core.models import CustomValue


class FanOut(ResponseBody):
    id: int
    account_id: int
    platform_fan_id: str
    handle: str | None = Field(description="The fan's @handle, where the platform shows one.")
    name: str
    tier: SpendTier
    total_spend_cents: int
    last_active_at: datetime | None = Field(description="When the fan last wrote to us.")
    tags: list[str]
    notes: str
    custom_fields: dict[str, CustomValue]
    erased_at: datetime | None = Field(description="When the fan's data was erased, if ever.")


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
