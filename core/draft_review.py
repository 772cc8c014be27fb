"""The reviewer's decisions on a pending draft: claim and release its review lock,
approve it (one or many) into a send, or reject it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit, content_filter, feedback, offer_check
from core.accounts import policy_of
from core.db import utcnow
from core.drafting.base import NUDGE_KINDS, Persona
from core.errors import InvalidState, NotFound, get_or_raise
from core.models import Draft, DraftStatus, Message, Send, SendPriority
from core.outbox import dispatch_send
from core.settings import Settings
from core.worker_protocol import Direction, SendStatus

# The longest text a send may carry: the API's and the platforms' limit.
SEND_TEXT_MAX_CHARS = 5000


class DraftBlocked(InvalidState):
    """A draft held by the content filter, the wellbeing guard or, for a PPV, the offers
    check at approval (answered with 409)."""

    def __init__(self, draft_id: int, reasons: list[str]) -> None:
        super().__init__(
            f"draft {draft_id} is blocked ({', '.join(reasons)}); only an admin can approve "
            "it, with override and an override_reason"
        )


def _live_claim(draft: Draft, now: datetime) -> tuple[str, datetime] | None:
    """Who holds a review lock on `draft` that has not expired, and until when."""
    if draft.claimed_by is None or draft.claim_expires_at is None:
        return None
    if draft.claim_expires_at <= now:
        return None
    return draft.claimed_by, draft.claim_expires_at


def _claimed_elsewhere(draft: Draft, actor: str) -> InvalidState | None:
    """The conflict to raise when someone other than `actor` holds a live claim."""
    now = utcnow()
    claim = _live_claim(draft, now)
    if claim is None or claim[0] == actor:
        return None
    holder, expires_at = claim
    left = (expires_at - now).total_seconds()
    return InvalidState(f"draft {draft.id} is claimed by {holder} for another {left:.1f}s")


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
    renewed = _live_claim(draft, utcnow()) is not None
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
    claim = _live_claim(draft, utcnow())
    if claim is not None and claim[0] != actor and not admin:
        raise InvalidState(f"draft {draft_id} is claimed by {claim[0]}; only they can release it")
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
    persona = Persona.model_validate(draft.conversation.account.persona)
    screened = content_filter.check(text, persona.forbidden_words)
    draft.text = text
    draft.filter_hits = [hit.as_dict() for hit in screened.hits]
    draft.blocked = screened.blocked or bool(draft.guard_signals)


def _chosen(draft: Draft, variant: int | None) -> tuple[str, int | None]:
    """The text approval starts from and the confidence of it: variant `variant`, or the
    draft's own text when none is chosen."""
    if variant is None:
        return draft.text, draft.confidence
    count = len(draft.variants or [])
    if not 0 <= variant < count:
        raise InvalidState(f"draft {draft.id} has {count} variants; there is no variant {variant}")
    chosen = (draft.variants or [])[variant]
    return chosen["text"], chosen["confidence"]


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
    override_reason: str | None = None,
) -> tuple[Draft, Send]:
    """Approve a pending draft, as variant `variant` (its default text when None),
    optionally edited to `text`, and queue its send.

    Another reviewer's live claim refuses the approval (`InvalidState`). The chosen text
    passes the content filter first; what is checked is what gets sent. A blocked draft
    raises `DraftBlocked` (the refusal is audited) unless `override_reason` is given:
    callers pass it only for an admin who asked to override, and the override is audited
    with its reason. A draft carrying a PPV passes the offers check again as of now
    (`core.offer_check`): a fan flagged, or nearer their daily spend cap, since it was
    drafted makes it blocked the same way, with an `offer:` reason. The send carries the
    account's disclosure line, if it has one. The decision, its feedback row (chosen and
    final text, edit distance) and the new send are one transaction; the send job is
    enqueued after it commits. A nudge whose silence the fan has broken since is refused
    (`InvalidState`): it would answer nothing.
    """
    draft = pending_draft(session, draft_id, actor)
    _refuse_moot_nudge(session, draft)
    original, confidence = _chosen(draft, variant)
    final = original if text is None else text
    edited = final != original
    if final != draft.text:
        _screen_edit(draft, final)
    barred = (
        None
        if draft.ppv_price_cents is None
        else offer_check.barred(session, draft.conversation, draft.ppv_price_cents, utcnow())
    )
    overridden = False
    if draft.blocked or barred is not None:
        reasons = draft.block_reasons + ([] if barred is None else [f"offer:{barred}"])
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
    policy = policy_of(draft.conversation.account)
    send_text = _with_disclosure(final, policy.disclosure)
    if len(send_text) > SEND_TEXT_MAX_CHARS:
        raise InvalidState(
            f"the text with the account's disclosure line is {len(send_text)} characters; "
            f"a send holds at most {SEND_TEXT_MAX_CHARS}"
        )
    draft.status = DraftStatus.approved
    draft.decided_by = actor
    draft.decided_at = utcnow()
    draft.variant = variant if variant is not None else (0 if draft.variants else None)
    draft.confidence = confidence
    draft.claimed_by = None
    draft.claim_expires_at = None
    send = Send(
        account_id=draft.conversation.account_id,
        conversation_id=draft.conversation_id,
        draft_id=draft.id,
        text=send_text,
        ppv_price_cents=draft.ppv_price_cents,
        status=SendStatus.queued,
        priority=SendPriority.reply,
        attempt=1,
        artifacts={},
        created_by=actor,
    )
    session.add(send)
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
        disclosure=policy.disclosure is not None,
    )
    audit.record(
        session, actor, "send.created", "send", send.id, draft_id=draft.id, priority="reply"
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
