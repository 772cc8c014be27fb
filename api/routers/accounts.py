"""`/v1/accounts`: creator accounts. Admins write; operators read and run nudge passes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from api.deps import (
    AdminDep,
    CursorQuery,
    IdPath,
    LimitQuery,
    RedisDep,
    SessionDep,
    SettingsDep,
    StaffDep,
)
from api.errors import invalid
from api.schemas.accounts import (
    AccountCreate,
    AccountOut,
    AccountPacing,
    AccountUpdate,
    NudgePassOut,
)
from api.schemas.common import PageOut, page_out
from core.crm import accounts
from core.crypto import keyring
from core.models import Account
from core.platform.profiles import ProfileError, named_profile
from core.review import nudges
from core.settings import Settings

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AccountOut)
def create_account(
    body: AccountCreate, session: SessionDep, settings: SettingsDep, principal: AdminDep
) -> AccountOut:
    """Add an account with its credentials, persona and approval policy; its `profile`
    must name a profile the fleet has (422 otherwise)."""
    _known_profile(settings, body.profile)
    account = accounts.create_account(
        session,
        keyring(settings),
        actor=principal.name,
        name=body.name,
        username=body.username,
        password=body.password,
        profile=body.profile,
        base_url=body.base_url,
        persona=body.persona,
        auto_send=body.auto_send,
        pacing=body.pacing,
        policy=body.policy,
        time_zone=body.time_zone,
    )
    return AccountOut.model_validate(account)


@router.get("", response_model=PageOut[AccountOut])
def list_accounts(
    session: SessionDep,
    settings: SettingsDep,
    _principal: StaffDep,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[AccountOut]:
    """Accounts, oldest first."""
    page = accounts.list_accounts(session, limit=limit, cursor=cursor)
    problems = accounts.account_problems(session, settings, [a.id for a in page.items])
    return page_out(page, lambda account: AccountOut.of(account, problems.get(account.id, ())))


@router.get("/{account_id:int}", response_model=AccountOut)
def get_account(
    account_id: IdPath, session: SessionDep, settings: SettingsDep, _principal: StaffDep
) -> AccountOut:
    """One account, with the stored settings that no longer hold, if any (`problems`)."""
    return _out(session, settings, accounts.get_account(session, account_id))


def _out(session: Session, settings: Settings, account: Account) -> AccountOut:
    problems = accounts.account_problems(session, settings, [account.id])
    return AccountOut.of(account, problems.get(account.id, ()))


@router.patch("/{account_id:int}", response_model=AccountOut)
def update_account(
    account_id: IdPath,
    body: AccountUpdate,
    session: SessionDep,
    settings: SettingsDep,
    principal: AdminDep,
) -> AccountOut:
    """Change an account's name, profile, URL, credentials, persona, auto-send or status.
    Nothing is stored unless the whole change is valid."""
    if body.profile is not None:
        _known_profile(settings, body.profile)
    account = accounts.update_account(
        session, keyring(settings), account_id, body.changes(), actor=principal.name
    )
    return _out(session, settings, account)


def _known_profile(settings: Settings, name: str) -> None:
    """422 naming `body.profile` unless the fleet has a valid profile called `name`."""
    try:
        named_profile(settings.profiles_dir, name)
    except ProfileError as exc:
        problem = "no such profile" if "not found" in str(exc) else "the profile is invalid"
        raise invalid(f"{problem}: {name!r}", "body", "profile") from None


@router.get("/{account_id:int}/pacing", response_model=AccountPacing)
def get_pacing(
    account_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    _principal: StaffDep,
) -> AccountPacing:
    """The account's pacing budgets, what it has used and when it may act next."""
    return AccountPacing.of(accounts.pacing_view(session, redis, settings, account_id))


@router.post(
    "/{account_id:int}/nudges", status_code=status.HTTP_202_ACCEPTED, response_model=NudgePassOut
)
def queue_nudges(
    account_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    principal: StaffDep,
    limit: Annotated[int, Query(ge=1, le=200, description="The most nudges the pass drafts.")] = 50,
) -> NudgePassOut:
    """Queue a pass drafting the follow-ups and re-engagements the account's conversations
    are due (see `core.review.nudges`) and answer at once (202) with its job; the drafts join the
    approval queue as the `ai` worker writes them. Their LLM calls count against the
    caller's hourly LLM requests. While a pass over the account waits or runs, asking again
    queues nothing (`queued: false`). A paused account, or one whose policy has nudges
    off, answers 409."""
    queued = nudges.queue_pass(session, redis, account_id, operator=principal.name, limit=limit)
    return NudgePassOut(job_id=queued.job_id, queued=queued.queued)
