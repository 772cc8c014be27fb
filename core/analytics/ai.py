"""How the AI drafts fare: decisions on them, confidence, what the filter and the guard
caught, tokens and their estimated cost, and how long fans wait for an approved reply.

Everything reads one window `[since, until)`, optionally one account's rows:

- decisions and confidence: drafts *created* in the window, whatever their status now;
  the rates are shares of the decided ones (approved + rejected), so approval and
  rejection add up to 1, and modified and auto-sent drafts are approved ones too;
- filter hits: each draft's latest filter-hits audit event in the window, so a draft
  counts once however often it is redrafted (each redraft audits its fresh variants'
  hits); a draft redrafted clean keeps its last hits, which the filter did catch;
- guard flags: their audit events in the window (a conversation is flagged once per
  signal);
- tokens: `AiUsage` rows in the window, per UTC day;
- wait times: approved replies (not nudges, which answer no message) created in the
  window, from the fan's message as the platform dates it (`Message.sent_at`: when the
  fan sent it, so the sweep's delay is counted, as the fan lived it) to the send's
  creation (the approval) and, once delivered, to its delivery.

Counts, sums and averages are SQL; the percentiles (`core.analytics.stats.percentile`, nearest
rank) are computed here over the waits, since SQLite has no percentile function
(PostgreSQL's `percentile_disc` would answer the same).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from core.analytics.stats import percentile
from core.analytics.window import Window, as_date, utc_day
from core.enums import NUDGE_KINDS, DraftStatus
from core.models import AiUsage, AuditEvent, Conversation, Draft, DraftFeedback, Message, Send
from core.review.writing import AUTO_SEND_ACTOR, FILTER_HITS_ACTION, GUARD_FLAG_ACTION
from core.settings import Settings


@dataclass(frozen=True)
class Decisions:
    """What became of the drafts created in the window, and the rates over the decided
    ones (None while nothing is decided)."""

    drafts: int
    pending: int
    approved: int
    modified: int
    rejected: int
    auto_sent: int

    @property
    def decided(self) -> int:
        """Drafts approved or rejected."""
        return self.approved + self.rejected

    def rate(self, count: int) -> float | None:
        """`count` as a share of the decided drafts."""
        return None if self.decided == 0 else count / self.decided


@dataclass(frozen=True)
class DayTokens:
    """Tokens spent on one UTC day, the drafting calls and those that reached the LLM."""

    day: date
    calls: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Waits:
    """How long fans waited, in seconds: how many waits, their median and 95th percentile."""

    count: int
    median_s: float | None
    p95_s: float | None


@dataclass(frozen=True)
class AiReport:
    """The AI analytics of one window."""

    window: Window
    decisions: Decisions
    average_confidence: float | None
    filter_hits: dict[str, int]
    drafts_with_filter_hits: int
    guard_flags: dict[str, int]
    flagged_conversations: int
    tokens: list[DayTokens]
    to_approval: Waits
    to_delivery: Waits


def _waits(seconds: list[float]) -> Waits:
    return Waits(
        count=len(seconds), median_s=percentile(seconds, 0.5), p95_s=percentile(seconds, 0.95)
    )


def _of_account(stmt: Select[Any], window: Window) -> Select[Any]:
    """`stmt` (which joins `Conversation`) narrowed to the window's account, if any."""
    if window.account_id is None:
        return stmt
    return stmt.where(Conversation.account_id == window.account_id)


