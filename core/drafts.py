"""Drafts: written for an inbound message, then approved into a send or rejected."""

from __future__ import annotations

from collections.abc import Sequence

from loguru import logger
from redis import Redis
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, content_filter, wellbeing
from core.db import Page, paginate, utcnow
from core.drafting.base import ConversationTurn, DraftContext, Drafter, DraftKind, Persona
from core.drafting.fan import FanSnapshot, spend_tier
from core.errors import InvalidState, get_or_raise
from core.models import Conversation, Draft, DraftStatus, Fan, Message, Send, SendPriority
from core.outbox import dispatch_send
from core.settings import Settings
from core.wellbeing import GuardResult, SpendEvent
from core.worker_protocol import Direction, SendStatus

HISTORY_MESSAGES = 10
AUTO_SEND_ACTOR = "policy:auto_send"
FILTER_ACTOR = "policy:content_filter"
GUARD_ACTOR = "policy:wellbeing"
FLAG_REASON_MAX = 500


class DraftBlocked(InvalidState):
    """A draft held by the content filter or the wellbeing guard (answered with 409)."""

    def __init__(self, draft_id: int, reasons: list[str]) -> None:
        super().__init__(
            f"draft {draft_id} is blocked ({', '.join(reasons)}); only an admin can approve "
            "it, with override and an override_reason"
        )


def list_drafts(
    session: Session,
    *,
    status: DraftStatus | None,
    account_id: int | None,
    limit: int,
    offset: int,
    blocked: bool | None = None,
) -> Page[Draft]:
    """Drafts, oldest first, so operators work through them in the order fans wrote;
    `blocked` keeps only held (True) or only clean (False) drafts."""
    stmt = select(Draft).order_by(Draft.id)
    if status is not None:
        stmt = stmt.where(Draft.status == status)
    if blocked is not None:
        stmt = stmt.where(Draft.blocked.is_(blocked))
    if account_id is not None:
        stmt = stmt.join(Conversation).where(Conversation.account_id == account_id)
    return paginate(session, stmt, limit, offset)


def get_draft(session: Session, draft_id: int) -> Draft:
    """One draft, or `NotFound`."""
    return get_or_raise(session, Draft, draft_id)


def _recent(session: Session, message: Message) -> list[Message]:
    """The conversation's last `HISTORY_MESSAGES` messages up to `message`, oldest first."""
    rows = session.scalars(
        select(Message)
        .where(Message.conversation_id == message.conversation_id)
        .order_by(Message.sent_at.desc(), Message.id.desc())
        .limit(HISTORY_MESSAGES)
    ).all()
    return list(reversed(rows))


def _fan_snapshot(
    session: Session, fan: Fan, message: Message
) -> tuple[FanSnapshot, list[SpendEvent]]:
    """The fan as the prompt describes them, and their dated spend for the guard."""
    spends = session.execute(
        select(Message.sent_at, Message.tip_cents, Message.ppv_price_cents, Message.ppv_paid)
        .join(Conversation, Message.conversation_id == Conversation.id)
        .where(
            Conversation.fan_id == fan.id,
            or_(Message.tip_cents > 0, Message.ppv_paid.is_(True)),
        )
    ).all()
    events = []
    tips = paid_ppvs = 0
    for sent_at, tip_cents, ppv_price_cents, ppv_paid in spends:
        tips += tip_cents > 0
        paid = (ppv_price_cents or 0) if ppv_paid else 0
        paid_ppvs += paid > 0
        events.append(SpendEvent(at=sent_at, cents=tip_cents + paid))
    previous = session.scalar(
        select(Message.sent_at)
        .where(
            Message.conversation_id == message.conversation_id,
            Message.direction == Direction.inbound,
            Message.id != message.id,
            Message.sent_at <= message.sent_at,
        )
        .order_by(Message.sent_at.desc())
        .limit(1)
    )
    snapshot = FanSnapshot(
        tier=spend_tier(fan.total_spend_cents),
        total_spend_cents=fan.total_spend_cents,
        tips=tips,
        paid_ppvs=paid_ppvs,
        tags=tuple(fan.tags or ()),
        notes=fan.notes or "",
        since_previous_message=None if previous is None else message.sent_at - previous,
    )
    return snapshot, events


def _guard(
    conversation: Conversation,
    recent: Sequence[Message],
    events: list[SpendEvent],
    message: Message,
) -> GuardResult:
    """The wellbeing guard over the fan's recent messages and spend up to `message`."""
    fan_messages = [(m.id, m.text) for m in recent if m.direction == Direction.inbound]
    return wellbeing.assess(
        fan_messages,
        wellbeing.spend_window(events, message.sent_at),
        standing_flag=conversation.flag_reason if conversation.flagged_for_review else None,
    )


def _flag_conversation(
    session: Session, conversation: Conversation, guard: GuardResult, draft: Draft
) -> None:
    """Flag the conversation for a human with the guard's new signals, and audit it.
    Signals it already carries are not flagged (or audited) again."""
    held = (conversation.flag_reason or "").split(", ") if conversation.flagged_for_review else []
    held = [name for name in held if name]
    added = [name for name in guard.names() if name != wellbeing.STANDING_FLAG and name not in held]
    if not added:
        return
    conversation.flagged_for_review = True
    conversation.flag_reason = ", ".join([*held, *added])[:FLAG_REASON_MAX]
    conversation.flagged_at = conversation.flagged_at or utcnow()
    audit.record(
        session,
        GUARD_ACTOR,
        "conversation.flagged",
        "conversation",
        conversation.id,
        signals=added,
        draft_id=draft.id,
        message_id=draft.message_id,
    )


