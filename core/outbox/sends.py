"""Sends: the outbox. A send moves queued -> claimed -> typing -> submitted -> delivered,
or ends failed (after its retries) or cancelled. Workers drive it over the worker API."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.crm.accounts import account_access, pause_if_throttled_too_often
from core.crm.conversations import newest_message
from core.enums import IN_FLIGHT, ON_ITS_WAY, AccountStatus, Direction, SendPriority, SendStatus
from core.errors import InvalidState, NotFound, get_or_raise
from core.fleet import queues, rq_repairs
from core.fleet.dispatch import dispatch_send
from core.fleet.lease import held_by
from core.fleet.protocol import SendClaim, SendProgress, SendResult, SendTicket, ThrottleReport
from core.models import Conversation, Message, Send
from core.outbox import bulk
from core.outbox.gate import Override, SendRefused, SendRequest, SendSource, admit_send
from core.paging import Page, SortKey, paginate
from core.settings import Settings

# Statuses a worker holds a send in; the order is the only direction progress may take.
# Nothing has been typed yet in these, so an operator may still call the send off.
_CANCELLABLE = (SendStatus.queued, SendStatus.claimed)
# Backoff jitter: a uniform factor around 1, so retries of sends that failed together
# (a platform hiccup) do not all come back at the same instant.
JITTER = (0.5, 1.5)


def retry_delay_s(settings: Settings, failed_attempt: int, jitter: float) -> float:
    """Real seconds to wait after attempt `failed_attempt` failed: base · 2^(n-1) · jitter,
    scaled by the time scale."""
    if failed_attempt < 1:
        raise ValueError("failed_attempt starts at 1")
    return settings.scaled(settings.retry_base_s * 2 ** (failed_attempt - 1) * jitter)


def back_to_queue(send: Send, *, not_before: datetime | None = None) -> None:
    """Put a send back in the queue as a new attempt: a new number, hence a new job id,
    since the old attempt's job may linger in RQ. Only `fail_attempt` counts a failure
    against `max_attempts`: an attempt lost through no fault of the send (a dead worker,
    throttling, a rejected login) costs it nothing. `not_before` holds it back for a
    backoff."""
    send.attempt += 1
    send.status = SendStatus.queued
    send.worker_id = None
    send.claimed_at = None
    send.next_attempt_at = not_before


def list_sends(
    session: Session,
    *,
    status: SendStatus | None,
    account_id: int | None,
    limit: int,
    cursor: str | None,
) -> Page[Send]:
    """Sends, newest first."""
    stmt = select(Send)
    if status is not None:
        stmt = stmt.where(Send.status == status)
    if account_id is not None:
        stmt = stmt.where(Send.account_id == account_id)
    return paginate(session, stmt, [SortKey(Send.id, descending=True)], limit=limit, cursor=cursor)


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
    override: Override | None = None,
    media: tuple[str, ...] = (),
) -> Send:
    """Queue a message an operator wrote themselves, and enqueue its job after commit.

    It passes the gate (`core.outbox.gate`) like every send: refused (`SendRefused`,
    naming the rules, the refusal audited) unless an admin's `override` says why."""
    conversation = get_or_raise(session, Conversation, conversation_id)
    request = SendRequest(
        conversation=conversation,
        text=text,
        source=SendSource.direct,
        actor=actor,
        ppv_price_cents=ppv_price_cents,
        media=media,
        override=override,
    )
    try:
        send = admit_send(session, settings, request).send
    except SendRefused:
        session.commit()
        raise
    session.commit()
    dispatch_send(redis, settings, send)
    return send


