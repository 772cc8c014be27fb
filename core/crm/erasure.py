"""A fan's data rights: their data as JSON (`export_fan`), and erasure at their request
(`erase_fan`).

Erasure removes what the fan and the people talking to them wrote: the text of their
messages, of every draft written for them (variants, filter hits, reasons and the edits
operators made) and of every send to them; their name, handle, tags, notes and custom
fields; the artifacts (screenshots of their threads) the rows point at; and the details of
the audit entries about any of those rows, which keep only who did what and when. Amounts
stay (tips, PPV prices, spend), as the bookkeeping a business must keep, tied to the
platform's opaque fan id only.

The fan's row stays, erased, holding the platform's id: a sweep that meets the fan again
stores nothing of theirs (`core.crm.ingest`), no draft or nudge is written for them and
no send reaches them (`core.outbox.gate`). What waits to be sent to them is cancelled
first; a send a worker is typing right now cannot be called back, so erasure is refused
until it lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.enums import ON_ITS_WAY, DraftStatus, SendStatus
from core.errors import InvalidState, get_or_raise
from core.models import AuditEvent, Conversation, Draft, DraftFeedback, Fan, Message, Send

ERASED_REASON = "the fan's data was erased at their request"


@dataclass(frozen=True)
class Erasure:
    """What an erasure changed, by kind of row."""

    fan_id: int
    erased_at: datetime
    messages: int
    drafts: int
    sends: int
    sends_cancelled: int
    audit_entries: int


def _of_fan(fan_id: int) -> Any:
    return select(Conversation.id).where(Conversation.fan_id == fan_id).scalar_subquery()


def _subjects(fan_id: int) -> ColumnElement[bool]:
    """Audit entries about the fan or any row of theirs."""
    conversations = _of_fan(fan_id)
    rows = (
        ("fan", select(Fan.id).where(Fan.id == fan_id)),
        ("conversation", select(Conversation.id).where(Conversation.fan_id == fan_id)),
        ("message", select(Message.id).where(Message.conversation_id.in_(conversations))),
        ("draft", select(Draft.id).where(Draft.conversation_id.in_(conversations))),
        ("send", select(Send.id).where(Send.conversation_id.in_(conversations))),
    )
    return or_(
        *((AuditEvent.subject_type == kind) & AuditEvent.subject_id.in_(ids) for kind, ids in rows)
    )


def erase_fan(session: Session, fan_id: int, *, actor: str) -> Erasure:
    """Erase the fan's data (see the module doc) in one transaction, and commit. Erasing an
    erased fan again erases what came since (nothing, unless rows were restored).
    `InvalidState` while a send to them is being typed."""
    fan = get_or_raise(session, Fan, fan_id, for_update=True)
    conversations = _of_fan(fan_id)
    # Their sends are locked before they are judged: a worker moving one from claimed to
    # typing meanwhile waits, then finds it cancelled and types nothing.
    on_their_way = session.execute(
        select(Send.id, Send.status)
        .where(Send.conversation_id.in_(conversations), Send.status.in_(ON_ITS_WAY))
        .with_for_update()
    ).all()
    typing = [
        send_id
        for send_id, status in on_their_way
        if status in (SendStatus.typing, SendStatus.submitted)
    ]
    if typing:
        raise InvalidState(
            f"send(s) {list(typing)} to fan {fan_id} are being typed now; erase once they land"
        )
    now = utcnow()
    cancelled = session.execute(
        update(Send)
        .where(
            Send.conversation_id.in_(conversations),
            Send.status.in_((SendStatus.queued, SendStatus.claimed)),
        )
        .values(status=SendStatus.cancelled, next_attempt_at=None, last_error=ERASED_REASON)
    ).rowcount
    # Redacted before the rows they name change, while the subqueries still find them.
    redacted = session.execute(
        update(AuditEvent).where(_subjects(fan_id)).values(detail={"redacted": True})
    ).rowcount
    messages = session.execute(
        update(Message).where(Message.conversation_id.in_(conversations)).values(text="")
    ).rowcount
    draft_ids = select(Draft.id).where(Draft.conversation_id.in_(conversations))
    session.execute(
        update(DraftFeedback)
        .where(DraftFeedback.draft_id.in_(draft_ids))
        .values(original_text="", final_text="")
    )
    session.execute(
        update(Draft)
        .where(Draft.conversation_id.in_(conversations), Draft.status == DraftStatus.pending)
        .values(status=DraftStatus.rejected, decided_by=actor, decided_at=now)
    )
    drafts = session.execute(
        update(Draft)
        .where(Draft.conversation_id.in_(conversations))
        .values(
            text="",
            variants=[],
            filter_hits=[],
            guard_signals=[],
            reason=None,
            override_reason=None,
            kind_withheld=None,
            claimed_by=None,
        )
    ).rowcount
    sends = session.execute(
        update(Send).where(Send.conversation_id.in_(conversations)).values(text="", artifacts={})
    ).rowcount
    session.execute(
        update(Conversation).where(Conversation.fan_id == fan_id).values(flag_reason=None)
    )
    fan.name = ""
    fan.handle = None
    fan.tags = []
    fan.notes = ""
    fan.custom_fields = {}
    fan.erased_at = now
    erasure = Erasure(
        fan_id=fan_id,
        erased_at=now,
        messages=messages,
        drafts=drafts,
        sends=sends,
        sends_cancelled=cancelled,
        audit_entries=redacted,
    )
    audit.record(
        session,
        actor,
        "fan.erased",
        "fan",
        fan_id,
        messages=messages,
        drafts=drafts,
        sends=sends,
        sends_cancelled=cancelled,
        audit_entries=redacted,
    )
    session.commit()
    session.expire_all()
    return erasure


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def export_fan(session: Session, fan_id: int) -> dict[str, Any]:
    """Everything the fleet holds about the fan, as JSON-ready data: the fan, each
    conversation with its messages, the drafts written for them and the sends to them, and
    the audit entries about any of those rows."""
    fan = get_or_raise(session, Fan, fan_id)
    conversations = list(
        session.scalars(
            select(Conversation).where(Conversation.fan_id == fan_id).order_by(Conversation.id)
        )
    )
    ids = [conversation.id for conversation in conversations]
    messages = session.scalars(
        select(Message)
        .where(Message.conversation_id.in_(ids))
        .order_by(Message.sent_at, Message.id)
    ).all()
    drafts = session.scalars(
        select(Draft).where(Draft.conversation_id.in_(ids)).order_by(Draft.id)
    ).all()
    sends = session.scalars(
        select(Send).where(Send.conversation_id.in_(ids)).order_by(Send.id)
    ).all()
    entries = session.scalars(
        select(AuditEvent).where(_subjects(fan_id)).order_by(AuditEvent.id)
    ).all()
    by_conversation: dict[int, list[dict[str, Any]]] = {cid: [] for cid in ids}
    for message in messages:
        by_conversation[message.conversation_id].append(
            {
                "platform_message_id": message.platform_message_id,
                "direction": message.direction.value,
                "text": message.text,
                "sent_at": message.sent_at.isoformat(),
                "tip_cents": message.tip_cents,
                "ppv_price_cents": message.ppv_price_cents,
                "ppv_paid": message.ppv_paid,
            }
        )
    return {
        "fan": {
            "id": fan.id,
            "account_id": fan.account_id,
            "platform_fan_id": fan.platform_fan_id,
            "handle": fan.handle,
            "name": fan.name,
            "total_spend_cents": fan.total_spend_cents,
            "tags": list(fan.tags),
            "notes": fan.notes,
            "custom_fields": dict(fan.custom_fields),
            "last_active_at": _iso(fan.last_active_at),
            "erased_at": _iso(fan.erased_at),
        },
        "conversations": [
            {
                "id": conversation.id,
                "platform_conversation_id": conversation.platform_conversation_id,
                "last_message_at": _iso(conversation.last_message_at),
                "messages": by_conversation[conversation.id],
            }
            for conversation in conversations
        ],
        "drafts": [
            {
                "id": draft.id,
                "conversation_id": draft.conversation_id,
                "kind": draft.kind,
                "text": draft.text,
                "status": draft.status.value,
                "decided_by": draft.decided_by,
                "created_at": draft.created_at.isoformat(),
            }
            for draft in drafts
        ],
        "sends": [
            {
                "id": send.id,
                "conversation_id": send.conversation_id,
                "text": send.text,
                "status": send.status.value,
                "ppv_price_cents": send.ppv_price_cents,
                "created_by": send.created_by,
                "delivered_at": None
                if send.delivered_at is None
                else send.delivered_at.isoformat(),
            }
            for send in sends
        ],
        "audit": [
            {
                "at": entry.at.isoformat(),
                "actor": entry.actor,
                "action": entry.action,
                "subject_type": entry.subject_type,
                "subject_id": entry.subject_id,
                "detail": entry.detail,
            }
            for entry in entries
        ],
    }
