"""The nudge pass: drafts that break a fan's silence, run by cron (`fleet nudge`) or an
operator (`POST /v1/accounts/{id}/nudges`).

A conversation is due a nudge at `now` when the fan has written in it, we spoke last, and
our last message has gone unanswered for the account's `follow_up_after_h`. It gets:

- a `re_engage` when the fan's last message is `re_engage_after_days` old and this
  silence has had no re-engagement yet;
- else a `follow_up` when this silence has had no nudge at all yet.

So a silence gets at most a follow-up, then a re-engagement, never the same one twice:
a silence is keyed by the fan's last message, which a nudge draft points at (unique per
kind in the database, so two passes racing cannot both nudge). A conversation with a
pending draft, a send still on its way, or a wellbeing flag is never nudged; nor is an
account that is not active or has `nudges` off. Thresholds are wall-clock time: a nudge
is about a person's days, not the fleet's test time scale.

Each nudge is drafted through `core.drafts.write_draft`, like every draft: the content
filter, the wellbeing guard, the approval policy and the AI budgets apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from loguru import logger
from redis import Redis
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from core import audit
from core.approval_policy import ApprovalPolicy
from core.db import utcnow
from core.drafting.base import NUDGE_KINDS, Drafter, DraftKind
from core.drafts import policy_of, write_draft
from core.errors import InvalidState, get_or_raise
from core.models import Account, AccountStatus, Conversation, Draft, DraftStatus, Message, Send
from core.settings import Settings
from core.worker_protocol import Direction, SendStatus

FINISHED_SENDS = (SendStatus.delivered, SendStatus.failed, SendStatus.cancelled)


@dataclass(frozen=True)
class Nudge:
    """A nudge due: its kind, and the fan's last message, whose silence it breaks."""

    kind: str
    message: Message


def _newest(session: Session, conversation_id: int, direction: Direction | None) -> Message | None:
    """The conversation's newest message, or its newest in `direction`."""
    stmt = select(Message).where(Message.conversation_id == conversation_id)
    if direction is not None:
        stmt = stmt.where(Message.direction == direction)
    stmt = stmt.order_by(Message.sent_at.desc(), Message.id.desc()).limit(1)
    return session.scalars(stmt).first()


def due(
    session: Session, conversation_id: int, policy: ApprovalPolicy, now: datetime
) -> Nudge | None:
    """The nudge `conversation_id` is due at `now` under `policy`, if any (the module
    docstring's rules; the caller checks the conversation's flag, drafts and sends)."""
    newest = _newest(session, conversation_id, None)
    if newest is None or newest.direction != Direction.outbound:
        return None
    if now - newest.sent_at < timedelta(hours=policy.follow_up_after_h):
        return None
    fans_last = _newest(session, conversation_id, Direction.inbound)
    if fans_last is None:
        return None
    nudged = set(
        session.scalars(
            select(Draft.kind).where(Draft.message_id == fans_last.id, Draft.kind.in_(NUDGE_KINDS))
        )
    )
    silent = now - fans_last.sent_at >= timedelta(days=policy.re_engage_after_days)
    if silent and DraftKind.re_engage not in nudged:
        return Nudge(DraftKind.re_engage, fans_last)
    if not nudged:
        return Nudge(DraftKind.follow_up, fans_last)
    return None


def _candidates(
    session: Session, account_id: int, policy: ApprovalPolicy, now: datetime
) -> Sequence[int]:
    """Conversations of the account quiet for `follow_up_after_h`, unflagged, with no
    pending draft and no send on its way: those that may be due, longest quiet first."""
    pending = exists().where(
        Draft.conversation_id == Conversation.id, Draft.status == DraftStatus.pending
    )
    sending = exists().where(
        Send.conversation_id == Conversation.id, Send.status.not_in(FINISHED_SENDS)
    )
    quiet_since = now - timedelta(hours=policy.follow_up_after_h)
    return session.scalars(
        select(Conversation.id)
        .where(
            Conversation.account_id == account_id,
            Conversation.flagged_for_review.is_(False),
            Conversation.last_message_at <= quiet_since,
            ~pending,
            ~sending,
        )
        .order_by(Conversation.last_message_at, Conversation.id)
    ).all()


def _nudge_account(
    session: Session,
    redis: Redis,
    settings: Settings,
    drafter: Drafter,
    account: Account,
    now: datetime,
    limit: int | None,
) -> list[int]:
    """Draft the nudges one account is due, at most `limit`; their draft ids."""
    account_id = account.id
    policy = policy_of(account)
    drafted: list[int] = []
    for conversation_id in _candidates(session, account_id, policy, now):
        if limit is not None and len(drafted) >= limit:
            break
        # Judged just before drafting: the last draft may have taken seconds, and the fan
        # may have written meanwhile.
        nudge = due(session, conversation_id, policy, now)
        if nudge is None:
            continue
        draft_id = write_draft(
            session, redis, settings, drafter, nudge.message, nudge=nudge.kind, now=now
        )
        if draft_id is not None:
            drafted.append(draft_id)
    logger.bind(account_id=account_id, drafted=len(drafted)).info("nudge pass done")
    return drafted


def run_nudges(
    session: Session,
    redis: Redis,
    settings: Settings,
    drafter: Drafter,
    *,
    account_id: int | None,
    actor: str,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Draft]:
    """Draft the nudges due at `now` (default: the current time), for one account or,
    when `account_id` is None, every active account with nudges on; at most `limit` per
    account. Returns the drafts written. An account asked for by id that is not active or
    has nudges off is refused (`InvalidState`). Each pass over an account is audited."""
    now = now or utcnow()
    if account_id is not None:
        account = get_or_raise(session, Account, account_id)
        if account.status != AccountStatus.active:
            raise InvalidState(f"account {account_id} is {account.status.value}; nothing is nudged")
        if not policy_of(account).nudges:
            raise InvalidState(f"account {account_id} has nudges off in its policy")
        account_ids = [account.id]
    else:
        accounts = session.scalars(
            select(Account).where(Account.status == AccountStatus.active).order_by(Account.id)
        ).all()
        account_ids = [account.id for account in accounts if policy_of(account).nudges]
    drafted: list[int] = []
    for one in account_ids:
        ids = _nudge_account(
            session, redis, settings, drafter, session.get_one(Account, one), now, limit
        )
        audit.record(session, actor, "nudges.run", "account", one, drafted=ids)
        session.commit()
        drafted += ids
    return [session.get_one(Draft, draft_id) for draft_id in drafted]
