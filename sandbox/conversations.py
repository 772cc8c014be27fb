"""Fans, their one conversation with the account, and the inbox listing."""

from __future__ import annotations

import base64
import binascii
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from sandbox.errors import NotFound, SandboxError
from sandbox.ids import Kind, format_id, parse_id
from sandbox.money import format_cents
from sandbox.timestamps import now_iso


@dataclass(frozen=True)
class Conversation:
    """One account's conversation with one fan."""

    id: int
    account_id: int
    fan_id: int
    fan_name: str

    @property
    def public_id(self) -> str:
        """The id pages show, like `c12`."""
        return format_id(Kind.CONVERSATION, self.id)

    @property
    def public_fan_id(self) -> str:
        """The fan's id as pages show it, like `f7`."""
        return format_id(Kind.FAN, self.fan_id)


@dataclass(frozen=True)
class InboxRow:
    """One conversation as the inbox lists it."""

    conversation_id: str
    fan_id: str
    fan_name: str
    last_at: str
    preview: str
    unread: int


@dataclass(frozen=True)
class InboxPage:
    """A page of the inbox and the cursor of the next one (None on the last page)."""

    rows: list[InboxRow]
    next_cursor: str | None


def create_fan(tx: sqlite3.Connection, account_id: int, name: str) -> Conversation:
    """Add a fan to an account together with their (empty) conversation."""
    created_at = now_iso()
    fan_id = tx.execute(
        "INSERT INTO fans (account_id, name, created_at) VALUES (?, ?, ?)",
        (account_id, name, created_at),
    ).lastrowid
    conversation_id = tx.execute(
        "INSERT INTO conversations (account_id, fan_id, created_at, last_at) VALUES (?, ?, ?, ?)",
        (account_id, fan_id, created_at, created_at),
    ).lastrowid
    return Conversation(int(conversation_id or 0), account_id, int(fan_id or 0), name)


def find_conversation(
    tx: sqlite3.Connection, account_id: int, public_id: str
) -> Conversation | None:
    """The account's conversation with public id `public_id`, if it has one."""
    number = parse_id(Kind.CONVERSATION, public_id)
    if number is None:
        return None
    row = tx.execute(
        "SELECT c.id, c.account_id, c.fan_id, f.name FROM conversations c"
        " JOIN fans f ON f.id = c.fan_id WHERE c.id = ? AND c.account_id = ?",
        (number, account_id),
    ).fetchone()
    return _conversation(row) if row else None


def require_fan_conversation(
    tx: sqlite3.Connection, account_id: int, public_fan_id: str
) -> Conversation:
    """The account's conversation with fan `public_fan_id`; raises NotFound otherwise."""
    number = parse_id(Kind.FAN, public_fan_id)
    row = None
    if number is not None:
        row = tx.execute(
            "SELECT c.id, c.account_id, c.fan_id, f.name FROM conversations c"
            " JOIN fans f ON f.id = c.fan_id WHERE c.fan_id = ? AND c.account_id = ?",
            (number, account_id),
        ).fetchone()
    if row is None:
        raise NotFound(f"the account has no fan {public_fan_id!r}")
    return _conversation(row)


def inbox_page(tx: sqlite3.Connection, account_id: int, cursor: str | None, size: int) -> InboxPage:
    """Conversations newest first, `size` at a time, continuing after `cursor`.

    Keyset paging on (last_at, id) keeps pages stable while new messages arrive: a
    conversation that jumps to the top is not listed twice or skipped by the next page.
    """
    # Without a cursor start above any timestamp: "\uffff" sorts after every ISO string.
    after_at, after_id = _decode_cursor(cursor) if cursor else ("\uffff", 0)
    rows = tx.execute(
        "SELECT c.id, c.fan_id, f.name, c.last_at, m.text, m.tip_cents, m.ppv_price_cents,"
        " (SELECT COUNT(*) FROM messages u WHERE u.conversation_id = c.id"
        "   AND u.direction = 'in' AND u.read_at IS NULL) AS unread"
        " FROM conversations c JOIN fans f ON f.id = c.fan_id"
        " LEFT JOIN messages m ON m.id = c.last_message_id"
        " WHERE c.account_id = ? AND (c.last_at < ? OR (c.last_at = ? AND c.id < ?))"
        " ORDER BY c.last_at DESC, c.id DESC LIMIT ?",
        (account_id, after_at, after_at, after_id, size + 1),
    ).fetchall()
    listed = [
        InboxRow(
            conversation_id=format_id(Kind.CONVERSATION, row["id"]),
            fan_id=format_id(Kind.FAN, row["fan_id"]),
            fan_name=row["name"],
            last_at=row["last_at"],
            preview=_preview(row["text"], row["tip_cents"], row["ppv_price_cents"]),
            unread=row["unread"],
        )
        for row in rows[:size]
    ]
    next_cursor = None
    if len(rows) > size:
        last = rows[size - 1]
        next_cursor = _encode_cursor(last["last_at"], last["id"])
    return InboxPage(listed, next_cursor)


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(row["id"], row["account_id"], row["fan_id"], row["name"])


def _preview(text: str | None, tip_cents: int | None, ppv_price_cents: int | None) -> str:
    if text:
        return text
    if tip_cents:
        return f"Sent a {format_cents(tip_cents)} tip"
    if ppv_price_cents is not None:
        return f"Locked message · {format_cents(ppv_price_cents)}"
    return ""


def _encode_cursor(last_at: str, conversation_id: int) -> str:
    return base64.urlsafe_b64encode(f"{last_at}|{conversation_id}".encode()).decode()


def _decode_cursor(cursor: str) -> tuple[str, int]:
    try:
        last_at, conversation_id = base64.urlsafe_b64decode(cursor).decode().split("|")
        datetime.fromisoformat(last_at)
        return last_at, int(conversation_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise SandboxError("invalid cursor") from error