def claim_send(
    session: Session,
    redis: Redis,
    settings: Settings,
    send_id: int,
    claim: SendClaim,
    *,
    key_name: str,
) -> SendTicket:
    """Hand a send to a worker. A queued send is simply claimed. A send already claimed,
    typing or submitted is another worker's while that worker holds the account's lease
    (`InvalidState`: one claimant at a time); once the lease is gone it belongs to an attempt
    that died, and is re-claimed with `verify`, as is a retry of an attempt that had started
    typing, or one the reconciler recovered from a dead worker: the worker reads the thread
    before typing again. Finished and cancelled sends are refused."""
    send = get_or_raise(session, Send, send_id, for_update=True)
    if send.status not in ON_ITS_WAY:
        raise InvalidState(f"send {send_id} is {send.status.value}; it cannot be claimed")
    if (
        send.status in IN_FLIGHT
        and send.worker_id not in (None, claim.worker_id)
        and held_by(redis, settings.redis_key_prefix, send.account_id, send.worker_id)
    ):
        raise InvalidState(
            f"send {send_id} is claimed by worker {send.worker_id}, which holds its account"
        )
    if claim.attempt is not None and claim.attempt != send.attempt:
        # The job outlived its attempt (its worker was judged dead before it claimed, say):
        # the send is queued again under a new job, which alone may claim it.
        raise InvalidState(
            f"attempt {claim.attempt} of send {send_id} is over; it is at attempt {send.attempt}"
        )
    if send.account.status != AccountStatus.active:
        # Held, not failed: the row stays queued and runs once the account is active again.
        raise InvalidState(
            f"account {send.account_id} is {send.account.status.value}; its sends are held"
        )
    if (
        send.priority == SendPriority.bulk
        and send.status == SendStatus.queued
        and bulk.priority_send_waiting(session, send.account_id)
    ):
        bulk.step_aside(session, send)
        session.commit()
        raise InvalidState(f"send {send_id} is bulk and steps aside for a waiting reply")
    previous = send.status
    since = send.typing_at or send.verify_since
    verify = previous in IN_FLIGHT or since is not None
    send.status = SendStatus.claimed
    send.worker_id = claim.worker_id
    send.claimed_at = utcnow()
    send.next_attempt_at = None
    audit.record(
        session,
        claim.worker_id,
        "send.reclaimed" if previous in IN_FLIGHT else "send.claimed",
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
        media=list(send.media or []),
        attempt=send.attempt,
        claimed_at=send.claimed_at,
        verify=verify,
        inbound_chars=_answered_length(session, send),
        typing_started_at=since if verify else None,
    )


def _answered_length(session: Session, send: Send) -> int:
    """Length of the newest fan message in the conversation, which the typist "reads"
    before answering; 0 when the send answers nothing (a campaign's first word)."""
    newest = newest_message(session, send.conversation_id, Direction.inbound)
    return 0 if newest is None else len(newest.text)


def _check_holder(send: Send, worker_id: str) -> None:
    """Refuse unless `worker_id` holds the send in flight: a stale worker whose send was
    re-claimed by another must stop."""
    if send.status not in IN_FLIGHT:
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
    if IN_FLIGHT.index(progress.status) < IN_FLIGHT.index(send.status):
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


def _deliver(
    session: Session, send: Send, result: SendResult, key_name: str, lease_held: bool | None
) -> None:
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
        lease_held=lease_held,
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
    with attempts left queues the next attempt (a new job id) after a backoff
    (`retry_delay_s`, held in `next_attempt_at`); any other failure is final. Reporting the
    same delivery twice returns the send unchanged. The audit entry says whether the worker
    still held the account's lease (`lease_held`): a job reports before it lets go."""
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
    # A worker reports before it lets the account go; one without the lease came too late.
    lease_held = held_by(redis, settings.redis_key_prefix, send.account_id, result.worker_id)
    if result.status == SendStatus.delivered:
        _deliver(session, send, result, key_name, lease_held)
        session.commit()
        bulk.release_next_bulk(session, redis, settings, send.account_id)
        return send
    send.artifacts = {**send.artifacts, **result.artifacts}
    fail_attempt(
        session,
        redis,
        settings,
        send,
        error=result.error,
        retryable=result.retryable,
        actor=result.worker_id,
        key=key_name,
        lease_held=lease_held,
    )
    return send


def fail_attempt(
    session: Session,
    redis: Redis,
    settings: Settings,
    send: Send,
    *,
    error: str | None,
    retryable: bool,
    actor: str,
    **detail: object,
) -> None:
    """Count the send's current attempt as failed with `error`, and commit. With attempts
    left a retryable failure queues the next attempt (a new job id) after a backoff
    (`retry_delay_s`, held in `next_attempt_at`); any other failure is final, and the send
    waits among the dead letters for an operator. `detail` goes to the audit entry."""
    send.last_error = error
    send.failed_attempts += 1
    retry = retryable and send.failed_attempts < send.max_attempts
    audit.record(
        session,
        actor,
        "send.retry" if retry else "send.failed",
        "send",
        send.id,
        attempt=send.attempt,
        failed_attempts=send.failed_attempts,
        retryable=retryable,
        **detail,
    )
    if not retry:
        send.status = SendStatus.failed
        send.next_attempt_at = None
        session.commit()
        logger.bind(send_id=send.id, attempts=send.attempt).warning("send failed for good")
        bulk.release_next_bulk(session, redis, settings, send.account_id)
        return
    # typing_at stays: it tells the next claim that this attempt may have typed already.
    delay = retry_delay_s(settings, send.failed_attempts, random.uniform(*JITTER))
    back_to_queue(send, not_before=utcnow() + timedelta(seconds=delay))
    session.commit()
    dispatch_send(redis, settings, send)


