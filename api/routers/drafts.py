"""`/v1/drafts`: drafted replies waiting for an operator's decision."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from fastapi import status as http_status

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
from core.models import DraftStatus, Role

router = APIRouter(prefix="/v1/drafts", tags=["drafts"])


@router.get("", response_model=PageOut[DraftOut])
def list_drafts(
    session: SessionDep,
    _principal: StaffDep,
    status: DraftStatus = DraftStatus.pending,
    account_id: AccountFilter = None,
    blocked: Annotated[
        bool | None, Query(description="Only drafts held by the filter or guard, or only clean.")
    ] = None,
    limit: LimitQuery = 50,
    offset: OffsetQuery = 0,
) -> PageOut[DraftOut]:
    """Drafts in one status (pending by default), oldest first, each with its filter hits,
    guard signals and whether it is blocked."""
    page = drafts.list_drafts(
        session,
        status=status,
        account_id=account_id,
        blocked=blocked,
        limit=limit,
        offset=offset,
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
    """Approve a pending draft, as written or with edited `text`; it becomes a queued send.

    Edited text passes the content filter. A blocked draft answers 409 with its reasons,
    unless an admin sends `override: true` with an `override_reason` (audited). An operator
    asking to override gets 403: the role may not override, whatever the draft's state.
    """
    if body.override and principal.role != Role.admin:
        raise HTTPException(
            http_status.HTTP_403_FORBIDDEN,
            "only an admin may override the content filter and the wellbeing guard",
        )
    draft, send = drafts.approve_draft(
        session,
        redis,
        settings,
        draft_id,
        actor=principal.name,
        text=body.text,
        override_reason=body.override_reason if body.override else None,
    )
    return Approval(draft=DraftOut.model_validate(draft), send=SendOut.model_validate(send))


@router.post("/{draft_id}/reject", response_model=DraftOut)
def reject_draft(
    draft_id: IdPath, body: DraftReject, session: SessionDep, principal: StaffDep
) -> DraftOut:
    """Reject a pending draft with a reason."""
    draft = drafts.reject_draft(session, draft_id, actor=principal.name, reason=body.reason)
    return DraftOut.model_validate(draft)
