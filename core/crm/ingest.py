"""Ingest: what a worker scraped becomes fans, conversations and messages, idempotently."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loguru import logger
from redis import Redis
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from core import audit
from core.clock import as_utc, epoch_ms, utcnow
from core.crm.conversations import newest_messages
from core.enums import Direction
from core.errors import Conflict, get_or_raise
from core.fleet.dispatch import dispatch_draft
from core.fleet.protocol import IngestBatch, IngestResult, ScrapedMessage
from core.models import Account, Conversation, Fan, Message, Sweep
from core.priority import restamp_fans


def _fans(session: Session, account_id: int, batch: IngestBatch) -> dict[str, Fan]:
    """The batch's fans by platform id: those already known (renamed, or given their
    handle, when the platform shows a new one) and new ones, stored. Two queries whatever
    the batch holds."""
    wanted = {scraped.platform_fan_id for scraped in batch.conversations}
    fans = {
        fan.platform_fan_id: fan
        for fan in session.scalars(
            select(Fan).where(Fan.account_id == account_id, Fan.platform_fan_id.in_(wanted))
        )
    }
    for scraped in batch.conversations:
        fan = fans.get(scraped.platform_fan_id)
        if fan is None:
            fan = Fan(
                account_id=account_id,
                platform_fan_id=scraped.platform_fan_id,
                handle=scraped.fan_handle,
                name=scraped.fan_name,
                total_spend_cents=0,
                tags=[],
                notes="",
            )
            session.add(fan)
            fans[scraped.platform_fan_id] = fan
        elif fan.erased_at is None:
            if scraped.fan_name and scraped.fan_name != fan.name:
                fan.name = scraped.fan_name
            if scraped.fan_handle and scraped.fan_handle != fan.handle:
                fan.handle = scraped.fan_handle
    session.flush()
    return fans


def _conversations(
    session: Session, account_id: int, batch: IngestBatch, fans: dict[str, Fan]
) -> dict[str, Conversation]:
    """The batch's conversations by platform id, known or new (stored), each with the fan
    the platform shows in it now."""
    wanted = {scraped.platform_conversation_id for scraped in batch.conversations}
    conversations = {
        conversation.platform_conversation_id: conversation
        for conversation in session.scalars(
            select(Conversation).where(
                Conversation.account_id == account_id,
                Conversation.platform_conversation_id.in_(wanted),
            )
        )
    }
    for scraped in batch.conversations:
        fan_id = fans[scraped.platform_fan_id].id
        conversation = conversations.get(scraped.platform_conversation_id)
        if conversation is None:
            conversation = Conversation(
                account_id=account_id,
                fan_id=fan_id,
                platform_conversation_id=scraped.platform_conversation_id,
            )
            session.add(conversation)
            conversations[scraped.platform_conversation_id] = conversation
        conversation.fan_id = fan_id
    session.flush()
    return conversations


def _held(
    session: Session, conversations: dict[str, Conversation], batch: IngestBatch
) -> dict[tuple[int, str], Message | None]:
    """The messages of the batch already stored, by (conversation id, platform id)."""
    conversation_ids = {conversation.id for conversation in conversations.values()}
    message_ids = {m.platform_message_id for c in batch.conversations for m in c.messages}
    if not message_ids:
        return {}
    rows = session.scalars(
        select(Message).where(
            Message.conversation_id.in_(conversation_ids),
            Message.platform_message_id.in_(message_ids),
        )
    )
    return {(row.conversation_id, row.platform_message_id): row for row in rows}


def _spend_cents(message: ScrapedMessage) -> int:
    """What a message added to the fan's spend: its tip and, once paid, its PPV price."""
    paid_ppv = (message.ppv_price_cents or 0) if message.ppv_paid else 0
    return message.tip_cents + paid_ppv