def requeue_sends(
    session: Session, redis: Redis, settings: Settings, send_ids: Sequence[int], *, actor: str
) -> list[Send]:
    """Give failed sends (the dead letters) a fresh set of attempts and queue them now.
    All or nothing: an unknown id is `NotFound`, a send that is not failed is `InvalidState`
    and nothing changes. An earlier attempt that had typed still makes the next claim
    verify first."""
    rows = session.scalars(
        select(Send).where(Send.id.in_(send_ids)).order_by(Send.id).with_for_update()
    ).all()
    found = {send.id for send in rows}
    missing = [send_id for send_id in send_ids if send_id not in found]
    if missing:
        raise NotFound(f"send {missing[0]} not found")
    not_failed = [send for send in rows if send.status != SendStatus.failed]
    if not_failed:
        listed = ", ".join(f"{send.id} ({send.status.value})" for send in not_failed)
        raise InvalidState(f"only failed sends can be requeued; not failed: {listed}")
    for send in rows:
        previous_attempt = send.attempt
        back_to_queue(send)
        send.failed_attempts = 0
        audit.record(
            session,
            actor,
            "send.requeued",
            "send",
            send.id,
            previous_attempt=previous_attempt,
            attempt=send.attempt,
            max_attempts=send.max_attempts,
        )
    session.commit()
    for send in rows:
        dispatch_send(redis, settings, send)
    return list(rows)


def cancel_send(
    session: Session, redis: Redis, settings: Settings, send_id: int, *, actor: str
) -> Send:
    """Call off a queued or claimed send. A worker holding it gets 409 on its next progress
    report, which comes before the first keystroke, so it is never typed. A send already
    typing or submitted may be on the page and cannot be cancelled."""
    send = get_or_raise(session, Send, send_id, for_update=True)
    if send.status not in _CANCELLABLE:
        raise InvalidState(
            f"send {send_id} is {send.status.value}; only queued or claimed sends can be cancelled"
        )
    previous = send.status
    send.status = SendStatus.cancelled
    send.next_attempt_at = None
    audit.record(
        session,
        actor,
        "send.cancelled",
        "send",
        send.id,
        previous_status=previous.value,
        worker_id=send.worker_id,
        attempt=send.attempt,
    )
    session.commit()
    # A retry waiting in RQ's scheduled registry would otherwise stay there for good; a
    # queued job is harmless, its claim is refused.
    try:
        rq_repairs.drop_scheduled(redis, queues.send_job_id(send.id, send.attempt))
    except RedisError as exc:
        logger.bind(send_id=send.id, error=type(exc).__name__).warning(
            "could not drop the cancelled send's scheduled job"
        )
    bulk.release_next_bulk(session, redis, settings, send.account_id)
    return send


def defer_throttled(
    session: Session,
    redis: Redis,
    settings: Settings,
    send_id: int,
    report: ThrottleReport,
    *,
    key_name: str,
) -> Send:
    """Put a send the platform throttled back in the queue until the worker's backoff
    ends. Throttling is the platform's pace, not the send's fault: the attempt does not
    count. After the profile's `pause_after` signals in its window the account is paused
    until an operator resumes it, and its sends are held."""
    send = get_or_raise(session, Send, send_id, for_update=True)
    _check_holder(send, report.worker_id)
    account = send.account
    audit.record(
        session,
        report.worker_id,
        "send.throttled",
        "send",
        send.id,
        key=key_name,
        attempt=send.attempt,
        signal=report.signal,
        backoff_s=round(report.backoff_s, 3),
        signals_in_window=report.signals_in_window,
    )
    pause_if_throttled_too_often(session, settings, account, report.signals_in_window)
    back_to_queue(send, not_before=utcnow() + timedelta(seconds=report.backoff_s))
    session.commit()
    if account.status == AccountStatus.active:
        dispatch_send(redis, settings, send)
    return send
