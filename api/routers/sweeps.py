"""`/v1/sweeps`: queue inbox scrapes and follow them."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import (
    AccountFilter,
    CursorQuery,
    IdPath,
    LimitQuery,
    RedisDep,
    SessionDep,
    SettingsDep,
    StaffDep,
)
from api.schemas.common import PageOut, page_out
from api.schemas.sweeps import SweepOut, SweepTrigger
from core.crm import sweeps
from core.enums import SweepStatus

router = APIRouter(prefix="/v1/sweeps", tags=["sweeps"])


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=list[SweepOut])
def trigger_sweeps(
    body: SweepTrigger,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> list[SweepOut]:
    """Queue a sweep of one account or of every active account; an account with a sweep
    still waiting gets that one back."""
    queued = sweeps.trigger_sweeps(
        session, redis, settings, account_id=body.account_id, actor=principal.name
    )
    return [SweepOut.model_validate(sweep) for sweep in queued]


@router.get("", response_model=PageOut[SweepOut])
def list_sweeps(
    session: SessionDep,
    _principal: StaffDep,
    account_id: AccountFilter = None,
    status: SweepStatus | None = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[SweepOut]:
    """Sweeps, newest first."""
    page = sweeps.list_sweeps(
        session, account_id=account_id, status=status, limit=limit, cursor=cursor
    )
    return page_out(page, SweepOut.model_validate)


@router.get("/{sweep_id:int}", response_model=SweepOut)
def get_sweep(sweep_id: IdPath, session: SessionDep, _principal: StaffDep) -> SweepOut:
    """One sweep."""
    return SweepOut.model_validate(sweeps.get_sweep(session, sweep_id))