def _count(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _decisions(session: Session, window: Window) -> tuple[Decisions, float | None]:
    """The window's drafts by outcome, and their average confidence."""
    approved = Draft.status == DraftStatus.approved
    stmt = (
        select(
            func.count(Draft.id),
            _count(Draft.status == DraftStatus.pending),
            _count(approved),
            _count(approved & (DraftFeedback.edit_distance > 0)),
            _count(Draft.status == DraftStatus.rejected),
            _count(approved & (Draft.decided_by == AUTO_SEND_ACTOR)),
            func.avg(Draft.confidence),
        )
        .join(Conversation, Draft.conversation_id == Conversation.id)
        .outerjoin(DraftFeedback, DraftFeedback.draft_id == Draft.id)
        .where(window.holds(Draft.created_at))
    )
    drafts, pending, approved_n, modified, rejected, auto_sent, confidence = session.execute(
        _of_account(stmt, window)
    ).one()
    decisions = Decisions(
        drafts=int(drafts),
        pending=int(pending),
        approved=int(approved_n),
        modified=int(modified),
        rejected=int(rejected),
        auto_sent=int(auto_sent),
    )
    return decisions, None if confidence is None else float(confidence)


def _filter_hits(session: Session, window: Window) -> tuple[dict[str, int], int]:
    """Content filter hits per rule over every variant, as audited last for each draft in
    the window, and how many drafts had any."""
    latest = (
        select(func.max(AuditEvent.id).label("id"))
        .where(
            AuditEvent.action == FILTER_HITS_ACTION,
            AuditEvent.subject_type == "draft",
            window.holds(AuditEvent.at),
        )
        .group_by(AuditEvent.subject_id)
        .subquery()
    )
    stmt = (
        select(AuditEvent.detail)
        .join(latest, latest.c.id == AuditEvent.id)
        .join(Draft, Draft.id == AuditEvent.subject_id)
        .join(Conversation, Draft.conversation_id == Conversation.id)
    )
    hits: Counter[str] = Counter()
    # One event per draft; each detail is {rule: hits}, summed here, as JSON sums differ
    # per database.
    details = session.scalars(_of_account(stmt, window)).all()
    for detail in details:
        hits.update({rule: int(count) for rule, count in (detail or {}).items()})
    return dict(sorted(hits.items())), len(details)


def _guard_flags(session: Session, window: Window) -> tuple[dict[str, int], int]:
    """Wellbeing guard flags per signal, as audited, and how many conversations got any."""
    stmt = (
        select(AuditEvent.subject_id, AuditEvent.detail)
        .join(Conversation, Conversation.id == AuditEvent.subject_id)
        .where(
            AuditEvent.action == GUARD_FLAG_ACTION,
            AuditEvent.subject_type == "conversation",
            window.holds(AuditEvent.at),
        )
    )
    flags: Counter[str] = Counter()
    conversations = set()
    for conversation_id, detail in session.execute(_of_account(stmt, window)):
        conversations.add(conversation_id)
        flags.update((detail or {}).get("signals", []))
    return dict(sorted(flags.items())), len(conversations)


def _tokens(session: Session, window: Window) -> list[DayTokens]:
    """Drafting calls and tokens per UTC day with any, oldest first."""
    day = utc_day(session, AiUsage.at).label("day")
    stmt = (
        select(
            day,
            func.count(AiUsage.id),
            _count(AiUsage.llm_called.is_(True)),
            func.coalesce(func.sum(AiUsage.prompt_tokens), 0),
            func.coalesce(func.sum(AiUsage.completion_tokens), 0),
        )
        .where(window.holds(AiUsage.at))
        .group_by(day)
        .order_by(day)
    )
    if window.account_id is not None:
        stmt = stmt.where(AiUsage.account_id == window.account_id)
    return [
        DayTokens(
            day=as_date(value),
            calls=int(calls),
            llm_calls=int(llm_calls),
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
        )
        for value, calls, llm_calls, prompt, completion in session.execute(stmt)
    ]


def _wait_times(session: Session, window: Window) -> tuple[Waits, Waits]:
    """Fans' waits from their message to the approved reply's send, and to its delivery."""
    stmt = (
        select(Message.sent_at, Send.created_at, Send.delivered_at)
        .select_from(Draft)
        .join(Conversation, Draft.conversation_id == Conversation.id)
        .join(Message, Draft.message_id == Message.id)
        .join(Send, Send.draft_id == Draft.id)
        .where(
            Draft.status == DraftStatus.approved,
            Draft.kind.not_in(NUDGE_KINDS),
            window.holds(Draft.created_at),
        )
    )
    to_approval: list[float] = []
    to_delivery: list[float] = []
    for sent_at, approved_at, delivered_at in session.execute(_of_account(stmt, window)):
        to_approval.append((approved_at - sent_at).total_seconds())
        if delivered_at is not None:
            to_delivery.append((delivered_at - sent_at).total_seconds())
    return _waits(to_approval), _waits(to_delivery)


def report(session: Session, window: Window) -> AiReport:
    """The AI analytics of `window`."""
    decisions, confidence = _decisions(session, window)
    hits, hit_drafts = _filter_hits(session, window)
    flags, flagged = _guard_flags(session, window)
    to_approval, to_delivery = _wait_times(session, window)
    return AiReport(
        window=window,
        decisions=decisions,
        average_confidence=confidence,
        filter_hits=hits,
        drafts_with_filter_hits=hit_drafts,
        guard_flags=flags,
        flagged_conversations=flagged,
        tokens=_tokens(session, window),
        to_approval=to_approval,
        to_delivery=to_delivery,
    )


def cost_usd(settings: Settings, prompt_tokens: int, completion_tokens: int) -> float:
    """An estimate of what the tokens cost at the settings' prices per 1,000 tokens."""
    return (
        prompt_tokens / 1000 * settings.ai_price_prompt_per_1k_usd
        + completion_tokens / 1000 * settings.ai_price_completion_per_1k_usd
    )
