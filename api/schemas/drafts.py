"""Draft bodies and decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from api.schemas.common import (
    Overridable,
    RequestBody,
    ResponseBody,
    RowId,
    Text,
    VisibleReason,
    examples,
)
from api.schemas.sends import SendOut
from core.clock import utcnow
from core.drafting.base import MAX_VARIANTS, MIN_VARIANTS
from core.drafting.fan import SpendTier
from core.enums import DraftStatus
from core.models import Draft
from core.review.claims import live_claim
from core.review.decisions import BulkOutcome
from core.review.listing import QueuedDraft


class FilterHitOut(ResponseBody):
    """A content filter hit: the rule, its category and the span `[start, end)` in `text`."""

    rule: str
    category: str
    start: int
    end: int


class GuardSignalOut(ResponseBody):
    """A wellbeing guard signal about the fan, with a detail free of message text."""

    signal: str
    detail: str


class VariantOut(ResponseBody):
    """One alternative text of a draft, the drafter's confidence in it (0-100), why, and
    the content filter's hits on it (spans into this variant's `text`)."""

    text: str
    confidence: int
    reason: str
    filter_hits: list[FilterHitOut]


class DraftOut(ResponseBody):
    """A draft. `message_id` is the inbound message it answers, or for a nudge the fan's
    last message, whose silence it breaks. `detected_kind` is what the message was read
    as, with `kind_confidence` (0-100) and `kind_source` (`rule`: a tip came with it or
    the nudge pass chose it; `heuristic`; `llm`); `kind` is what was drafted, and
    `kind_withheld` says why it differs (the wellbeing guard, the daily spend cap). A
    `ppv_offer` carries its suggested `ppv_price_cents`."""

    id: int
    conversation_id: int
    message_id: int
    kind: str
    detected_kind: str | None
    kind_confidence: int | None
    kind_source: str | None
    kind_withheld: str | None
    text: str
    variants: list[VariantOut]
    confidence: int | None
    variant: int | None
    ppv_price_cents: int | None
    claimed_by: str | None
    claim_expires_at: datetime | None
    provider: str
    model: str | None
    prompt_tokens: int
    completion_tokens: int
    fallback_reason: str | None
    redrafts: int
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

    @classmethod
    def of(cls, draft: Draft) -> DraftOut:
        """The response body of `draft`, naming its claim only while it lives."""
        live = live_claim(draft, utcnow())
        return cls.model_validate(draft).model_copy(
            update={
                "claimed_by": None if live is None else live.holder,
                "claim_expires_at": None if live is None else live.expires_at,
            }
        )


class QueuedDraftOut(DraftOut):
    """A draft with its place in the approval queue: the fan's spend tier, the priority,
    how long the fan has waited (seconds, until the decision once decided), whether that
    is past the account's response target (`overdue` drafts jump the queue), and in how
    many seconds it will be (`overdue_in_s`: 0 once it is, null for a nudge or a decided
    draft, which never are). `claimed_by` and `claim_expires_at` name a claim only while it
    lives: one that ran out unreleased holds nobody back."""

    fan_tier: SpendTier
    priority: float
    waiting_s: float
    overdue: bool
    overdue_in_s: float | None

    @classmethod
    def of(cls, queued: QueuedDraft) -> QueuedDraftOut:
        """The response body of a draft and its standing."""
        base = DraftOut.of(queued.draft)
        return cls(
            **base.model_dump(),
            fan_tier=queued.fan_tier,
            priority=queued.standing.priority,
            waiting_s=queued.standing.waiting_s,
            overdue=queued.standing.overdue,
            overdue_in_s=queued.standing.overdue_in_s,
        )


class DraftApprove(Overridable):
    """Approve as written, as another `variant`, or with `text` edited by the operator
    (from `variant` when both are given). A draft the content filter or the wellbeing
    guard blocked, or a PPV the offers check bars now, needs `override: true` and an
    `override_reason`, and only an admin may send them."""

    model_config = examples({"text": "Thank you! 😊\nSee you tonight"})

    text: Text | None = Field(
        default=None,
        description="The operator's edit, sent instead of the draft's text; line breaks and "
        "emoji are typed as written.",
    )
    variant: int | None = Field(
        default=None, ge=0, lt=MAX_VARIANTS, description="Index into the draft's variants."
    )


class DraftRedraft(RequestBody):
    """How many fresh variants to draft; the fleet's `draft_variants` when absent."""

    model_config = examples({"variants": 3})

    variants: int | None = Field(
        default=None, ge=MIN_VARIANTS, le=MAX_VARIANTS, description="Variants to draft."
    )


class DraftReject(RequestBody):
    model_config = examples({"reason": "too pushy"})
    reason: VisibleReason = Field(
        description="Why the draft is rejected; it teaches later drafts what to avoid."
    )


class Approval(BaseModel):
    """An approved draft and the send it became."""

    draft: DraftOut
    send: SendOut


class BulkApprove(RequestBody):
    """Drafts to approve as written, in this order."""

    model_config = examples({"ids": [1, 2]})

    ids: list[RowId] = Field(
        min_length=1,
        max_length=100,
        json_schema_extra={"uniqueItems": True},
        description="Pending drafts to approve, at most 100, each once.",
    )

    @field_validator("ids")
    @classmethod
    def _distinct(cls, ids: list[int]) -> list[int]:
        if len(set(ids)) != len(ids):
            raise ValueError("ids must not repeat")
        return ids


class BulkResult(BaseModel):
    """One id of a bulk approval: `approved` with its send, or `skipped` with the reason
    (blocked, claimed by someone else, already decided, not found)."""

    id: int
    status: Literal["approved", "skipped"]
    send_id: int | None
    reason: str | None

    @classmethod
    def of(cls, outcome: BulkOutcome) -> BulkResult:
        """The response body of one outcome."""
        return cls(
            id=outcome.draft_id,
            status="skipped" if outcome.skipped is not None else "approved",
            send_id=outcome.send_id,
            reason=outcome.skipped,
        )


class BulkApproval(BaseModel):
    """Per id, in the order asked, what a bulk approval did."""

    approved: int
    skipped: int
    results: list[BulkResult]
