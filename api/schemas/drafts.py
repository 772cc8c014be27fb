"""Draft bodies and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from api.schemas.common import RequestBody, ResponseBody, Text
from api.schemas.sends import SendOut
from core.models import DraftStatus


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
    status: DraftStatus
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime


class DraftApprove(RequestBody):
    """Approve as written, or with `text` edited by the operator."""

    text: Text | None = None


class DraftReject(RequestBody):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class Approval(BaseModel):
    """An approved draft and the send it became."""

    draft: DraftOut
    send: SendOut