def create_draft_for_message(
    session: Session, redis: Redis, settings: Settings, drafter: Drafter, message_id: int
) -> int | None:
    """Draft a reply to an inbound message and commit it as pending; return the draft id.

    Idempotent: a message that already has a draft returns that draft's id. Returns None,
    drafting nothing, when the message is outbound or no longer the conversation's newest
    (a later message, or a reply already sent, supersedes it).

    The wellbeing guard reads the fan first: a flagged fan gets no sales kind, a prompt
    without sales talk, and a flagged conversation. The content filter then reads the
    drafted text. A hit of either holds the draft (`blocked`) for a human, even on an
    account with `auto_send`; a clean draft on such an account is approved at once.
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
    conversation = message.conversation
    account = conversation.account
    persona = Persona.model_validate(account.persona)
    recent = _recent(session, message)
    snapshot, events = _fan_snapshot(session, conversation.fan, message)
    guard = _guard(conversation, recent, events, message)
    kind = DraftKind.tip_thanks if message.tip_cents > 0 else DraftKind.reply
    context = DraftContext(
        persona=persona,
        fan_name=conversation.fan.name,
        inbound_text=message.text,
        history=[ConversationTurn(m.direction.value, m.text) for m in recent],
        kind=wellbeing.safe_kind(kind, guard),
        seed=message.id,
        fan=snapshot,
        wellbeing_flagged=guard.flagged,
    )
    # End the read transaction before drafting: an LLM call takes seconds, and SQLite's
    # BEGIN IMMEDIATE would hold the database's write lock all that time.
    session.commit()
    result = drafter.draft(context)
    screened = content_filter.check(result.text, persona.forbidden_words)
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
        fallback_reason=result.fallback_reason,
        filter_hits=[hit.as_dict() for hit in screened.hits],
        guard_signals=[signal.as_dict() for signal in guard.signals],
        blocked=screened.blocked or guard.flagged,
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
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        fallback_reason=result.fallback_reason,
        kind=draft.kind,
        blocked=draft.blocked,
        message_id=message.id,
    )
    if screened.blocked:
        audit.record(
            session, FILTER_ACTOR, "draft.filter_hits", "draft", draft.id, **screened.rule_counts()
        )
    if guard.flagged:
        _flag_conversation(session, conversation, guard, draft)
    session.commit()
    log.bind(
        draft_id=draft.id,
        provider=result.provider,
        fallback=result.fallback_reason is not None,
        blocked=draft.blocked,
    ).info("draft created")
    if account.auto_send:
        if draft.blocked:
            audit.record(
                session,
                AUTO_SEND_ACTOR,
                "draft.auto_send_held",
                "draft",
                draft.id,
                reasons=draft.block_reasons,
            )
            session.commit()
        else:
            approve_draft(session, redis, settings, draft.id, actor=AUTO_SEND_ACTOR)
    return draft.id


def _pending(session: Session, draft_id: int) -> Draft:
    draft = get_or_raise(session, Draft, draft_id, for_update=True)
    if draft.status != DraftStatus.pending:
        raise InvalidState(
            f"draft {draft_id} is {draft.status.value}; only pending drafts can be decided"
        )
    return draft


def _screen_edit(draft: Draft, text: str) -> None:
    """Put operator-edited `text` on the draft and re-run the content filter on it. The
    guard's signals are about the fan, not the text, so an edit never clears them."""
    persona = Persona.model_validate(draft.conversation.account.persona)
    screened = content_filter.check(text, persona.forbidden_words)
    draft.text = text
    draft.filter_hits = [hit.as_dict() for hit in screened.hits]
    draft.blocked = screened.blocked or bool(draft.guard_signals)


def approve_draft(
    session: Session,
    redis: Redis,
    settings: Settings,
    draft_id: int,
    *,
    actor: str,
    text: str | None = None,
    override_reason: str | None = None,
) -> tuple[Draft, Send]:
    """Approve a pending draft, optionally with edited text, and queue its send.

    Edited text passes the content filter first; what is checked is what gets sent. A
    blocked draft raises `DraftBlocked` (the refusal is audited) unless `override_reason`
    is given: callers pass it only for an admin who asked to override, and the override is
    audited with its reason. The draft's decision and the new send are one transaction;
    the send job is enqueued after it commits.
    """
    draft = _pending(session, draft_id)
    edited = text is not None and text != draft.text
    if text is not None and edited:
        _screen_edit(draft, text)
    overridden = False
    if draft.blocked:
        reasons = draft.block_reasons
        if override_reason is None:
            # Drop the edit but keep a record: a refused approval is a decision too.
            session.rollback()
            audit.record(
                session,
                actor,
                "draft.approval_refused",
                "draft",
                draft_id,
                reasons=reasons,
                edited=edited,
            )
            session.commit()
            raise DraftBlocked(draft_id, reasons)
        draft.override_reason = override_reason
        overridden = True
        audit.record(
            session,
            actor,
            "draft.override",
            "draft",
            draft.id,
            reasons=reasons,
            override_reason=override_reason,
        )
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
    audit.record(
        session, actor, "draft.approved", "draft", draft.id, edited=edited, override=overridden
    )
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
