"""Messages of a conversation: storing, reading a thread, read receipts, PPV purchases."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from typing import Literal

from sandbox.errors import Conflict, NotFound
from sandbox.ids import Kind, format_id, parse_id
from sandbox.timestamps import now_iso

Direction = Literal["in", "out"]
# The longest message the platform takes, from the composer or its control API.
MAX_TEXT = 5000

_COLUMNS = (
    "id, conversation_id, direction, text, sent_at, tip_cents, ppv_price_cents, ppv_paid, media"
)


@dataclass(frozen=True)
class Message:
    """One message as a thread shows it. `in` is fan to creator, `out` creator to fan."""

    id: int
    conversation_id: int
    direction: Direction
    text: str
    sent_at: str
    tip_cents: int
    ppv_price_cents: int | None
    ppv_paid: bool | None
    media: tuple[str, ...] = ()

    @property
    def public_id(self) -> str:
        """The id pages show, like `m42`."""
        return format_id(Kind.MESSAGE, self.id)


def insert_message(
    tx: sqlite3.Connection,
    conversation_id: int,
    direction: Direction,
    text: str,
    sent_at: str,
    *,
    tip_cents: int = 0,
    ppv_price_cents: int | None = None,
    cadence_json: str | None = None,
    media: tuple[str, ...] = (),
) -> Message:
    """Store a message and make it the conversation's latest if it is the newest."""
    ppv_paid = None if ppv_price_cents is None else False
    message_id = int(
        tx.execute(
            "INSERT INTO messages (conversation_id, direction, text, sent_at, tip_cents,"
            " ppv_price_cents, ppv_paid, cadence, media) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                conversation_id,
                direction,
                text,
                sent_at,
                tip_cents,
                ppv_price_cents,
                ppv_paid,
                cadence_json,
                json.dumps(list(media)) if media else None,
            ),
        ).lastrowid
        or 0
    )
    # Injected messages may be back-dated, so "latest" is by time, not insertion order.
    tx.execute(
        "UPDATE conversations SET last_at = ?, last_message_id = ? WHERE id = ?"
        " AND (last_message_id IS NULL OR last_at < ? OR (last_at = ? AND last_message_id < ?))",
        (sent_at, message_id, conversation_id, sent_at, sent_at, message_id),
    )
    return Message(
        message_id,
        conversation_id,
        direction,
        text,
        sent_at,
        tip_cents,
        ppv_price_cents,
        ppv_paid,
        media,
    )


def thread(tx: sqlite3.Connection, conversation_id: int) -> list[Message]:
    """Every message of a conversation, oldest first."""
    rows = tx.execute(
        f"SELECT {_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY sent_at, id",
        (conversation_id,),
    ).fetchall()
    return [_message(row) for row in rows]


def mark_read(tx: sqlite3.Connection, conversation_id: int) -> int:
    """Mark the conversation's unread inbound messages read; returns how many."""
    return tx.execute(
        "UPDATE messages SET read_at = ? WHERE conversation_id = ? AND direction = 'in'"
        " AND read_at IS NULL",
        (now_iso(), conversation_id),
    ).rowcount


def purchase(tx: sqlite3.Connection, public_id: str) -> Message:
    """Record that the fan bought PPV message `public_id`; raises NotFound or Conflict."""
    number = parse_id(Kind.MESSAGE, public_id)
    row = None
    if number is not None:
        row = tx.execute(f"SELECT {_COLUMNS} FROM messages WHERE id = ?", (number,)).fetchone()
    if row is None:
        raise NotFound(f"no message {public_id!r}")
    message = _message(row)
    if message.ppv_price_cents is None:
        raise Conflict(f"message {public_id!r} is not a PPV message")
    if message.ppv_paid:
        raise Conflict(f"message {public_id!r} is already paid")
    tx.execute(
        "UPDATE messages SET ppv_paid = 1, paid_at = ? WHERE id = ?", (now_iso(), message.id)
    )
    return replace(message, ppv_paid=True)


@dataclass(frozen=True)
class Sale:
    """A PPV message a fan bought: what the purchases page lists."""

    message_id: str
    conversation_id: str
    fan_name: str
    price_cents: int
    paid_at: str


def sales(tx: sqlite3.Connection, account_id: int, limit: int = 200) -> list[Sale]:
    """The account's PPV messages fans bought, newest purchase first."""
    rows = tx.execute(
        "SELECT m.id, m.conversation_id, f.name, m.ppv_price_cents, m.paid_at FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id JOIN fans f ON f.id = c.fan_id"
        " WHERE c.account_id = ? AND m.ppv_paid = 1 ORDER BY m.paid_at DESC, m.id DESC LIMIT ?",
        (account_id, limit),
    ).fetchall()
    return [
        Sale(
            format_id(Kind.MESSAGE, row["id"]),
            format_id(Kind.CONVERSATION, row["conversation_id"]),
            row["name"],
            row["ppv_price_cents"],
            row["paid_at"] or "",
        )
        for row in rows
    ]


def _message(row: sqlite3.Row) -> Message:
    paid = row["ppv_paid"]
    return Message(
        id=row["id"],
        conversation_id=row["conversation_id"],
        direction=row["direction"],
        text=row["text"],
        sent_at=row["sent_at"],
        tip_cents=row["tip_cents"],
        ppv_price_cents=row["ppv_price_cents"],
        ppv_paid=None if paid is None else bool(paid),
        media=tuple(json.loads(row["media"])) if row["media"] else (),
    )
