"""`/v1/drafts`: drafted replies waiting for an operator's decision."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import (
    AccountFilter,
    IdPath,
    LimitQuery,
    OffsetQuery,
    RedisDep,
    SessionDep,
    SettingsDep,
    StaffDep,
)
from api.schemas.common import PageOut, page_out
from api.schemas.drafts import Approval, DraftApprove, DraftOut, DraftReject
from api.schemas.sends import SendOut
from core import drafts
from core.models import DraftStatus

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])


@router.get("", response_model=PageOut[DraftOut])
def list_drafts(
    session: SessionDep,
    _principal: StaffDep,
    status: DraftStatus = DraftStatus.pending,
    account_id: AccountFilter = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> PageOut[DraftOut]:
    """Drafts in one status (pending by default), oldest first."""
    page = drafts.list_drafts(
        session, status=status, account_id=account_id, limit=limit, offset=offset
    )
    return page_out(page, DraftOut.model_validate)


@router.get("/{draft_id}", response_model=DraftOut)
def get_draft(draft_id: IdPath, session: SessionDep, _principal: StaffDep) -> DraftOut:
    """One draft."""
    return DraftOut.model_validate(drafts.get_draft(session, draft_id))


@router.post("/{draft_id}/approve", response_model=Approval)
def approve_draft(
    draft_id: IdPath,
    body: DraftApprove,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> Approval:
    """Approve a pending draft, as written or with edited `text`; it becomes a queued send."""
    draft, send = drafts.approve_draft(
        session, redis, settings, draft_id, actor=principal.name, text=body.text
    )
    return Approval(draft=DraftOut.model_validate(draft), send=SendOut.model_validate(send))


@router.post("/{draft_id}/reject", response_model=DraftOut)
def reject_draft(
    draft_id: IdPath, body: DraftReject, session: SessionDep, principal: StaffDep
) -> DraftOut:
    """Reject a pending draft with a reason."""
    draft = drafts.reject_draft(session, draft_id, actor=principal.name, reason=body.reason)
    return DraftOut.model_validate(draft)
