"""Drafts: written for an inbound message, then approved into a send or rejected."""

from __future__ import annotations

from loguru import logger
from redis import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.db import Page, paginate, utcnow
from core.drafting.base import ConversationTurn, DraftContext, Drafter, Persona
from core.drafting.offline import TIP_KIND
from core.errors import InvalidState, get_or_raise
from core.models import Account, Conversation, Draft, DraftStatus, Message, Send, SendPriority
from core.outbox import dispatch_send
from core.settings import Settings
from core.worker_protocol import Direction, SendStatus

HISTORY_MESSAGES = 10
AUTO_SEND_ACTOR = "policy:auto_send"


def list_drafts(
    session: Session,
    *,
    status: DraftStatus | None,
    account_id: int | None,
    limit: int,
    offset: int,
) -> Page[Draft]:
    """Drafts, oldest first, so operators work through them in the order fans wrote."""
    stmt = select(Draft).order_by(Draft.id)
    if status is not None:
        stmt = stmt.where(Draft.status == status)
    if account_id is not None:
        stmt = stmt.join(Conversation).where(Conversation.account_id == account_id)
    return paginate(session, stmt, limit, offset)


def get_draft(session: Session, draft_id: int) -> Draft:
    """One draft, or `NotFound`."""
    return get_or_raise(session, Draft, draft_id)


def _context(session: Session, message: Message, account: Account) -> DraftContext:
    recent = session.scalars(
        select(Message)
        .where(Message.conversation_id == message.conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(HISTORY_MESSAGES)
    ).all()
    return DraftContext(
        persona=Persona.model_validate(account.persona),
        fan_name=message.conversation.fan.name,
        inbound_text=message.text,
        history=[ConversationTurn(m.direction.value, m.text) for m in reversed(recent)],
        kind=TIP_KIND if message.tip_cents > 0 else "reply",
        seed=message.id,
    )


def create_draft_for_message(
    session: Session, redis: Redis, settings: Settings, drafter: Drafter, message_id: int
) -> int | None:
    """Draft a reply to an inbound message and commit it as pending; return the draft id.

    Idempotent: a message that already has a draft returns that draft's id. Returns None,
    drafting nothing, when the message is outbound or no longer the conversation's newest
    (a later message, or a reply already sent, supersedes it). With the account's
    `auto_send` on, the draft is approved at once by the auto-send policy.
    """
    existing = session.scalar(select(Draft.id).where(Draft.message_id == message_id))
    if existing is not None:
        return existing
    message = get_or_raise(session, Message, message_id)
    newest = session.scalar(
        select(Message.id)
        .where(Message.conversation_id == message.conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(1)
    )
    log = logger.bind(message_id=message_id, conversation_id=message.conversation_id)
    if message.direction != Direction.inbound or newest != message.id:
        log.info("message superseded or outbound; no draft")
        return None
    account = message.conversation.account
    context = _context(session, message, account)
    result = drafter.draft(context)
    draft = Draft(
        conversation_id=message.conversation_id,
        message_id=message.id,
        kind=context.kind,
        text=result.text,
        provider=result.provider,
        model=result.model,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        status=DraftStatus.pending,
    )
    session.add(draft)
    try:
        session.flush()
    except IntegrityError:
        # Another run of this job stored its draft first; that one stands.
        session.rollback()
        return session.scalar(select(Draft.id).where(Draft.message_id == message_id))
    audit.record(
        session,
        f"drafter:{result.provider}",
        "draft.created",
        "draft",
        draft.id,
        provider=result.provider,
        model=result.model,
        message_id=message.id,
    )
    session.commit()
    log.bind(draft_id=draft.id, provider=result.provider).info("draft created")
    if account.auto_send:
        approve_draft(session, redis, settings, draft.id, actor=AUTO_SEND_ACTOR)
    return draft.id


def _pending(session: Session, draft_id: int) -> Draft:
    draft = get_or_raise(session, Draft, draft_id, for_update=True)
    if draft.status != DraftStatus.pending:
        raise InvalidState(
            f"draft {draft_id} is {draft.status.value}; only pending drafts can be decided"
        )
    return draft


def approve_draft(
    session: Session,
    redis: Redis,
    settings: Settings,
    draft_id: int,
    *,
    actor: str,
    text: str | None = None,
) -> tuple[Draft, Send]:
    """Approve a pending draft, optionally with edited text, and queue its send.

    The draft's decision and the new send are one transaction; the send job is enqueued
    after it commits.
    """
    draft = _pending(session, draft_id)
    edited = text is not None and text != draft.text
    if text is not None:
        draft.text = text
    draft.status = DraftStatus.approved
    draft.decided_by = actor
    draft.decided_at = utcnow()
    send = Send(
        account_id=draft.conversation.account_id,
        conversation_id=draft.conversation_id,
        draft_id=draft.id,
        text=draft.text,
        status=SendStatus.queued,
        priority=SendPriority.reply,
        attempt=1,
        artifacts={},
        created_by=actor,
    )
    session.add(send)
    session.flush()
    audit.record(session, actor, "draft.approved", "draft", draft.id, edited=edited)
    audit.record(
        session, actor, "send.created", "send", send.id, draft_id=draft.id, priority="reply"
    )
    session.commit()
    dispatch_send(redis, settings, send)
    return draft, send


def reject_draft(session: Session, draft_id: int, *, actor: str, reason: str) -> Draft:
    """Reject a pending draft; `reason` is required and kept with the decision."""
    if not reason.strip():
        raise InvalidState("a rejection needs a reason")
    draft = _pending(session, draft_id)
    draft.status = DraftStatus.rejected
    draft.decided_by = actor
    draft.decided_at = utcnow()
    draft.reason = reason
    audit.record(session, actor, "draft.rejected", "draft", draft.id)
    session.commit()
    return draft
