"""The health report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from api.schemas.common import FieldError
from core.recovery.health import ServiceHealth
from core.review.budgets import BudgetStatus, CapReached, Scope


class Check(BaseModel):
    ok: bool
    error: str | None = None


class Workers(BaseModel):
    count: int
    names: list[str]


class HeldAccount(BaseModel):
    """An account whose jobs are held until an operator acts (paused, needs a login)."""

    id: int
    name: str
    status: str


class BudgetCap(BaseModel):
    """A daily LLM token cap used up today (UTC): the fleet's, or one account's."""

    scope: Literal["fleet", "account"]
    account_id: int | None = None
    account_name: str | None = None
    used: int
    cap: int
    reason: str

    @classmethod
    def of(cls, reached: CapReached) -> BudgetCap:
        """The report of one cap used up."""
        exhausted = reached.exhausted
        return cls(
            scope="fleet" if exhausted.scope == Scope.fleet else "account",
            account_id=exhausted.account_id,
            account_name=reached.account_name,
            used=exhausted.used,
            cap=exhausted.cap,
            reason=exhausted.reason,
        )


class AiBudget(BaseModel):
    """Whether drafting is held on the offline drafter by a token cap, and which caps:
    `offline_fallback` is true when the fleet's cap is reached (every draft is offline)
    or any account's (that account's drafts are). `tokens_today` is the fleet's spend."""

    llm_configured: bool
    offline_fallback: bool
    tokens_today: int
    daily_token_cap: int | None
    caps_reached: list[BudgetCap] = []

    @classmethod
    def of(cls, status: BudgetStatus) -> AiBudget:
        """The report of the budgets' status."""
        return cls(
            llm_configured=status.llm_configured,
            offline_fallback=status.offline_fallback,
            tokens_today=status.tokens_today,
            daily_token_cap=status.daily_token_cap,
            caps_reached=[BudgetCap.of(reached) for reached in status.caps_reached],
        )


class InvalidAccount(BaseModel):
    """An account whose stored settings no longer hold: what is wrong, like a 422's
    errors. It still works, on the defaults, until an admin fixes it with PATCH."""

    id: int
    problems: list[FieldError]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Check
    redis: Check
    queues: dict[str, int]
    workers: Workers
    held_accounts: list[HeldAccount] = []
    ai_budget: AiBudget | None = None
    invalid_accounts: list[InvalidAccount] = []

    @classmethod
    def of(cls, report: ServiceHealth) -> Health:
        """The health report's response body."""
        return cls(
            status="ok" if report.healthy else "degraded",
            database=Check(ok=report.database_error is None, error=report.database_error),
            redis=Check(ok=report.redis_error is None, error=report.redis_error),
            queues=report.queues,
            workers=Workers(count=len(report.rq_workers), names=report.rq_workers),
            held_accounts=[
                HeldAccount(id=held.id, name=held.name, status=held.status.value)
                for held in report.held_accounts
            ],
            ai_budget=None if report.ai_budget is None else AiBudget.of(report.ai_budget),
            invalid_accounts=[
                InvalidAccount(
                    id=account_id,
                    problems=[FieldError.of(problem) for problem in problems],
                )
                for account_id, problems in sorted(report.invalid_accounts.items())
            ],
        )
