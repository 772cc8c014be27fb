"""Seeding the CRM directly: accounts and fans with the spend, tags, activity and money a
fan list, an import, an export or a revenue report reads."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.clock import epoch_ms
from core.db import Database
from core.enums import Direction
from core.models import Account, Conversation, Fan, Message, Send
from tests.helpers.seeding import T0

_IDS = itertools.count(1)


@dataclass(frozen=True)
class Money:
    """A message carrying money: a tip from the fan, or a PPV we offered (paid or not)."""

    at: datetime
    tip_cents: int = 0
    ppv_price_cents: int | None = None
    paid_at: datetime | None = None


@dataclass(frozen=True)
class FanSpec:
    """A fan to seed; `last_active` is when they last wrote (None: never)."""

    platform_fan_id: str
    name: str = "Sam"
    handle: str | None = None
    spend_cents: int = 0
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    custom_fields: dict[str, Any] = field(default_factory=dict)
    last_active: datetime | None = None
    money: list[Money] = field(default_factory=list)
    erased: bool = False


def add_account(db: Database, name: str = "Mia", time_zone: str = "UTC") -> int:
    """An account row, its id."""
    with db.session() as session:
        account = Account(
            name=name, username=name.lower(), password="secret-password", time_zone=time_zone
        )
        session.add(account)
        session.commit()
        return account.id


def add_fans(db: Database, account_id: int, *specs: FanSpec) -> dict[str, int]:
    """The fans `specs` describe, each with a conversation holding their money messages;
    their ids by platform id."""
    ids = {}
    with db.session() as session:
        for spec in specs:
            fan = Fan(
                account_id=account_id,
                platform_fan_id=spec.platform_fan_id,
                handle=spec.handle,
                name=spec.name,
                total_spend_cents=spec.spend_cents,
                tags=spec.tags,
                notes=spec.notes,
                custom_fields=spec.custom_fields,
                last_active_ms=0 if spec.last_active is None else epoch_ms(spec.last_active),
                erased_at=T0 if spec.erased else None,
            )
            session.add(fan)
            session.flush()
            conversation = Conversation(
                account_id=account_id,
                fan_id=fan.id,
                platform_conversation_id=f"c-{spec.platform_fan_id}-{next(_IDS)}",
            )
            session.add(conversation)
            session.flush()
            for money in spec.money:
                offer = money.ppv_price_cents is not None
                session.add(
                    Message(
                        conversation_id=conversation.id,
                        platform_message_id=f"m{next(_IDS)}",
                        direction=Direction.outbound if offer else Direction.inbound,
                        text="a set for you" if offer else "for you",
                        sent_at=money.at,
                        tip_cents=money.tip_cents,
                        ppv_price_cents=money.ppv_price_cents,
                        ppv_paid=(money.paid_at is not None) if offer else None,
                        paid_at=money.paid_at,
                    )
                )
            ids[spec.platform_fan_id] = fan.id
        session.commit()
    return ids


def fan_row(db: Database, fan_id: int) -> Fan:
    """The fan as stored now."""
    with db.session() as session:
        fan = session.get(Fan, fan_id)
        assert fan is not None
        return fan


def conversation_of(db: Database, fan_id: int) -> int:
    """The id of the fan's (first) conversation."""
    with db.session() as session:
        conversation = session.query(Conversation).filter_by(fan_id=fan_id).first()
        assert conversation is not None
        return conversation.id


def add_send(db: Database, fan_id: int, **row: Any) -> int:
    """A send to the fan's conversation, queued unless told."""
    with db.session() as session:
        conversation = session.query(Conversation).filter_by(fan_id=fan_id).one()
        send = Send(
            account_id=conversation.account_id,
            conversation_id=conversation.id,
            text=row.pop("text", "hey you"),
            priority=row.pop("priority", "reply"),
            created_by=row.pop("created_by", "operator"),
            **row,
        )
        session.add(send)
        session.commit()
        return send.id
