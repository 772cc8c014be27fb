"""How each operator (chatter) performs over a window, and what messages earn by who wrote
them.

Per operator, by the name of the key they decide with (the approval policy's auto-send is
an operator of its own, `policy:auto_send`):

- drafts decided in the window (approved and rejected), the edit rate (approvals whose
  text they changed, of their approvals), and time to decide (the draft's creation to the
  decision), p50 and p90;
- first response time: for the replies they approved in the window and that were
  delivered, the fan's message (as the platform dates it) to the delivery, p50 and p90;
- revenue attributed: the PPVs they sent (approved or wrote) in the window that the fan
  bought, whenever they bought them.

By authorship, the sends made in the window and delivered: drafted by the AI and sent
unchanged, drafted and edited, or written by a person; their count, the PPV revenue they
brought, and that revenue per message.

Counts are SQL; percentiles are computed here over the window's rows (`stats`), as the AI
report does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, not_, select
from sqlalchemy.orm import Session

from core.analytics.stats import percentile
from core.analytics.window import Window
from core.enums import DraftStatus, SendStatus
from core.models import (
    DRAFT_IS_NUDGE,
    MESSAGE_IS_PURCHASE,
    Draft,
    DraftFeedback,
    Message,
    Send,
)


@dataclass(frozen=True)
class Spread:
    """The median and 90th percentile of some seconds; None without any."""

    p50_s: float | None
    p90_s: float | None

    @classmethod
    def of(cls, seconds: list[float]) -> Spread:
        return cls(percentile(seconds, 0.5), percentile(seconds, 0.9))


@dataclass(frozen=True)
class OperatorFigures:
    operator: str
    decided: int
    approved: int
    rejected: int
    edited: int
    time_to_decide: Spread
    first_response: Spread
    revenue_cents: int

    @property
    def edit_rate(self) -> float | None:
        return self.edited / self.approved if self.approved else None


@dataclass(frozen=True)
class Authorship:
    """Sends delivered, by who wrote them: `ai_unchanged`, `ai_edited` or `human`."""

    author: str
    messages: int
    revenue_cents: int

    @property
    def revenue_per_message_cents(self) -> float | None:
        return self.revenue_cents / self.messages if self.messages else None


@dataclass(frozen=True)
class OperatorsReport:
    window: Window
    operators: list[OperatorFigures]
    by_authorship: list[Authorship]


AUTHORS = ("ai_unchanged", "ai_edited", "human")


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


def _bought() -> Any:
    """The purchased message a send became, joined on (conversation, platform id)."""
    return and_(
        Message.conversation_id == Send.conversation_id,
        Message.platform_message_id == Send.platform_message_id,
        MESSAGE_IS_PURCHASE,
    )


def report(session: Session, window: Window) -> OperatorsReport:
    """Each operator's figures over the window, busiest first, and sends by authorship."""
    decisions = select(
        Draft.decided_by,
        Draft.status,
        Draft.created_at,
        Draft.decided_at,
        DraftFeedback.edit_distance,
    ).outerjoin(DraftFeedback, DraftFeedback.draft_id == Draft.id)
    decisions = decisions.where(
        Draft.decided_by.is_not(None),
        Draft.status.in_([DraftStatus.approved, DraftStatus.rejected]),
        window.holds(Draft.decided_at),
    )
    responses = (
        select(Draft.decided_by, Message.sent_at, Send.delivered_at)
        .join(Message, Message.id == Draft.message_id)
        .join(Send, Send.draft_id == Draft.id)
        .where(
            not_(DRAFT_IS_NUDGE),
            Draft.status == DraftStatus.approved,
            window.holds(Draft.decided_at),
            Send.delivered_at.is_not(None),
        )
    )
    revenue = (
        select(Send.created_by, func.sum(Message.ppv_price_cents))
        .join(Message, _bought())
        .where(window.holds(Send.created_at))
        .group_by(Send.created_by)
    )
    if window.account_id is not None:
        decisions = decisions.where(Draft.account_id == window.account_id)
        responses = responses.where(Draft.account_id == window.account_id)
        revenue = revenue.where(Send.account_id == window.account_id)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    to_decide: dict[str, list[float]] = defaultdict(list)
    for operator, status, created_at, decided_at, distance in session.execute(decisions):
        figures = counts[operator]
        figures["decided"] += 1
        figures[status.value] += 1
        figures["edited"] += int(status == DraftStatus.approved and bool(distance))
        to_decide[operator].append(_seconds(created_at, decided_at))
    first: dict[str, list[float]] = defaultdict(list)
    for operator, written_at, delivered_at in session.execute(responses):
        first[operator].append(_seconds(written_at, delivered_at))
    earned = {operator: int(cents or 0) for operator, cents in session.execute(revenue)}
    names = sorted(
        set(counts) | set(first) | set(earned),
        key=lambda name: (-counts[name]["decided"], name),
    )
    operators = [
        OperatorFigures(
            operator=name,
            decided=counts[name]["decided"],
            approved=counts[name][DraftStatus.approved.value],
            rejected=counts[name][DraftStatus.rejected.value],
            edited=counts[name]["edited"],
            time_to_decide=Spread.of(to_decide[name]),
            first_response=Spread.of(first[name]),
            revenue_cents=earned.get(name, 0),
        )
        for name in names
    ]
    return OperatorsReport(window, operators, _by_authorship(session, window))


def _by_authorship(session: Session, window: Window) -> list[Authorship]:
    author = case(
        (Send.draft_id.is_(None), "human"),
        (DraftFeedback.edit_distance > 0, "ai_edited"),
        else_="ai_unchanged",
    ).label("author")
    stmt = (
        select(author, func.count(Send.id), func.coalesce(func.sum(Message.ppv_price_cents), 0))
        .outerjoin(DraftFeedback, DraftFeedback.draft_id == Send.draft_id)
        .outerjoin(Message, _bought())
        .where(Send.status == SendStatus.delivered, window.holds(Send.created_at))
        .group_by(author)
    )
    if window.account_id is not None:
        stmt = stmt.where(Send.account_id == window.account_id)
    found = {name: (int(n), int(cents)) for name, n, cents in session.execute(stmt)}
    return [Authorship(name, *found.get(name, (0, 0))) for name in AUTHORS]
