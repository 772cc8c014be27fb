"""The platform's audit trail: refused sends, flagged messages, and what was delivered.

Recorded by the send path; read back through the control API so tests and the demo can
check exactly what a worker did to the platform.
"""

from __future__ import annotations

import json
import sqlite3

from pydantic import BaseModel

from sandbox.cadence import CadenceEvent, Flag
from sandbox.ids import Kind, format_id
from sandbox.messages import Message
from sandbox.timestamps import now_iso


class RefusalRecord(BaseModel):
    """A send or request the platform refused; `conversation_id` is None for requests
    refused before any conversation was looked at (the action cap)."""

    id: int
    account: str
    conversation_id: str | None
    reason: str
    created_at: str


class FlagRecord(BaseModel):
    """A delivered message the platform judged automated, and why."""

    id: int
    account: str
    conversation_id: str
    message_id: str
    reason: str
    detail: str
    created_at: str


class DeliveredMessage(BaseModel):
    """An outbound message as delivered, with how it was typed and whether it was flagged."""

    message_id: str
    account: str
    conversation_id: str
    fan_id: str
    text: str
    sent_at: str
    ppv_price_cents: int | None
    ppv_paid: bool | None
    media: list[str]
    cadence: list[CadenceEvent]
    flagged: bool
    flag_reasons: list[str]


class MessageRecord(BaseModel):
    """A message as the platform holds it: the record a scrape is checked against."""

    message_id: str
    conversation_id: str
    direction: str
    text: str
    sent_at: str
    tip_cents: int
    ppv_price_cents: int | None
    ppv_paid: bool | None


def account_messages(tx: sqlite3.Connection, username: str) -> list[MessageRecord]:
    """Every message of the account's conversations, by conversation, oldest first."""
    rows = tx.execute(
        "SELECT m.id, m.conversation_id, m.direction, m.text, m.sent_at, m.tip_cents,"
        " m.ppv_price_cents, m.ppv_paid FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id"
        " JOIN accounts a ON a.id = c.account_id"
        " WHERE a.username = ? ORDER BY m.conversation_id, m.sent_at, m.id",
        (username,),
    ).fetchall()
    return [
        MessageRecord(
            message_id=format_id(Kind.MESSAGE, row["id"]),
            conversation_id=format_id(Kind.CONVERSATION, row["conversation_id"]),
            direction=row["direction"],
            text=row["text"],
            sent_at=row["sent_at"],
            tip_cents=row["tip_cents"],
            ppv_price_cents=row["ppv_price_cents"],
            ppv_paid=None if row["ppv_paid"] is None else bool(row["ppv_paid"]),
        )
        for row in rows
    ]


def record_refusal(
    tx: sqlite3.Connection, account_id: int, conversation_id: int | None, reason: str
) -> None:
    """Remember that a send from the account (into the conversation) or a request was
    refused, and why."""
    tx.execute(
        "INSERT INTO refusals (account_id, conversation_id, reason, created_at)"
        " VALUES (?, ?, ?, ?)",
        (account_id, conversation_id, reason, now_iso()),
    )


def record_flags(
    tx: sqlite3.Connection, account_id: int, message: Message, flags: list[Flag]
) -> None:
    """Remember each reason a delivered message was flagged."""
    created_at = now_iso()
    tx.executemany(
        "INSERT INTO flags (message_id, account_id, conversation_id, reason, detail, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (message.id, account_id, message.conversation_id, flag.reason, flag.detail, created_at)
            for flag in flags
        ],
    )


def refusals(tx: sqlite3.Connection, username: str | None) -> list[RefusalRecord]:
    """Refusals, oldest first, of one account or of all."""
    rows = tx.execute(
        "SELECT r.id, a.username, r.conversation_id, r.reason, r.created_at FROM refusals r"
        " JOIN accounts a ON a.id = r.account_id WHERE ? IS NULL OR a.username = ?"
        " ORDER BY r.id",
        (username, username),
    ).fetchall()
    return [
        RefusalRecord(
            id=row["id"],
            account=row["username"],
            conversation_id=None
            if row["conversation_id"] is None
            else format_id(Kind.CONVERSATION, row["conversation_id"]),
            reason=row["reason"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


def flags(tx: sqlite3.Connection, username: str | None) -> list[FlagRecord]:
    """Flags, oldest first, of one account or of all."""
    rows = tx.execute(
        "SELECT f.id, a.username, f.conversation_id, f.message_id, f.reason, f.detail,"
        " f.created_at FROM flags f JOIN accounts a ON a.id = f.account_id"
        " WHERE ? IS NULL OR a.username = ? ORDER BY f.id",
        (username, username),
    ).fetchall()
    return [
        FlagRecord(
            id=row["id"],
            account=row["username"],
            conversation_id=format_id(Kind.CONVERSATION, row["conversation_id"]),
            message_id=format_id(Kind.MESSAGE, row["message_id"]),
            reason=row["reason"],
            detail=row["detail"],
            created_at=row["created_at"],
        )
        for row in rows
    ]


def delivered(tx: sqlite3.Connection, username: str | None) -> list[DeliveredMessage]:
    """Outbound messages in delivery order, of one account or of all."""
    rows = tx.execute(
        "SELECT m.id, a.username, m.conversation_id, c.fan_id, m.text, m.sent_at,"
        " m.ppv_price_cents, m.ppv_paid, m.cadence, m.media,"
        " (SELECT group_concat(reason, ',') FROM flags WHERE message_id = m.id) AS reasons"
        " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
        " JOIN accounts a ON a.id = c.account_id"
        " WHERE m.direction = 'out' AND (? IS NULL OR a.username = ?) ORDER BY m.id",
        (username, username),
    ).fetchall()
    return [
        DeliveredMessage(
            message_id=format_id(Kind.MESSAGE, row["id"]),
            account=row["username"],
            conversation_id=format_id(Kind.CONVERSATION, row["conversation_id"]),
            fan_id=format_id(Kind.FAN, row["fan_id"]),
            text=row["text"],
            sent_at=row["sent_at"],
            ppv_price_cents=row["ppv_price_cents"],
            ppv_paid=None if row["ppv_paid"] is None else bool(row["ppv_paid"]),
            media=json.loads(row["media"] or "[]"),
            cadence=json.loads(row["cadence"] or "[]"),
            flagged=row["reasons"] is not None,
            flag_reasons=row["reasons"].split(",") if row["reasons"] else [],
        )
        for row in rows
    ]
