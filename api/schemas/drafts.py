"""Draft bodies and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints, field_validator, model_validator

from api.schemas.common import RequestBody, ResponseBody, Text
from api.schemas.sends import SendOut
from core.models import DraftStatus


class FilterHitOut(BaseModel):
    """A content filter hit: the rule, its category and the span `[start, end)` in `text`."""

    rule: str
    category: str
    start: int
    end: int


class GuardSignalOut(BaseModel):
    """A wellbeing guard signal about the fan, with a detail free of message text."""

    signal: str
    detail: str


class DraftOut(ResponseBody):
    id: int
    conversation_id: int
    message_id: int
    kind: str
    text: str
    provider: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    fallback_reason: str | None
    status: DraftStatus
    blocked: bool
    block_reasons: list[str]
    filter_hits: list[FilterHitOut]
    guard_signals: list[GuardSignalOut]
    override_reason: str | None
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime

    @field_validator("filter_hits", "guard_signals", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        # Drafts stored before the filter existed have no hits recorded: none to show.
        return [] if value is None else value


OverrideReason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)
]


class DraftApprove(RequestBody):
    """Approve as written, or with `text` edited by the operator. A draft the content
    filter or the wellbeing guard blocked needs `override: true` and an `override_reason`,
    and only an admin may send them."""

    text: Text | None = None
    override: bool = False
    override_reason: OverrideReason | None = None

    @model_validator(mode="after")
    def _override_needs_reason(self) -> DraftApprove:
        if self.override and self.override_reason is None:
            raise ValueError("override needs an override_reason")
        if self.override_reason is not None and not self.override:
            raise ValueError("override_reason is only accepted with override: true")
        return self


class DraftReject(RequestBody):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class Approval(BaseModel):
    """An approved draft and the send it became."""

    draft: DraftOut
    send: SendOut
