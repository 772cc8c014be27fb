"""Seeding the control plane's database directly: an account, a fan and one conversation
holding the messages a test needs, at chosen times."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from core.clock import utcnow
from core.db import Database
from core.enums import Direction, DraftKind, DraftStatus, SendPriority, SendStatus
from core.models import Account, Conversation, Draft, Fan, Message, Send
from core.priority import stamp

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# A day in the minutes `Line` counts in.
DAY = 24 * 60
# A fan asking for something to buy: the kind detector reads a sales opportunity.
ASK = "what do you have for me tonight? 😏"
PERSONA: dict[str, Any] = {
    "name": "Mia",
    "tone": "flirty",
    "emoji_style": "some",
    "emojis": ["😘"],
    "phrases": ["xoxo babe"],
    "forbidden_words": ["daddy"],
}
_ADDED = itertools.count()
# `draft_for(message_id)`: the draft service run for one message (`tests.fixtures.drafting`).
DraftFor = Callable[[int], int | None]


@dataclass(frozen=True)
class Line:
    """A message to seed: who wrote it, what, `minute` minutes after T0, and its money; a
    paid PPV was paid `paid_minute` minutes after T0 (default: when it was sent)."""

    direction: str
    text: str
    minute: float = 0
    tip_cents: int = 0
    ppv_price_cents: int | None = None
    ppv_paid: bool | None = None
    paid_minute: float | None = None


@dataclass(frozen=True)
class Seeded:
    account_id: int
    conversation_id: int
    fan_id: int
    message_ids: list[int] = field(default_factory=list)

    @property
    def last(self) -> int:
        return self.message_ids[-1]


def seed(
    db: Database,
    lines: list[Line],
    *,
    persona: dict[str, Any] | None = None,
    spend_cents: int = 0,
    auto_send: bool = False,
    tags: list[str] | None = None,
    notes: str = "",
    fan_name: str = "Sam Jones",
    policy: dict[str, Any] | None = None,
    start: datetime = T0,
) -> Seeded:
    """An account, a fan and one conversation holding `lines` (minutes after `start`),
    written to the database."""
    with db.session() as session:
        account = Account(
            name="Mia",
            username="mia",
            password="secret-password",
            persona=PERSONA if persona is None else persona,
            auto_send=auto_send,
            policy=policy,
        )
        session.add(account)
        session.flush()
        fan = Fan(
            account_id=account.id,
            platform_fan_id="fan-1",
            name=fan_name,
            total_spend_cents=spend_cents,
            tags=tags or [],
            notes=notes,
        )
        session.add(fan)
        session.flush()
        conversation = Conversation(
            account_id=account.id, fan_id=fan.id, platform_conversation_id="c-1"
        )
        session.add(conversation)
        session.flush()
        ids = []
        for index, line in enumerate(lines):
            paid_minute = line.minute if line.paid_minute is None else line.paid_minute
            message = Message(
                conversation_id=conversation.id,
                platform_message_id=f"m{index}",
                direction=Direction(line.direction),
                text=line.text,
                sent_at=start + timedelta(minutes=line.minute),
                tip_cents=line.tip_cents,
                ppv_price_cents=line.ppv_price_cents,
                ppv_paid=line.ppv_paid,
                paid_at=start + timedelta(minutes=paid_minute) if line.ppv_paid else None,
            )
            session.add(message)
            session.flush()
            ids.append(message.id)
        conversation.last_message_at = start + timedelta(minutes=max(x.minute for x in lines))
        session.commit()
        return Seeded(account.id, conversation.id, fan.id, ids)


def add_message(db: Database, conversation_id: int, ago: timedelta, **row: Any) -> int:
    """A message `ago` before now in the conversation (inbound unless told)."""
    with db.session() as session:
        message = Message(
            conversation_id=conversation_id,
            platform_message_id=row.pop("platform_message_id", None) or f"added-{next(_ADDED)}",
            direction=row.pop("direction", Direction.inbound),
            text=row.pop("text", "hey"),
            sent_at=utcnow() - ago,
            **row,
        )
        session.add(message)
        session.commit()
        return message.id


def seed_draft(
    db: Database,
    seeded: Seeded,
    text: str,
    *,
    kind: str = DraftKind.reply,
    ppv_price_cents: int | None = None,
    confidence: int = 90,
    message_id: int | None = None,
) -> int:
    """A pending draft of `kind` saying `text` for `message_id` (default: the conversation's
    last message; for a nudge, the fan's last message, whose silence it breaks), as a
    drafter would store it; its id. No filter or guard ran: what it says is the gate's to
    judge."""
    with db.session() as session:
        draft = Draft(
            conversation_id=seeded.conversation_id,
            message_id=seeded.last if message_id is None else message_id,
            kind=kind,
            text=text,
            provider="test",
            status=DraftStatus.pending,
            confidence=confidence,
            ppv_price_cents=ppv_price_cents,
            variants=[
                {"text": text, "confidence": confidence, "reason": "seeded", "filter_hits": []}
            ],
        )
        stamp(draft, session.get_one(Message, draft.message_id))
        session.add(draft)
        session.commit()
        return draft.id


def seed_dead_letter(db: Database, seeded: Seeded, last_error: str) -> int:
    """A send into the seeded conversation that failed its every attempt, `last_error`
    the last; its id."""
    with db.session() as session:
        dead = Send(
            account_id=seeded.account_id,
            conversation_id=seeded.conversation_id,
            text="lost",
            status=SendStatus.failed,
            priority=SendPriority.reply,
            attempt=3,
            failed_attempts=3,
            last_error=last_error,
            created_by="mia",
        )
        session.add(dead)
        session.commit()
        return dead.id
