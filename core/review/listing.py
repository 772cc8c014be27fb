"""The approval queue as operators read it: drafts with their fan's tier and their
standing (`core.review.queue_order` orders them), filtered and paged."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from core.clock import utcnow
from core.db import Page
from core.drafting.fan import TIER_LOW_CENTS, TIER_MID_CENTS, TIER_TOP_CENTS, SpendTier, spend_tier
from core.enums import NUDGE_KINDS, DraftStatus
from core.errors import get_or_raise
from core.guardrails.policy import ApprovalPolicy
from core.models import Account, Conversation, Draft, Fan, Message
from core.review import queue_order as review_queue
from core.review.queue_order import Standing
from core.settings import Settings


@dataclass(frozen=True)
class QueuedDraft:
    """A draft with its fan's spend tier and its standing in the approval queue."""

    draft: Draft
    fan_tier: SpendTier
    standing: Standing


_TIER_BOUNDS: dict[SpendTier, tuple[int | None, int | None]] = {
    SpendTier.none: (None, TIER_LOW_CENTS),
    SpendTier.low: (TIER_LOW_CENTS, TIER_MID_CENTS),
    SpendTier.mid: (TIER_MID_CENTS, TIER_TOP_CENTS),
    SpendTier.top: (TIER_TOP_CENTS, None),
}


def _in_tier(tier: SpendTier) -> ColumnElement[bool]:
    """Fans of `tier`, by the spend bounds `spend_tier` uses."""
    low, high = _TIER_BOUNDS[tier]
    clauses = []
    if low is not None:
        clauses.append(Fan.total_spend_cents >= low)
    if high is not None:
        clauses.append(Fan.total_spend_cents < high)
    return and_(*clauses)


def _queued(
    settings: Settings,
    draft: Draft,
    sent_at: datetime,
    total_spend_cents: int,
    policy: ApprovalPolicy,
    now: datetime,
) -> QueuedDraft:
    """`draft` with its standing; the wait runs to the decision, or to `now` while the
    draft is pending, from the fan's message, or for a nudge (which answers nobody) from
    the draft's creation."""
    pending = draft.status == DraftStatus.pending
    target = policy.response_target_s
    fan_tier = spend_tier(total_spend_cents)
    since = draft.created_at if draft.kind in NUDGE_KINDS else sent_at
    place = review_queue.standing(
        tier=fan_tier,
        total_spend_cents=total_spend_cents,
        kind=draft.kind,
        waiting_s=review_queue.waited(since, now if pending else draft.decided_at or now),
        target_s=settings.scaled(target),
        pending=pending,
    )
    return QueuedDraft(draft=draft, fan_tier=fan_tier, standing=place)


def list_drafts(
    session: Session,
    settings: Settings,
    *,
    status: DraftStatus | None,
    account_id: int | None,
    limit: int,
    offset: int,
    blocked: bool | None = None,
    tier: SpendTier | None = None,
    kind: str | None = None,
) -> Page[QueuedDraft]:
    """Drafts with their standing, filtered by status, account, blocked, fan tier and kind.

    Pending drafts come in queue order (`core.review.queue_order`: overdue fans first, then by
    priority), ranked whole on each call since the order moves with every account's
    response target and the clock. Any other listing is oldest first, a page at a time.
    """
    stmt = (
        select(Draft, Message.sent_at, Fan.total_spend_cents, Account.policy)
        .join(Conversation, Draft.conversation_id == Conversation.id)
        .join(Fan, Conversation.fan_id == Fan.id)
        .join(Account, Conversation.account_id == Account.id)
        .join(Message, Draft.message_id == Message.id)
        .order_by(Draft.id)
    )
    if status is not None:
        stmt = stmt.where(Draft.status == status)
    if blocked is not None:
        stmt = stmt.where(Draft.blocked.is_(blocked))
    if account_id is not None:
        stmt = stmt.where(Conversation.account_id == account_id)
    if tier is not None:
        stmt = stmt.where(_in_tier(tier))
    if kind is not None:
        stmt = stmt.where(Draft.kind == kind)
    now = utcnow()
    if status == DraftStatus.pending:
        ranked = sorted(
            (
                _queued(settings, draft, sent_at, spend, policy, now)
                for draft, sent_at, spend, policy in session.execute(stmt)
            ),
            key=lambda q: review_queue.sort_key(q.standing, q.draft.id),
        )
        return Page(
            items=ranked[offset : offset + limit], total=len(ranked), limit=limit, offset=offset
        )
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = session.execute(stmt.limit(limit).offset(offset))
    items = [
        _queued(settings, draft, sent_at, spend, policy, now)
        for draft, sent_at, spend, policy in rows
    ]
    return Page(items=items, total=total or 0, limit=limit, offset=offset)


def queued_draft(session: Session, settings: Settings, draft_id: int) -> QueuedDraft:
    """One draft with its standing, or `NotFound`."""
    draft = get_or_raise(session, Draft, draft_id)
    conversation = draft.conversation
    sent_at = session.get_one(Message, draft.message_id).sent_at
    return _queued(
        settings,
        draft,
        sent_at,
        conversation.fan.total_spend_cents,
        conversation.account.policy,
        utcnow(),
    )
