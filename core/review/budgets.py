"""AI budgets: daily LLM token caps (fleet-wide and per account) and the LLM redrafts an
operator may ask for per hour.

`drafter_for` is the one place a drafting path learns which drafter to use. Under budget
it is the configured one; past a cap it is the configured drafter's fallback
(`core.drafting.providers.FallbackDrafter`, held back with the cap as its reason: the
seam every fallback goes through), so the LLM is not called at all and the draft says
which cap in its `fallback_reason`. Either way the call is metered: its `AiUsage` row is
committed as soon as the drafter returns, so what was spent counts even when the draft
is then discarded (decided meanwhile, or written by a racing run of its job).

The caps are soft. A call is let through while there is room, before its tokens are
known, so the call that crosses a cap spends past it; and drafts running at once each
see the room before any of them is metered, so each may overshoot by one call.

Every figure is counted from `AiUsage` rows in SQL, the source of truth: a Redis wipe
must not hand every account and operator a fresh budget. The windows are a UTC day for
tokens and a sliding hour for an operator's requests; both are indexed range scans.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from loguru import logger
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.drafting.base import DraftContext, Drafter, DraftResult
from core.drafting.offline import OfflineDrafter
from core.drafting.providers import llm_configured, with_fallback
from core.guardrails.policy import ApprovalPolicy
from core.models import Account, AiUsage, AuditEvent
from core.settings import Settings

BUDGET_ACTOR = "policy:ai_budget"
CAP_REACHED = "ai_budget.cap_reached"
# The fleet-wide cap is no row's; its audit events name this subject.
FLEET_SUBJECT = ("ai_budget", 0)
HOUR = timedelta(hours=1)


class Scope(StrEnum):
    """Whose budget ran out."""

    fleet = "fleet"
    account = "account"
    operator = "operator"


@dataclass(frozen=True)
class Exhausted:
    """A budget that is used up: whose, how much of it is used and its cap."""

    scope: Scope
    used: int
    cap: int
    account_id: int | None = None
    operator: str | None = None

    @property
    def reason(self) -> str:
        """The draft's `fallback_reason`: which cap, with the figures."""
        if self.scope == Scope.operator:
            return (
                f"operator {self.operator} hourly LLM request limit reached "
                f"({self.used}/{self.cap} in the last hour)"
            )
        whose = "fleet" if self.scope == Scope.fleet else f"account {self.account_id}"
        return f"{whose} daily token cap reached ({self.used}/{self.cap} tokens today, UTC)"


