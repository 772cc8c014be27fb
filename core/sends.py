"""Sends: the outbox. A send moves queued -> claimed -> typing -> submitted -> delivered,
or ends failed (after its retries) or cancelled. Workers drive it over the worker API."""

from __future__ import annotations

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.accounts import account_access
from core.db import Page, paginate, utcnow
from core.errors import InvalidState, get_or_raise
from core.models import Conversation, Message, Send, SendPriority
from core.outbox import dispatch_send
from core.settings import Settings
from core.worker_protocol import (
    Direction,
    SendClaim,
    SendProgress,
    SendResult,
    SendStatus,
    SendTicket,
)

# Statuses a worker holds a send in; the order is the only direction progress may take.
_IN_FLIGHT = (SendStatus.claimed, SendStatus.typing, SendStatus.submitted)


def list_sends(
    session: Session,
    *,
    status: SendStatus | None,
    account_id: int | None,
    limit: int,
    offset: int,
) -> Page[Send]:
    """Sends, newest first."""
    stmt = select(Send).order_by(Send.id.desc())
    if status is not None:
        stmt = stmt.where(Send.status == status)
    if account_id is not None:
        stmt = stmt.where(Send.account_id == account_id)
    return paginate(session, stmt, limit, offset)


def get_send(session: Session, send_id: int) -> Send:
    """One send, or `NotFound`."""
    return get_or_raise(session, Send, send_id)


def create_direct_send(
    session: Session,
    redis: Redis,
    settings: Settings,
    *,
    conversation_id: int,
    text: str,
    ppv_price_cents: int | None,
    actor: str,
) -> Send:
    """Queue a message an operator wrote themselves, and enqueue its job after commit."""
    conversation = get_or_raise(session, Conversation, conversation_id)
    send = Send(
        account_id=conversation.account_id,
        conversation_id=conversation.id,
        text=text,
        ppv_price_cents=ppv_price_cents,
        status=SendStatus.queued,
        priority=SendPriority.direct,
        attempt=1,
        artifacts={},
        created_by=actor,
    )
    session.add(send)
    session.flush()
    audit.record(
        session,
        actor,
        "send.created",
        "send",
        send.id,
        priority=SendPriority.direct.value,
        ppv_price_cents=ppv_price_cents,
    )
    session.commit()
    dispatch_send(redis, settings, send)
    return send


def claim_send(session: Session, send_id: int, claim: SendClaim, *, key_name: str) -> SendTicket:
    """Hand a send to a worker. A queued send is simply claimed. A send already claimed,
    typing or submitted belongs to an attempt that died; it is re-claimed with `verify`, and
    so is a retry of an attempt that had started typing: the worker reads the thread before
    typing again. Finished sends are refused."""
    send = get_or_raise(session, Send, send_id, for_update=True)
    if send.status not in (SendStatus.queued, *_IN_FLIGHT):
        raise InvalidState(f"send {send_id} is {send.status.value}; it cannot be claimed")
    previous = send.status
    verify = previous in _IN_FLIGHT or send.typing_at is not None
    send.status = SendStatus.claimed
    send.worker_id = claim.worker_id
    send.claimed_at = utcnow()
    audit.record(
        session,
        claim.worker_id,
        "send.reclaimed" if previous in _IN_FLIGHT else "send.claimed",
        "send",
        send.id,
        key=key_name,
        attempt=send.attempt,
        previous_status=previous.value,
        verify=verify,
    )
    session.commit()
    return SendTicket(
        send_id=send.id,
        account=account_access(send.account),
        platform_conversation_id=send.conversation.platform_conversation_id,
        text=send.text,
        ppv_price_cents=send.ppv_price_cents,
        attempt=send.attempt,
        claimed_at=send.claimed_at,
        verify=verify,
        typing_started_at=send.typing_at if verify else None,
    )


def _check_holder(send: Send, worker_id: str) -> None:
    """Refuse unless `worker_id` holds the send in flight: a stale worker whose send was
    re-claimed by another must stop."""
    if send.status not in _IN_FLIGHT:
        raise InvalidState(f"send {send.id} is {send.status.value}, not in flight")
    if send.worker_id != worker_id:
        raise InvalidState(
            f"send {send.id} is held by worker {send.worker_id!r}, not {worker_id!r}"
        )


