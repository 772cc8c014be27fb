"""`/v1/drafts`: drafted replies waiting for an operator's decision, in priority order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from api.deps import (
    AccountFilter,
    CursorQuery,
    DrafterDep,
    IdPath,
    LimitQuery,
    RedisDep,
    SessionDep,
    SettingsDep,
    StaffDep,
)
from api.errors import invalid
from api.schemas.common import PageOut, page_out
from api.schemas.drafts import (
    Approval,
    BulkApproval,
    BulkApprove,
    BulkResult,
    DraftApprove,
    DraftOut,
    DraftRedraft,
    DraftReject,
    QueuedDraftOut,
)
from api.schemas.sends import SendOut
from core import review
from core.drafting.fan import SpendTier
from core.enums import DraftKind, DraftStatus, Role

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])


@router.get("", response_model=PageOut[QueuedDraftOut])
def list_drafts(
    session: SessionDep,
    settings: SettingsDep,
    _principal: StaffDep,
    status: DraftStatus = DraftStatus.pending,
    account_id: AccountFilter = None,
    blocked: Annotated[
        bool | None, Query(description="Only drafts held by the filter or guard, or only clean.")
    ] = None,
    tier: Annotated[SpendTier | None, Query(description="Only fans of this spend tier.")] = None,
    kind: Annotated[DraftKind | None, Query(description="Only drafts of this kind.")] = None,
    overdue: Annotated[
        bool,
        Query(description="Only replies past their account's response target (pending only)."),
    ] = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[QueuedDraftOut]:
    """Drafts in one status (pending by default). Pending drafts come in queue order: fans
    waiting past their account's response target first, then by priority (fan tier and
    spend, draft kind, wait); others oldest first. `overdue=true` lists the overdue ones
    only: the conversations whose fan has waited too long. Each carries its variants,
    filter hits, guard signals, claim, and the fan's wait (`waiting_s`, `overdue`)."""
    if overdue and status != DraftStatus.pending:
        raise invalid("overdue lists pending drafts only", "query", "overdue")
    page = review.list_drafts(
        session,
        settings,
        status=status,
        account_id=account_id,
        blocked=blocked,
        tier=tier,
        kind=kind,
        overdue=overdue,
        limit=limit,
        cursor=cursor,
    )
    return page_out(page, QueuedDraftOut.of)


@router.post("/approve", response_model=BulkApproval)
def approve_drafts(
    body: BulkApprove,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> BulkApproval:
    """Approve many drafts as written. Blocked drafts (no override in bulk), drafts another
    operator has claimed, decided ones and unknown ids are skipped, each with its reason."""
    outcomes = review.approve_many(session, redis, settings, body.ids, actor=principal.name)
    results = [BulkResult.of(outcome) for outcome in outcomes]
    approved = sum(result.status == "approved" for result in results)
    return BulkApproval(approved=approved, skipped=len(results) - approved, results=results)


@router.get("/{draft_id:int}", response_model=QueuedDraftOut)
def get_draft(
    draft_id: IdPath, session: SessionDep, settings: SettingsDep, _principal: StaffDep
) -> QueuedDraftOut:
    """One draft, with its place in the queue."""
    return QueuedDraftOut.of(review.queued_draft(session, settings, draft_id))


@router.post("/{draft_id:int}/claim", response_model=DraftOut)
def claim_draft(
    draft_id: IdPath, session: SessionDep, settings: SettingsDep, principal: StaffDep
) -> DraftOut:
    """Take a review lock on a pending draft (renewed when you hold it already). While it
    holds, nobody else may claim, approve or reject the draft: they get 409."""
    draft = review.claim_draft(session, settings, draft_id, actor=principal.name)
    return DraftOut.of(draft)


@router.post("/{draft_id:int}/release", response_model=DraftOut)
def release_draft(draft_id: IdPath, session: SessionDep, principal: StaffDep) -> DraftOut:
    """Drop your review lock on a draft; an admin may drop anyone's."""
    draft = review.release_draft(
        session, draft_id, actor=principal.name, admin=principal.role == Role.admin
    )
    return DraftOut.of(draft)


@router.post("/{draft_id:int}/approve", response_model=Approval)
def approve_draft(
    draft_id: IdPath,
    body: DraftApprove,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Approval:
    """Approve a pending draft, as written, as another `variant`, or with edited `text`;
    it becomes a queued send, with the account's disclosure line if it has one.

    The send passes the gate as it will be typed: the content filter, the wellbeing guard
    and, for a PPV, the offers check as of now (a fan flagged, or nearer their daily spend
    cap, since drafting). A refusal answers 409 with its `reasons`, unless an admin sends
    `override: true` with an `override_reason` (audited). An operator asking to override
    gets 403: the role may not override, whatever the draft's state. A draft another
    operator has claimed answers 409.
    """
    draft, send = review.approve_draft(
        session,
        redis,
        settings,
        draft_id,
        actor=principal.name,
        text=body.text,
        variant=body.variant,
        override=body.override_by(principal),
    )
    return Approval(draft=DraftOut.of(draft), send=SendOut.model_validate(send))


@router.post("/{draft_id:int}/reject", response_model=DraftOut)
def reject_draft(
    draft_id: IdPath, body: DraftReject, session: SessionDep, principal: StaffDep
) -> DraftOut:
    """Reject a pending draft with a reason; a draft another operator has claimed
    answers 409."""
    draft = review.reject_draft(session, draft_id, actor=principal.name, reason=body.reason)
    return DraftOut.of(draft)


@router.post("/{draft_id:int}/redraft", response_model=DraftOut)
def redraft_draft(
    draft_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    drafter: DrafterDep,
    principal: StaffDep,
    body: Annotated[DraftRedraft | None, Body()] = None,
) -> DraftOut:
    """Replace a pending draft's variants with fresh ones (`variants`: 1-5, the fleet's
    default when absent); a draft another operator has claimed answers 409. Each redraft
    counts against your LLM requests per hour: past them, or past a daily token cap, the
    variants are drafted offline and `fallback_reason` says which limit."""
    draft = review.redraft_draft(
        session,
        settings,
        drafter,
        draft_id,
        actor=principal.name,
        variants=None if body is None else body.variants,
    )
    return DraftOut.of(draft)
