"""Ingest: what a worker scraped becomes fans, conversations and messages, idempotently."""

from __future__ import annotations

from loguru import logger
from redis import Redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.clock import as_utc, utcnow
from core.crm.conversations import newest_message
from core.enums import Direction
from core.errors import Conflict, get_or_raise
from core.fleet.dispatch import dispatch_draft
from core.fleet.protocol import IngestBatch, IngestResult, ScrapedConversation, ScrapedMessage
from core.models import Account, Conversation, Fan, Message, Sweep


def _upsert_fan(session: Session, account_id: int, scraped: ScrapedConversation) -> Fan:
    fan = session.scalar(
        select(Fan).where(
            Fan.account_id == account_id, Fan.platform_fan_id == scraped.platform_fan_id
        )
    )
    if fan is None:
        fan = Fan(
            account_id=account_id,
            platform_fan_id=scraped.platform_fan_id,
            name=scraped.fan_name,
            total_spend_cents=0,
            tags=[],
            notes="",
        )
        session.add(fan)
        session.flush()
    elif scraped.fan_name and scraped.fan_name != fan.name:
        fan.name = scraped.fan_name
    return fan


def _upsert_conversation(
    session: Session, account_id: int, fan: Fan, scraped: ScrapedConversation
) -> Conversation:
    conversation = session.scalar(
        select(Conversation).where(
            Conversation.account_id == account_id,
            Conversation.platform_conversation_id == scraped.platform_conversation_id,
        )
    )
    if conversation is None:
        conversation = Conversation(
            account_id=account_id,
            fan_id=fan.id,
            platform_conversation_id=scraped.platform_conversation_id,
        )
        session.add(conversation)
        session.flush()
    conversation.fan_id = fan.id
    return conversation


def _spend_cents(message: ScrapedMessage) -> int:
    """What a message added to the fan's spend: its tip and, once paid, its PPV price."""
    paid_ppv = (message.ppv_price_cents or 0) if message.ppv_paid else 0
    return message.tip_cents + paid_ppv


def _store_messages(
    session: Session, conversation: Conversation, fan: Fan, scraped: list[ScrapedMessage]
) -> tuple[list[Message], int]:
    """Insert the messages not held yet; return them and how many were duplicates.

    A PPV first seen paid gets `paid_at`, the ingest time: platforms show no payment time,
    and the scrape that sees it paid is the earliest the fleet can know. A PPV already paid
    when first scraped (an account's first sweep) may have been paid long before, but
    counting it as paid now errs toward protecting the fan for at most a day.
    """
    now = utcnow()
    held = {
        row.platform_message_id: row
        for row in session.scalars(
            select(Message).where(
                Message.conversation_id == conversation.id,
                Message.platform_message_id.in_([m.platform_message_id for m in scraped]),
            )
        )
    }
    inserted: list[Message] = []
    duplicates = 0
    for message in scraped:
        existing = held.get(message.platform_message_id)
        if existing is not None:
            duplicates += 1
            # A PPV scraped unpaid earlier and paid now: the fan's spend grows by its price.
            if message.ppv_paid and not existing.ppv_paid and existing.ppv_price_cents:
                existing.ppv_paid = True
                existing.paid_at = now
                fan.total_spend_cents += existing.ppv_price_cents
            continue
        row = Message(
            conversation_id=conversation.id,
            platform_message_id=message.platform_message_id,
            direction=message.direction,
            text=message.text,
            sent_at=as_utc(message.sent_at),
            tip_cents=message.tip_cents,
            ppv_price_cents=message.ppv_price_cents,
            ppv_paid=message.ppv_paid,
            paid_at=now if message.ppv_paid else None,
        )
        session.add(row)
        held[message.platform_message_id] = row
        inserted.append(row)
        fan.total_spend_cents += _spend_cents(message)
        if conversation.last_message_at is None or row.sent_at > conversation.last_message_at:
            conversation.last_message_at = row.sent_at
    return inserted, duplicates


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
    inserted_ids: set[int] = set()
    duplicates = 0
    touched: set[int] = set()
    for scraped in batch.conversations:
        fan = _upsert_fan(session, account.id, scraped)
        conversation = _upsert_conversation(session, account.id, fan, scraped)
        inserted, dup = _store_messages(session, conversation, fan, scraped.messages)
        session.flush()
        inserted_ids.update(row.id for row in inserted)
        duplicates += dup
        touched.add(conversation.id)
    to_draft = []
    for conversation_id in sorted(touched):
        newest = newest_message(session, conversation_id)
        if newest and newest.id in inserted_ids and newest.direction == Direction.inbound:
            to_draft.append(newest.id)
    if sweep is not None and inserted_ids:
        # Counted here, in SQL, rather than taken from the worker's report: a sweep retried
        # or recovered after an attempt stored messages still counts what that attempt
        # brought, and nothing twice.
        sweep.messages_found = Sweep.messages_found + len(inserted_ids)
    audit.record(
        session,
        actor,
        "messages.ingested",
        "account",
        account.id,
        sweep_id=batch.sweep_id,
        inserted=len(inserted_ids),
        duplicates=duplicates,
    )
    session.commit()
    drafts_queued = sum(dispatch_draft(redis, message_id) for message_id in to_draft)
    logger.bind(
        account_id=account.id,
        conversations=len(touched),
        inserted=len(inserted_ids),
        duplicates=duplicates,
        drafts_queued=drafts_queued,
    ).info("batch ingested")
    return IngestResult(
        inserted=len(inserted_ids), duplicates=duplicates, drafts_queued=drafts_queued
    )