def _store_messages(
    conversation: Conversation,
    fan: Fan,
    scraped: list[ScrapedMessage],
    held: dict[tuple[int, str], Message | None],
    now: datetime,
) -> tuple[list[dict[str, Any]], int]:
    """The rows of the messages not held yet (marked in `held`, so a message twice in a
    batch is stored once), and how many were duplicates.

    A PPV first seen paid gets `paid_at`, the ingest time: platforms show no payment time,
    and the scrape that sees it paid is the earliest the fleet can know. A PPV already paid
    when first scraped (an account's first sweep) may have been paid long before, but
    counting it as paid now errs toward protecting the fan for at most a day.
    """
    rows: list[dict[str, Any]] = []
    duplicates = 0
    for message in scraped:
        key = (conversation.id, message.platform_message_id)
        if key in held:
            duplicates += 1
            existing = held[key]
            # A PPV scraped unpaid earlier and paid now: the fan's spend grows by its price.
            if (
                existing is not None
                and message.ppv_paid
                and not existing.ppv_paid
                and existing.ppv_price_cents
            ):
                existing.ppv_paid = True
                existing.paid_at = now
                fan.total_spend_cents += existing.ppv_price_cents
            continue
        sent_at = as_utc(message.sent_at)
        rows.append(
            {
                "conversation_id": conversation.id,
                "platform_message_id": message.platform_message_id,
                "direction": message.direction,
                "text": message.text,
                "sent_at": sent_at,
                "tip_cents": message.tip_cents,
                "ppv_price_cents": message.ppv_price_cents,
                "ppv_paid": message.ppv_paid,
                "paid_at": now if message.ppv_paid else None,
                "created_at": now,
            }
        )
        held[key] = None
        fan.total_spend_cents += _spend_cents(message)
        if message.direction == Direction.inbound:
            fan.last_active_ms = max(fan.last_active_ms or 0, epoch_ms(sent_at))
        if conversation.last_message_at is None or sent_at > conversation.last_message_at:
            conversation.last_message_at = sent_at
    return rows, duplicates


def ingest_batch(session: Session, redis: Redis, batch: IngestBatch, *, actor: str) -> IngestResult:
    """Store a scraped batch and commit, then queue one draft job per conversation whose
    newest message is an inbound one this batch brought. Only the newest: answering each of
    three consecutive fan lines separately would spam the fan."""
    account = get_or_raise(session, Account, batch.account_id)
    sweep = None
    if batch.sweep_id is not None:
        sweep = get_or_raise(session, Sweep, batch.sweep_id)
        if sweep.account_id != account.id:
            raise Conflict(
                f"sweep {sweep.id} belongs to account {sweep.account_id}, not {account.id}"
            )
    fans = _fans(session, account.id, batch)
    # An erased fan's threads are read but nothing of theirs is stored again.
    batch = batch.model_copy(
        update={
            "conversations": [
                scraped
                for scraped in batch.conversations
                if fans[scraped.platform_fan_id].erased_at is None
            ]
        }
    )
    conversations = _conversations(session, account.id, batch, fans)
    held = _held(session, conversations, batch)
    now = utcnow()
    inserted: list[dict[str, Any]] = []
    duplicates = 0
    repriced: set[Fan] = set()
    for scraped in batch.conversations:
        fan = fans[scraped.platform_fan_id]
        conversation = conversations[scraped.platform_conversation_id]
        spend_before = fan.total_spend_cents
        rows, dup = _store_messages(conversation, fan, scraped.messages, held, now)
        inserted += rows
        duplicates += dup
        if fan.total_spend_cents != spend_before:
            repriced.add(fan)
    session.flush()
    if inserted:
        # One statement for the batch; no ids back, which would make it one per row.
        session.execute(insert(Message), inserted)
    new_keys = {(row["conversation_id"], row["platform_message_id"]) for row in inserted}
    touched = {conversation.id for conversation in conversations.values()}
    to_draft = [
        message.id
        for _, message in sorted(newest_messages(session, touched).items())
        if (message.conversation_id, message.platform_message_id) in new_keys
        and message.direction == Direction.inbound
    ]
    if sweep is not None and inserted:
        # Counted here, in SQL, rather than taken from the worker's report: a sweep retried
        # or recovered after an attempt stored messages still counts what that attempt
        # brought, and nothing twice.
        sweep.messages_found = Sweep.messages_found + len(inserted)
    # A fan who spent moves up the queue with every draft already waiting for them.
    restamp_fans(session, repriced)
    audit.record(
        session,
        actor,
        "messages.ingested",
        "account",
        account.id,
        sweep_id=batch.sweep_id,
        inserted=len(inserted),
        duplicates=duplicates,
    )
    session.commit()
    drafts_queued = sum(dispatch_draft(redis, message_id) for message_id in to_draft)
    logger.bind(
        account_id=account.id,
        conversations=len(touched),
        inserted=len(inserted),
        duplicates=duplicates,
        drafts_queued=drafts_queued,
    ).info("batch ingested")
    return IngestResult(inserted=len(inserted), duplicates=duplicates, drafts_queued=drafts_queued)
