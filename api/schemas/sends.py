"""Send bodies."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.common import (
    MediaIds,
    Overridable,
    PriceCents,
    RequestBody,
    ResponseBody,
    RowId,
    Text,
    examples,
)
from core.enums import SendPriority, SendStatus
from core.outbox.bulk import BulkCreated


class SendCreate(Overridable):
    """A message an operator writes directly into a conversation. It passes the gate like
    every send; what the gate refuses only an admin can send, with `override: true` and an
    `override_reason`."""

    model_config = examples(
        {
            "conversation_id": 1,
            "text": "New set tonight 🔥",
            "ppv_price_cents": 1250,
            "media": ["v3"],
        }
    )

    conversation_id: RowId = Field(description="The conversation to write into.")
    text: Text
    ppv_price_cents: PriceCents | None = Field(
        default=None, description="A price in cents makes the message a pay-per-view offer."
    )
    media: MediaIds = []


class BulkSendCreate(RequestBody):
    """One message to many conversations (a mass message). Its sends are released to the
    workers one at a time per account, after any waiting reply or direct send."""

    model_config = examples({"conversation_ids": [1, 2, 3], "text": "New set tonight 🔥"})

    conversation_ids: list[RowId] = Field(
        min_length=1, max_length=1000, description="The conversations to write into."
    )
    text: Text
    ppv_price_cents: PriceCents | None = Field(
        default=None, description="A price in cents makes the message a pay-per-view offer."
    )
    media: MediaIds = []


class SendOut(ResponseBody):
    id: int
    account_id: int
    conversation_id: int
    draft_id: int | None
    text: str
    ppv_price_cents: int | None
    media: list[str]
    status: SendStatus
    priority: SendPriority
    attempt: int = Field(
        description="The attempt under way or next; attempts lost to a dead worker, a "
        "throttle or a held login count here but not in `failed_attempts`."
    )
    max_attempts: int = Field(description="How many attempts may fail before the send does.")
    failed_attempts: int = Field(description="Attempts that failed; `last_error` says why.")
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


class BulkSkipOut(ResponseBody):
    """A conversation the gate left out of a bulk send: `reasons` are the rules that fired
    (the content filter's, the wellbeing guard's, the offers check's), `reason` the same
    as one line."""

    conversation_id: int
    reasons: list[str]
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
            skipped=[BulkSkipOut.model_validate(skip) for skip in created.skipped],
        )
