"""The reviewer's decisions on a pending draft: claim and release its review lock,
approve it (one or many) into a send, or reject it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.enums import NUDGE_KINDS, Direction, DraftStatus
from core.errors import InvalidState, NotFound, get_or_raise
from core.fleet.dispatch import dispatch_send
from core.guardrails import content_filter
from core.models import Draft, Message, Send
from core.outbox.gate import (
    Override,
    SendRefused,
    SendRequest,
    SendSource,
    admit_send,
    check_override,
)
from core.review import feedback
from core.review.claims import live_claim
from core.settings import Settings


def _claimed_elsewhere(draft: Draft, actor: str) -> InvalidState | None:
    """The conflict to raise when someone other than `actor` holds a live claim."""
    now = utcnow()
    claim = live_claim(draft, now)
    if claim is None or claim.holder == actor:
        return None
    left = (claim.expires_at - now).total_seconds()
    return InvalidState(f"draft {draft.id} is claimed by {claim.holder} for another {left:.1f}s")


def claim_holder(session: Session, draft_id: int) -> str | None:
    """Who holds a live review lock on the draft now, or None."""
    claim = live_claim(get_or_raise(session, Draft, draft_id), utcnow())
    return None if claim is None else claim.holder


def claims_ran_out(session: Session, after: datetime, until: datetime) -> bool:
    """Whether a review claim on a pending draft ran out in (`after`, `until`]: the draft
    is free again though nobody released it, and no row changed to say so."""
    ran_out = select(Draft.id).where(
        Draft.status == DraftStatus.pending,
        Draft.claim_expires_at > after,
        Draft.claim_expires_at <= until,
    )
    return bool(session.scalar(select(ran_out.exists())))


def pending_draft(session: Session, draft_id: int, actor: str) -> Draft:
    """The draft, locked for this transaction, when it is pending and nobody but `actor`
    holds a live claim on it; else `InvalidState`."""
    draft = get_or_raise(session, Draft, draft_id, for_update=True)
    if draft.status != DraftStatus.pending:
        raise InvalidState(
            f"draft {draft_id} is {draft.status.value}; only pending drafts can be decided"
        )
    conflict = _claimed_elsewhere(draft, actor)
    if conflict is not None:
        raise conflict
    return draft


def claim_draft(session: Session, settings: Settings, draft_id: int, *, actor: str) -> Draft:
    """Take (or renew) `actor`'s review lock on a pending draft for `review_lock_s`
    (scaled). The row lock serialises racing claims: one wins, the others get
    `InvalidState` naming the holder, until the claim expires or is released."""
    draft = pending_draft(session, draft_id, actor)
    renewed = live_claim(draft, utcnow()) is not None
    draft.claimed_by = actor
    draft.claim_expires_at = utcnow() + timedelta(seconds=settings.scaled(settings.review_lock_s))
    audit.record(
        session,
        actor,
        "draft.claim_renewed" if renewed else "draft.claimed",
        "draft",
        draft.id,
        expires_at=draft.claim_expires_at.isoformat(),
    )
    session.commit()
    return draft


def release_draft(session: Session, draft_id: int, *, actor: str, admin: bool) -> Draft:
    """Drop the review lock on a draft. Only its holder may, or an admin (for an operator
    who walked away); releasing a draft nobody holds changes nothing."""
    draft = get_or_raise(session, Draft, draft_id, for_update=True)
    claim = live_claim(draft, utcnow())
    if claim is not None and claim.holder != actor and not admin:
        raise InvalidState(
            f"draft {draft_id} is claimed by {claim.holder}; only they can release it"
        )
    if draft.claimed_by is not None:
        audit.record(session, actor, "draft.released", "draft", draft.id, holder=draft.claimed_by)
    draft.claimed_by = None
    draft.claim_expires_at = None
    session.commit()
    return draft


def _screen_edit(draft: Draft, text: str) -> None:
    """Put `text` (an operator's edit, or another variant) on the draft and re-run the
    content filter on it. The guard's signals are about the fan, not the text, so an edit
    never clears them."""
    screened = content_filter.check(text, draft.conversation.account.persona.forbidden_words)
    draft.text = text
    draft.filter_hits = list(screened.hits)
    draft.blocked = screened.blocked or bool(draft.guard_signals)


def _chosen(draft: Draft, variant: int | None) -> tuple[str, int | None]:
    """The text approval starts from and the confidence of it: variant `variant`, or the
    draft's own text when none is chosen."""
    if variant is None:
        return draft.text, draft.confidence
    count = len(draft.variants)
    if not 0 <= variant < count:
        raise InvalidState(f"draft {draft.id} has {count} variants; there is no variant {variant}")
    chosen = draft.variants[variant]
    return chosen.text, chosen.confidence


def _with_disclosure(text: str, disclosure: str | None) -> str:
    """`text` with the account's disclosure line under it, when it has one."""
    return text if disclosure is None else f"{text}\n{disclosure}"


def _refuse_moot_nudge(session: Session, draft: Draft) -> None:
    """`InvalidState` when `draft` is a nudge and the fan has written since the message
    whose silence it was to break."""
    if draft.kind not in NUDGE_KINDS:
        return
    silence_start = session.get_one(Message, draft.message_id).sent_at
    answered = session.scalar(
        select(Message.id)
        .where(
            Message.conversation_id == draft.conversation_id,
            Message.direction == Direction.inbound,
            Message.sent_at > silence_start,
        )
        .limit(1)
    )
    if answered is not None:
        raise InvalidState(
            f"draft {draft.id} is a {draft.kind} but the fan has written since; reject it"
        )


def approve_draft(
    session: Session,
    redis: Redis,
    settings: Settings,
    draft_id: int,
    *,
    actor: str,
    text: str | None = None,
    variant: int | None = None,
    override: Override | None = None,
    source: SendSource = SendSource.draft,
) -> tuple[Draft, Send]:
    """Approve a pending draft, as variant `variant` (its default text when None),
    optionally edited to `text`, and queue its send.

    Another reviewer's live claim refuses the approval (`InvalidState`), and so does a
    nudge whose silence the fan has broken since: it would answer nothing. The send
    carries the account's disclosure line, if it has one, and passes the gate
    (`core.outbox.gate`) as it will be typed: the content filter on the chosen text, the
    wellbeing guard and, for a PPV, the offers check as of now (a fan flagged, or nearer
    their daily spend cap, since drafting). A refusal raises `SendRefused`, audited and
    the draft left pending and unedited, unless an admin's `override` says why. `source`
    is `auto_send` when the approval policy approves. The decision, its feedback row
    (chosen and final text, edit distance) and the new send are one transaction; the send
    job is enqueued after it commits.
    """
    check_override(override)
    draft = pending_draft(session, draft_id, actor)
    _refuse_moot_nudge(session, draft)
    original, confidence = _chosen(draft, variant)
    final = original if text is None else text
    edited = final != original
    disclosure = draft.conversation.account.policy.disclosure
    request = SendRequest(
        conversation=draft.conversation,
        text=_with_disclosure(final, disclosure),
        source=source,
        actor=actor,
        ppv_price_cents=draft.ppv_price_cents,
        draft=draft,
        override=override,
    )
    try:
        admitted = admit_send(session, settings, request)
    except SendRefused:
        # The refusal is a decision too: kept on record, the draft as it was.
        session.commit()
        raise
    if final != draft.text:
        _screen_edit(draft, final)
    send = admitted.send
    overridden = override is not None and bool(admitted.overrode)
    draft.override_reason = override.reason if overridden else None
    draft.status = DraftStatus.approved
    draft.decided_by = actor
    draft.decided_at = utcnow()
    draft.variant = variant if variant is not None else (0 if draft.variants else None)
    draft.confidence = confidence
    draft.claimed_by = None
    draft.claim_expires_at = None
    row = feedback.record(
        session,
        draft_id=draft.id,
        variant=draft.variant,
        original_text=original,
        final_text=final,
        actor=actor,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "draft.approved",
        "draft",
        draft.id,
        edited=edited,
        override=overridden,
        variant=draft.variant,
        edit_distance=row.edit_distance,
        disclosure=disclosure is not None,
        send_id=send.id,
    )
    session.commit()
    dispatch_send(redis, settings, send)
    return draft, send


@dataclass(frozen=True)
class BulkOutcome:
    """One id of a bulk approval: its send when approved, else why it was skipped."""

    draft_id: int
    send_id: int | None = None
    skipped: str | None = None


def approve_many(
    session: Session, redis: Redis, settings: Settings, draft_ids: list[int], *, actor: str
) -> list[BulkOutcome]:
    """Approve each draft as written, in order, each in its own transaction. A draft that
    is blocked, claimed by someone else, already decided or missing is skipped with the
    reason; the others go through. Overrides are never bulk: a blocked draft stays."""
    outcomes = []
    for draft_id in draft_ids:
        try:
            _, send = approve_draft(session, redis, settings, draft_id, actor=actor)
        except (InvalidState, NotFound) as exc:
            # Release the row lock a failed approval may still hold before the next id.
            session.rollback()
            outcomes.append(BulkOutcome(draft_id=draft_id, skipped=str(exc)))
        else:
            outcomes.append(BulkOutcome(draft_id=draft_id, send_id=send.id))
    return outcomes


def reject_draft(session: Session, draft_id: int, *, actor: str, reason: str) -> Draft:
    """Reject a pending draft; `reason` is required and kept with the decision. Another
    reviewer's live claim refuses the rejection (`InvalidState`)."""
    if not reason.strip():
        raise InvalidState("a rejection needs a reason")
    draft = pending_draft(session, draft_id, actor)
    draft.status = DraftStatus.rejected
    draft.decided_by = actor
    draft.decided_at = utcnow()
    draft.reason = reason
    draft.claimed_by = None
    draft.claim_expires_at = None
    audit.record(session, actor, "draft.rejected", "draft", draft.id)
    session.commit()
    return draft
