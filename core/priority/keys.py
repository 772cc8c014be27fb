"""The approval queue's keys, kept on each draft's row so the queue reads by index.

A draft's place depends on its fan's spend, its kind, when the fan's wait began and the
account's response target. All but the clock are stored on the draft (`stamp`), and
restamped on every pending draft when one of them changes: a fan's spend (`restamp_fans`,
from ingest) or an account's approval policy (`retarget`). The clock is added as the
queue is read (`core.review.listing`).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import epoch_ms, utcnow
from core.drafting.fan import spend_tier
from core.enums import NUDGE_KINDS, DraftStatus
from core.guardrails.policy import ApprovalPolicy
from core.models import DRAFT_IS_PENDING, Account, Conversation, Draft, Fan, Message
from core.priority.order import points


def target_ms(policy: ApprovalPolicy) -> int:
    """The policy's response target in whole milliseconds (at least one)."""
    return max(round(policy.response_target_s * 1000), 1)


def stamp(draft: Draft, message: Message) -> None:
    """Put the queue keys on `draft`, whose kind is set, written for `message` (for a nudge,
    the fan's last message): a reply's wait begins at the message, a nudge's at the
    draft's creation."""
    conversation = message.conversation
    fan = conversation.fan
    if draft.kind in NUDGE_KINDS:
        draft.created_at = draft.created_at or utcnow()
        since = draft.created_at
    else:
        since = message.sent_at
    draft.account_id = conversation.account_id
    _value(draft, fan.total_spend_cents)
    draft.wait_since_ms = epoch_ms(since)
    draft.target_ms = target_ms(conversation.account.policy)


def _value(draft: Draft, total_spend_cents: int) -> None:
    draft.fan_tier = spend_tier(total_spend_cents)
    draft.queue_rank = -points(draft.fan_tier, total_spend_cents, draft.kind)


def restamp_fans(session: Session, fans: Collection[Fan]) -> None:
    """Reprice the pending drafts of `fans`, whose spend changed."""
    spend = {fan.id: fan.total_spend_cents for fan in fans}
    if not spend:
        return
    fan_of = {
        conversation_id: fan_id
        for conversation_id, fan_id in session.execute(
            select(Conversation.id, Conversation.fan_id).where(Conversation.fan_id.in_(spend))
        )
    }
    if not fan_of:
        return
    drafts = session.scalars(
        select(Draft).where(Draft.conversation_id.in_(fan_of), DRAFT_IS_PENDING)
    )
    for draft in drafts:
        _value(draft, spend[fan_of[draft.conversation_id]])


def retarget(session: Session, account: Account) -> None:
    """Give the pending drafts of `account` its current response target."""
    session.execute(
        update(Draft)
        .where(Draft.account_id == account.id, Draft.status == DraftStatus.pending)
        .values(target_ms=target_ms(account.policy))
    )