def day_start(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: where the daily token caps start counting."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def tokens_since(session: Session, since: datetime, *, account_id: int | None = None) -> int:
    """Prompt and completion tokens spent since `since`, by one account or the fleet."""
    stmt = select(
        func.coalesce(func.sum(AiUsage.prompt_tokens + AiUsage.completion_tokens), 0)
    ).where(AiUsage.at >= since)
    if account_id is not None:
        stmt = stmt.where(AiUsage.account_id == account_id)
    return int(session.scalar(stmt) or 0)


def llm_requests_since(session: Session, operator: str, since: datetime) -> int:
    """The drafting calls `operator` asked for since `since` that went to the LLM."""
    stmt = select(func.count(AiUsage.id)).where(
        AiUsage.actor == operator, AiUsage.llm_called.is_(True), AiUsage.at >= since
    )
    return int(session.scalar(stmt) or 0)


def account_cap(settings: Settings, policy: ApprovalPolicy) -> int | None:
    """An account's daily token cap: its policy's, else the fleet's per-account default."""
    if policy.daily_token_cap is not None:
        return policy.daily_token_cap
    return settings.ai_account_daily_token_cap


def check(
    session: Session,
    settings: Settings,
    *,
    account_id: int,
    operator: str | None = None,
    now: datetime | None = None,
) -> Exhausted | None:
    """The first budget a drafting call for `account_id` (asked for by `operator`, when
    one did) would exceed: the fleet's daily tokens, the account's, then the operator's
    hourly requests. None when every one has room."""
    now = now or utcnow()
    today = day_start(now)
    fleet_cap = settings.ai_daily_token_cap
    if fleet_cap is not None:
        used = tokens_since(session, today)
        if used >= fleet_cap:
            return Exhausted(Scope.fleet, used, fleet_cap)
    # From the session's identity map when the caller holds the account, as drafting does.
    cap = account_cap(settings, session.get_one(Account, account_id).policy)
    if cap is not None:
        used = tokens_since(session, today, account_id=account_id)
        if used >= cap:
            return Exhausted(Scope.account, used, cap, account_id=account_id)
    if operator is not None:
        limit = settings.ai_operator_requests_per_hour
        used = llm_requests_since(session, operator, now - HOUR)
        if used >= limit:
            return Exhausted(Scope.operator, used, limit, operator=operator)
    return None


def _audit_once_a_day(session: Session, exhausted: Exhausted, now: datetime) -> None:
    """Audit a token cap the first time a draft meets it on a UTC day. Two drafts racing
    past a fresh cap may both audit it: a day logged twice rather than a lock per draft."""
    if exhausted.scope == Scope.account and exhausted.account_id is not None:
        subject_type, subject_id = "account", exhausted.account_id
    else:
        subject_type, subject_id = FLEET_SUBJECT
    seen = session.scalar(
        select(AuditEvent.id)
        .where(
            AuditEvent.action == CAP_REACHED,
            AuditEvent.subject_type == subject_type,
            AuditEvent.subject_id == subject_id,
            AuditEvent.at >= day_start(now),
        )
        .limit(1)
    )
    if seen is None:
        audit.record(
            session,
            BUDGET_ACTOR,
            CAP_REACHED,
            subject_type,
            subject_id,
            scope=exhausted.scope.value,
            used=exhausted.used,
            cap=exhausted.cap,
            day=day_start(now).date().isoformat(),
        )


class MeteredDrafter:
    """Drafts with `drafter` and commits the call's `AiUsage` row in `session`. Drafting
    paths commit before they draft (no transaction may stay open through an LLM call), so
    that commit holds nothing but the row."""

    def __init__(
        self,
        drafter: Drafter,
        session: Session,
        *,
        account_id: int,
        actor: str | None,
        llm_called: bool,
    ) -> None:
        self.drafter = drafter
        self.provider = drafter.provider
        self.session = session
        self.account_id = account_id
        self.actor = actor
        self.llm_called = llm_called

    def draft(self, context: DraftContext) -> DraftResult:
        """`drafter`'s draft, metered."""
        result = self.drafter.draft(context)
        self.session.add(
            AiUsage(
                account_id=self.account_id,
                actor=self.actor,
                llm_called=self.llm_called,
                provider=result.provider,
                model=result.model,
                prompt_tokens=result.prompt_tokens,
                completion_tokens=result.completion_tokens,
                fallback_reason=result.fallback_reason,
            )
        )
        self.session.commit()
        return result


def drafter_for(
    session: Session,
    settings: Settings,
    configured: Drafter,
    *,
    account_id: int,
    operator: str | None = None,
) -> Drafter:
    """The drafter a drafting call for `account_id` must use, metered: `configured` while
    every budget has room, else its fallback, held back with the exhausted budget as the
    draft's `fallback_reason` (a token cap is audited once per UTC day). `operator` is who
    asked (a redraft, an operator's nudge pass); their hourly LLM requests count only
    then. A `configured` drafter that is offline already spends no budget and is used as
    it is."""
    if configured.provider == OfflineDrafter.provider:
        return MeteredDrafter(
            configured, session, account_id=account_id, actor=operator, llm_called=False
        )
    now = utcnow()
    exhausted = check(session, settings, account_id=account_id, operator=operator, now=now)
    if exhausted is None:
        return MeteredDrafter(
            configured, session, account_id=account_id, actor=operator, llm_called=True
        )
    if exhausted.scope != Scope.operator:
        _audit_once_a_day(session, exhausted, now)
    logger.bind(
        account_id=account_id,
        operator=operator,
        scope=exhausted.scope.value,
        used=exhausted.used,
        cap=exhausted.cap,
    ).warning("AI budget used up; drafting offline")
    return MeteredDrafter(
        with_fallback(configured).holding(exhausted.reason),
        session,
        account_id=account_id,
        actor=operator,
        llm_called=False,
    )


@dataclass(frozen=True)
class CapReached:
    """A daily token cap that holds drafting offline, and the account's name for one
    account's cap."""

    exhausted: Exhausted
    account_name: str | None = None


@dataclass(frozen=True)
class BudgetStatus:
    """The fleet's token spend today and the daily caps that hold drafting offline."""

    llm_configured: bool
    tokens_today: int
    daily_token_cap: int | None
    caps_reached: list[CapReached]

    @property
    def offline_fallback(self) -> bool:
        """Whether a cap holds some drafting (the fleet's, or accounts') on offline."""
        return bool(self.caps_reached)


def _caps_reached(
    session: Session, settings: Settings, today: datetime, fleet_used: int
) -> list[CapReached]:
    """The daily token caps used up since `today`: the fleet's, then each account's."""
    reached: list[CapReached] = []
    fleet_cap = settings.ai_daily_token_cap
    if fleet_cap is not None and fleet_used >= fleet_cap:
        reached.append(CapReached(Exhausted(Scope.fleet, fleet_used, fleet_cap)))
    spent = (
        select(
            AiUsage.account_id,
            func.sum(AiUsage.prompt_tokens + AiUsage.completion_tokens).label("used"),
        )
        .where(AiUsage.at >= today)
        .group_by(AiUsage.account_id)
        .subquery()
    )
    # Every account, not only those with spend today: a cap of 0 is reached at once.
    rows = session.execute(
        select(Account.id, Account.name, Account.policy, func.coalesce(spent.c.used, 0))
        .outerjoin(spent, spent.c.account_id == Account.id)
        .order_by(Account.id)
    )
    for account_id, name, policy, used in rows:
        cap = account_cap(settings, policy)
        if cap is not None and used >= cap:
            exhausted = Exhausted(Scope.account, int(used), cap, account_id=account_id)
            reached.append(CapReached(exhausted, account_name=name))
    return reached


def status(session: Session, settings: Settings, now: datetime | None = None) -> BudgetStatus:
    """Today's (UTC) token spend and the caps used up, for `/health`. With no LLM
    configured every draft is offline by design, so no cap is said to hold it."""
    today = day_start(now or utcnow())
    used = tokens_since(session, today)
    configured = llm_configured(settings)
    return BudgetStatus(
        llm_configured=configured,
        tokens_today=used,
        daily_token_cap=settings.ai_daily_token_cap,
        caps_reached=_caps_reached(session, settings, today, used) if configured else [],
    )
