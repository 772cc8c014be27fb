"""Creator accounts: their settings, credentials and saved browser sessions."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from loguru import logger
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from core import audit
from core.clock import zone_named
from core.crypto import Keyring, Unreadable, keyring
from core.db import StoredProblem, stored_problems
from core.drafting.persona import Persona
from core.enums import AccountStatus
from core.errors import Conflict, InvalidState, get_or_raise
from core.fleet.lease import held_by
from core.fleet.pacing import Pacer, PacingStatus
from core.fleet.protocol import AccountAccess, AccountSecrets
from core.guardrails.policy import ApprovalPolicy
from core.models import Account
from core.paging import Page, SortKey, paginate
from core.platform.profiles import (
    BrowserProfile,
    PacingOverrides,
    PacingProfile,
    ProfileError,
    named_profile,
)
from core.priority import retarget
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
    time_zone: str


def create_account(
    session: Session,
    ring: Keyring,
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
    time_zone: str = "UTC",
) -> Account:
    """Create and commit an account, its password sealed with `ring`; without a
    `policy`, the policy's defaults hold."""
    account = Account(
        name=name,
        profile=profile,
        base_url=base_url,
        username=username,
        password=ring.seal(password),
        persona=persona or Persona(),
        auto_send=auto_send,
        status=AccountStatus.active,
        pacing=pacing or PacingOverrides(),
        policy=policy or ApprovalPolicy(),
        time_zone=time_zone,
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


def list_accounts(session: Session, *, limit: int, cursor: str | None) -> Page[Account]:
    """Accounts, oldest first."""
    return paginate(session, select(Account), [SortKey(Account.id)], limit=limit, cursor=cursor)


def held_accounts_of(session: Session) -> list[Account]:
    """Accounts whose work is held for an operator (paused, or needing a login), by id."""
    return list(
        session.scalars(
            select(Account).where(Account.status != AccountStatus.active).order_by(Account.id)
        )
    )


def get_account(session: Session, account_id: int) -> Account:
    """One account, or `NotFound`."""
    return get_or_raise(session, Account, account_id)


def update_account(
    session: Session, ring: Keyring, account_id: int, changes: AccountChanges, *, actor: str
) -> Account:
    """Apply `changes` (a new password sealed with `ring`) and commit. A new username
    drops the saved browser session, which belongs to the old login."""
    account = get_or_raise(session, Account, account_id, for_update=True)
    if "username" in changes and changes["username"] != account.username:
        account.session_sealed = None
    if "password" in changes:
        changes = {**changes, "password": ring.seal(changes["password"])}
        if account.status == AccountStatus.needs_login:
            # New credentials are the operator's answer to needs_login: let its work run.
            changes = {"status": AccountStatus.active, **changes}
    for field, value in changes.items():
        setattr(account, field, value)
        # Written even when equal to what was read: a stored value that no longer validated
        # was read as its defaults, and setting those back must still replace it.
        flag_modified(account, field)
    if "policy" in changes:
        retarget(session, account)
    # Field names only: the audit log never holds credentials.
    audit.record(session, actor, "account.updated", "account", account.id, fields=sorted(changes))
    session.commit()
    return account


def account_problems(
    session: Session, settings: Settings, account_ids: Collection[int] | None = None
) -> dict[int, list[StoredProblem]]:
    """The accounts (those in `account_ids`, or all) whose stored settings no longer hold,
    with what is wrong: JSON that no longer validates (read meanwhile as its defaults), a
    profile the fleet no longer has, or a time zone the machine does not know (read as
    UTC meanwhile)."""
    found = stored_problems(session, Account, account_ids)
    stmt = select(Account.id, Account.profile, Account.time_zone)
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(account_ids))
    for account_id, profile, time_zone in session.execute(stmt):
        try:
            named_profile(settings.profiles_dir, profile)
        except ProfileError:
            problem = StoredProblem(("profile",), "no such profile, or it is invalid", "profile")
            found.setdefault(account_id, []).append(problem)
        try:
            zone_named(time_zone)
        except ValueError as exc:
            problem = StoredProblem(("time_zone",), str(exc), "time_zone")
            found.setdefault(account_id, []).append(problem)
    return found