def record_progress(
    session: Session, send_id: int, progress: SendProgress, *, key_name: str
) -> Send:
    """Move a send forward to typing or submitted. Repeating the current status is a no-op
    (a retried request); going backwards is refused."""
    if progress.status not in (SendStatus.typing, SendStatus.submitted):
        raise InvalidState(f"progress status must be typing or submitted, not {progress.status}")
    send = get_or_raise(session, Send, send_id, for_update=True)
    _check_holder(send, progress.worker_id)
    if send.status == progress.status:
        return send
    if _IN_FLIGHT.index(progress.status) < _IN_FLIGHT.index(send.status):
        raise InvalidState(
            f"send {send_id} is already {send.status.value}; it cannot go back to "
            f"{progress.status.value}"
        )
    now = utcnow()
    if progress.status == SendStatus.typing:
        send.typing_at = now
    else:
        send.submitted_at = now
    send.status = progress.status
    audit.record(
        session, progress.worker_id, f"send.{progress.status.value}", "send", send.id, key=key_name
    )
    session.commit()
    return send


def _deliver(session: Session, send: Send, result: SendResult, key_name: str) -> None:
    if not result.platform_message_id:
        raise InvalidState("a delivered send needs its platform_message_id")
    now = utcnow()
    send.status = SendStatus.delivered
    send.delivered_at = now
    send.platform_message_id = result.platform_message_id
    send.artifacts = {**send.artifacts, **result.artifacts}
    # The outbound message row, so the next scrape of this thread finds it a duplicate.
    held = session.scalar(
        select(Message.id).where(
            Message.conversation_id == send.conversation_id,
            Message.platform_message_id == result.platform_message_id,
        )
    )
    if held is None:
        session.add(
            Message(
                conversation_id=send.conversation_id,
                platform_message_id=result.platform_message_id,
                direction=Direction.outbound,
                text=send.text,
                sent_at=now,
                tip_cents=0,
                ppv_price_cents=send.ppv_price_cents,
                ppv_paid=False if send.ppv_price_cents is not None else None,
            )
        )
        conversation = send.conversation
        if conversation.last_message_at is None or now > conversation.last_message_at:
            conversation.last_message_at = now
    audit.record(
        session,
        result.worker_id,
        "send.delivered",
        "send",
        send.id,
        key=key_name,
        attempt=send.attempt,
    )


def record_result(
    session: Session,
    redis: Redis,
    settings: Settings,
    send_id: int,
    result: SendResult,
    *,
    key_name: str,
) -> Send:
    """Finish a send's attempt. Delivered stores the platform message; a retryable failure
    with attempts left queues the next attempt (a new job id); any other failure is final.
    Reporting the same delivery twice returns the send unchanged."""
    if result.status not in (SendStatus.delivered, SendStatus.failed):
        raise InvalidState(f"result status must be delivered or failed, not {result.status}")
    send = get_or_raise(session, Send, send_id, for_update=True)
    if (
        send.status == SendStatus.delivered
        and result.status == SendStatus.delivered
        and send.platform_message_id == result.platform_message_id
        and send.worker_id == result.worker_id
    ):
        return send
    _check_holder(send, result.worker_id)
    if result.status == SendStatus.delivered:
        _deliver(session, send, result, key_name)
        session.commit()
        return send
    send.last_error = result.error
    send.artifacts = {**send.artifacts, **result.artifacts}
    retry = result.retryable and send.attempt < send.max_attempts
    audit.record(
        session,
        result.worker_id,
        "send.retry" if retry else "send.failed",
        "send",
        send.id,
        key=key_name,
        attempt=send.attempt,
        retryable=result.retryable,
    )
    if not retry:
        send.status = SendStatus.failed
        session.commit()
        return send
    # typing_at stays: it tells the next claim that this attempt may have typed already.
    send.attempt += 1
    send.status = SendStatus.queued
    send.worker_id = None
    send.claimed_at = None
    session.commit()
    dispatch_send(redis, settings, send)
    return send
