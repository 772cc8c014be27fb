"""Drafts: written for an inbound message or a nudge, and redrafted on an operator's
request. The reviewer's decisions on them live in `core.review.decisions`, the approval
queue's listing in `core.review.listing`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from loguru import logger
from redis import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, priority
from core.clock import utcnow
from core.crm import fans
from core.crm.conversations import newest_message
from core.drafting import intent
from core.drafting.base import ConversationTurn, Detection, DraftContext, Drafter, DraftResult
from core.drafting.fan import FanSnapshot, SpendTier, spend_tier
from core.drafting.persona import Persona
from core.enums import NUDGE_KINDS, Direction, DraftKind, DraftStatus, KindSource
from core.errors import get_or_raise
from core.guardrails import offers, wellbeing
from core.guardrails.content_filter import ScreenedVariant, screen_variant
from core.guardrails.policy import Candidate, Route, decide
from core.guardrails.wellbeing import GuardResult
from core.models import Conversation, Draft, Fan, Message
from core.outbox.gate import SendRefused, SendSource
from core.review import budgets as ai_budget
from core.review import learning
from core.review.decisions import approve_draft, pending_draft
from core.settings import Settings

AUTO_SEND_ACTOR = "policy:auto_send"
FILTER_ACTOR = "policy:content_filter"
GUARD_ACTOR = "policy:wellbeing"
SPEND_CAP_ACTOR = "policy:spend_cap"
# Audit actions the AI analytics read back (`core.analytics.ai`).
FILTER_HITS_ACTION = "draft.filter_hits"
GUARD_FLAG_ACTION = "conversation.flagged"
FLAG_REASON_MAX = 500


def _fan_snapshot(
    session: Session, fan: Fan, message: Message, spends: Sequence[fans.FanSpend]
) -> FanSnapshot:
    """The fan as the prompt describes them."""
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
    return FanSnapshot(
        tier=spend_tier(fan.total_spend_cents),
        total_spend_cents=fan.total_spend_cents,
        tips=sum(spend.tip_cents > 0 for spend in spends),
        paid_ppvs=sum(spend.ppv_cents > 0 for spend in spends),
        tags=tuple(fan.tags or ()),
        notes=fan.notes or "",
        since_previous_message=None if previous is None else message.sent_at - previous,
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
        GUARD_FLAG_ACTION,
        "conversation",
        conversation.id,
        signals=added,
        draft_id=draft.id,
        message_id=draft.message_id,
    )


def _screened_variants(result: DraftResult, persona: Persona) -> list[ScreenedVariant]:
    """The result's variants as stored, each with its content filter hits: clean ones
    first, then by confidence, so variant 0 (the draft's `text`) is the best sendable one."""
    variants = [
        screen_variant(v.text, v.confidence, v.reason, persona.forbidden_words)
        for v in result.variants
    ]
    # A stable sort: equal variants keep the drafter's order.
    return sorted(variants, key=lambda v: (bool(v.filter_hits), -v.confidence))


def _drafted_by(result: DraftResult) -> dict[str, Any]:
    """What produced a draft's text, as its audit entries record it."""
    return {
        "provider": result.provider,
        "model": result.model,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "fallback_reason": result.fallback_reason,
    }


def _hit_counts(variants: list[ScreenedVariant]) -> dict[str, int]:
    """Filter hits per rule over every variant, for the audit log."""
    return dict(Counter(hit.rule for v in variants for hit in v.filter_hits))


def _existing_draft(session: Session, message_id: int, nudge: str | None) -> int | None:
    """The draft already written for `message_id`: its reply, or its nudge of kind `nudge`."""
    stmt = select(Draft.id).where(Draft.message_id == message_id)
    if nudge is None:
        stmt = stmt.where(Draft.kind.not_in(NUDGE_KINDS))
    else:
        stmt = stmt.where(Draft.kind == nudge)
    return session.scalar(stmt.limit(1))


def create_draft_for_message(
    session: Session, redis: Redis, settings: Settings, drafter: Drafter, message_id: int
) -> int | None:
    """Draft a reply to an inbound message (`write_draft`); return the draft id.

    Idempotent: a message that already has a reply draft returns that draft's id. Returns
    None, drafting nothing, when the message is outbound or no longer the conversation's
    newest (a later message, or a reply already sent, supersedes it), or its fan was erased.
    """
    existing = _existing_draft(session, message_id, None)
    if existing is not None:
        return existing
    message = get_or_raise(session, Message, message_id)
    if message.conversation.fan.erased_at is not None:
        logger.bind(message_id=message_id).info("fan erased; no draft")
        return None
    newest = newest_message(session, message.conversation_id)
    if message.direction != Direction.inbound or newest is None or newest.id != message.id:
        logger.bind(message_id=message_id, conversation_id=message.conversation_id).info(
            "message superseded or outbound; no draft"
        )
        return None
    return write_draft(session, redis, settings, drafter, message)


def _detection(message: Message, nudge: str | None) -> Detection:
    """The kind the message calls for before any drafter reads it: a nudge's or a tip's
    is a fact, anything else the heuristic's guess."""
    if nudge is not None:
        return Detection(nudge, 100, KindSource.rule)
    if message.tip_cents > 0:
        return Detection(DraftKind.tip_thanks, 100, KindSource.rule)
    return intent.detect_kind(message.text)


def _audit_withheld(session: Session, draft: Draft, detection: Detection) -> None:
    """Audit a sales kind the wellbeing guard or the daily spend cap kept from the draft."""
    withheld = draft.kind_withheld or ""
    actor = SPEND_CAP_ACTOR if withheld.startswith(offers.DAILY_SPEND_CAP) else GUARD_ACTOR
    audit.record(
        session,
        actor,
        "draft.offer_withheld",
        "draft",
        draft.id,
        detected_kind=detection.kind,
        kind=draft.kind,
        reason=withheld,
        message_id=draft.message_id,
    )


@dataclass(frozen=True)
class Composed:
    """A draft as the drafter wrote it and the content filter and the guard read it."""

    result: DraftResult
    detection: Detection
    decided: offers.KindDecision
    guard: GuardResult
    fan_tier: SpendTier
    variants: list[ScreenedVariant]

    def fill(self, draft: Draft) -> None:
        """Put the kind, the variants (the best one as `text`), the drafter, its usage and
        the screening on `draft`."""
        best = self.variants[0]
        draft.kind = self.decided.kind
        draft.detected_kind = self.detection.kind
        draft.kind_confidence = self.detection.confidence
        draft.kind_source = self.detection.source.value
        draft.kind_withheld = self.decided.withheld
        draft.ppv_price_cents = self.decided.ppv_price_cents
        draft.text = best.text
        draft.variants = self.variants
        draft.confidence = best.confidence
        draft.provider = self.result.provider
        draft.model = self.result.model
        draft.prompt_tokens = self.result.prompt_tokens
        draft.completion_tokens = self.result.completion_tokens
        draft.fallback_reason = self.result.fallback_reason
        draft.filter_hits = best.filter_hits
        draft.guard_signals = list(self.guard.signals)
        draft.blocked = bool(best.filter_hits) or self.guard.flagged


def _record_screening(session: Session, draft: Draft, composed: Composed) -> None:
    """Audit what screening found on a draft just (re)drafted: filter hits per rule, a
    sales kind withheld; new guard signals also flag its conversation."""
    hits = _hit_counts(composed.variants)
    if hits:
        audit.record(session, FILTER_ACTOR, FILTER_HITS_ACTION, "draft", draft.id, **hits)
    if draft.kind_withheld is not None:
        _audit_withheld(session, draft, composed.detection)
    if composed.guard.flagged:
        _flag_conversation(session, draft.conversation, composed.guard, draft)


def compose_draft(
    session: Session,
    settings: Settings,
    drafter: Drafter,
    message: Message,
    *,
    nudge: str | None = None,
    now: datetime | None = None,
    seed: int | None = None,
    variants: int | None = None,
    operator: str | None = None,
) -> Composed:
    """Draft for `message` and screen the variants: the one drafting path, shared by new
    drafts (`write_draft`) and redrafts. The session's transaction is committed before
    the drafter runs. `seed` and `variants` default to the message's id and
    `settings.draft_variants`; `operator` is who asked, for a redraft or an operator's
    nudge pass. The AI budgets (`core.review.budgets`) choose the drafter and meter the call.
    `now` (default: the current time) is when a nudge is drafted and what the daily spend
    cap counts up to."""
    conversation = message.conversation
    account = conversation.account
    persona = account.persona
    policy = account.policy
    moment = now or utcnow()
    at = message.sent_at if nudge is None else moment
    recent = fans.recent_messages(session, conversation.id)
    spends = fans.fan_spends(session, conversation.fan_id)
    snapshot = _fan_snapshot(session, conversation.fan, message, spends)
    if nudge is not None:
        snapshot = replace(snapshot, silent_for=at - message.sent_at)
    guard = fans.assess(conversation, fans.fan_lines(recent), spends, at)
    # The cap counts to the moment of drafting, not to the fan's message: a draft written
    # late, or redrafted, must see what the fan spent and was offered since.
    committed = fans.committed(session, conversation.fan_id, moment)
    terms = offers.offer_terms(persona, policy, snapshot.tier, guard, committed)
    detection = _detection(message, nudge)
    planned = offers.decide_kind(detection.kind, terms, guard)
    context = DraftContext(
        persona=persona,
        fan_name=conversation.fan.name,
        inbound_text=message.text,
        history=[ConversationTurn(m.direction.value, m.text) for m in recent],
        kind=planned.kind,
        classify=detection.source == KindSource.heuristic,
        seed=message.id if seed is None else seed,
        fan=snapshot,
        wellbeing_flagged=guard.flagged,
        spend_capped=terms.spend_capped,
        ppv_price_cents=terms.price_cents if terms.barred is None else None,
        variants=variants or settings.draft_variants,
        examples=learning.examples(session, account.id, planned.kind, moment),
        avoid=learning.avoid_notes(session, account.id, moment),
    )
    drafter = ai_budget.drafter_for(
        session, settings, drafter, account_id=account.id, operator=operator
    )
    # End the read transaction before drafting: an LLM call takes seconds, and SQLite's
    # BEGIN IMMEDIATE would hold the database's write lock all that time.
    session.commit()
    result = drafter.draft(context)
    detection = result.detection or detection
    return Composed(
        result=result,
        detection=detection,
        decided=offers.decide_kind(detection.kind, terms, guard),
        guard=guard,
        fan_tier=snapshot.tier,
        variants=_screened_variants(result, persona),
    )


def write_draft(
    session: Session,
    redis: Redis,
    settings: Settings,
    drafter: Drafter,
    message: Message,
    *,
    nudge: str | None = None,
    now: datetime | None = None,
    operator: str | None = None,
) -> int | None:
    """Write a draft and commit it as pending; return its id. The one way every draft is
    written: a reply to the inbound `message`, or with `nudge` (a `NUDGE_KINDS` kind) a
    nudge breaking the silence since `message`, the fan's last message, at `now`.
    `operator` is who asked for it (an operator's nudge pass), if anyone did: the LLM call
    counts against their hourly requests (`core.review.budgets`).

    The wellbeing guard reads the fan first, and the offer terms (`core.guardrails.offers`) price a
    PPV for their tier and say whether one may be offered. The kind comes from the
    detector (`core.drafting.intent`; a drafter with an LLM classifies the message itself,
    and its kind wins); a sales kind the guard or the daily spend cap bars is drafted as a
    plain reply, and the draft says why. A flagged fan gets a prompt without sales talk and
    a flagged conversation. The drafter writes `settings.draft_variants` variants; the
    content filter reads each one. A filter hit on the best variant, or a guard signal,
    holds the draft (`blocked`) for a human. On an account with `auto_send`, the approval
    policy (`core.guardrails.policy`) then decides whether the draft goes out at once or
    waits in the queue, and says why it waits.

    A draft of the same message (and nudge kind) stored meanwhile by another run wins:
    its id is returned, and nothing else is written.
    """
    conversation = message.conversation
    account = conversation.account
    log = logger.bind(
        message_id=message.id, conversation_id=conversation.id, nudge=nudge, account_id=account.id
    )
    composed = compose_draft(
        session, settings, drafter, message, nudge=nudge, now=now, operator=operator
    )
    result, detection, variants = composed.result, composed.detection, composed.variants
    draft = Draft(
        conversation_id=message.conversation_id,
        message_id=message.id,
        status=DraftStatus.pending,
    )
    composed.fill(draft)
    priority.stamp(draft, message)
    session.add(draft)
    try:
        session.flush()
    except IntegrityError:
        # Another run stored this draft first; that one stands.
        session.rollback()
        return _existing_draft(session, message.id, nudge)
    audit.record(
        session,
        f"drafter:{result.provider}",
        "draft.created",
        "draft",
        draft.id,
        **_drafted_by(result),
        kind=draft.kind,
        detected_kind=detection.kind,
        kind_confidence=detection.confidence,
        kind_source=detection.source.value,
        ppv_price_cents=draft.ppv_price_cents,
        variants=len(variants),
        confidence=draft.confidence,
        blocked=draft.blocked,
        message_id=message.id,
    )
    _record_screening(session, draft, composed)
    session.commit()
    log.bind(
        draft_id=draft.id,
        kind=draft.kind,
        detected_kind=detection.kind,
        provider=result.provider,
        fallback=result.fallback_reason is not None,
        variants=len(variants),
        blocked=draft.blocked,
    ).info("draft created")
    if not account.auto_send:
        return draft.id
    decision = decide(
        account.policy,
        account.auto_send,
        Candidate(
            confidence=draft.confidence,
            ppv_price_cents=draft.ppv_price_cents,
            fan_tier=composed.fan_tier,
            block_reasons=tuple(draft.block_reasons),
            kind=draft.kind,
            kind_confidence=draft.kind_confidence,
        ),
    )
    reasons = list(decision.reasons)
    if decision.route == Route.auto_send:
        try:
            approve_draft(
                session,
                redis,
                settings,
                draft.id,
                actor=AUTO_SEND_ACTOR,
                source=SendSource.auto_send,
            )
            return draft.id
        except SendRefused as refused:
            # The gate reads what will be typed (the disclosure line too) and the fan as
            # of now: what it refuses waits for an operator like any held draft.
            reasons = refused.reasons
    audit.record(
        session, AUTO_SEND_ACTOR, "draft.auto_send_held", "draft", draft.id, reasons=reasons
    )
    session.commit()
    return draft.id


def redraft_draft(
    session: Session,
    settings: Settings,
    drafter: Drafter,
    draft_id: int,
    *,
    actor: str,
    variants: int | None = None,
) -> Draft:
    """Replace a pending draft's variants with fresh ones, drafted for `actor` through
    `compose_draft` like every draft, and return the draft.

    Another reviewer's live claim refuses it (`InvalidState`), checked before drafting and
    again after: no lock is held while the drafter runs, so a draft decided or claimed
    meanwhile keeps what it had (the call's usage still counts). The call counts against
    `actor`'s LLM requests per hour; past those, or past a token cap, the variants are the
    offline drafter's and `fallback_reason` says why. Each redraft has its own seed, so
    offline variants change too. The draft's tokens add up everything it cost; the claim
    stays with its holder. `variants` defaults to `settings.draft_variants`.
    """
    draft = pending_draft(session, draft_id, actor)
    message = session.get_one(Message, draft.message_id)
    nudge = draft.kind if draft.kind in NUDGE_KINDS else None
    composed = compose_draft(
        session,
        settings,
        drafter,
        message,
        nudge=nudge,
        # Distinct per message and redraft (for the first 65,535 redrafts).
        seed=(message.id << 16) + draft.redrafts + 1,
        variants=variants,
        operator=actor,
    )
    draft = pending_draft(session, draft_id, actor)
    spent = (draft.prompt_tokens, draft.completion_tokens)
    composed.fill(draft)
    priority.stamp(draft, message)
    draft.prompt_tokens += spent[0]
    draft.completion_tokens += spent[1]
    draft.redrafts += 1
    result = composed.result
    audit.record(
        session,
        actor,
        "draft.redrafted",
        "draft",
        draft.id,
        **_drafted_by(result),
        kind=draft.kind,
        variants=len(composed.variants),
        confidence=draft.confidence,
        blocked=draft.blocked,
        redrafts=draft.redrafts,
    )
    _record_screening(session, draft, composed)
    session.commit()
    logger.bind(
        draft_id=draft.id,
        actor=actor,
        provider=result.provider,
        fallback=result.fallback_reason is not None,
        variants=len(composed.variants),
        redrafts=draft.redrafts,
    ).info("draft redrafted")
    return draft
