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

from collections.abc import Sequence
from dataclasses import dataclass

from loguru import logger
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, offer_check
from core.db import utcnow
from core.errors import NotFound
from core.models import Conversation, Send, SendPriority
from core.outbox import dispatch_send
from core.settings import Settings
from core.worker_protocol import ON_ITS_WAY, SendStatus


@dataclass(frozen=True)
class BulkSkip:
    """A conversation a bulk send left out, and why."""

    conversation_id: int
    reason: str


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
) -> BulkCreated:
    """Queue one bulk send per conversation and release the first of each account.

    A PPV passes the offers check (`core.offer_check`) per conversation, in order, each
    counting the sends queued before it: a conversation whose fan the wellbeing guard
    flags, or whom the PPV would take past their daily spend cap, gets no send and is
    returned as skipped with the reason (audited); the others are sent."""
    unique_ids = list(dict.fromkeys(conversation_ids))
    conversations = {
        c.id: c
        for c in session.scalars(select(Conversation).where(Conversation.id.in_(unique_ids)))
    }
    missing = [cid for cid in unique_ids if cid not in conversations]
    if missing:
        raise NotFound(f"conversation(s) {missing} not found")
    now = utcnow()
    sends: list[Send] = []
    skipped: list[BulkSkip] = []
    for cid in unique_ids:
        if ppv_price_cents is not None:
            barred = offer_check.barred(session, conversations[cid], ppv_price_cents, now)
            if barred is not None:
                skipped.append(BulkSkip(conversation_id=cid, reason=barred))
                audit.record(
                    session,
                    actor,
                    offer_check.OFFER_REFUSED_ACTION,
                    "conversation",
                    cid,
                    reason=barred,
                    ppv_price_cents=ppv_price_cents,
                    priority=SendPriority.bulk.value,
                )
                continue
        send = Send(
            account_id=conversations[cid].account_id,
            conversation_id=cid,
            text=text,
            ppv_price_cents=ppv_price_cents,
            status=SendStatus.queued,
            priority=SendPriority.bulk,
            attempt=1,
            max_attempts=settings.max_attempts,
            artifacts={},
            created_by=actor,
        )
        session.add(send)
        sends.append(send)
        if ppv_price_cents is not None:
            # Flushed now, so a later conversation of the same fan counts it as offered.
            session.flush()
    session.flush()
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
    for account_id in sorted({send.account_id for send in sends}):
        release_next_bulk(session, redis, settings, account_id)
    return BulkCreated(sends=sends, skipped=skipped)


def priority_send_waiting(session: Session, account_id: int) -> bool:
    """Whether a reply or direct send of the account is queued, waiting for its turn."""
    return (
        session.scalar(
            select(Send.id)
            .where(
                Send.account_id == account_id,
                Send.status == SendStatus.queued,
                Send.priority != SendPriority.bulk,
            )
            .limit(1)
        )
        is not None
    )


def release_next_bulk(
    session: Session, redis: Redis, settings: Settings, account_id: int
) -> Send | None:
    """Hand the account's oldest waiting bulk send to the workers, unless a reply or direct
    send is waiting or another bulk send is already out; return it, or None."""
    if priority_send_waiting(session, account_id):
        session.rollback()
        return None
    out = session.scalar(
        select(Send.id)
        .where(
            Send.account_id == account_id,
            Send.priority == SendPriority.bulk,
            Send.status.in_(ON_ITS_WAY),
            Send.released_at.is_not(None),
        )
        .limit(1)
    )
    if out is not None:
        session.rollback()
        return None
    send = session.scalar(
        select(Send)
        .where(
            Send.account_id == account_id,
            Send.priority == SendPriority.bulk,
            Send.status == SendStatus.queued,
            Send.released_at.is_(None),
        )
        .order_by(Send.id)
        .limit(1)
        .with_for_update()
    )
    if send is None:
        session.rollback()
        return None
    send.released_at = utcnow()
    session.commit()
    dispatch_send(redis, settings, send)
    logger.bind(account_id=account_id, send_id=send.id).debug("bulk send released")
    return send


def step_aside(session: Session, send: Send) -> None:
    """Take a released bulk send back out of RQ because a reply is waiting. Its job ends
    unclaimed, so the next release needs a new job id; that is not a failed attempt."""
    send.released_at = None
    send.attempt += 1
    send.max_attempts += 1
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