def account_zone(time_zone: str) -> ZoneInfo:
    """The zone an account's stored `time_zone` names; UTC when the machine knows no zone
    by that name (a stored setting never breaks a read: `account_problems` reports it)."""
    try:
        return zone_named(time_zone)
    except ValueError:
        return ZoneInfo("UTC")


def account_access(account: Account) -> AccountAccess:
    """What a worker needs to know of `account` to take a job on it; no secrets."""
    return AccountAccess(
        account_id=account.id,
        profile=account.profile,
        base_url=account.base_url,
        pacing=account.pacing,
    )


def account_secrets(
    session: Session,
    redis: Redis,
    settings: Settings,
    account_id: int,
    worker_id: str,
    *,
    actor: str,
) -> AccountSecrets:
    """The account's credentials and saved session, opened, for `worker_id` while it holds
    the account's lease (audited, without the secrets); `Conflict` for anyone else: a
    claim alone, or a key, is not enough to read a password. `InvalidState` when no key
    of the fleet's opens them."""
    account = get_or_raise(session, Account, account_id)
    if held_by(redis, settings.redis_key_prefix, account_id, worker_id) is not True:
        raise Conflict(
            f"account {account_id}'s credentials go only to the worker holding its lease"
        )
    ring = keyring(settings)
    try:
        password = ring.open(account.password)
        state = None if account.session_sealed is None else ring.open(account.session_sealed)
    except Unreadable:
        raise InvalidState(
            f"account {account_id}'s credentials were sealed with a key the fleet no longer "
            "has: set them again with PATCH"
        ) from None
    audit.record(
        session, actor, "account.secrets_issued", "account", account.id, worker_id=worker_id
    )
    session.commit()
    return AccountSecrets(
        username=account.username,
        password=password,
        storage_state=None if state is None else json.loads(state),
    )


def reseal_credentials(session: Session, ring: Keyring, *, actor: str) -> int:
    """Seal every account's credentials again under the first key of `ring`, and commit;
    how many accounts. All or nothing: `InvalidState` naming the accounts no key opens."""
    accounts = session.scalars(select(Account).order_by(Account.id).with_for_update()).all()
    unreadable = []
    for account in accounts:
        try:
            account.password = ring.reseal(account.password)
            if account.session_sealed is not None:
                account.session_sealed = ring.reseal(account.session_sealed)
        except Unreadable:
            unreadable.append(account.id)
    if unreadable:
        session.rollback()
        raise InvalidState(
            "no key opens the credentials of account(s) "
            + ", ".join(map(str, unreadable))
            + ": add the key they were sealed with, or set them again with PATCH"
        )
    audit.record(session, actor, "accounts.resealed", "account", 0, accounts=len(accounts))
    session.commit()
    return len(accounts)


def account_profile(account: Account, profiles_dir: Path) -> BrowserProfile:
    """The browser profile `account` is driven through; `InvalidState` naming the account
    when the fleet no longer has it (or it no longer validates)."""
    try:
        return named_profile(profiles_dir, account.profile)
    except ProfileError:
        raise InvalidState(
            f"account {account.id}: no profile {account.profile!r} (or it is invalid); "
            "give it one with PATCH"
        ) from None


def pacing_budgets(account: Account, profiles_dir: Path) -> PacingProfile:
    """The budgets in force for `account`: its profile's defaults, its overrides on top;
    `InvalidState` when the fleet no longer has its profile."""
    return account.pacing.apply(account_profile(account, profiles_dir).pacing)


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


def store_session_state(
    session: Session,
    ring: Keyring,
    account_id: int,
    storage_state: dict[str, Any],
    *,
    actor: str,
) -> Account:
    """Save the account's browser session, sealed with `ring`. A worker saves one after
    logging in, so an account that needed a login is active again."""
    account = get_or_raise(session, Account, account_id, for_update=True)
    account.session_sealed = ring.seal(json.dumps(storage_state))
    if account.status == AccountStatus.needs_login:
        account.status = AccountStatus.active
    audit.record(session, actor, "account.session_stored", "account", account.id)
    session.commit()
    return account
