"""Sweep bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from api.schemas.common import RequestBody, ResponseBody, RowId, examples
from core.enums import SweepStatus


class SweepTrigger(RequestBody):
    """Sweep one account (`account_id`) or every active account (`all: true`)."""

    model_config = examples({"account_id": 1})

    account_id: RowId | None = Field(default=None, description="The account to sweep.")
    all: bool = Field(default=False, description="Sweep every active account instead.")

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.account_id is None) == (not self.all):
            raise ValueError("give either account_id or all: true, not both or neither")
        return self


class SweepOut(ResponseBody):
    id: int
    account_id: int
    status: SweepStatus
    requested_by: str
    attempt: int = Field(description="Its run: a recovered or deferred sweep runs anew.")
    next_attempt_at: datetime | None = Field(
        description="When a run the platform throttled may start; null: as soon as possible."
    )
    worker_id: str | None
    started_at: datetime | None
    finished_at: datetime | None
    messages_found: int = Field(description="Messages stored for the sweep, over every attempt.")
    conversations_read: int = Field(description="Conversations its last attempt read.")
    error: str | None
    artifacts: dict[str, str]
    created_at: datetime
