"""Bulk sends (mass messages): created in one batch, released to the workers one at a time
per account, so replies and direct sends always go first.

Every send of an account shares one driver and one pacing budget. If a campaign's sends
were all queued at once, a reply arriving behind them would wait for the whole campaign.
Instead only one bulk send per account is ever in RQ; it is released only when none of the
account's replies or direct sends is waiting, and a released bulk send that finds a reply
waiting when it is claimed steps aside. A waiting reply therefore waits for at most the
one bulk send already being typed, then one pacing gap.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from loguru import logger
from redis import Redis
from sqlalchemy import and_, exists, select, union
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.db import one_of
from core.enums import ON_ITS_WAY, CampaignStatus, SendPriority, SendStatus
from core.errors import NotFound
from core.fleet.dispatch import dispatch_send
from core.models import Campaign, CampaignVariant, Conversation, Send
from core.outbox.gate import SendRefused, SendRequest, SendSource, admit_many
from core.settings import Settings


@dataclass(frozen=True)
class BulkSkip:
    """A conversation a bulk send left out, and the rules that kept it out."""

    conversation_id: int
    reasons: list[str]

    @property
    def reason(self) -> str:
        """The reasons as one line."""
        return ", ".join(self.reasons)


@dataclass(frozen=True)
class BulkCreated:
    """The sends a bulk send queued, and the conversations it left out."""

    sends: list[Send]
    skipped: list[BulkSkip]


def create_bulk_sends(
    session: Session,
    redis: Redis,
    settings: Settings,
    *,
    conversation_ids: Sequence[int],
    text: str,
    ppv_price_cents: int | None,
    actor: str,
    media: tuple[str, ...] = (),
) -> BulkCreated:
    """Queue one bulk send per conversation and release the first of each account.

    Each conversation passes the gate (`core.outbox.gate.admit_many`: every fan read in a
    few queries for the whole batch) in order, a PPV's offers check counting the sends
    queued before it: a conversation the gate refuses (the content
    filter, the wellbeing guard, the daily spend cap) gets no send and is returned as
    skipped with the reasons, each refusal audited; the others are sent. Bulk sends are
    never overridden: an admin sends a refused one on its own."""
    unique_ids = list(dict.fromkeys(conversation_ids))
    conversations = {
        c.id: c
        for c in session.scalars(select(Conversation).where(Conversation.id.in_(unique_ids)))
    }
    missing = [cid for cid in unique_ids if cid not in conversations]
    if missing:
        raise NotFound(f"conversation(s) {missing} not found")
    requests = [
        SendRequest(
            conversation=conversations[cid],
            text=text,
            source=SendSource.bulk,
            actor=actor,
            ppv_price_cents=ppv_price_cents,
            media=media,
        )
        for cid in unique_ids
    ]
    made: list[int] = []
    skipped: list[BulkSkip] = []
    for cid, result in zip(
        unique_ids, admit_many(session, settings, requests, now=utcnow()), strict=True
    ):
        if isinstance(result, SendRefused):
            skipped.append(BulkSkip(conversation_id=cid, reasons=result.reasons))
        else:
            made.append(result.send_id)
    sends = list(
        session.scalars(select(Send).where(one_of(session, Send.id, made)).order_by(Send.id))
    )
    if sends:
        audit.record(
            session,
            actor,
            "bulk.created",
            "send",
            sends[0].id,
            sends=len(sends),
            skipped=len(skipped),
            ppv_price_cents=ppv_price_cents,
        )
    session.commit()
    release_next_bulks(session, redis, settings, {send.account_id for send in sends})
    return BulkCreated(sends=sends, skipped=skipped)


# A reply or direct send waiting for its turn: the account's bulk sends wait behind it.
_PRIORITY_WAITING = and_(Send.status == SendStatus.queued, Send.priority != SendPriority.bulk)
# A bulk send handed to the workers and not yet done: the account's next waits for it.
_BULK_OUT = and_(
    Send.priority == SendPriority.bulk,
    Send.status.in_(ON_ITS_WAY),
    Send.released_at.is_not(None),
)


def priority_send_waiting(session: Session, account_id: int) -> bool:
    """Whether a reply or direct send of the account is queued, waiting for its turn."""
    return (
        session.scalar(
            select(Send.id).where(Send.account_id == account_id, _PRIORITY_WAITING).limit(1)
        )
        is not None
    )


def release_next_bulk(
    session: Session, redis: Redis, settings: Settings, account_id: int
) -> Send | None:
    """Hand the account's oldest waiting bulk send to the workers, unless a reply or direct
    send is waiting or another bulk send is already out; return it, or None."""
    released = release_next_bulks(session, redis, settings, [account_id])
    return released[0] if released else None


def release_next_bulks(
    session: Session, redis: Redis, settings: Settings, account_ids: Iterable[int]
) -> list[Send]:
    """`release_next_bulk` for each of the accounts, in one transaction: a campaign
    reaches every account of the fleet, and a commit each would be a disk flush each.
    Which accounts must wait (a reply or direct send waiting, a bulk send out) is read
    for all of them in one query; the sends are then locked in the accounts' order, so
    two releases never deadlock."""
    accounts = sorted(set(account_ids))
    held = _held_back(session, accounts)
    released = [
        send
        for account_id in accounts
        if account_id not in held and (send := _next_bulk(session, account_id)) is not None
    ]
    if not released:
        session.rollback()
        return []
    now = utcnow()
    for send in released:
        send.released_at = now
    session.commit()
    for send in released:
        dispatch_send(redis, settings, send)
        logger.bind(account_id=send.account_id, send_id=send.id).debug("bulk send released")
    return released


def _held_back(session: Session, account_ids: Collection[int]) -> set[int]:
    """The accounts of `account_ids` whose bulk sends must wait: a reply or direct send of
    theirs is waiting, or a bulk send of theirs is already out."""
    if not account_ids:
        return set()
    of_accounts = one_of(session, Send.account_id, account_ids)
    return set(
        session.scalars(
            union(
                select(Send.account_id).where(of_accounts, _PRIORITY_WAITING),
                select(Send.account_id).where(of_accounts, _BULK_OUT),
            )
        )
    )


def _next_bulk(session: Session, account_id: int) -> Send | None:
    """The account's oldest waiting bulk send, locked (`_held_back` says whether it may go
    now)."""
    return session.scalar(
        select(Send)
        .where(
            Send.account_id == account_id,
            Send.priority == SendPriority.bulk,
            Send.status == SendStatus.queued,
            Send.released_at.is_(None),
            # A paused campaign's sends wait, behind the account's other bulk sends.
            ~exists().where(
                CampaignVariant.id == Send.campaign_variant_id,
                Campaign.id == CampaignVariant.campaign_id,
                Campaign.status != CampaignStatus.running,
            ),
        )
        .order_by(Send.id)
        .limit(1)
        .with_for_update(of=Send)
    )


def step_aside(session: Session, send: Send) -> None:
    """Take a released bulk send back out of RQ because a reply is waiting. Its job ends
    unclaimed, so the next release needs a new job id; that is not a failed attempt."""
    send.released_at = None
    send.attempt += 1
    audit.record(session, "policy:priority", "send.yielded", "send", send.id, attempt=send.attempt)


def accounts_with_unreleased_bulk(session: Session) -> list[int]:
    """Accounts holding bulk sends that wait to be released (for the reconciler)."""
    return list(
        session.scalars(
            select(Send.account_id)
            .where(
                Send.priority == SendPriority.bulk,
                Send.status == SendStatus.queued,
                Send.released_at.is_(None),
            )
            .distinct()
        )
    )
