"""Fan bodies: the full view of one fan, a CSV import's report, and a fan's data rights
(what an erasure changed, the export of everything held). A fan as listed is `FanOut`,
shared with the conversations it is embedded in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.common import ResponseBody
from api.schemas.conversations import ConversationOut, FanOut, MessageOut
from core.crm.fan_detail import FanDetail
from core.crm.fan_import import ImportReport


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


class PurchaseOut(ResponseBody):
    message_id: int
    conversation_id: int
    price_cents: int
    offered_at: datetime
    paid_at: datetime


class TipOut(ResponseBody):
    message_id: int
    conversation_id: int
    cents: int
    at: datetime


class DaySpendOut(ResponseBody):
    day: date = Field(description="A UTC day.")
    tips_cents: int
    ppv_cents: int


class FanDetailOut(BaseModel):
    """A fan with their history: conversations, latest messages (newest first), latest
    purchases and tips, and spend on each UTC day of the window (oldest first)."""

    fan: FanOut
    conversations: list[ConversationOut]
    recent_messages: list[MessageOut]
    purchases: list[PurchaseOut]
    tips: list[TipOut]
    spend_by_day: list[DaySpendOut]

    @classmethod
    def of(cls, detail: FanDetail) -> FanDetailOut:
        return cls(
            fan=FanOut.model_validate(detail.fan),
            conversations=[ConversationOut.model_validate(c) for c in detail.conversations],
            recent_messages=[MessageOut.model_validate(m) for m in detail.recent_messages],
            purchases=[PurchaseOut.model_validate(p) for p in detail.purchases],
            tips=[TipOut.model_validate(t) for t in detail.tips],
            spend_by_day=[DaySpendOut.model_validate(d) for d in detail.spend_by_day],
        )


class RowErrorOut(ResponseBody):
    row: int = Field(description="The file's row number; the header is row 1.")
    column: str = Field(description="The column at fault; empty for the row as a whole.")
    message: str


class ImportReportOut(ResponseBody):
    """What an import found and did. Nothing is written unless `applied`: a dry run, or
    any error at all, writes nothing."""

    rows: int = Field(description="Data rows read (blank lines skipped).")
    matched: int = Field(description="Rows whose fan was found.")
    changed: int = Field(description="Fans the import changes (or would, in a dry run).")
    unchanged: int = Field(description="Fans found whose values were already those.")
    dry_run: bool
    applied: bool
    errors: list[RowErrorOut] = Field(description="Up to 100 errors, by row.")
    error_count: int = Field(description="Every error found.")

    @classmethod
    def of(cls, report: ImportReport) -> ImportReportOut:
        return cls.model_validate(report)
