"""A fan's data rights: what an erasure changed, and the export of everything held."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import ResponseBody


class ErasureOut(ResponseBody):
    fan_id: int
    erased_at: datetime
    messages: int = Field(description="Messages whose text was erased.")
    drafts: int = Field(description="Drafts whose text, variants and reasons were erased.")
    sends: int = Field(description="Sends whose text and artifacts were erased.")
    sends_cancelled: int = Field(description="Sends that were waiting, cancelled first.")
    audit_entries: int = Field(description="Audit entries whose details were redacted.")


class FanExport(BaseModel):
    """Everything the fleet holds about a fan."""

    fan: dict[str, Any]
    conversations: list[dict[str, Any]] = Field(description="Each with its messages.")
    drafts: list[dict[str, Any]]
    sends: list[dict[str, Any]]
    audit: list[dict[str, Any]] = Field(description="Entries about the fan or their rows.")
