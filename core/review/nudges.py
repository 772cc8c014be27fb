"""The nudge pass: drafts that break a fan's silence, run by cron (`fleet nudge`, at
once) or for an operator (`POST /v1/accounts/{id}/nudges`, queued on the `ai` queue:
a pass drafts for minutes with an LLM, far longer than a request should wait).

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

Each nudge is drafted through `core.review.writing.write_draft`, like every draft: the content
filter, the wellbeing guard, the approval policy and the AI budgets apply. An operator's
pass counts its LLM calls against that operator's hourly requests; cron's against no
one's. The pass's job is transport, like any: should Redis lose it, nothing is lost but
the pass itself, which the operator asks for again (and cron runs anyway).
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
from core.clock import utcnow
from core.crm.conversations import newest_message
from core.drafting.base import Drafter
from core.enums import NUDGE_KINDS, ON_ITS_WAY, AccountStatus, Direction, DraftKind, DraftStatus
from core.errors import InvalidState, get_or_raise
from core.fleet import queues, rq_repairs
from core.guardrails.policy import ApprovalPolicy
from core.models import Account, Conversation, Draft, Fan, Message, Send
from core.review.writing import write_draft
from core.settings import Settings


@dataclass(frozen=True)
class QueuedPass:
    """An operator's nudge pass on the `ai` queue: its job id, and whether this request
    queued it (False: a pass over the account was already waiting or running)."""

    job_id: str
    queued: bool


@dataclass(frozen=True)
class Nudge:
    """A nudge due: its kind, and the fan's last message, whose silence it breaks."""

    kind: str
    message: Message


def due(
    session: Session, conversation_id: int, policy: ApprovalPolicy, now: datetime
) -> Nudge | None:
    """The nudge `conversation_id` is due at `now` under `policy`, if any (the module
    docstring's rules; the caller checks the conversation's flag, drafts and sends)."""
    newest = newest_message(session, conversation_id)
    if newest is None or newest.direction != Direction.outbound:
        return None
    if now - newest.sent_at < timedelta(hours=policy.follow_up_after_h):
        return None
    fans_last = newest_message(session, conversation_id, Direction.inbound)
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
    sending = exists().where(Send.conversation_id == Conversation.id, Send.status.in_(ON_ITS_WAY))
    erased = exists().where(Fan.id == Conversation.fan_id, Fan.erased_at.is_not(None))
    quiet_since = now - timedelta(hours=policy.follow_up_after_h)
    return session.scalars(
        select(Conversation.id)
        .where(
            Conversation.account_id == account_id,
            Conversation.flagged_for_review.is_(False),
            Conversation.last_message_at <= quiet_since,
            ~pending,
            ~sending,
            ~erased,
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
    operator: str | None,
) -> list[int]:
    """Draft the nudges one account is due, at most `limit`; their draft ids."""
    account_id = account.id
    policy = account.policy
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
            session,
            redis,
            settings,
            drafter,
            nudge.message,
            nudge=nudge.kind,
            now=now,
            operator=operator,
        )
        if draft_id is not None:
            drafted.append(draft_id)
    logger.bind(account_id=account_id, drafted=len(drafted)).info("nudge pass done")
    return drafted


def nudgeable(session: Session, account_id: int) -> Account:
    """The account, when a nudge pass may run over it: `NotFound` when there is none,
    `InvalidState` when it is not active or its policy has nudges off."""
    account = get_or_raise(session, Account, account_id)
    if account.status != AccountStatus.active:
        raise InvalidState(f"account {account_id} is {account.status.value}; nothing is nudged")
    if not account.policy.nudges:
        raise InvalidState(f"account {account_id} has nudges off in its policy")
    return account


def queue_pass(
    session: Session, redis: Redis, account_id: int, *, operator: str, limit: int
) -> QueuedPass:
    """Queue a nudge pass over one account for `operator`, at most `limit` drafts, on the
    `ai` queue (`core.review.jobs.nudge_account` runs it). The account is checked now
    (`nudgeable`), and again when the pass runs. One pass per account waits or runs at a
    time: asking again meanwhile queues nothing and names the same job."""
    nudgeable(session, account_id)
    # A finished pass's job keeps the id; a waiting or running one is left alone.
    rq_repairs.discard_job(redis, queues.nudge_job_id(account_id))
    queued = queues.enqueue_nudges(redis, account_id, operator, limit)
    return QueuedPass(job_id=queues.nudge_job_id(account_id), queued=queued)


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
    operator: str | None = None,
) -> list[Draft]:
    """Draft the nudges due at `now` (default: the current time), for one account or,
    when `account_id` is None, every active account with nudges on; at most `limit` per
    account. Returns the drafts written. An account asked for by id that is not active or
    has nudges off is refused (`nudgeable`). Each pass over an account is audited as
    `actor`'s. `operator` is the operator who asked for the pass, if one did: its LLM
    calls count against their hourly requests."""
    now = now or utcnow()
    if account_id is not None:
        account_ids = [nudgeable(session, account_id).id]
    else:
        accounts = session.scalars(
            select(Account).where(Account.status == AccountStatus.active).order_by(Account.id)
        ).all()
        account_ids = [account.id for account in accounts if account.policy.nudges]
    drafted: list[int] = []
    for one in account_ids:
        ids = _nudge_account(
            session, redis, settings, drafter, session.get_one(Account, one), now, limit, operator
        )
        audit.record(session, actor, "nudges.run", "account", one, drafted=ids)
        session.commit()
        drafted += ids
    return [session.get_one(Draft, draft_id) for draft_id in drafted]
