"""Creator accounts: their settings, credentials and saved browser sessions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict

from loguru import logger
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.db import Page, paginate
from core.drafting.persona import Persona
from core.enums import AccountStatus
from core.errors import NotFound, get_or_raise
from core.fleet.pacing import Pacer, PacingStatus
from core.fleet.protocol import AccountAccess
from core.guardrails.policy import ApprovalPolicy
from core.models import Account
from core.platform.profiles import PacingOverrides, PacingProfile, named_profile
from core.settings import Settings


class AccountChanges(TypedDict, total=False):
    """Fields an update may set; a key that is absent stays as it is."""

    name: str
    profile: str
    base_url: str | None
    username: str
    password: str
    persona: Persona
    auto_send: bool
    status: AccountStatus
    pacing: PacingOverrides
    policy: ApprovalPolicy


def create_account(
    session: Session,
    *,
    actor: str,
    name: str,
    username: str,
    password: str,
    profile: str = "sandbox",
    base_url: str | None = None,
    persona: Persona | None = None,
    auto_send: bool = False,
    pacing: PacingOverrides | None = None,
    policy: ApprovalPolicy | None = None,
) -> Account:
    """Create and commit an account; without a `policy`, the policy's defaults hold."""
    account = Account(
        name=name,
        profile=profile,
        base_url=base_url,
        username=username,
        password=password,
        persona=persona or Persona(),
        auto_send=auto_send,
        status=AccountStatus.active,
        pacing=pacing or PacingOverrides(),
        policy=policy or ApprovalPolicy(),
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor,
        "account.created",
        "account",
        account.id,
        profile=profile,
        auto_send=auto_send,
        policy=policy is not None,
    )
    session.commit()
    return account


def list_accounts(session: Session, limit: int, offset: int) -> Page[Account]:
    """Accounts, oldest first."""
    return paginate(session, select(Account).order_by(Account.id), limit, offset)


def get_account(session: Session, account_id: int) -> Account:
    """One account, or `NotFound`."""
    return get_or_raise(session, Account, account_id)


def update_account(
    session: Session, account_id: int, changes: AccountChanges, *, actor: str
) -> Account:
    """Apply `changes` and commit. A new username drops the saved browser session, which
    belongs to the old login."""
    account = get_or_raise(session, Account, account_id, for_update=True)
    if "username" in changes and changes["username"] != account.username:
        account.session_state = None
    if "password" in changes and account.status == AccountStatus.needs_login:
        # New credentials are the operator's answer to needs_login: let its work run.
        changes = {"status": AccountStatus.active, **changes}
    for field, value in changes.items():
        setattr(account, field, value)
    # Field names only: the audit log never holds credentials.
    audit.record(session, actor, "account.updated", "account", account.id, fields=sorted(changes))
    session.commit()
    return account


def account_access(account: Account) -> AccountAccess:
    """What a worker needs to drive `account`, credentials included."""
    return AccountAccess(
        account_id=account.id,
        profile=account.profile,
        base_url=account.base_url,
        username=account.username,
        password=account.password,
        storage_state=account.session_state,
        pacing=account.pacing,
    )


def pacing_budgets(account: Account, profiles_dir: Path) -> PacingProfile:
    """The budgets in force for `account`: its profile's defaults, its overrides on top."""
    defaults = named_profile(profiles_dir, account.profile).pacing
    return account.pacing.apply(defaults)


@dataclass(frozen=True)
class PacingView:
    """An account's budgets in force (human seconds, before time scaling), its own
    overrides, and what the pacer says it has used and may do next (real seconds)."""

    account_id: int
    budgets: PacingProfile
    overrides: PacingOverrides
    time_scale: float
    status: PacingStatus


def pacing_view(session: Session, redis: Redis, settings: Settings, account_id: int) -> PacingView:
    """The pacing of one account, as every worker's pacer sees it; `NotFound` when there is
    no such account."""
    account = get_or_raise(session, Account, account_id)
    budgets = pacing_budgets(account, settings.profiles_dir)
    return PacingView(
        account_id=account.id,
        budgets=budgets,
        overrides=account.pacing,
        time_scale=settings.time_scale,
        status=Pacer.for_settings(redis, settings).status(account.id, budgets),
    )


THROTTLE_ACTOR = "policy:throttle"


def pause_if_throttled_too_often(
    session: Session, settings: Settings, account: Account, signals_in_window: int
) -> bool:
    """Pause an active account once the platform has throttled it its profile's
    `pause_after` times within the window (the account's sends and sweeps are then held
    until an operator resumes it), and audit it; whether it is paused now."""
    pause_after = named_profile(settings.profiles_dir, account.profile).throttle.pause_after
    if signals_in_window >= pause_after and account.status == AccountStatus.active:
        account.status = AccountStatus.paused
        audit.record(
            session,
            THROTTLE_ACTOR,
            "account.paused",
            "account",
            account.id,
            reason=f"{signals_in_window} throttle signals within the window",
        )
        logger.bind(account_id=account.id, signals=signals_in_window).warning(
            "account paused after repeated throttling; an operator must resume it"
        )
    return account.status == AccountStatus.paused


def get_session_state(session: Session, account_id: int) -> dict[str, Any]:
    """The account's saved browser session; `NotFound` when none was saved."""
    account = get_or_raise(session, Account, account_id)
    if account.session_state is None:
        raise NotFound(f"account {account_id} has no saved session")
    return account.session_state


def store_session_state(
    session: Session, account_id: int, storage_state: dict[str, Any], *, actor: str
) -> Account:
    """Save the account's browser session. A worker saves one after logging in, so an
    account that needed a login is active again."""
    account = get_or_raise(session, Account, account_id, for_update=True)
    account.session_state = storage_state
    if account.status == AccountStatus.needs_login:
        account.status = AccountStatus.active
    audit.record(session, actor, "account.session_stored", "account", account.id)
    session.commit()
    return account
