"""Send bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import PriceCents, RequestBody, ResponseBody, RowId, Text
from core.bulk import BulkCreated
from core.models import SendPriority
from core.worker_protocol import SendStatus


class SendCreate(RequestBody):
    """A message an operator writes directly into a conversation."""

    conversation_id: RowId
    text: Text
    ppv_price_cents: PriceCents | None = None


class BulkSendCreate(RequestBody):
    """One message to many conversations (a mass message). Its sends are released to the
    workers one at a time per account, after any waiting reply or direct send."""

    conversation_ids: list[RowId] = Field(min_length=1, max_length=1000)
    text: Text
    ppv_price_cents: PriceCents | None = None


class SendOut(ResponseBody):
    id: int
    account_id: int
    conversation_id: int
    draft_id: int | None
    text: str
    ppv_price_cents: int | None
    status: SendStatus
    priority: SendPriority
    attempt: int
    max_attempts: int
    worker_id: str | None
    claimed_at: datetime | None
    typing_at: datetime | None
    submitted_at: datetime | None
    delivered_at: datetime | None
    platform_message_id: str | None
    last_error: str | None
    artifacts: dict[str, str]
    created_by: str
    created_at: datetime
    updated_at: datetime


class BulkSkipOut(BaseModel):
    """A conversation a bulk PPV left out: the wellbeing guard or the daily spend cap
    bars an offer to its fan."""

    conversation_id: int
    reason: str


class BulkSendsOut(BaseModel):
    """What a bulk send queued, and which conversations it left out and why."""

    sends: list[SendOut]
    skipped: list[BulkSkipOut]

    @classmethod
    def of(cls, created: BulkCreated) -> BulkSendsOut:
        """The response body of a bulk send."""
        return cls(
            sends=[SendOut.model_validate(send) for send in created.sends],
            skipped=[
                BulkSkipOut(conversation_id=skip.conversation_id, reason=skip.reason)
                for skip in created.skipped
            ],
        )
